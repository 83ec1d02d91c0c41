/**
 * The Date header value (RFC 9110 §6.6.1) in IMF-fixdate form (RFC 9110 §5.6.7), formatted at
 * most once per second.
 *
 * @module
 */

let cachedSecond = -1;
let cachedDate = "";

/** Returns `now` (ms since the epoch) as an IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". */
export function httpDate(now: number = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    // toUTCString is specified (ECMA-262 §21.4.4.43) to produce exactly the IMF-fixdate layout.
    cachedDate = new Date(second * 1000).toUTCString();
    cachedSecond = second;
  }
  return cachedDate;
}
