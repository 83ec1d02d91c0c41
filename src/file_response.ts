/**
 * `fileResponse()`: answer any request with a file, with full HTTP semantics — conditional
 * requests (RFC 9110 §13), byte ranges and multipart/byteranges (§14), strong ETag,
 * Last-Modified, Content-Type by extension — as a `Response` whose body is a
 * {@linkcode FileBody}, so a zero-copy server sends it with sendfile and `Deno.serve` streams it.
 *
 * Status codes: 200 whole file; 206 one range (`Content-Range`) or several
 * (`multipart/byteranges`); 304 (validators only, no body); 412; 416 (`Content-Range: bytes
 * *\/size`); 404 when the path is not a regular file. HEAD gets the headers GET would get, with
 * the Content-Length GET would send, and no body. `Range` is honoured for GET only (RFC 9110
 * §14.2: range handling is defined for GET), so HEAD always describes the 200 response.
 *
 * @example
 * ```ts
 * app.get("/poster", (c) => fileResponse(c, "/srv/media/poster.jpg", { cacheControl: "max-age=60" }));
 * ```
 * @module
 */
import type { Context } from "hono";
import {
  answerEntity,
  type Entity,
  type EntityOptions,
  type EntityResponse,
  prepareFields,
  textResponse,
  toResponse,
} from "./entity.ts";
import { fileEntity } from "./file_entity.ts";
import { type BodyPart, sliceParts } from "./file_body.ts";
import { formatHttpDate } from "./media/http_date.ts";
import { type FileStat, statFile } from "./media/stat.ts";

/** Options of {@linkcode fileResponse}. */
export interface FileResponseOptions extends EntityOptions {
  /** Content-Type (default: by extension, see `src/media/mime.ts`). */
  readonly contentType?: string;
  /** `Cache-Control` sent on 200/206/304 (default: none). */
  readonly cacheControl?: string;
  /** Most ranges served as multipart before answering 200 with the whole file (default 16). */
  readonly maxRanges?: number;
  /** Bytes read per pull when the body is streamed rather than sent with sendfile. */
  readonly chunkSize?: number;
  /** Extra headers set on every response this returns (e.g. CORS). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Returns a Response for the file at `path` (any path; symlinks are resolved) answering the
 * request `c` (a Hono Context or a Request). Synchronous: it stats, and never reads the file.
 */
export function fileResponse(
  c: Context | Request,
  path: string,
  options: FileResponseOptions = {},
): Response {
  const request = c instanceof Request ? c : c.req.raw;
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch {
    return notFound(options);
  }
  const stat = statFile(real);
  if (stat === null || !stat.isFile) return notFound(options);
  return fileResponseFromStat(request, real, stat, options);
}

/**
 * Like {@linkcode fileResponse} for a caller that already holds the real (symlink-free) path and
 * its {@linkcode FileStat}.
 */
export function fileResponseFromStat(
  request: Request,
  realPath: string,
  stat: FileStat,
  options: FileResponseOptions = NO_OPTIONS,
): Response {
  return toResponse(fileAnswer(request.method, request.headers, realPath, stat, options));
}

/**
 * The answer for the file at `realPath` as an {@linkcode EntityResponse} (the form the zero-copy
 * engine writes without a `Response`); `headers` is anything with `get(name)`.
 */
export function fileAnswer(
  method: string,
  headers: { get(name: string): string | null },
  realPath: string,
  stat: FileStat,
  options: FileResponseOptions = NO_OPTIONS,
): EntityResponse {
  return answerEntity(method, headers, fileEntity(realPath, stat), prepareFields(options));
}

/**
 * A body of known length assembled from parts (bytes and file slices), e.g. a generated fMP4
 * segment whose sample data stays in the source file; answered by {@linkcode virtualResponse}
 * with exactly the conditional and range rules of a file.
 */
export interface VirtualBody {
  /** The parts in order. */
  readonly parts: readonly BodyPart[];
  /** Total byte length of the parts. */
  readonly byteLength: number;
  /** Strong ETag (quoted) of this body: equal tags must mean equal bytes. */
  readonly etag: string;
  /** Last-Modified, in ms since the epoch (e.g. the source file's mtime). */
  readonly lastModifiedMs: number;
  /** Content-Type of the body. */
  readonly contentType: string;
}

/** `body` as an {@linkcode Entity}: its spans are narrowed parts. */
export function virtualEntity(body: VirtualBody): Entity {
  return {
    size: body.byteLength,
    etag: body.etag,
    lastModifiedMs: Math.floor(body.lastModifiedMs / 1000) * 1000,
    lastModified: formatHttpDate(body.lastModifiedMs),
    contentType: body.contentType,
    parts: (offset, length) =>
      offset === 0 && length === body.byteLength
        ? body.parts
        : sliceParts(body.parts, offset, length),
  };
}

/**
 * Answers `request` with a {@linkcode VirtualBody}: 200/206/304/412/416, If-Range, multipart
 * ranges and HEAD exactly as {@linkcode fileResponse} does for a file (RFC 9110 §13, §14).
 */
export function virtualResponse(
  request: Request,
  body: VirtualBody,
  options: FileResponseOptions = NO_OPTIONS,
): Response {
  return toResponse(virtualAnswer(request.method, request.headers, body, options));
}

/** {@linkcode virtualResponse} as an {@linkcode EntityResponse} (for a file route). */
export function virtualAnswer(
  method: string,
  headers: { get(name: string): string | null },
  body: VirtualBody,
  options: FileResponseOptions = NO_OPTIONS,
): EntityResponse {
  return answerEntity(method, headers, virtualEntity(body), prepareFields(options));
}

/** Shared default: the prepared fields are cached by options object. */
const NO_OPTIONS: FileResponseOptions = {};

/** A short 404 with the option headers. */
function notFound(options: FileResponseOptions): Response {
  return toResponse(textResponse(404, "not found\n", prepareFields(options).base));
}
