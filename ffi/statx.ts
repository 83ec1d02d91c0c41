/**
 * `statx(2)` through libc: the one stat call whose struct layout is the same on every Linux
 * architecture, and the only way to read a file's mtime in nanoseconds from Deno (`Deno.statSync`
 * and `node:fs` stop at milliseconds).
 *
 * @module
 */
import { libc } from "./libc.ts";

/** `AT_FDCWD`: resolve relative paths against the working directory. */
export const AT_FDCWD = -100;
/** `STATX_BASIC_STATS`: every field of a classic `struct stat`. */
export const STATX_BASIC_STATS = 0x7ff;
/** `S_IFMT` and `S_IFREG` of `stx_mode`. */
export const S_IFMT = 0o170000;
/** Mode bits of a regular file. */
export const S_IFREG = 0o100000;

/** Byte offsets in `struct statx` (linux/stat.h; identical on all architectures). */
export const STATX_LAYOUT = {
  size: 256,
  mode: 28,
  ino: 32,
  fileSize: 40,
  mtimeSec: 112,
  mtimeNsec: 120,
  devMajor: 136,
  devMinor: 140,
} as const;

/** The fields of one `statx` result that callers here need. */
export interface StatxResult {
  /** `st_dev` as glibc's `makedev(major, minor)` computes it (what `Deno.statSync` reports). */
  dev: number;
  /** Inode number. */
  ino: number;
  /** Size in bytes. */
  size: number;
  /** File type and permission bits. */
  mode: number;
  /** Whole seconds of the modification time. */
  mtimeSec: number;
  /** Nanoseconds part of the modification time. */
  mtimeNsec: number;
}

const result = new Uint8Array(STATX_LAYOUT.size);
const view = new DataView(result.buffer);
const encoder = new TextEncoder();
let pathBytes = new Uint8Array(4096);
/** The path `pathBytes` holds (NUL-terminated), or null. */
let encodedPath: string | null = null;

/** Reads a little-endian u64 at `at` as a number (exact below 2^53) without a BigInt. */
function u64(at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x100000000;
}

/** Reads a little-endian i64 at `at` as a number (exact within ±2^53) without a BigInt. */
function i64(at: number): number {
  return view.getUint32(at, true) + view.getInt32(at + 4, true) * 0x100000000;
}

/** Stats `path` (following symlinks); returns null when statx fails (missing, no access...). */
export function statx(path: string): StatxResult | null {
  // A burst of requests stats the same path: its encoding is kept until another path comes.
  if (path !== encodedPath) {
    // Worst case 3 UTF-8 bytes per UTF-16 unit, plus the NUL.
    if (path.length * 3 + 1 > pathBytes.byteLength) {
      pathBytes = new Uint8Array(path.length * 3 + 1);
    }
    encodedPath = null; // not valid if encoding throws half-way
    const { written } = encoder.encodeInto(path, pathBytes);
    pathBytes[written] = 0;
    encodedPath = path;
  }
  if (libc().statx(AT_FDCWD, pathBytes, 0, STATX_BASIC_STATS, result) !== 0) return null;
  const major = view.getUint32(STATX_LAYOUT.devMajor, true);
  const minor = view.getUint32(STATX_LAYOUT.devMinor, true);
  return {
    // glibc makedev: major low 12 bits at 8, minor low 8 bits at 0, minor high bits at 20,
    // major high bits at 44. Multiplications keep it exact beyond 32 bits.
    dev: (major & 0xfff) * 0x100 + (minor & 0xff) + Math.floor(minor / 0x100) * 0x100000 +
      Math.floor(major / 0x1000) * 0x100000000000,
    ino: u64(STATX_LAYOUT.ino),
    size: u64(STATX_LAYOUT.fileSize),
    mode: view.getUint16(STATX_LAYOUT.mode, true),
    mtimeSec: i64(STATX_LAYOUT.mtimeSec),
    mtimeNsec: view.getUint32(STATX_LAYOUT.mtimeNsec, true),
  };
}
