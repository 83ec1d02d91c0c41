/**
 * Bounds-checked big-endian reads over a byte view. Every probe parses untrusted bytes, so each
 * read checks its bounds and throws {@linkcode ProbeError} instead of returning garbage.
 *
 * @module
 */
import { ProbeError } from "./types.ts";

/** Reads big-endian integers and strings from `bytes`, failing with a ProbeError when short. */
export class ByteView {
  readonly #view: DataView;

  /** Wraps `bytes` (not copied). */
  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Number of bytes. */
  get length(): number {
    return this.bytes.byteLength;
  }

  /** Throws unless `count` bytes are readable at `offset`. */
  need(offset: number, count: number, what: string): void {
    if (offset < 0 || offset + count > this.bytes.byteLength) {
      throw new ProbeError(`${what} is truncated`);
    }
  }

  /** Unsigned 8-bit integer at `offset`. */
  u8(offset: number, what = "box"): number {
    this.need(offset, 1, what);
    return this.#view.getUint8(offset);
  }

  /** Unsigned 16-bit big-endian integer at `offset`. */
  u16(offset: number, what = "box"): number {
    this.need(offset, 2, what);
    return this.#view.getUint16(offset);
  }

  /** Unsigned 32-bit big-endian integer at `offset`. */
  u32(offset: number, what = "box"): number {
    this.need(offset, 4, what);
    return this.#view.getUint32(offset);
  }

  /** Unsigned 64-bit big-endian integer at `offset`, as a number (exact below 2^53). */
  u64(offset: number, what = "box"): number {
    this.need(offset, 8, what);
    const value = this.#view.getBigUint64(offset);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ProbeError(`${what}: 64-bit value too large`);
    }
    return Number(value);
  }

  /** IEEE 754 float of 4 or 8 bytes at `offset`. */
  float(offset: number, size: number, what = "element"): number {
    this.need(offset, size, what);
    if (size === 4) return this.#view.getFloat32(offset);
    if (size === 8) return this.#view.getFloat64(offset);
    throw new ProbeError(`${what}: float of ${size} bytes`);
  }

  /** Four-character code at `offset` (Latin-1). */
  fourcc(offset: number, what = "box"): string {
    this.need(offset, 4, what);
    return String.fromCharCode(...this.bytes.subarray(offset, offset + 4));
  }
}

/** Formats `value` as `digits` lower-case hex digits. */
export function hex(value: number, digits = 2): string {
  return value.toString(16).padStart(digits, "0");
}
