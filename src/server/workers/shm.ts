/**
 * A file mapped into memory with `mmap(MAP_SHARED)` through FFI: every process that maps the same
 * file sees the same bytes. Backs the workers' shared metrics table (a file under /dev/shm). Also
 * the system-wide monotonic clock, which orders events across worker processes.
 *
 * @module
 */

const O_RDWR = 2;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;

const symbols = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let library: Deno.DynamicLibrary<typeof symbols> | null = null;
const CLOCK_MONOTONIC = 1;
const timespec = new BigInt64Array(2);
const timespecBytes = new Uint8Array(timespec.buffer);

/** CLOCK_MONOTONIC in nanoseconds: one clock for every process of the machine. */
export function monotonicNs(): bigint {
  library ??= Deno.dlopen("libc.so.6", symbols);
  if (library.symbols.clock_gettime(CLOCK_MONOTONIC, timespecBytes) !== 0) {
    throw new Error("clock_gettime failed");
  }
  return timespec[0] * 1_000_000_000n + timespec[1];
}

/** Maps the whole existing file `path` (read-write, shared); the mapping lives as long as the process. */
export function mapSharedFile(path: string): ArrayBuffer {
  library ??= Deno.dlopen("libc.so.6", symbols);
  const size = Deno.statSync(path).size;
  if (size === 0) throw new Error(`mmap ${path}: empty file`);
  const name = new TextEncoder().encode(path + "\0");
  const fd = library.symbols.open(name, O_RDWR, 0);
  if (fd < 0) throw new Error(`open ${path} failed`);
  try {
    const ptr = library.symbols.mmap(
      null,
      BigInt(size),
      PROT_READ | PROT_WRITE,
      MAP_SHARED,
      fd,
      0n,
    );
    // MAP_FAILED is (void*)-1
    if (ptr === null || BigInt(Deno.UnsafePointer.value(ptr)) === 0xffff_ffff_ffff_ffffn) {
      throw new Error(`mmap ${path} failed`);
    }
    return Deno.UnsafePointerView.getArrayBuffer(ptr, size);
  } finally {
    library.symbols.close(fd);
  }
}
