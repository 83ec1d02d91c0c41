/**
 * Benchmark data files: generated on first use into `bench/data/files/` (git-ignored), never
 * committed. The content is a seeded pseudo-random block whose length (1 MiB + 7) is not a power
 * of two, so a range served from the wrong offset does not compare equal by accident.
 *
 * @module
 */

/** Folder the servers use as their media root. */
export const DATA_ROOT = new URL("../data/files/", import.meta.url).pathname;

/** One MiB. */
export const MiB = 1024 * 1024;
/** One GiB. */
export const GiB = 1024 * MiB;

const PATTERN_LENGTH = MiB + 7;

let cachedPattern: Uint8Array | null = null;

/** The repeating block every data file is made of (deterministic: a fixed xorshift seed). */
function pattern(): Uint8Array {
  if (cachedPattern !== null) return cachedPattern;
  const bytes = new Uint8Array(Math.ceil(PATTERN_LENGTH / 4) * 4);
  const view = new DataView(bytes.buffer);
  let x = 0x9e3779b9;
  for (let i = 0; i < bytes.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    view.setUint32(i, x >>> 0, true);
  }
  cachedPattern = bytes.subarray(0, PATTERN_LENGTH);
  return cachedPattern;
}

/** Expected bytes of a data file at `[offset, offset + length)`, computed, not read. */
export function expectedBytes(offset: number, length: number): Uint8Array<ArrayBuffer> {
  const block = pattern();
  const out = new Uint8Array(length);
  let written = 0;
  while (written < length) {
    const at = (offset + written) % PATTERN_LENGTH;
    const n = Math.min(PATTERN_LENGTH - at, length - written);
    out.set(block.subarray(at, at + n), written);
    written += n;
  }
  return out;
}

/**
 * Makes sure `root/name` (default root: {@linkcode DATA_ROOT}) exists with exactly `size` bytes of
 * the pattern and returns its absolute path. A file of another size is rewritten.
 */
export async function ensureDataFile(
  name: string,
  size: number,
  root = DATA_ROOT,
): Promise<string> {
  await Deno.mkdir(root, { recursive: true });
  const path = `${root.replace(/\/$/, "")}/${name}`;
  try {
    const info = await Deno.stat(path);
    if (info.isFile && info.size === size) return path;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const block = pattern();
  const temp = `${path}.tmp-${Deno.pid}`;
  const file = await Deno.open(temp, { write: true, create: true, truncate: true });
  try {
    let written = 0;
    while (written < size) {
      const at = written % PATTERN_LENGTH;
      const n = Math.min(PATTERN_LENGTH - at, size - written);
      let chunk = block.subarray(at, at + n);
      while (chunk.byteLength > 0) chunk = chunk.subarray(await file.write(chunk));
      written += n;
    }
  } finally {
    file.close();
  }
  await Deno.rename(temp, path);
  return path;
}

/** Reads the whole file once so that it sits in the page cache before it is served. */
export async function warmPageCache(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true });
  try {
    const buffer = new Uint8Array(4 * MiB);
    while ((await file.read(buffer)) !== null) { /* discard */ }
  } finally {
    file.close();
  }
}

/** Reads `[offset, offset + length)` of `path` from disk. */
export async function readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.seek(offset, Deno.SeekMode.Start);
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = await file.read(out.subarray(got));
      if (n === null) throw new Error(`${path}: short read at ${offset + got}`);
      got += n;
    }
    return out;
  } finally {
    file.close();
  }
}
