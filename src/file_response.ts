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
import { type BodyPart, FileBody } from "./file_body.ts";
import { evaluatePreconditions, ifRangeMatches, type Validators } from "./media/conditional.ts";
import { strongEtag } from "./media/etag.ts";
import { formatHttpDate } from "./media/http_date.ts";
import { contentTypeFor } from "./media/mime.ts";
import { multipartByteranges } from "./media/multipart.ts";
import { DEFAULT_MAX_RANGES, parseRange } from "./media/range.ts";
import { type FileStat, statFile } from "./media/stat.ts";

/** Options of {@linkcode fileResponse}. */
export interface FileResponseOptions {
  /** Content-Type (default: by extension, see `src/media/mime.ts`). */
  readonly contentType?: string;
  /** `Cache-Control` sent on 200/206/304 (default: none). */
  readonly cacheControl?: string;
  /** Most ranges served as multipart before answering 200 with the whole file (default 16). */
  readonly maxRanges?: number;
  /** Bytes read per pull when the body is streamed rather than sent with sendfile. */
  readonly chunkSize?: number;
  /** Extra headers set on every response this returns (e.g. CORS). Names in lower case. */
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
    return notFound(options.headers);
  }
  const stat = statFile(real);
  if (stat === null || !stat.isFile) return notFound(options.headers);
  return fileResponseFromStat(request, real, stat, options);
}

/**
 * Like {@linkcode fileResponse} for a caller that already holds the real (symlink-free) path and
 * its {@linkcode FileStat}; used by the `/media` route to avoid a second stat.
 */
export function fileResponseFromStat(
  request: Request,
  realPath: string,
  stat: FileStat,
  options: FileResponseOptions = {},
): Response {
  const { identity } = stat;
  const size = identity.size;
  const validators: Validators = {
    etag: strongEtag(identity),
    lastModifiedMs: Math.floor(stat.mtimeMs / 1000) * 1000,
  };
  const headers: Record<string, string> = {
    ...options.headers,
    "accept-ranges": "bytes",
    "etag": validators.etag,
    "last-modified": formatHttpDate(stat.mtimeMs),
  };
  if (options.cacheControl !== undefined) headers["cache-control"] = options.cacheControl;

  const method = request.method;
  const outcome = evaluatePreconditions(request.headers, method, validators);
  if (outcome === "not-modified") return new Response(null, { status: 304, headers });
  if (outcome === "precondition-failed") {
    return new Response(null, { status: 412, headers: { ...options.headers } });
  }

  const contentType = options.contentType ?? contentTypeFor(realPath);
  const isHead = method === "HEAD";
  let rangeHeader = method === "GET" ? request.headers.get("range") : null;
  if (rangeHeader !== null) {
    const ifRange = request.headers.get("if-range");
    if (ifRange !== null && !ifRangeMatches(ifRange, validators)) rangeHeader = null;
  }
  const range = parseRange(rangeHeader, size, {
    maxRanges: options.maxRanges ?? DEFAULT_MAX_RANGES,
  });
  const bodyOptions = { chunkSize: options.chunkSize };

  if (range.kind === "unsatisfiable") {
    headers["content-range"] = `bytes */${size}`;
    return new Response(null, { status: 416, headers });
  }
  if (range.kind === "satisfiable" && range.ranges.length > 1) {
    const multipart = multipartByteranges(realPath, identity, range.ranges, contentType);
    headers["content-type"] = multipart.contentType;
    headers["content-length"] = String(multipart.byteLength);
    const body = isHead ? null : new FileBody(multipart.parts, bodyOptions);
    return new Response(body, { status: 206, headers });
  }
  let status = 200;
  let offset = 0;
  let length = size;
  if (range.kind === "satisfiable") {
    const { start, end } = range.ranges[0];
    status = 206;
    offset = start;
    length = end - start + 1;
    headers["content-range"] = `bytes ${start}-${end}/${size}`;
  }
  headers["content-type"] = contentType;
  headers["content-length"] = String(length);
  if (isHead) return new Response(null, { status, headers });
  const parts: BodyPart[] = [{ path: realPath, offset, length, identity }];
  return new Response(new FileBody(parts, bodyOptions), { status, headers });
}

/** A short 404 with `extra` headers. */
function notFound(extra: Readonly<Record<string, string>> | undefined): Response {
  return new Response("not found\n", {
    status: 404,
    headers: { ...extra, "content-type": "text/plain; charset=utf-8" },
  });
}
