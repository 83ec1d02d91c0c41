/**
 * The request line of a request the codec rejected, read as far as it goes, so that the access
 * log names what the client sent (e.g. `"GET / HTTP/2.0" 505`) instead of `"- - -"`.
 *
 * @module
 */
import { CR, LF, SP } from "./chars.ts";
import { latin1 } from "./latin1.ts";

/** Method, target and protocol of a request line; `-` for a part that was not received. */
export interface RequestLine {
  /** First word of the line (may be anything: the request was rejected). */
  readonly method: string;
  /** The words between method and protocol. */
  readonly target: string;
  /** Last word of a complete line, e.g. `HTTP/2.0`. */
  readonly protocol: string;
}

/** Most bytes of a request line kept for the log. */
export const MAX_LOGGED_LINE = 2048;

/**
 * Reads the request line from `buf[start, end)` (after leading empty lines, RFC 9112 §2.2) as
 * latin1, at most {@linkcode MAX_LOGGED_LINE} bytes; null when not one byte of it arrived. The
 * log escapes what is not printable.
 */
export function peekRequestLine(buf: Uint8Array, start: number, end: number): RequestLine | null {
  let p = start;
  while (p < end && (buf[p] === CR || buf[p] === LF)) p++;
  const limit = end - p > MAX_LOGGED_LINE ? p + MAX_LOGGED_LINE : end;
  let e = p;
  while (e < limit && buf[e] !== CR && buf[e] !== LF) e++;
  if (e === p) return null;
  const complete = e < end && (buf[e] === CR || buf[e] === LF);
  const text = latin1(buf, p, e);
  const space = text.indexOf(String.fromCharCode(SP));
  if (space < 0) return { method: text, target: "-", protocol: "-" };
  const method = text.slice(0, space) || "-";
  const last = complete ? text.lastIndexOf(" ") : -1;
  if (last <= space) {
    return { method, target: text.slice(space + 1) || "-", protocol: "-" };
  }
  return {
    method,
    target: text.slice(space + 1, last) || "-",
    protocol: text.slice(last + 1) || "-",
  };
}
