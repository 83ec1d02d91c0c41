/**
 * Conditional requests (RFC 9110 §13) for a file that exists, with a strong ETag and a
 * Last-Modified date.
 *
 * - {@linkcode evaluatePreconditions} follows the precedence of §13.2.2: If-Match, else
 *   If-Unmodified-Since (→ 412); then If-None-Match, else If-Modified-Since (→ 304 for GET/HEAD).
 * - {@linkcode ifRangeMatches} decides whether `Range` applies (§13.1.5): a strong ETag equal
 *   byte for byte, or an HTTP-date exactly equal to Last-Modified. A weak ETag never matches.
 *   (RFC 9110 §8.8.2.2 calls a Last-Modified weak when the file changed within the second it was
 *   sent; that cannot be known at If-Range time, so date matching is as strong as the file's
 *   one-second mtime resolution, which is why players use the ETag.)
 * - Invalid dates are ignored (the header counts as absent); unparseable entity-tag lists match
 *   nothing past the first syntax error.
 *
 * @module
 */
import { parseHttpDate } from "./http_date.ts";

/** The validators of the selected representation. */
export interface Validators {
  /** Strong ETag, quoted (e.g. `"1f-2a-3b"`). */
  readonly etag: string;
  /** Last-Modified in epoch ms, truncated to whole seconds (what the header says). */
  readonly lastModifiedMs: number;
}

/** Result of {@linkcode evaluatePreconditions}. */
export type PreconditionOutcome = "proceed" | "not-modified" | "precondition-failed";

/** The request fields preconditions read; `Headers` satisfies it. */
export interface HeaderSource {
  /** Returns a field value or null. */
  get(name: string): string | null;
}

/** Evaluates If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since (RFC 9110 §13.2.2). */
export function evaluatePreconditions(
  headers: HeaderSource,
  method: string,
  validators: Validators,
): PreconditionOutcome {
  const isGetOrHead = method === "GET" || method === "HEAD";
  // Step 1 / 2: If-Match, or If-Unmodified-Since when If-Match is absent.
  const ifMatch = headers.get("if-match");
  if (ifMatch !== null) {
    if (!entityTagListMatches(ifMatch, validators.etag, true)) return "precondition-failed";
  } else {
    const ifUnmodifiedSince = headers.get("if-unmodified-since");
    if (ifUnmodifiedSince !== null) {
      const date = parseHttpDate(ifUnmodifiedSince);
      if (date !== null && validators.lastModifiedMs > date) return "precondition-failed";
    }
  }
  // Step 3 / 4: If-None-Match, or If-Modified-Since (GET/HEAD only) when it is absent.
  const ifNoneMatch = headers.get("if-none-match");
  if (ifNoneMatch !== null) {
    if (entityTagListMatches(ifNoneMatch, validators.etag, false)) {
      return isGetOrHead ? "not-modified" : "precondition-failed";
    }
  } else if (isGetOrHead) {
    const ifModifiedSince = headers.get("if-modified-since");
    if (ifModifiedSince !== null) {
      const date = parseHttpDate(ifModifiedSince);
      if (date !== null && validators.lastModifiedMs <= date) return "not-modified";
    }
  }
  return "proceed";
}

/** True when an `If-Range` value lets `Range` apply to the representation (RFC 9110 §13.1.5). */
export function ifRangeMatches(value: string, validators: Validators): boolean {
  if (value.startsWith('"')) return value === validators.etag; // strong comparison, byte for byte
  if (value.startsWith("W/")) return false; // a weak tag is never strong enough for If-Range
  const date = parseHttpDate(value);
  return date !== null && date === validators.lastModifiedMs;
}

/**
 * True when `*` or any entity-tag in the comma-separated list `s` matches `etag` (RFC 9110
 * §8.8.3.2): `strong` requires both to be strong and equal; otherwise the weak comparison
 * ignores `W/`. `etag` is our own, always strong.
 */
export function entityTagListMatches(s: string, etag: string, strong: boolean): boolean {
  let i = 0;
  const n = s.length;
  // `*` alone (with optional whitespace) matches any current representation.
  let first = 0;
  while (first < n && (s[first] === " " || s[first] === "\t")) first++;
  if (s[first] === "*") {
    let j = first + 1;
    while (j < n && (s[j] === " " || s[j] === "\t")) j++;
    if (j === n) return true;
  }
  while (i < n) {
    const c = s[i];
    if (c === " " || c === "\t" || c === ",") {
      i++;
      continue;
    }
    let weak = false;
    if (c === "W" && s[i + 1] === "/") {
      weak = true;
      i += 2;
    }
    if (s[i] !== '"') return false;
    const close = s.indexOf('"', i + 1);
    if (close < 0) return false;
    const opaque = s.slice(i, close + 1);
    i = close + 1;
    if (opaque === etag && !(strong && weak)) return true;
    // After a tag only OWS and a comma may follow.
    while (i < n && (s[i] === " " || s[i] === "\t")) i++;
    if (i < n && s[i] !== ",") return false;
  }
  return false;
}
