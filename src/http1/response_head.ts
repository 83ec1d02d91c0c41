/**
 * HTTP/1.1 response-head serializer (RFC 9112 §4, §6; RFC 9110 §6.6.1, §7.6.1, §8.6).
 *
 * The head is written straight into the caller's buffer (the engine's staging buffer, or a view
 * of a shared slab, see `byte_slab.ts`): fixed lines (status, date, fields made once with
 * {@linkcode prepareField}) are copied as bytes, the rest written char by char, so a head
 * allocates nothing. The serializer owns the framing and connection headers: it drops the app's
 * `Connection`, `Keep-Alive`, `Proxy-Connection`, `Transfer-Encoding` and `Content-Length` and
 * writes its own from the options, so an app cannot produce a response whose framing disagrees
 * with what the server sends. Header fields given as an array are validated (token names, no
 * control characters in values) and a violation throws a TypeError, so no app value can inject
 * a line break (`Headers` objects are validated by their constructor already).
 *
 * @module
 */

import { allocBytes, latin1Bytes } from "./byte_slab.ts";
import { TCHAR } from "./chars.ts";
import { httpDate } from "./http_date.ts";
import { statusText } from "./status_text.ts";

export { httpDate } from "./http_date.ts";
export { statusText } from "./status_text.ts";
export { CHUNK_CRLF, chunkHeader, encodeChunk, LAST_CHUNK } from "./response_chunks.ts";

/** How the response body is framed and whether the connection stays open. */
export interface ResponseHeadOptions {
  /** Keep the connection open after this response, if the framing allows it. */
  keepAlive: boolean;
  /** Minor version of the request: a 1.0 client needs an explicit `Connection: keep-alive`. */
  versionMinor: 0 | 1;
  /** Exact body length, or null when unknown (then chunked, or delimited by closing). */
  contentLength: number | null;
  /** Send an unknown-length body chunked (HTTP/1.1 requests only; ignored for 1.0). */
  chunked?: boolean;
  /** The request was HEAD: no body follows, but the head describes the GET response. */
  head?: boolean;
  /**
   * Every field name is a token and every value valid (RFC 9110 §5.1, §5.5), as the maker of the
   * fields guarantees (src/entity.ts checks what it does not build from numbers and tables
   * itself): the per-field checks are skipped. Framing fields are still dropped.
   */
  fieldsChecked?: boolean;
}

/** The one interim response the server sends (RFC 9110 §15.2.1); shared, do not modify. */
export const CONTINUE_100: Uint8Array = latin1Bytes("HTTP/1.1 100 Continue\r\n\r\n");

/** Returns true for statuses whose responses never have a body (RFC 9112 §6.3 item 1). */
export function isBodylessStatus(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}

/** How a response body is delimited on the wire. */
export type ResponseFraming = "none" | "length" | "chunked" | "close";

/**
 * The framing {@linkcode serializeResponseHead} uses for these arguments: `none` (no body
 * bytes follow: bodyless status or HEAD), `length`, `chunked`, or `close` (the body ends when
 * the server closes the connection).
 */
export function responseFraming(status: number, opts: ResponseHeadOptions): ResponseFraming {
  if (isBodylessStatus(status) || opts.head === true) return "none";
  if (opts.contentLength !== null) return "length";
  if (opts.chunked === true && opts.versionMinor === 1) return "chunked";
  return "close";
}

/**
 * Returns true when the connection may carry another request after this response: the caller
 * asked for keep-alive and the body is not delimited by closing the connection.
 */
export function responseKeepsAlive(status: number, opts: ResponseHeadOptions): boolean {
  return opts.keepAlive && responseFraming(status, opts) !== "close";
}

const statusLines: string[] = [];

function statusLine(status: number): string {
  let line = statusLines[status];
  if (line === undefined) {
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw new RangeError(`invalid status ${status}`);
    }
    // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4); a server
    // answers with the highest 1.x version it supports (RFC 9110 §6.2).
    line = `HTTP/1.1 ${status} ${statusText(status)}\r\n`;
    statusLines[status] = line;
  }
  return line;
}

/** 1 = drop the app's field (framing or hop-by-hop), 2 = the app sets Date itself. */
function fieldAction(lowerName: string): number {
  switch (lowerName) {
    case "connection":
    case "keep-alive":
    case "proxy-connection":
    case "transfer-encoding":
    case "content-length":
      return 1;
    case "date":
      return 2;
    default:
      return 0;
  }
}

