/**
 * Files as {@linkcode Entity}s, with their per-file header values (ETag, Last-Modified,
 * Content-Type) cached by file identity: a request for a file whose (dev, ino, size, mtime) is
 * unchanged since the last one reuses them; any change makes new ones. The caller still stats
 * the file on every request (playlists change in place); only the formatting is saved.
 *
 * @module
 */
import type { Entity, HeaderPair } from "./entity.ts";
import { prepareField } from "./http1/response_head.ts";
import type { BodyPart, FileIdentity } from "./file_body.ts";
import { strongEtag } from "./media/etag.ts";
import { formatHttpDate } from "./media/http_date.ts";
import { contentTypeFor } from "./media/mime.ts";
import type { FileStat } from "./media/stat.ts";

/** Most files whose header values are remembered; the cache is emptied when it is full. */
export const FILE_ENTITY_CACHE_ENTRIES = 10_000;

/** A regular file at a real path, in the version its identity describes. */
export class FileEntity implements Entity {
  /** Size in bytes. */
  readonly size: number;
  /** Strong ETag from the file's identity. */
  readonly etag: string;
  /** Last-Modified in epoch ms, whole seconds. */
  readonly lastModifiedMs: number;
  /** Last-Modified as an HTTP-date. */
  readonly lastModified: string;
  /** Content-Type by extension. */
  readonly contentType: string;
  /** The three values above are made from numbers, a date and the MIME table: always valid. */
  readonly fieldsChecked = true;
  /** ETag and Last-Modified fields, encoded once for every answer about this version. */
  readonly validatorFields: readonly [etag: HeaderPair, lastModified: HeaderPair];

  /** The entity of the file at `path` (real, symlink-free) as `stat` describes it. */
  constructor(readonly path: string, readonly identity: FileIdentity, mtimeMs: number) {
    this.size = identity.size;
    this.etag = strongEtag(identity);
    this.lastModifiedMs = Math.floor(mtimeMs / 1000) * 1000;
    this.lastModified = formatHttpDate(mtimeMs);
    this.contentType = contentTypeFor(path);
    this.validatorFields = [
      prepareField("etag", this.etag),
      prepareField("last-modified", this.lastModified),
    ];
  }

  /** One file slice. */
  parts(offset: number, length: number): readonly BodyPart[] {
    return [{ path: this.path, offset, length, identity: this.identity }];
  }
}

const entities = new Map<string, FileEntity>();

function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

/** The entity of the file at `realPath` described by `stat`, from the cache when unchanged. */
export function fileEntity(realPath: string, stat: FileStat): FileEntity {
  const hit = entities.get(realPath);
  if (hit !== undefined && sameIdentity(hit.identity, stat.identity)) return hit;
  const entity = new FileEntity(realPath, stat.identity, stat.mtimeMs);
  if (entities.size >= FILE_ENTITY_CACHE_ENTRIES) entities.clear();
  entities.set(realPath, entity);
  return entity;
}
