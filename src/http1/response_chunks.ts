/**
 * The chunked transfer coding of response bodies (RFC 9112 §7.1): each chunk is its size in
 * hex, CRLF, the data, CRLF; the body ends with a zero-size chunk and an empty trailer section.
 *
 * @module
 */

import { latin1Bytes } from "./byte_slab.ts";

/** CRLF that ends each chunk's data; shared, do not modify. */
export const CHUNK_CRLF: Uint8Array = latin1Bytes("\r\n");

/** The last chunk with an empty trailer section: "0\r\n\r\n"; shared, do not modify. */
export const LAST_CHUNK: Uint8Array = latin1Bytes("0\r\n\r\n");

/** Returns the chunk-size line for `size` bytes of data: hex size and CRLF. */
export function chunkHeader(size: number): Uint8Array {
  if (!(Number.isSafeInteger(size) && size > 0)) throw new RangeError(`invalid chunk size ${size}`);
  return latin1Bytes(size.toString(16) + "\r\n");
}

/**
 * Returns the buffers of one chunk carrying `data` (for one writev): size line, data, CRLF.
 * Empty data yields no buffers, because a zero-size chunk would end the body.
 */
export function encodeChunk(data: Uint8Array): Uint8Array[] {
  if (data.byteLength === 0) return [];
  return [chunkHeader(data.byteLength), data, CHUNK_CRLF];
}