/** 0, or what {@linkcode fieldAction} says; only names of its lengths are lower-cased. */
function actionFor(name: string): number {
  const n = name.length;
  if (n !== 4 && n !== 10 && n !== 14 && n !== 16 && n !== 17) return 0;
  return fieldAction(name.toLowerCase());
}

/** A header field as `[name, value]`. */
export type HeaderField = readonly [name: string, value: string];

/** A field-value with a character outside VCHAR / obs-text / SP / HTAB (RFC 9110 §5.5). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** Names already checked to be tokens (RFC 9110 §5.1); few, they repeat on every response. */
const goodNames = new Set<string>();

/** Throws a TypeError unless `name` is a token. */
function checkName(name: string): void {
  if (goodNames.has(name)) return;
  const n = name.length;
  if (n === 0) throw new TypeError("empty header name");
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c > 0x7f || TCHAR[c] !== 1) {
      throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
    }
  }
  if (goodNames.size >= 1024) goodNames.clear();
  goodNames.add(name);
}

const encoder = new TextEncoder();

/** Latin1 text up to this length is copied char by char; longer text goes through `encodeInto`. */
const SHORT_TEXT = 64;

/**
 * Writes the latin1 text `s` into `out` at `at`; returns the offset after it, or -1 when it does
 * not fit. Short text is copied char by char (cheaper than a call into the runtime); long ASCII
 * text goes through one `encodeInto`, and text with obs-text bytes (0x80-0xFF, which UTF-8 would
 * encode as two bytes) is redone char by char.
 */
function writeLatin1(out: Uint8Array, at: number, s: string): number {
  const n = s.length;
  if (at + n > out.byteLength) return -1;
  if (n <= SHORT_TEXT) {
    for (let i = 0; i < n; i++) out[at + i] = s.charCodeAt(i);
    return at + n;
  }
  const result = encoder.encodeInto(s, at === 0 ? out : out.subarray(at));
  if (result.read !== n || result.written !== n) {
    for (let i = 0; i < n; i++) out[at + i] = s.charCodeAt(i);
  }
  return at + n;
}

/** Copies `bytes` into `out` at `at`; returns the offset after them, or -1 when they do not fit. */
function writeBytes(out: Uint8Array, at: number, bytes: Uint8Array): number {
  const end = at + bytes.byteLength;
  if (end > out.byteLength) return -1;
  out.set(bytes, at);
  return end;
}

/** Writes the decimal digits of the safe integer `n` ≥ 0; returns the offset after, or -1. */
function writeDecimal(out: Uint8Array, at: number, n: number): number {
  let digits = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  const end = at + digits;
  if (end > out.byteLength) return -1;
  for (let i = end - 1, v = n; i >= at; i--, v = Math.floor(v / 10)) out[i] = 0x30 + (v % 10);
  return end;
}

