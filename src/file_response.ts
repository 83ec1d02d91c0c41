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
import { type BodyPart, FileBody, type FileSlice, sliceParts } from "./file_body.ts";
import { evaluatePreconditions, ifRangeMatches, type Validators } from "./media/conditional.ts";
import { strongEtag } from "./media/etag.ts";
import { formatHttpDate } from "./media/http_date.ts";
import { contentTypeFor } from "./media/mime.ts";
import { multipartFromParts } from "./media/multipart.ts";
import { DEFAULT_MAX_RANGES, parseRange } from "./media/range.ts";
import { type FileStat, statFile } from "./media/stat.ts";
import { type HeaderPair, trustedResponse, validatedFields } from "./media/trusted_response.ts";

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
  options: FileResponseOptions = NO_OPTIONS,
): Response {
  const { identity } = stat;
  return rangedResponse(
    request,
    identity.size,
    strongEtag(identity),
    stat.mtimeMs,
    realPath,
    null,
    { path: realPath, offset: 0, length: identity.size, identity },
    options,
  );
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

/**
 * Answers `request` with a {@linkcode VirtualBody}: 200/206/304/412/416, If-Range, multipart
 * ranges and HEAD exactly as {@linkcode fileResponse} does for a file (RFC 9110 §13, §14).
 */
export function virtualResponse(
  request: Request,
  body: VirtualBody,
  options: FileResponseOptions = NO_OPTIONS,
): Response {
  return rangedResponse(
    request,
    body.byteLength,
    body.etag,
    body.lastModifiedMs,
    null,
    body.contentType,
    body.parts,
    options,
  );
}

/**
 * The shared core: `whole` is either one file slice covering the file (the fast path of the
 * media route) or the parts of a virtual body. The Content-Type is `options.contentType`, else
 * `contentType`, else by the extension of `typePath`.
 */
function rangedResponse(
  request: Request,
  size: number,
  etag: string,
  mtimeMs: number,
  typePath: string | null,
  contentType: string | null,
  whole: FileSlice | readonly BodyPart[],
  options: FileResponseOptions,
): Response {
  const plan = fieldPlan(options);
  const validators: Validators = {
    etag,
    lastModifiedMs: Math.floor(mtimeMs / 1000) * 1000,
  };
  // the fields this sets, in order after `options.headers`
  const fields: HeaderPair[] = [
    ["accept-ranges", "bytes"],
    ["etag", validators.etag],
    ["last-modified", formatHttpDate(mtimeMs)],
  ];
  const cacheControl = plan !== null ? plan.cacheControl : options.cacheControl;
  if (cacheControl !== undefined) fields.push(["cache-control", cacheControl]);

  const method = request.method;
  const headers = request.headers;
  const outcome = evaluatePreconditions(headers, method, validators);
  if (outcome === "not-modified") return respond(null, 304, fields, options, plan);
  if (outcome === "precondition-failed") return respond(null, 412, [], options, plan);

  const type = (plan !== null ? plan.contentType : options.contentType) ?? contentType ??
    contentTypeFor(typePath ?? "");
  const isHead = method === "HEAD";
  let rangeHeader = method === "GET" ? headers.get("range") : null;
  if (rangeHeader !== null) {
    const ifRange = headers.get("if-range");
    if (ifRange !== null && !ifRangeMatches(ifRange, validators)) rangeHeader = null;
  }
  const range = parseRange(rangeHeader, size, {
    maxRanges: options.maxRanges ?? DEFAULT_MAX_RANGES,
  });
  const bodyOptions = { chunkSize: options.chunkSize };
  const wholeParts: readonly BodyPart[] = Array.isArray(whole) ? whole : [whole as FileSlice];

  if (range.kind === "unsatisfiable") {
    fields.push(["content-range", `bytes */${size}`]);
    return respond(null, 416, fields, options, plan);
  }
  if (range.kind === "satisfiable" && range.ranges.length > 1) {
    const multipart = multipartFromParts(wholeParts, size, range.ranges, type);
    fields.push(["content-type", multipart.contentType]);
    fields.push(["content-length", String(multipart.byteLength)]);
    const body = isHead ? null : new FileBody(multipart.parts, bodyOptions);
    return respond(body, 206, fields, options, plan);
  }
  let status = 200;
  let offset = 0;
  let length = size;
  if (range.kind === "satisfiable") {
    const { start, end } = range.ranges[0];
    status = 206;
    offset = start;
    length = end - start + 1;
    fields.push(["content-range", `bytes ${start}-${end}/${size}`]);
  }
  fields.push(["content-type", type]);
  fields.push(["content-length", String(length)]);
  if (isHead) return respond(null, status, fields, options, plan);
  let parts: readonly BodyPart[];
  if (!Array.isArray(whole)) {
    const file = whole as FileSlice;
    parts = [
      status === 200 ? file : {
        path: file.path,
        offset: file.offset + offset,
        length,
        identity: file.identity,
      },
    ];
  } else {
    parts = status === 200 ? wholeParts : sliceParts(wholeParts, offset, length);
  }
  return respond(new FileBody(parts, bodyOptions), status, fields, options, plan);
}

/** Shared default: the per-options field plan is cached by object identity. */
const NO_OPTIONS: FileResponseOptions = {};

/** Option-derived header values, validated once per options object (see `fieldPlan`). */
interface FieldPlan {
  /** `options.headers` as Deno stores them (validated, normalised). */
  readonly base: HeaderPair[];
  /** `options.cacheControl`, normalised. */
  readonly cacheControl: string | undefined;
  /** `options.contentType`, normalised. */
  readonly contentType: string | undefined;
}

/** Fields `fileResponseFromStat` sets itself; options that also set one take the slow path. */
const OWN_FIELDS = new Set([
  "accept-ranges",
  "etag",
  "last-modified",
  "cache-control",
  "content-range",
  "content-type",
  "content-length",
]);

const plans = new WeakMap<FileResponseOptions, FieldPlan | null>();

/**
 * The validated option fields for the fast path, or null when responses for these options
 * must be built with the public constructor (values it would reject, names colliding with the
 * fields set here, or no fast path in this Deno).
 */
function fieldPlan(options: FileResponseOptions): FieldPlan | null {
  let plan = plans.get(options);
  if (plan === undefined) {
    plan = makeFieldPlan(options);
    plans.set(options, plan);
  }
  return plan;
}

function makeFieldPlan(options: FileResponseOptions): FieldPlan | null {
  const extra = options.headers ?? {};
  for (const name of Object.keys(extra)) if (OWN_FIELDS.has(name.toLowerCase())) return null;
  const base = validatedFields(extra);
  if (base === null) return null;
  let cacheControl: string | undefined;
  if (options.cacheControl !== undefined) {
    const checked = validatedFields({ "cache-control": options.cacheControl });
    if (checked === null) return null;
    cacheControl = checked[0][1];
  }
  let contentType: string | undefined;
  if (options.contentType !== undefined) {
    const checked = validatedFields({ "content-type": options.contentType });
    if (checked === null) return null;
    contentType = checked[0][1];
  }
  return { base, cacheControl, contentType };
}

/** The response with `options.headers` followed by `fields`. */
function respond(
  body: FileBody | null,
  status: number,
  fields: HeaderPair[],
  options: FileResponseOptions,
  plan: FieldPlan | null,
): Response {
  if (plan !== null) {
    return trustedResponse(
      body,
      status,
      plan.base.length === 0 ? fields : [...plan.base, ...fields],
    );
  }
  const headers: Record<string, string> = { ...options.headers };
  for (const [name, value] of fields) headers[name] = value;
  return new Response(body, { status, headers });
}

/** A short 404 with `extra` headers. */
function notFound(extra: Readonly<Record<string, string>> | undefined): Response {
  return new Response("not found\n", {
    status: 404,
    headers: { ...extra, "content-type": "text/plain; charset=utf-8" },
  });
}
