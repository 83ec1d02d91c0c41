/**
 * `Range` header parsing for byte ranges (RFC 9110 §14.1, §14.2).
 *
 * Decisions (all lead to a safe answer; none can make the server send more than the file once):
 * - Invalid syntax, an unknown range unit, or a number above `Number.MAX_SAFE_INTEGER` → the
 *   header is ignored and the whole file is served with 200 (RFC 9110 §14.2 lets a server ignore
 *   an invalid `Range`). Numbers are accumulated digit by digit and never wrap (CVE-2017-7529).
 * - `last-pos < first-pos` makes the whole header invalid (RFC 9110 §14.1.1) → ignored.
 * - Range-specs that are unsatisfiable are dropped; if none is left → 416 (RFC 9110 §14.1.1).
 * - A suffix range on an empty file is unsatisfiable: there is no byte to send and
 *   `Content-Range` cannot express an empty range, so every byte range on an empty file → 416.
 * - DoS guard like nginx: more than `maxRanges` range-specs, or satisfiable ranges whose lengths
 *   add up to more than the file → ignored (200 with the whole file). `maxRanges: 0` disables
 *   ranges altogether.
 * - Overlapping ranges are neither merged nor reordered (RFC 9110 §14.2 allows either): they are
 *   served in request order, which the sum guard above bounds to at most one file's worth of
 *   bytes, so overlap cannot amplify a response.
 *
 * @module
 */
import { SETTINGS } from "../settings.ts";

/** One satisfiable byte range; `end` is inclusive and both ends lie within `[0, size)`. */
export interface ByteRange {
  /** First byte offset. */
  readonly start: number;
  /** Last byte offset (inclusive). */
  readonly end: number;
}

/** Why a `Range` header did not change the response. */
export type IgnoredReason = "absent" | "invalid" | "unit" | "too-many" | "too-large";

/** The outcome of {@linkcode parseRange}. */
export type RangeResult =
  | { readonly kind: "ignored"; readonly reason: IgnoredReason }
  | { readonly kind: "unsatisfiable" }
  | { readonly kind: "satisfiable"; readonly ranges: readonly ByteRange[] };

/** Options of {@linkcode parseRange}. */
export interface RangeOptions {
  /** Most range-specs accepted before the header is ignored (default 16, like nginx). */
  readonly maxRanges?: number;
}

/** Default of {@linkcode RangeOptions.maxRanges} (the `maxRanges` row of src/settings.ts). */
export const DEFAULT_MAX_RANGES: number = SETTINGS.maxRanges.default;

const ABSENT: RangeResult = { kind: "ignored", reason: "absent" };
const INVALID: RangeResult = { kind: "ignored", reason: "invalid" };
const UNIT: RangeResult = { kind: "ignored", reason: "unit" };
const TOO_MANY: RangeResult = { kind: "ignored", reason: "too-many" };
const TOO_LARGE: RangeResult = { kind: "ignored", reason: "too-large" };
const UNSATISFIABLE: RangeResult = { kind: "unsatisfiable" };

const SP = 0x20;
const HTAB = 0x09;
const COMMA = 0x2c;
const DASH = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** Sentinel for "no number here" / "number out of range" from the scanner. */
const NO_NUMBER = -1;
const TOO_BIG = -2;

/**
 * Parses a `Range` header against a representation of `size` bytes (RFC 9110 §14.1.1, §14.2).
 * `header === null` means no `Range` header.
 */
