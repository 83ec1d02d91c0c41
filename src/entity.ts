/**
 * Answering a request for an entity: the one place where the RFC 9110 rules for a
 * representation with validators live — preconditions (§13.2.2), `If-Range` (§13.1.5), byte
 * ranges and multipart/byteranges (§14), HEAD (§9.3.2) — for every server path.
 *
 * An {@linkcode Entity} is what is served: its size, validators, content type and a way to
 * describe any byte span of it as {@linkcode BodyPart}s (file slices and bytes in memory), so a
 * file, or a segment generated from bytes and file slices, is answered the same way.
 * {@linkcode answerEntity} returns an {@linkcode EntityResponse}: status, validated header pairs
 * and body parts in an object of ours. The zero-copy engine writes it as it is (no `Response`,
 * no stream); {@linkcode toResponse} turns it into a real `Response` (body: a
 * {@linkcode FileBody}) for everything else (Hono handlers, `Deno.serve`).
 *
 * @module
 */
import { type BodyPart, FileBody } from "./file_body.ts";
import {
  evaluatePreconditions,
  type HeaderSource,
  ifRangeMatches,
  type Validators,
} from "./media/conditional.ts";
import { multipartParts } from "./media/multipart.ts";
import { DEFAULT_MAX_RANGES, parseRange } from "./media/range.ts";
import { prepareField } from "./http1/response_head.ts";

/** A header field as `[name, value]`: names in lower case, values valid (see {@linkcode checkedField}). */
export type HeaderPair = readonly [name: string, value: string];

/** What is served: one representation with its validators. */
export interface Entity extends Validators {
  /** Size in bytes. */
  readonly size: number;
  /** `Last-Modified` as an HTTP-date (the text of `lastModifiedMs`). */
  readonly lastModified: string;
  /** Content-Type (from the file name unless the options say otherwise). */
  readonly contentType: string;
  /** The bytes `[offset, offset + length)` as body parts. */
  parts(offset: number, length: number): readonly BodyPart[];
  /**
   * True when `etag`, `lastModified` and `contentType` are known to be valid field values (RFC
   * 9110 §5.5), e.g. made from numbers and the MIME table; else a serializer checks them.
   */
  readonly fieldsChecked?: boolean;
  /**
   * `etag` and `last-modified` as fields made once with `prepareField` (their wire bytes are
   * copied by the serializer), for an entity that answers many requests; else made per answer.
   */
  readonly validatorFields?: readonly [etag: HeaderPair, lastModified: HeaderPair];
}

/** A response in an object of ours: what a server writes, or turns into a `Response`. */
export interface EntityResponse {
  /** Status code. */
  readonly status: number;
  /** Header fields in order, without Content-Length (see `contentLength`). */
  readonly fields: readonly HeaderPair[];
  /**
   * The Content-Length field the response carries (for HEAD: what GET would send), or null for
   * none (then a server frames a body from its own length).
   */
  readonly contentLength: number | null;
  /** The body: parts (file slices, bytes), bytes, or null for none (HEAD, 304, 412, 416). */
  readonly body: readonly BodyPart[] | Uint8Array | null;
  /** Bytes read per pull when the body is streamed rather than sent with sendfile. */
  readonly chunkSize?: number;
  /**
   * Every field name is a lower-case token and every value valid (RFC 9110 §5.1, §5.5), so a
   * serializer need not check them again (set by {@linkcode answerEntity} for checked entities).
   */
  readonly fieldsChecked?: boolean;
}

/** Options of {@linkcode answerEntity}, prepared once with {@linkcode prepareFields}. */
export interface PreparedFields {
  /** Fields on every response (e.g. CORS), validated, names lower-cased. */
  readonly base: readonly HeaderPair[];
  /** The `cache-control` field sent on 200/206/304 (prepared once), or undefined. */
  readonly cacheControlField: HeaderPair | undefined;
  /** Content-Type overriding the entity's, or undefined. */
  readonly contentType: string | undefined;
  /** Most ranges served as multipart before answering 200 with the whole entity. */
  readonly maxRanges: number;
  /** Bytes per pull when streamed. */
  readonly chunkSize: number | undefined;
}

/** Options {@linkcode prepareFields} reads (those of `fileResponse`). */
export interface EntityOptions {
  /** Content-Type (default: the entity's). */
  readonly contentType?: string;
  /** `Cache-Control` sent on 200/206/304 (default: none). */
  readonly cacheControl?: string;
  /** Most ranges served as multipart before answering 200 (default 16). */
  readonly maxRanges?: number;
  /** Bytes read per pull when the body is streamed. */
  readonly chunkSize?: number;
  /** Extra headers set on every response (e.g. CORS). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Fields {@linkcode answerEntity} sets itself: option headers of these names are dropped. */
const OWN_FIELDS = new Set([
  "accept-ranges",
  "etag",
  "last-modified",
  "cache-control",
  "content-range",
  "content-type",
  "content-length",
]);

/** A field name (RFC 9110 §5.1 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Leading and trailing HTTP whitespace, removed as `Headers` does. */
const HTTP_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * `[name, value]` normalised as `Headers` stores it (name lower-cased, value trimmed); throws a
 * TypeError, as the `Headers` constructor would, for a name that is not a token or a value with
 * NUL, CR or LF.
 */
export function checkedField(name: string, value: string): HeaderPair {
  if (!TOKEN.test(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
  const v = String(value).replace(HTTP_WS, "");
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d || c > 0xff) {
      throw new TypeError(`invalid value of header ${JSON.stringify(name)}`);
    }
  }
  return [name.toLowerCase(), v];
}

const prepared = new WeakMap<EntityOptions, PreparedFields>();

/**
 * The fields and limits of `options`, validated once per options object (cached by identity).
 * Throws a TypeError for an invalid header name or value.
 */
export function prepareFields(options: EntityOptions): PreparedFields {
  let plan = prepared.get(options);
  if (plan === undefined) {
    const base: HeaderPair[] = [];
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      const field = checkedField(name, value);
      if (!OWN_FIELDS.has(field[0])) base.push(prepareField(field[0], field[1]));
    }
    plan = {
      base,
      cacheControlField: options.cacheControl === undefined
        ? undefined
        : prepareField(...checkedField("cache-control", options.cacheControl)),
      contentType: options.contentType === undefined
        ? undefined
        : checkedField("content-type", options.contentType)[1],
      maxRanges: options.maxRanges ?? DEFAULT_MAX_RANGES,
      chunkSize: options.chunkSize,
    };
    prepared.set(options, plan);
  }
  return plan;
}

