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
  type EntityOptions,
  type EntityResponse,
  prepareFields,
  textResponse,
  toResponse,
} from "./entity.ts";
import { fileEntity } from "./file_entity.ts";
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

/** Shared default: the prepared fields are cached by options object. */
const NO_OPTIONS: FileResponseOptions = {};

/** A short 404 with the option headers. */
function notFound(options: FileResponseOptions): Response {
  return toResponse(textResponse(404, "not found\n", prepareFields(options).base));
}
