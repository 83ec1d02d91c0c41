/**
 * Complete responses for requests the codec rejects (400, 408, 413, 414, 431, 501, 505, ...):
 * they are sent as is and the connection is closed after them, because after a framing error
 * the server cannot know where the next request would start (RFC 9112 §9.3, §6.3).
 *
 * @module
 */

import { latin1Bytes } from "./byte_slab.ts";
import { httpDate } from "./http_date.ts";
import { statusText } from "./status_text.ts";

/** Keeps printable ASCII of an internal reason; it never carries request bytes, but be sure. */
function printable(reason: string): string {
  let out = "";
  for (let i = 0; i < reason.length && i < 200; i++) {
    const c = reason.charCodeAt(i);
    out += c >= 0x20 && c < 0x7f ? reason[i] : "?";
  }
  return out;
}

/**
 * Returns a whole `Connection: close` response for `status` with a short text/plain body
 * naming the status and `reason`, e.g. "400 Bad Request: whitespace before colon\n". With
 * `head` (the request was HEAD) the body is left out and Content-Length still gives the length
 * a GET would get (RFC 9110 §9.3.2, §8.6).
 */
export function errorResponseBytes(status: number, reason: string, head = false): Uint8Array {
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new RangeError(`not an error status: ${status}`);
  }
  const text = statusText(status);
  const why = printable(reason);
  const body = `${status} ${text}${why === "" ? "" : ": " + why}\n`;
  return latin1Bytes(
    `HTTP/1.1 ${status} ${text}\r\n` +
      "content-type: text/plain; charset=utf-8\r\n" +
      `content-length: ${body.length}\r\n` +
      "connection: close\r\n" +
      `date: ${httpDate()}\r\n\r\n` +
      (head ? "" : body),
  );
}