/**
 * Answers `method` with request fields `headers` for `entity` (RFC 9110): 304/412 from the
 * preconditions, 416, 206 for one range or several (multipart/byteranges), else 200. `Range`
 * applies to GET only (§14.2): HEAD describes the 200 response, with its Content-Length and no
 * body.
 */
export function answerEntity(
  method: string,
  headers: HeaderSource,
  entity: Entity,
  plan: PreparedFields,
): EntityResponse {
  const size = entity.size;
  const base = plan.base;
  const fields: HeaderPair[] = base.length === 0 ? [] : base.slice();
  const validators = entity.validatorFields;
  if (validators !== undefined) fields.push(ACCEPT_RANGES, validators[0], validators[1]);
  else {
    fields.push(ACCEPT_RANGES, ["etag", entity.etag], ["last-modified", entity.lastModified]);
  }
  if (plan.cacheControlField !== undefined) fields.push(plan.cacheControlField);

  // base and cache-control were checked by prepareFields, the rest is made here from numbers
  const checked = entity.fieldsChecked === true;
  const outcome = evaluatePreconditions(headers, method, entity);
  if (outcome === "not-modified") return bodyless(304, fields, null, checked);
  if (outcome === "precondition-failed") return bodyless(412, base, null, checked);

  const contentType = plan.contentType ?? entity.contentType;
  const isHead = method === "HEAD";
  let rangeHeader = method === "GET" ? headers.get("range") : null;
  if (rangeHeader !== null) {
    const ifRange = headers.get("if-range");
    if (ifRange !== null && !ifRangeMatches(ifRange, entity)) rangeHeader = null;
  }
  const range = parseRange(rangeHeader, size, plan); // plan is a RangeOptions (maxRanges)

  if (range.kind === "unsatisfiable") {
    fields.push(["content-range", `bytes */${size}`]);
    return bodyless(416, fields, null, checked);
  }
  if (range.kind === "satisfiable" && range.ranges.length > 1) {
    const multipart = multipartParts(entity, range.ranges, contentType);
    fields.push(["content-type", multipart.contentType]);
    return {
      status: 206,
      fields,
      contentLength: multipart.byteLength,
      body: isHead ? null : multipart.parts,
      chunkSize: plan.chunkSize,
      fieldsChecked: checked,
    };
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
  fields.push(checked ? contentTypeField(contentType) : ["content-type", contentType]);
  return {
    status,
    fields,
    contentLength: length,
    body: isHead ? null : entity.parts(offset, length),
    chunkSize: plan.chunkSize,
    fieldsChecked: checked,
  };
}

const ACCEPT_RANGES = prepareField("accept-ranges", "bytes");

/** Most Content-Type fields kept prepared; the table is emptied when it is full. */
const CONTENT_TYPE_FIELDS = 1_000;
const contentTypeFields = new Map<string, HeaderPair>();

/** The `content-type` field for a checked `value`, prepared once per value. */
function contentTypeField(value: string): HeaderPair {
  let field = contentTypeFields.get(value);
  if (field === undefined) {
    if (contentTypeFields.size >= CONTENT_TYPE_FIELDS) contentTypeFields.clear();
    field = prepareField("content-type", value);
    contentTypeFields.set(value, field);
  }
  return field;
}

function bodyless(
  status: number,
  fields: readonly HeaderPair[],
  contentLength: number | null,
  fieldsChecked = false,
): EntityResponse {
  return { status, fields, contentLength, body: null, fieldsChecked };
}

const encoder = new TextEncoder();

/**
 * A short text response (`text/plain; charset=utf-8`) with `base` fields first and an explicit
 * Content-Length, so HEAD learns the length GET would get (RFC 9110 §9.3.2, §8.6).
 */
export function textResponse(
  status: number,
  text: string,
  base: readonly HeaderPair[],
): EntityResponse {
  const body = encoder.encode(text);
  return {
    status,
    fields: [...base, ["content-type", "text/plain; charset=utf-8"]],
    contentLength: body.byteLength,
    body,
  };
}

/**
 * The `Response` for `answer`, for servers and code that need one: parts become a
 * {@linkcode FileBody} (sendfile on the zero-copy engine, a stream elsewhere).
 */
export function toResponse(answer: EntityResponse): Response {
  const headers: [string, string][] = [];
  for (const [name, value] of answer.fields) headers.push([name, value]);
  if (answer.contentLength !== null) {
    headers.push(["content-length", String(answer.contentLength)]);
  }
  const body = answer.body;
  const init = { status: answer.status, headers };
  if (body === null) return new Response(null, init);
  if (body instanceof Uint8Array) return new Response(body as Uint8Array<ArrayBuffer>, init);
  return new Response(new FileBody(body, { chunkSize: answer.chunkSize }), init);
}
