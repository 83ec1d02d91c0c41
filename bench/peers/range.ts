/**
 * The single-range parser shared by the peer servers (RFC 9110 §14.1.2: `bytes=a-b`, `bytes=a-`,
 * `bytes=-n`). Peers only need what the benchmark sends; anything else is answered 416.
 *
 * @module
 */

/** An inclusive byte range. */
export interface ByteRange {
  /** First byte. */
  readonly start: number;
  /** Last byte (inclusive). */
  readonly end: number;
}

/** Parses one `Range` header against a file of `size` bytes: a range, "none", or "invalid". */
export function parseSingleRange(
  header: string | null,
  size: number,
): ByteRange | "none" | "invalid" {
  if (header === null) return "none";
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return "invalid";
  if (match[1] === "") {
    const suffix = Math.min(Number(match[2]), size);
    return suffix === 0 ? "invalid" : { start: size - suffix, end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return "invalid";
  return { start, end };
}
