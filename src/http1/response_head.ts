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

/** Lengths of the names {@linkcode fieldAction} cares about, to skip lower-casing the rest. */
function mayNeedAction(name: string): boolean {
  const n = name.length;
  return n === 4 || n === 10 || n === 14 || n === 16 || n === 17;
}

/**
 * Field names and values of the head being serialized, alternating (module state: serializing
 * is synchronous, and reusing one array avoids garbage).
 */
const fields: string[] = [];
let fieldsLength = 0;
let appDate = false;

function collect(name: string, value: string, lowerName: string): void {
  if (mayNeedAction(lowerName)) {
    const action = fieldAction(lowerName);
    if (action === 1) return;
    if (action === 2) appDate = true;
  }
  fields[fieldsLength++] = name;
  fields[fieldsLength++] = value;
}

function collectFromHeaders(value: string, name: string): void {
  collect(name, value, name);
}

/**
 * Writes `name: value\r\n` at `o` and returns the next offset. Throws a TypeError for a name
 * that is not a token or a value with a control character (no CR/LF can be injected).
 */
function writeField(out: Uint8Array, o: number, name: string, value: string): number {
  const nl = name.length;
  if (nl === 0) throw new TypeError("empty header name");
  for (let i = 0; i < nl; i++) {
    const c = name.charCodeAt(i);
    if (c > 0x7f || TCHAR[c] !== 1) {
      throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
    }
    out[o++] = c;
  }
  out[o++] = 0x3a;
  out[o++] = 0x20;
  const vl = value.length;
  for (let i = 0; i < vl; i++) {
    const c = value.charCodeAt(i);
    // field-value = *( VCHAR / obs-text / SP / HTAB ) (RFC 9110 §5.5): no CR/LF, no controls.
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) {
      throw new TypeError(`invalid character in value of header ${JSON.stringify(name)}`);
    }
    out[o++] = c;
  }
  out[o++] = 0x0d;
  out[o++] = 0x0a;
  return o;
}

/**
 * Serializes a response head: status line, the app's header fields (minus framing and hop-by-hop
 * fields), `date` (unless the app set one), `connection` when needed, and `content-length` or
 * `transfer-encoding: chunked` as {@linkcode responseFraming} decides. Content-Length is never
 * sent with 1xx or 204 (RFC 9110 §8.6). Throws a TypeError for an invalid field name or value
 * (header injection) and a RangeError for an invalid status or length. The returned bytes are a
 * view of a shared slab: write them, keep them as long as needed, but do not modify or transfer
 * their buffer.
 */
export function serializeResponseHead(
  status: number,
  headers: Headers | [string, string][],
  opts: ResponseHeadOptions,
): Uint8Array {
  const line = statusLine(status);
  const length = opts.contentLength;
  if (length !== null && !(Number.isSafeInteger(length) && length >= 0)) {
    throw new RangeError(`invalid content length ${length}`);
  }
  fieldsLength = 0;
  appDate = false;
  if (headers instanceof Headers) {
    // forEach is ~5x faster than the Headers iterator in Deno; names come lower-cased.
    headers.forEach(collectFromHeaders);
  } else {
    for (let i = 0; i < headers.length; i++) {
      const name = headers[i][0];
      collect(name, headers[i][1], mayNeedAction(name) ? name.toLowerCase() : name);
    }
  }
  if (!appDate) {
    fields[fieldsLength++] = "date";
    fields[fieldsLength++] = httpDate();
  }
  const framing = responseFraming(status, opts);
  if (!(opts.keepAlive && framing !== "close")) {
    fields[fieldsLength++] = "connection";
    fields[fieldsLength++] = "close";
  } else if (opts.versionMinor === 0) {
    fields[fieldsLength++] = "connection";
    fields[fieldsLength++] = "keep-alive";
  }
  if (length !== null && status >= 200 && status !== 204) {
    fields[fieldsLength++] = "content-length";
    fields[fieldsLength++] = String(length);
  } else if (framing === "chunked") {
    fields[fieldsLength++] = "transfer-encoding";
    fields[fieldsLength++] = "chunked";
  }

  // Written piece by piece from flat strings: charCodeAt on one concatenated (cons) string was
  // measured ~3x slower than this.
  let n = line.length + 2;
  for (let i = 0; i < fieldsLength; i += 2) n += fields[i].length + fields[i + 1].length + 4;
  const out = allocBytes(n);
  let o = 0;
  for (let i = 0; i < line.length; i++) out[o++] = line.charCodeAt(i);
  for (let i = 0; i < fieldsLength; i += 2) o = writeField(out, o, fields[i], fields[i + 1]);
  out[o++] = 0x0d;
  out[o++] = 0x0a;
  return out;
}
