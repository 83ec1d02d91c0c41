/**
 * Fast byte-to-string decoding for HTTP heads. Head bytes are latin1 by definition (RFC 9110
 * §5.5: obs-text is opaque), so each byte becomes one UTF-16 code unit; no TextDecoder call
 * (an op per call) and no subarray (an allocation per call).
 *
 * @module
 */

/** Reused argument array for `String.fromCharCode.apply`; never escapes this module. */
const codes: number[] = [];
/** Arguments per `apply` call, far below V8's argument limit. */
const APPLY_SLICE = 4096;

/** Decodes `buf[start, end)` as latin1 (one char per byte). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return "";
  if (n === 1) return String.fromCharCode(buf[start]);
  if (n > APPLY_SLICE) {
    let s = "";
    for (let at = start; at < end; at += APPLY_SLICE) {
      s += latin1(buf, at, at + APPLY_SLICE < end ? at + APPLY_SLICE : end);
    }
    return s;
  }
  codes.length = n;
  for (let i = 0; i < n; i++) codes[i] = buf[start + i];
  return String.fromCharCode.apply(null, codes);
}
