/**
 * Random-access byte sources for the probes: a file read with seek + read through a small window
 * (so walking box/element headers costs few syscalls and memory stays bounded whatever the file
 * size), and an in-memory source for tests.
 *
 * @module
 */

/** A random-access source of bytes with a known size. */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads up to `length` bytes at `offset`; returns fewer only at end of file. The returned view
   * may be shared with later reads: copy it to keep it.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Bytes fetched from disk on a window miss (headers near each other then cost one read). */
export const WINDOW_SIZE = 64 * 1024;

/** A {@linkcode ByteSource} over an open file, reading through one cached window. */
export class FileSource implements ByteSource {
  #file: Deno.FsFile;
  #windowOffset = 0;
  #window = new Uint8Array(0);

  /** Wraps `file` of `size` bytes; the caller keeps ownership and closes it. */
  constructor(file: Deno.FsFile, readonly size: number) {
    this.#file = file;
  }

  /** Reads up to `length` bytes at `offset` (fewer only at EOF). */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(offset + length, this.size);
    if (offset >= end) return new Uint8Array(0);
    const windowEnd = this.#windowOffset + this.#window.byteLength;
    if (offset >= this.#windowOffset && end <= windowEnd) {
      return this.#window.subarray(offset - this.#windowOffset, end - this.#windowOffset);
    }
    const want = Math.min(Math.max(end - offset, WINDOW_SIZE), this.size - offset);
    const buffer = new Uint8Array(want);
    await this.#file.seek(offset, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < want) {
      const n = await this.#file.read(buffer.subarray(filled));
      if (n === null || n === 0) break;
      filled += n;
    }
    this.#windowOffset = offset;
    this.#window = buffer.subarray(0, filled);
    return this.#window.subarray(0, Math.min(end - offset, filled));
  }
}

/** A {@linkcode ByteSource} over bytes in memory (tests, fuzzing). */
export class BytesSource implements ByteSource {
  /** Total size in bytes. */
  readonly size: number;

  /** Wraps `bytes`. */
  constructor(readonly bytes: Uint8Array) {
    this.size = bytes.byteLength;
  }

  /** Reads up to `length` bytes at `offset`. */
  read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.min(Math.max(offset, 0), this.size);
    return Promise.resolve(this.bytes.subarray(start, Math.min(start + length, this.size)));
  }
}