export function parseRange(
  header: string | null,
  size: number,
  options: RangeOptions = {},
): RangeResult {
  if (header === null) return ABSENT;
  const maxRanges = options.maxRanges ?? DEFAULT_MAX_RANGES;
  const eq = header.indexOf("=");
  if (eq <= 0) return INVALID;
  if (!isBytesUnit(header, eq)) return isToken(header, 0, eq) ? UNIT : INVALID;

  const scanner = new Scanner(header, eq + 1);
  const ranges: ByteRange[] = [];
  let specs = 0;
  let total = 0;
  for (;;) {
    scanner.skipListSeparators();
    if (scanner.atEnd()) break;
    if (++specs > maxRanges) return TOO_MANY;
    let start: number;
    let end: number;
    if (scanner.peek() === DASH) {
      // suffix-range = "-" suffix-length
      scanner.advance();
      const suffix = scanner.number();
      if (suffix < 0) return INVALID;
      // A zero suffix or an empty file leaves start === size: unsatisfiable, dropped below.
      start = Math.max(0, size - suffix);
      end = size - 1;
    } else {
      // int-range = first-pos "-" [ last-pos ]
      const first = scanner.number();
      if (first < 0 || scanner.peek() !== DASH) return INVALID;
      scanner.advance();
      let last = scanner.number();
      if (last === TOO_BIG) return INVALID;
      if (last === NO_NUMBER) last = Number.MAX_SAFE_INTEGER;
      else if (last < first) return INVALID;
      start = first;
      end = Math.min(last, size - 1);
    }
    scanner.skipWhitespace();
    if (!scanner.atEnd() && scanner.peek() !== COMMA) return INVALID;
    if (start < size && start <= end) {
      ranges.push({ start, end });
      total += end - start + 1;
    }
  }
  if (specs === 0) return INVALID;
  if (ranges.length === 0) return UNSATISFIABLE;
  if (total > size) return TOO_LARGE;
  return { kind: "satisfiable", ranges };
}

/** True when `header[0, eq)` is `bytes`, compared case-insensitively (RFC 9110 §14.1). */
function isBytesUnit(header: string, eq: number): boolean {
  if (eq !== 5) return false;
  // Fast path for the common spelling; otherwise fold ASCII case.
  return header.startsWith("bytes") || header.slice(0, 5).toLowerCase() === "bytes";
}

/** True when `s[from, to)` is a non-empty RFC 9110 token. */
function isToken(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
      "!#$%&'*+-.^_`|~".includes(s[i]);
    if (!ok) return false;
  }
  return true;
}

/** A cursor over the range-set part of the header. */
class Scanner {
  #i: number;
  constructor(readonly s: string, start: number) {
    this.#i = start;
  }

  atEnd(): boolean {
    return this.#i >= this.s.length;
  }

  peek(): number {
    return this.s.charCodeAt(this.#i);
  }

  advance(): void {
    this.#i++;
  }

  skipWhitespace(): void {
    while (this.#i < this.s.length) {
      const c = this.s.charCodeAt(this.#i);
      if (c !== SP && c !== HTAB) return;
      this.#i++;
    }
  }

  /** Skips OWS and empty list elements (RFC 9110 §5.6.1 `#rule`). */
  skipListSeparators(): void {
    while (this.#i < this.s.length) {
      const c = this.s.charCodeAt(this.#i);
      if (c !== SP && c !== HTAB && c !== COMMA) return;
      this.#i++;
    }
  }

  /**
   * Reads `1*DIGIT`. Returns the value, {@linkcode NO_NUMBER} when there is no digit, or
   * {@linkcode TOO_BIG} when the value exceeds `Number.MAX_SAFE_INTEGER` (checked after every
   * digit, so the accumulator never leaves the exact integer range by more than one step).
   */
  number(): number {
    let value = 0;
    let digits = 0;
    let tooBig = false;
    while (this.#i < this.s.length) {
      const c = this.s.charCodeAt(this.#i);
      if (c < DIGIT_0 || c > DIGIT_9) break;
      this.#i++;
      digits++;
      if (tooBig) continue;
      value = value * 10 + (c - DIGIT_0);
      if (value > Number.MAX_SAFE_INTEGER) tooBig = true;
    }
    if (digits === 0) return NO_NUMBER;
    return tooBig ? TOO_BIG : value;
  }
}
