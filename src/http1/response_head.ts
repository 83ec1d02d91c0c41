/**
 * HTTP/1.1 response-head serializer (RFC 9112 §4, §6; RFC 9110 §6.6.1, §7.6.1, §8.6).
 *
 * The head is assembled as one latin1 string and written byte by byte into a view of a shared
 * slab (see `byte_slab.ts`), which is several times cheaper than allocating a buffer per
 * response. The serializer owns the framing and connection headers: it drops the app's
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

/**
 * Writes the latin1 text `s` into `out` at `at`; returns the offset after it, or -1 when it does
 * not fit. ASCII (the common case) goes through one `encodeInto`; text with obs-text bytes
 * (0x80-0xFF, which UTF-8 would encode as two bytes) is redone char by char.
 */
function writeLatin1(out: Uint8Array, at: number, s: string): number {
  const n = s.length;
  if (at + n > out.byteLength) return -1;
  const result = encoder.encodeInto(s, at === 0 ? out : out.subarray(at));
  if (result.read !== n || result.written !== n) {
    for (let i = 0; i < n; i++) out[at + i] = s.charCodeAt(i);
  }
  return at + n;
}

/**
 * The response-head serializer (the only one: the engine writes every head through it, the
 * codec's {@linkcode serializeResponseHead} wraps it). Writes into `out` at `at`: the status
 * line, `fields` in order (minus framing and hop-by-hop fields, RFC 9112 §6, §9.6; RFC 9110
 * §7.6.1), `date` (unless given, RFC 9110 §6.6.1), `connection` when needed, and `content-length`
 * or `transfer-encoding: chunked` as {@linkcode responseFraming} decides; Content-Length is never
 * sent with 1xx or 204 (RFC 9110 §8.6). Every name is checked to be a token and every value for
 * control characters before anything is written, so no value can inject a line break. Returns
 * the offset after the head, or -1 when it does not fit in `out`. Throws a TypeError for an
 * invalid field name or value and a RangeError for an invalid status or length.
 */
export function writeResponseHead(
  out: Uint8Array,
  at: number,
  status: number,
  fields: readonly HeaderField[],
  opts: ResponseHeadOptions,
): number {
  let s = statusLine(status);
  const length = opts.contentLength;
  if (length !== null && !(Number.isSafeInteger(length) && length >= 0)) {
    throw new RangeError(`invalid content length ${length}`);
  }
  let appDate = false;
  for (let i = 0; i < fields.length; i++) {
    const name = fields[i][0];
    const value = fields[i][1];
    const action = actionFor(name);
    if (action === 1) continue;
    if (action === 2) appDate = true;
    if (opts.fieldsChecked !== true) {
      checkName(name);
      if (BAD_VALUE.test(value)) {
        throw new TypeError(`invalid character in value of header ${JSON.stringify(name)}`);
      }
    }
    s += name + ": " + value + "\r\n";
  }
  if (!appDate) s += "date: " + httpDate() + "\r\n";
  const framing = responseFraming(status, opts);
  if (!(opts.keepAlive && framing !== "close")) s += "connection: close\r\n";
  else if (opts.versionMinor === 0) s += "connection: keep-alive\r\n";
  if (length !== null && status >= 200 && status !== 204) {
    s += "content-length: " + length + "\r\n";
  } else if (framing === "chunked") s += "transfer-encoding: chunked\r\n";
  return writeLatin1(out, at, s + "\r\n");
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