/** The latin1 bytes of `s` (chars below 256), in a buffer of their own. */
function ownBytes(s: string): Uint8Array {
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

/** Wire lines (`name: value` CRLF) of fields made by {@linkcode prepareField}. */
const preparedLines = new WeakMap<HeaderField, Uint8Array>();

/**
 * A header field checked once and encoded once: the serializer copies its wire line instead of
 * checking and encoding name and value again, so a field that repeats on many responses (an
 * entity's ETag, a CORS header) costs a copy. Throws a TypeError for a name that is not a token
 * or a value with a character outside VCHAR / obs-text / SP / HTAB (RFC 9110 §5.1, §5.5).
 *
 * @example
 * ```ts
 * const etag = prepareField("etag", '"1f-5e0"');
 * writeResponseHead(out, 0, 200, [etag], { keepAlive: true, versionMinor: 1, contentLength: 0 });
 * ```
 */
export function prepareField(name: string, value: string): HeaderField {
  checkName(name);
  if (BAD_VALUE.test(value)) {
    throw new TypeError(`invalid character in value of header ${JSON.stringify(name)}`);
  }
  const field: HeaderField = Object.freeze([name, value] as const);
  preparedLines.set(field, ownBytes(name + ": " + value + "\r\n"));
  return field;
}

const statusLineBytes: Uint8Array[] = [];
let dateLine: Uint8Array = new Uint8Array(0);
let dateLineOf = "";
const CONNECTION_CLOSE = ownBytes("connection: close\r\n");
const CONNECTION_KEEP_ALIVE = ownBytes("connection: keep-alive\r\n");
const CONTENT_LENGTH = ownBytes("content-length: ");
const CHUNKED = ownBytes("transfer-encoding: chunked\r\n");
const COLON_SP = ownBytes(": ");

/** The `date` line for now, encoded at most once per second (RFC 9110 §6.6.1). */
function currentDateLine(): Uint8Array {
  const date = httpDate();
  if (date !== dateLineOf) {
    dateLine = ownBytes("date: " + date + "\r\n");
    dateLineOf = date;
  }
  return dateLine;
}

/**
 * The response-head serializer (the only one: the engine writes every head through it, the
 * codec's {@linkcode serializeResponseHead} wraps it). Writes into `out` at `at`: the status
 * line, `fields` in order (minus framing and hop-by-hop fields, RFC 9112 §6, §9.6; RFC 9110
 * §7.6.1), `date` (unless given, RFC 9110 §6.6.1), `connection` when needed, and `content-length`
 * or `transfer-encoding: chunked` as {@linkcode responseFraming} decides; Content-Length is never
 * sent with 1xx or 204 (RFC 9110 §8.6). Every name is checked to be a token and every value for
 * control characters (once, when prepared, for fields of {@linkcode prepareField}), so no value
 * can inject a line break; an invalid field throws before the head is complete, and the caller
 * sends nothing of it. Returns the offset after the head, or -1 when it does not fit in `out`.
 * Throws a TypeError for an invalid field name or value and a RangeError for an invalid status
 * or length.
 */
export function writeResponseHead(
  out: Uint8Array,
  at: number,
  status: number,
  fields: readonly HeaderField[],
  opts: ResponseHeadOptions,
): number {
  const length = opts.contentLength;
  if (length !== null && !(Number.isSafeInteger(length) && length >= 0)) {
    throw new RangeError(`invalid content length ${length}`);
  }
  let lineBytes = statusLineBytes[status];
  if (lineBytes === undefined) lineBytes = statusLineBytes[status] = ownBytes(statusLine(status));
  let p = writeBytes(out, at, lineBytes);
  let appDate = false;
  for (let i = 0; i < fields.length && p >= 0; i++) {
    const field = fields[i];
    const name = field[0];
    const action = actionFor(name);
    if (action === 1) continue;
    if (action === 2) appDate = true;
    const prepared = preparedLines.get(field);
    if (prepared !== undefined) {
      p = writeBytes(out, p, prepared);
      continue;
    }
    const value = field[1];
    if (opts.fieldsChecked !== true) {
      checkName(name);
      if (BAD_VALUE.test(value)) {
        throw new TypeError(`invalid character in value of header ${JSON.stringify(name)}`);
      }
    }
    p = writeLatin1(out, p, name);
    if (p >= 0) p = writeBytes(out, p, COLON_SP);
    if (p >= 0) p = writeLatin1(out, p, value);
    if (p >= 0) p = writeLatin1(out, p, "\r\n");
  }
  if (p < 0) return -1;
  if (!appDate) p = writeBytes(out, p, currentDateLine());
  const framing = responseFraming(status, opts);
  if (p >= 0 && !(opts.keepAlive && framing !== "close")) p = writeBytes(out, p, CONNECTION_CLOSE);
  else if (p >= 0 && opts.versionMinor === 0) p = writeBytes(out, p, CONNECTION_KEEP_ALIVE);
  if (p < 0) return -1;
  if (length !== null && status >= 200 && status !== 204) {
    p = writeBytes(out, p, CONTENT_LENGTH);
    if (p >= 0) p = writeDecimal(out, p, length);
    if (p >= 0) p = writeLatin1(out, p, "\r\n");
  } else if (framing === "chunked") p = writeBytes(out, p, CHUNKED);
  return p < 0 ? -1 : writeLatin1(out, p, "\r\n");
}

/** `headers` as pairs (names lower-cased by `Headers`); arrays are returned as they are. */
function fieldList(headers: Headers | readonly HeaderField[]): readonly HeaderField[] {
  if (!(headers instanceof Headers)) return headers;
  const list: HeaderField[] = [];
  // forEach is ~5x faster than the Headers iterator in Deno
  headers.forEach((value, name) => list.push([name, value]));
  return list;
}

/**
 * Serializes a response head with {@linkcode writeResponseHead} into fresh bytes. The returned
 * bytes are a view of a shared slab: write them, keep them as long as needed, but do not modify
 * or transfer their buffer.
 */
export function serializeResponseHead(
  status: number,
  headers: Headers | readonly HeaderField[],
  opts: ResponseHeadOptions,
): Uint8Array {
  const list = fieldList(headers);
  let size = statusLine(status).length + 160;
  for (let i = 0; i < list.length; i++) size += list[i][0].length + list[i][1].length + 4;
  const out = allocBytes(size);
  const n = writeResponseHead(out, 0, status, list, opts);
  return out.subarray(0, n);
}
