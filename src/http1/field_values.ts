/**
 * Byte-level readers of the header values that decide framing and connection reuse: they work
 * on the raw value bytes (already trimmed and free of controls) without building strings.
 *
 * @module
 */

import { HTAB, LOWER, SP, TCHAR } from "./chars.ts";

const COMMA = 0x2c;

/** Bytes of a lower-case ASCII word, for case-insensitive comparison. */
function word(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

const CHUNKED = word("chunked");
const CLOSE = word("close");
const KEEP_ALIVE = word("keep-alive");
const CONTINUE = word("100-continue");

/** Case-insensitive comparison of `buf[start, end)` with a lower-case word. */
function equalsWord(buf: Uint8Array, start: number, end: number, w: Uint8Array): boolean {
  if (end - start !== w.length) return false;
  for (let i = 0; i < w.length; i++) {
    if (LOWER[buf[start + i]] !== w[i]) return false;
  }
  return true;
}

/** Start of the list element at `p` after optional whitespace. */
function skipOws(buf: Uint8Array, p: number, end: number): number {
  while (p < end && (buf[p] === SP || buf[p] === HTAB)) p++;
  return p;
}

/** End of the list element starting at `p`: the next comma or `end`. */
function elementEnd(buf: Uint8Array, p: number, end: number): number {
  while (p < end && buf[p] !== COMMA) p++;
  return p;
}

/** End of the element `[start, end)` with trailing whitespace removed. */
function trimEnd(buf: Uint8Array, start: number, end: number): number {
  while (end > start && (buf[end - 1] === SP || buf[end - 1] === HTAB)) end--;
  return end;
}

/** Largest Content-Length accepted: beyond it lengths lose integer precision. */
const MAX_CONTENT_LENGTH = Number.MAX_SAFE_INTEGER;

/**
 * Reads a Content-Length value (RFC 9112 §6.3, RFC 9110 §8.6): `1*DIGIT`, or a comma list of
 * identical such values. Returns the length, or -1 when the value is invalid, the list's
 * members differ or the number is too large to represent exactly.
 */
export function contentLengthValue(buf: Uint8Array, start: number, end: number): number {
  let result = -1;
  let p = start;
  for (;;) {
    p = skipOws(buf, p, end);
    const e = trimEnd(buf, p, elementEnd(buf, p, end));
    if (e === p) return -1;
    let n = 0;
    for (let i = p; i < e; i++) {
      const d = buf[i] - 0x30;
      if (d < 0 || d > 9) return -1;
      n = n * 10 + d;
      if (n > MAX_CONTENT_LENGTH) return -1;
    }
    if (result !== -1 && n !== result) return -1;
    result = n;
    p = elementEnd(buf, e, end);
    if (p >= end) return result;
    p++; // comma
  }
}

/** What the Transfer-Encoding field lines of one request said, accumulated in order. */
export interface TransferCodings {
  /** Number of non-empty codings seen across all Transfer-Encoding lines. */
  count: number;
  /** How many of them were `chunked`. */
  chunkedCount: number;
  /** The last coding seen was `chunked`. */
  lastIsChunked: boolean;
  /** A coding with a non-token character was seen (e.g. `chunked;x=1` or `"chunked"`). */
  malformed: boolean;
}

/** Adds the codings of one Transfer-Encoding value (RFC 9112 §6.1) to `acc`. */
export function addTransferCodings(
  acc: TransferCodings,
  buf: Uint8Array,
  start: number,
  end: number,
): void {
  let p = start;
  for (;;) {
    p = skipOws(buf, p, end);
    const raw = elementEnd(buf, p, end);
    const e = trimEnd(buf, p, raw);
    if (e > p) { // empty list elements are ignored (RFC 9110 §5.6.1)
      acc.count++;
      const chunked = equalsWord(buf, p, e, CHUNKED);
      if (chunked) acc.chunkedCount++;
      else {
        for (let i = p; i < e; i++) {
          if (TCHAR[buf[i]] !== 1) {
            acc.malformed = true;
            break;
          }
        }
      }
      acc.lastIsChunked = chunked;
    }
    if (raw >= end) return;
    p = raw + 1;
  }
}

/** Bit set by {@linkcode connectionOptions} for a `close` option. */
export const CONNECTION_CLOSE = 1;
/** Bit set by {@linkcode connectionOptions} for a `keep-alive` option. */
export const CONNECTION_KEEP_ALIVE = 2;

/** Reads the `close` and `keep-alive` options of a Connection value (RFC 9110 §7.6.1). */
export function connectionOptions(buf: Uint8Array, start: number, end: number): number {
  let flags = 0;
  let p = start;
  for (;;) {
    p = skipOws(buf, p, end);
    const raw = elementEnd(buf, p, end);
    const e = trimEnd(buf, p, raw);
    if (equalsWord(buf, p, e, CLOSE)) flags |= CONNECTION_CLOSE;
    else if (equalsWord(buf, p, e, KEEP_ALIVE)) flags |= CONNECTION_KEEP_ALIVE;
    if (raw >= end) return flags;
    p = raw + 1;
  }
}

/** Returns true when an Expect value holds the `100-continue` expectation (RFC 9110 §10.1.1). */
export function expectsContinue(buf: Uint8Array, start: number, end: number): boolean {
  let p = start;
  for (;;) {
    p = skipOws(buf, p, end);
    const raw = elementEnd(buf, p, end);
    if (equalsWord(buf, p, trimEnd(buf, p, raw), CONTINUE)) return true;
    if (raw >= end) return false;
    p = raw + 1;
  }
}
