/**
 * Child process of `test/ffi_fast_call_test.ts`: calls every hot libc symbol from an optimised
 * loop with the argument shapes the engine uses, and prints, as JSON, which symbol each call was
 * traced as a fast call for (`DENO_UNSTABLE_FFI_TRACE_TURBO=1` makes Deno record the symbol of
 * every call that took the fast path; null: it never did).
 *
 * @module
 */
import { HOT_SYMBOLS, libc } from "../../ffi/libc.ts";

type Internal = { getTurbocallTarget?: () => string | null | undefined };
const internal = (Deno as unknown as Record<symbol, Internal>)[
  (Deno as unknown as { internal: symbol }).internal
];
const target = internal?.getTurbocallTarget;
if (typeof target !== "function") {
  console.log(JSON.stringify({ error: "Deno[Deno.internal].getTurbocallTarget is gone" }));
  Deno.exit(0);
}

const c = libc();
const buf = new Uint8Array(256);
const path = new TextEncoder().encode("/dev/null\0");
const fd = c.open(path, 0, 0);
const missing = new TextEncoder().encode("/nonexistent/zerocast-probe\0");
const calls: Record<(typeof HOT_SYMBOLS)[number], () => unknown> = {
  read: () => c.read(fd, buf, 64n),
  send: () => c.send(-1, buf, BigInt(buf.byteLength), 0),
  sendfile: () => c.sendfile(-1, fd, buf, BigInt(4096)),
  pread: () => c.pread(fd, buf, BigInt(16), BigInt(0)),
  splice: () => c.splice(-1, null, -1, null, BigInt(4096), 0),
  epoll_wait: () => c.epoll_wait(-1, buf, 4, 0),
  accept4: () => c.accept4(-1, buf, buf, 0),
  setsockopt: () => c.setsockopt(-1, 6, 1, buf, 4),
  shutdown: () => c.shutdown(-1, 1),
  close: () => c.close(-1),
  open: () => c.open(missing, 0, 0), // fails: no fd to close, the call is still traced
  fstat: () => c.fstat(-1, buf),
  statx: () => c.statx(-1, path, 0, 0, buf),
};
const result: Record<string, string | null> = {};
for (const name of HOT_SYMBOLS) {
  const call = calls[name];
  const probe = () => {
    call();
    return target() ?? null;
  };
  // optimised code is compiled on a background thread: on a busy machine it can take a while
  // to be installed, so keep calling until the call is traced, for up to 20 s
  let seen: string | null = null;
  const deadline = Date.now() + 20_000;
  while (seen === null && Date.now() < deadline) {
    for (let i = 0; i < 10_000 && seen === null; i++) seen = probe();
  }
  result[name] = seen;
}
console.log(JSON.stringify({ result }));
