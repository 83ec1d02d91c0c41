/**
 * libc symbols through `Deno.dlopen` (Linux, glibc, x86_64).
 *
 * Conventions that keep calls on V8's fast path and results exact:
 * - byte-count results (`ssize_t`) are declared `i32`: the low 32 bits of the register are the
 *   exact result as long as every count passed in stays below 2^31 (callers cap with
 *   {@linkcode MAX_IO}); an `isize` result would come back as a BigInt on every call.
 * - `size_t`/`off_t` arguments are `usize`/`i64` and must be passed as BigInt.
 * - every call here is synchronous, so `errno()` read right after it is that call's errno. The one
 *   exception is {@linkcode libc}`.epoll_wait_async`, which runs on another thread: never read
 *   errno after it.
 *
 * Only bindings live in ffi/; the server logic is in src/server/engine/.
 *
 * @module
 */

/** Largest byte count passed to one read/write/sendfile/splice call (keeps results in i32). */
export const MAX_IO = 0x7fff_f000;

const symbols = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  /** epoll_wait on a worker thread: the JS event loop keeps running while it blocks. */
  epoll_wait_async: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  sendfile: { parameters: ["i32", "i32", "buffer", "usize"], result: "i32" },
  splice: {
    parameters: ["i32", "buffer", "i32", "buffer", "usize", "u32"],
    result: "i32",
  },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened library's symbol table type. */
export type LibcSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

/**
 * The symbols the engine calls per request or per loop turn. Each must take V8's fast call path
 * (synchronous, no struct parameter or result, 64-bit arguments passed as BigInt: a number passed
 * for a `usize` makes the call take the slow path); `test/ffi_fast_call_test.ts` checks it with
 * `DENO_UNSTABLE_FFI_TRACE_TURBO=1`.
 */
export const HOT_SYMBOLS = [
  "read",
  "send",
  "sendfile",
  "pread",
  "splice",
  "epoll_wait",
  "accept4",
  "setsockopt",
  "shutdown",
  "close",
  "open",
  "fstat",
  "statx",
] as const satisfies readonly (keyof typeof symbols)[];

let library: Deno.DynamicLibrary<typeof symbols> | null = null;
/** errno of the JS thread, as a view of its thread-local location (a plain memory read). */
let errnoCell: Int32Array | null = null;

/** Opens libc on first use and returns its symbols (throws where FFI is unavailable). */
export function libc(): LibcSymbols {
  if (library === null) {
    library = Deno.dlopen("libc.so.6", symbols);
    // errno is thread-local; the JS thread's location never changes, so a typed array over it
    // reads errno without an FFI call (UnsafePointerView.getInt32 is an op per read)
    const cell = library.symbols.__errno_location()!;
    errnoCell = new Int32Array(Deno.UnsafePointerView.getArrayBuffer(cell, 4));
  }
  return library.symbols;
}

/** errno of the last synchronous libc call made on this thread. */
export function errno(): number {
  return errnoCell![0];
}

/** Returns true when libc can be opened here (Linux x86_64 with --allow-ffi). */
export function libcAvailable(): boolean {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") return false;
  try {
    libc();
    return true;
  } catch {
    return false;
  }
}
