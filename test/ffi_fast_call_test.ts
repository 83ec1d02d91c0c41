/**
 * Every libc symbol the engine calls per request takes V8's fast call path (issue 10 part 4):
 * a Deno upgrade that loses it (or an argument shape that falls off it) fails here instead of
 * silently slowing the server. Traced with `DENO_UNSTABLE_FFI_TRACE_TURBO=1` in a child process.
 *
 * @module
 */
import assert from "node:assert/strict";
import { errno, HOT_SYMBOLS, libc, libcAvailable } from "../ffi/libc.ts";
import { EBADF } from "../ffi/constants.ts";

const available = libcAvailable();

Deno.test({
  name: "ffi: every hot libc symbol is called through the fast call path",
  ignore: !available,
  async fn() {
    const probe = new URL("./support/ffi_fast_probe.ts", import.meta.url);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-ffi", "--allow-read", probe.pathname],
      env: { DENO_UNSTABLE_FFI_TRACE_TURBO: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const report = JSON.parse(text.trim().split("\n").pop()!);
    assert.equal(report.error, undefined, report.error);
    for (const name of HOT_SYMBOLS) {
      assert.equal(report.result[name], name, `${name} did not take the fast call path`);
    }
  },
});

Deno.test({
  name: "ffi: errno read from the thread's errno cell is the last call's errno",
  ignore: !available,
  fn() {
    const c = libc();
    assert.equal(c.close(-1), -1);
    assert.equal(errno(), EBADF);
    const buf = new Uint8Array(8);
    assert.equal(c.read(-5, buf, 8n), -1);
    assert.equal(errno(), EBADF);
  },
});
