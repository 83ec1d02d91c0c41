/**
 * Turning the app's `Response` into what goes on the wire: the serialized head (through the
 * codec's {@linkcode serializeResponseHead}, which owns framing and hop-by-hop fields) and the
 * body source — bytes in memory, a {@linkcode FileBody} for sendfile, or a stream.
 *
 * @module
 */
import { isBodylessStatus, responseKeepsAlive, serializeResponseHead } from "../../http1/mod.ts";
import type { ResponseHeadOptions } from "../../http1/mod.ts";
import { type FileBody, isFileBody } from "../../file_body.ts";
import { headText } from "./head_writer.ts";
import { headerList, staticBody } from "./response_internals.ts";

/** What the request side contributes to the response head. */
export interface RequestSide {
  /** Request method (HEAD: no body is sent). */
  readonly method: string;
  /** HTTP minor version of the request. */
  readonly versionMinor: 0 | 1;
  /** The connection may stay open as far as the request and the engine are concerned. */
  readonly keepAlive: boolean;
}

/** The response as the engine writes it. */
export interface ResponsePlan {
  /** Status code. */
  readonly status: number;
  /**
   * The head: latin1 text for the engine's head writer (from Deno's validated header list), or
   * bytes from the codec's serializer (a view of its slab: do not modify).
   */
  readonly head: string | Uint8Array;
  /** The connection stays open after this response. */
  readonly keepAlive: boolean;
  /** Body held in memory, as UTF-8 text or bytes (null: none, or see fileBody/stream). */
  readonly bytes: Uint8Array | string | null;
  /** A file body to send with sendfile. */
  readonly fileBody: FileBody | null;
  /** A stream body to read and write with backpressure. */
  readonly stream: ReadableStream<Uint8Array> | null;
  /** Stream chunks are framed with the chunked coding. */
  readonly chunked: boolean;
  /** Promised stream length (Content-Length) or -1. */
  readonly streamLength: number;
}

/** Parses a Content-Length value the app set; -1 when absent or not a plain number. */
function lengthValue(value: string | null | undefined): number {
  if (value === null || value === undefined) return -1;
  const v = value.trim();
  return /^\d{1,15}$/.test(v) ? Number(v) : -1;
}

/** True when a Connection field value has the `close` option. */
function hasClose(value: string | null | undefined): boolean {
  return value !== null && value !== undefined && /(^|,)\s*close\s*(,|$)/i.test(value);
}

/**
 * Plans the response to `request`. Throws (TypeError/RangeError from the codec) for a response
 * that cannot be serialized; the caller answers 500 then.
 */
export function planResponse(response: Response, request: RequestSide): ResponsePlan {
  const status = response.status;
  const isHead = request.method === "HEAD";
  const bodyless = isBodylessStatus(status);
  const list = headerList(response);
  let appLength = -1;
  let appClose = false;
  if (list !== undefined) {
    for (let i = 0; i < list.length; i++) {
      const name = list[i][0];
      if (name.length === 14 && name.toLowerCase() === "content-length") {
        appLength = lengthValue(list[i][1]);
      } else if (name.length === 10 && name.toLowerCase() === "connection") {
        appClose = hasClose(list[i][1]);
      }
    }
  } else {
    appLength = lengthValue(response.headers.get("content-length"));
    appClose = hasClose(response.headers.get("connection"));
  }
  let fixed = staticBody(response);
  let fileBody: FileBody | null = null;
  let stream: ReadableStream<Uint8Array> | null = null;
  if (fixed === undefined) {
    const body = response.body;
    if (body === null) fixed = null;
    else if (isFileBody(body)) fileBody = body;
    else stream = body;
  }
  let bytes = fixed ?? null;
  const knownLength = fileBody !== null
    ? fileBody.byteLength
    : stream !== null
    ? -1
    : bytes === null
    ? 0
    : typeof bytes === "string"
    ? utf8Length(bytes)
    : bytes.byteLength;
  let contentLength: number | null;
  if (bodyless) contentLength = status === 304 && appLength >= 0 ? appLength : null;
  else if (isHead) {
    // Hono answers HEAD with `new Response(null, getResponse)`: then only the app's own
    // Content-Length describes the GET body; a null body says nothing about it
    contentLength = appLength >= 0 ? appLength : fixed === null ? null : knownLength;
  } else if (knownLength >= 0) contentLength = knownLength;
  else contentLength = appLength >= 0 ? appLength : null;
  const opts: ResponseHeadOptions = {
    keepAlive: request.keepAlive && !appClose,
    versionMinor: request.versionMinor,
    contentLength,
    chunked: true,
    head: isHead,
  };
  const keepAlive = responseKeepsAlive(status, opts);
  const head = list !== undefined
    ? headText(status, list, opts)
    : serializeResponseHead(status, response.headers, opts);
  if (isHead || bodyless) {
    if (stream !== null) stream.cancel().catch(() => {});
    return {
      status,
      head,
      keepAlive,
      bytes: null,
      fileBody: null,
      stream: null,
      chunked: false,
      streamLength: -1,
    };
  }
  if (bytes !== null && (typeof bytes === "string" ? bytes.length : bytes.byteLength) === 0) {
    bytes = null;
  }
  return {
    status,
    head,
    keepAlive,
    bytes,
    fileBody,
    stream,
    chunked: stream !== null && contentLength === null && request.versionMinor === 1,
    streamLength: stream !== null && contentLength !== null ? contentLength : -1,
  };
}

/** Byte length of `text` in UTF-8, without encoding it. */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // a surrogate pair: 4 bytes for 2 UTF-16 units
        i++;
      } else n += 2; // lone surrogate: U+FFFD, 3 bytes
    } else n += 2;
  }
  return n;
}
