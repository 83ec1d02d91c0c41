/**
 * Input buffering of a connection: the unconsumed bytes it received, in a buffer of its own (the
 * server's read buffer is shared by every connection and reused by the next read). Most requests
 * never get here: a read that is consumed completely leaves nothing to keep.
 *
 * @module
 */

/** Free space kept when reading into a connection's own input buffer. */
export const READ_RESERVE = 16 * 1024;
/** Buffers larger than this are dropped once empty; smaller ones serve the next request. */
const KEEP_LIMIT = 64 * 1024;

/** Unconsumed input: `buf[start, end)`. */
export class InputBuffer {
  /** The bytes (null until something must be kept). */
  buf: Uint8Array | null = null;
  /** First unconsumed byte. */
  start = 0;
  /** End of the unconsumed bytes. */
  end = 0;

  /** True when nothing is buffered. */
  get empty(): boolean {
    return this.end === this.start;
  }

  /** Keeps a copy of `src[from, to)` as the whole buffered input (nothing was buffered). */
  keep(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (this.buf === null || this.buf.byteLength < n + READ_RESERVE) {
      this.buf = new Uint8Array(n + READ_RESERVE);
    }
    this.buf.set(src.subarray(from, to), 0);
    this.start = 0;
    this.end = n;
  }

  /**
   * Makes room for at least `space` bytes after `end` (compacting or growing) and returns the
   * free tail to read into; call {@linkcode appended} with what was read.
   */
  room(space: number): Uint8Array {
    let buf = this.buf;
    if (buf === null) buf = this.buf = new Uint8Array(space);
    if (buf.byteLength - this.end < space) {
      const data = this.end - this.start;
      if (buf.byteLength - data < space) {
        const bigger = new Uint8Array(Math.max(buf.byteLength * 2, data + space));
        bigger.set(buf.subarray(this.start, this.end), 0);
        this.buf = buf = bigger;
      } else buf.copyWithin(0, this.start, this.end);
      this.start = 0;
      this.end = data;
    }
    return buf.subarray(this.end);
  }

  /** `n` bytes were read into the tail {@linkcode room} returned. */
  appended(n: number): void {
    this.end += n;
  }

  /** `n` bytes from `start` were consumed; an emptied large buffer is dropped. */
  consumed(n: number): void {
    this.start += n;
    if (this.start === this.end) {
      this.start = this.end = 0;
      if (this.buf !== null && this.buf.byteLength > KEEP_LIMIT) this.buf = null;
    }
  }

  /** Forgets the buffered input (keeps the buffer). */
  clear(): void {
    this.start = this.end = 0;
  }

  /** Forgets the input and the buffer. */
  release(): void {
    this.buf = null;
    this.start = this.end = 0;
  }
}
