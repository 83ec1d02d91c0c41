/**
 * Output planning, step one: what goes on the wire for a response — status, header fields, the
 * framing options for the one head serializer ({@linkcode writeResponseHead}), and the body
 * source: bytes in memory, file parts for sendfile, or a stream. Two inputs: the engine's own
 * {@linkcode EntityResponse} (the prepared file path: no `Response` at all) and a `Response`
 * from the app.
 *
 * @module
 */
import {
  type HeaderField,
  isBodylessStatus,
  type ResponseHeadOptions,
  responseKeepsAlive,
} from "../../http1/mod.ts";
import { type BodyPart, type FileBody, isFileBody } from "../../file_body.ts";
import type { EntityResponse } from "../../entity.ts";
import { headerList, peekResponse, staticBody } from "./response_internals.ts";

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
  /** Header fields for the serializer (it drops framing and hop-by-hop fields). */
  readonly fields: readonly HeaderField[];
  /** Framing options for the serializer. */
  readonly head: ResponseHeadOptions;
  /** The connection stays open after this response. */
  readonly keepAlive: boolean;
  /** Body held in memory, as UTF-8 text or bytes (null: none, or see parts/stream). */
  readonly bytes: Uint8Array | string | null;
  /** File body parts (file slices and bytes) to send with sendfile / pread. */
  readonly parts: readonly BodyPart[] | null;
  /** The app's file body itself, for a server that reads it as a stream (null: none). */
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

/** Total bytes of `parts`. */
function partsLength(parts: readonly BodyPart[]): number {
  let total = 0;
  for (const part of parts) total += part instanceof Uint8Array ? part.byteLength : part.length;
  return total;
}

/**
 * The Content-Length to send (RFC 9110 §8.6, RFC 9112 §6.3): none for bodyless statuses (a 304
 * may repeat the app's); for HEAD only the app's own value describes the GET body (a missing
 * body says nothing about it, as with Hono's `new Response(null, getResponse)`); else the body's
 * known length, or the app's for a stream.
 */
function contentLengthFor(
  status: number,
  isHead: boolean,
  appLength: number,
  hasBody: boolean,
  knownLength: number,
): number | null {
  if (isBodylessStatus(status)) return status === 304 && appLength >= 0 ? appLength : null;
  if (isHead) return appLength >= 0 ? appLength : hasBody && knownLength >= 0 ? knownLength : null;
  if (knownLength >= 0) return knownLength;
  return appLength >= 0 ? appLength : null;
}

const NO_BODY = {
  bytes: null,
  parts: null,
  fileBody: null,
  stream: null,
  chunked: false,
  streamLength: -1,
} as const;

/** Plans the engine's own answer (the prepared file path). */
export function planAnswer(answer: EntityResponse, request: RequestSide): ResponsePlan {
  const status = answer.status;
  const isHead = request.method === "HEAD";
  const body = answer.body;
  const knownLength = body === null
    ? 0
    : body instanceof Uint8Array
    ? body.byteLength
    : partsLength(body);
  const appLength = answer.contentLength ?? -1;
  const head: ResponseHeadOptions = {
    keepAlive: request.keepAlive,
    versionMinor: request.versionMinor,
    // HEAD: only the answer's own Content-Length describes the GET body (as a Hono HEAD answer)
    contentLength: contentLengthFor(status, isHead, appLength, false, knownLength),
    chunked: true,
    head: isHead,
    fieldsChecked: answer.fieldsChecked === true,
  };
  const keepAlive = responseKeepsAlive(status, head);
  if (isHead || isBodylessStatus(status) || body === null) {
    return { status, fields: answer.fields, head, keepAlive, ...NO_BODY };
  }
  return {
    status,
    fields: answer.fields,
    head,
    keepAlive,
    ...NO_BODY,
    bytes: body instanceof Uint8Array ? (body.byteLength === 0 ? null : body) : null,
    parts: body instanceof Uint8Array ? null : body,
  };
}

/** The app's header fields as pairs (Deno's validated list, or through the public API). */
function responseFields(response: Response): readonly HeaderField[] {
  const list = headerList(response);
  if (list !== undefined) return list;
  const fields: HeaderField[] = [];
  response.headers.forEach((value, name) => fields.push([name, value]));
  return fields;
}

/** Plans the response to `request` from the app's `Response`. */
export function planResponse(response: Response, request: RequestSide): ResponsePlan {
  const status = response.status;
  const isHead = request.method === "HEAD";
  const bodyless = isBodylessStatus(status);
  // a fresh Response (e.g. Hono's c.text()) is read as it is, without Deno building its
  // Headers and inner body first
  const peeked = peekResponse(response);
  const fields = peeked !== undefined ? peeked.fields : responseFields(response);
  let appLength = -1;
  let appClose = false;
  for (let i = 0; i < fields.length; i++) {
    const name = fields[i][0];
    if (name.length === 14 && name.toLowerCase() === "content-length") {
      appLength = lengthValue(fields[i][1]);
    } else if (name.length === 10 && name.toLowerCase() === "connection") {
      appClose = hasClose(fields[i][1]);
    }
  }
  let fixed = peeked !== undefined ? peeked.body : staticBody(response);
  let parts: readonly BodyPart[] | null = null;
  let fileBody: FileBody | null = null;
  let stream: ReadableStream<Uint8Array> | null = null;
  if (fixed === undefined) {
    const body = response.body;
    if (body === null) fixed = null;
    else if (isFileBody(body)) {
      fileBody = body;
      parts = body.parts;
    } else stream = body;
  }
  let bytes = fixed ?? null;
  const knownLength = parts !== null
    ? partsLength(parts)
    : stream !== null
    ? -1
    : bytes === null
    ? 0
    : typeof bytes === "string"
    ? utf8Length(bytes)
    : bytes.byteLength;
  const contentLength = contentLengthFor(status, isHead, appLength, fixed !== null, knownLength);
  const head: ResponseHeadOptions = {
    keepAlive: request.keepAlive && !appClose,
    versionMinor: request.versionMinor,
    contentLength,
    chunked: true,
    head: isHead,
  };
  const keepAlive = responseKeepsAlive(status, head);
  if (isHead || bodyless) {
    if (stream !== null) stream.cancel().catch(() => {});
    if (fileBody !== null) fileBody.cancel().catch(() => {});
    return { status, fields, head, keepAlive, ...NO_BODY };
  }
  if (bytes !== null && (typeof bytes === "string" ? bytes.length : bytes.byteLength) === 0) {
    bytes = null;
  }
  return {
    status,
    fields,
    head,
    keepAlive,
    bytes,
    parts,
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
