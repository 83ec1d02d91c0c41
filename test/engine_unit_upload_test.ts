/**
 * The upload sink (src/server/engine/upload_sink.ts): the file is created exclusively, bytes move
 * into it by splice (here from a pipe standing in for the socket), chunk framing is left to the
 * JS parser, and the body closes the file when it completes. No socket.
 */
import assert from "node:assert/strict";
import { errno, libc, libcAvailable } from "../ffi/libc.ts";
import { EEXIST, O_CLOEXEC, O_NONBLOCK } from "../ffi/constants.ts";
import { type BodySource, BodyStream } from "../src/server/engine/body_stream.ts";
import { SyscallError } from "../src/server/engine/loop.ts";
import { SocketToFileSplicer } from "../src/server/engine/splice.ts";
import { openUploadFile, spliceStep, UploadStep } from "../src/server/engine/upload_sink.ts";

const source: BodySource = {
  onBodyPull() {},
  onBodyCancel() {},
  onSpliceToFile: () => Promise.reject(new Error("unused")),
};

Deno.test({
  name: "upload sink: exclusive create, splice into the file, framing left to the parser",
  ignore: !libcAvailable(),
  async fn() {
    const c = libc();
    const dir = await Deno.makeTempDir({ prefix: "zerocast-upload-unit-" });
    const splicer = new SocketToFileSplicer();
    const fds = new Int32Array(2);
    assert.equal(c.pipe2(new Uint8Array(fds.buffer), O_NONBLOCK | O_CLOEXEC), 0, String(errno()));
    try {
      const path = `${dir}/up.bin`;
      const fd = openUploadFile(c, path);
      assert.throws(
        () => openUploadFile(c, path),
        (e) => e instanceof SyscallError && e.code === EEXIST,
      );
      const body = new BodyStream(source, 10, 1 << 20, false);
      let written = -1;
      body.beginFile(fd, 1 << 20, (n) => written = n, (e) => assert.fail(String(e)));
      const input = new TextEncoder().encode("0123456789");
      let calls = 0;
      assert.equal(spliceStep(splicer, fds[0], body, (n) => calls += n), UploadStep.Again);
      assert.equal(c.write(fds[1], input.subarray(0, 4), 4n), 4);
      assert.equal(spliceStep(splicer, fds[0], body, (n) => calls += n), UploadStep.Moved);
      assert.equal(body.done, false);
      assert.equal(c.write(fds[1], input.subarray(4), 6n), 6);
      assert.equal(spliceStep(splicer, fds[0], body, (n) => calls += n), UploadStep.Moved);
      assert.equal(body.done, true);
      assert.equal(written, 10, "the body resolved with the byte count and closed the file");
      assert.ok(calls >= 4);
      assert.equal(await Deno.readTextFile(path), "0123456789");
      // a chunked body starts at framing: the parser reads it, not splice
      const chunked = new BodyStream(source, -1, 1 << 20, false);
      assert.equal(spliceStep(splicer, fds[0], chunked, () => {}), UploadStep.Framing);
      c.close(fds[1]);
      const eofBody = new BodyStream(source, 5, 1 << 20, false);
      eofBody.beginFile(openUploadFile(c, `${dir}/eof.bin`), 1 << 20, () => {}, () => {});
      assert.equal(spliceStep(splicer, fds[0], eofBody, () => {}), UploadStep.Eof);
      eofBody.fail(new Error("client gone"));
    } finally {
      c.close(fds[0]);
      splicer.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
