/**
 * File bodies on the zero-copy engine with the real app (`createApp`): byte-exact large ranges,
 * proof that the bytes went through sendfile (metrics, and strace once), truncated files, client
 * aborts without fd leaks, the open-file cache following file replacement, and real media clients
 * (curl, ffprobe, ffmpeg -ss) over HTTP.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { createApp } from "../src/app.ts";
import { FileBody } from "../src/file_body.ts";
import { Metrics } from "../src/metrics.ts";
import { statFile } from "../src/media/stat.ts";
import { boundaryOf, parseMultipart } from "./support/multipart.ts";
import { curl, have } from "./support/server.ts";
import {
  collect,
  openFdCount,
  randomBytes,
  rawExchange,
  startEngine,
  waitFor,
  writeAll,
} from "./engine_support.ts";

const MiB = 1024 * 1024;
const enc = new TextEncoder();
const REPO_MEDIA = new URL("../media/", import.meta.url).pathname;

async function tempRoot(): Promise<string> {
  return Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-engine-files-" }));
}

Deno.test("files: a 64 MiB range is byte-exact and went through sendfile", async () => {
  const root = await tempRoot();
  try {
    const data = randomBytes(65 * MiB);
    await Deno.writeFile(`${root}/big.bin`, data);
    const metrics = new Metrics();
    await using server = startEngine(createApp({ root, metrics }), { metrics });
    const start = 123_457;
    const end = start + 64 * MiB - 1;
    const res = await fetch(`${server.base}/media/big.bin`, {
      headers: { range: `bytes=${start}-${end}` },
    });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get("content-range"), `bytes ${start}-${end}/${data.byteLength}`);
    const body = new Uint8Array(await res.arrayBuffer());
    assert.equal(body.byteLength, 64 * MiB);
    assert.ok(body.every((b, i) => b === data[start + i]), "byte-exact");
    assert.equal(metrics.bytesSent.sendfile, 64 * MiB);
    // bounded chunks: at least one call per 2 MiB (sendfileMaxChunk)
    assert.ok(metrics.sendfileCalls >= 32, `sendfile calls: ${metrics.sendfileCalls}`);
    assert.equal(metrics.bytesSent.stream, 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("files: small ranges use pread+send, larger ones sendfile (threshold setting)", async () => {
  const root = await tempRoot();
  try {
    const data = randomBytes(1 * MiB);
    await Deno.writeFile(`${root}/clip.mp4`, data);
    const metrics = new Metrics();
    await using server = startEngine(createApp({ root, metrics }), {
      metrics,
      preadThreshold: 4096,
    });
    const small = await fetch(`${server.base}/media/clip.mp4`, { headers: { range: "bytes=0-1" } });
    assert.deepEqual(new Uint8Array(await small.arrayBuffer()), data.subarray(0, 2));
    assert.equal(metrics.sendfileCalls, 0);
    assert.equal(metrics.bytesSent.copy, 2);
    const large = await fetch(`${server.base}/media/clip.mp4`, {
      headers: { range: "bytes=1000-9999" },
    });
    assert.deepEqual(new Uint8Array(await large.arrayBuffer()), data.subarray(1000, 10_000));
    assert.equal(metrics.bytesSent.sendfile, 9000);
    // multipart/byteranges: boundaries from memory, parts by sendfile
    const multi = await fetch(`${server.base}/media/clip.mp4`, {
      headers: { range: "bytes=0-99999,200000-299999" },
    });
    assert.match(multi.headers.get("content-type") ?? "", /^multipart\/byteranges/);
    const text = new Uint8Array(await multi.arrayBuffer());
    assert.equal(text.byteLength, Number(multi.headers.get("content-length")));
    const parts = parseMultipart(text, boundaryOf(multi.headers.get("content-type")));
    assert.equal(parts.length, 2);
    assert.deepEqual(parts[0].body, data.subarray(0, 100_000));
    assert.deepEqual(parts[1].body, data.subarray(200_000, 300_000));
    assert.equal(metrics.bytesSent.sendfile, 9000 + 200_000);
    // small multipart: boundaries and both parts preread into one send
    const tiny = await fetch(`${server.base}/media/clip.mp4`, {
      headers: { range: "bytes=0-9,100-109" },
    });
    const tinyParts = parseMultipart(
      new Uint8Array(await tiny.arrayBuffer()),
      boundaryOf(tiny.headers.get("content-type")),
    );
    assert.deepEqual(tinyParts.map((p) => p.body), [data.subarray(0, 10), data.subarray(100, 110)]);
    assert.equal(metrics.bytesSent.sendfile, 9000 + 200_000);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "files: strace counts sendfile(2) calls in the serving process",
  ignore: !have("strace"),
  async fn() {
    const root = await tempRoot();
    try {
      await Deno.writeFile(`${root}/f.bin`, randomBytes(8 * MiB));
      const script = `${root}/serve_once.ts`;
      await Deno.writeTextFile(
        script,
        `
        import { createApp } from "${new URL("../src/app.ts", import.meta.url).href}";
        import { serve } from "${new URL("../src/server/adapter.ts", import.meta.url).href}";
        const s = serve(createApp({ root: ${
          JSON.stringify(root)
        } }), { hostname: "127.0.0.1", port: 0 });
        const r = await fetch("http://127.0.0.1:" + s.port + "/media/f.bin");
        const n = (await r.arrayBuffer()).byteLength;
        await s.shutdown();
        console.log("bytes " + n);
        `,
      );
      const out = `${root}/strace.txt`;
      const result = await new Deno.Command("strace", {
        args: [
          "-f",
          "-c",
          "-e",
          "trace=sendfile",
          "-o",
          out,
          Deno.execPath(),
          "run",
          "--allow-all",
          `--config=${new URL("../deno.json", import.meta.url).pathname}`,
          script,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(result.stderr);
      if (!result.success && /ptrace|Operation not permitted/i.test(stderr)) {
        console.warn("strace cannot trace here (ptrace not permitted): skipped");
        return;
      }
      assert.ok(result.success, stderr);
      assert.match(new TextDecoder().decode(result.stdout), /bytes 8388608/);
      const summary = await Deno.readTextFile(out);
      const line = summary.split("\n").find((l) => /\bsendfile\s*$/.test(l.trim()));
      assert.ok(line, summary);
      const calls = Number(line!.trim().split(/\s+/)[3]);
      assert.ok(calls >= 4, `sendfile calls in strace: ${calls}\n${summary}`);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

/** An app that truncates a file after stat'ing it, then answers with the stale slice. */
/**
 * An app that stats `path`, then truncates it (to `keep` bytes, one fewer each time) before
 * answering with the stat's version: the file changes between the app's stat and the engine's
 * open. `times` limits how many answers do that (Infinity: every one, a file that never holds
 * still).
 */
function truncatingApp(path: string, keep: number, times = Infinity): Hono {
  const app = new Hono();
  let truncations = 0;
  app.get("/t", async () => {
    const stat = statFile(path);
    assert.ok(stat);
    // one byte shorter each time, so every truncation makes another version
    if (truncations < times) await Deno.truncate(path, keep - truncations++);
    const body = new FileBody([{
      path,
      offset: 0,
      length: stat.identity.size,
      identity: stat.identity,
    }]);
    return new Response(body, { headers: { "content-length": String(body.byteLength) } });
  });
  return app;
}

Deno.test("files: a file truncated while sent closes the connection, never hangs", async () => {
  const root = await tempRoot();
  try {
    const path = `${root}/shrinking.bin`;
    await Deno.writeFile(path, randomBytes(32 * MiB));
    await using server = startEngine(createApp({ root }));
    // Truncated in the middle of the transfer: the client has 2 MiB, then the file shrinks to
    // 1 MiB; sendfile runs out of bytes and the engine closes instead of waiting forever.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await writeAll(conn, enc.encode("GET /media/shrinking.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
    const buf = new Uint8Array(64 * 1024);
    const head: Uint8Array[] = [];
    let got = 0;
    while (got < 2 * MiB) {
      const n = await conn.read(buf);
      assert.ok(n !== null, "closed before the file was truncated");
      if (head.length === 0) head.push(buf.slice(0, 20));
      got += n;
    }
    await Deno.truncate(path, 1 * MiB);
    const timer = setTimeout(() => conn.close(), 10_000);
    let closedByServer = false;
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) {
          closedByServer = true;
          break;
        }
        got += n;
      }
    } finally {
      clearTimeout(timer);
      if (closedByServer) conn.close();
    }
    assert.ok(closedByServer, "the server closed the connection (no hang)");
    assert.match(new TextDecoder().decode(head[0]), /^HTTP\/1\.1 200/);
    assert.ok(got < 32 * MiB && got >= 2 * MiB, `got ${got} bytes`);

    // Shrunk once between the app's stat and the open: the head would promise bytes of another
    // file version, so the request is answered again, from the version now on disk.
    const once = randomBytes(32 * MiB);
    await Deno.writeFile(path, once);
    await using server1 = startEngine(truncatingApp(path, 1 * MiB, 1));
    const again = await fetch(`${server1.base}/t`);
    assert.equal(again.status, 200);
    assert.deepEqual(await again.bytes(), once.subarray(0, 1 * MiB));
    // A file that changes under every answer: the connection ends short of what any head
    // promised, never hangs and never completes a response with another version's bytes
    // (large slice: sendfile path; small: pread path, where nothing is sent at all).
    await Deno.writeFile(path, randomBytes(32 * MiB));
    await using server2 = startEngine(truncatingApp(path, 1 * MiB));
    const r = await rawExchange(server2.port, "GET /t HTTP/1.1\r\nHost: x\r\n\r\n", {
      timeoutMs: 10_000,
    });
    assert.equal(r.closed, true, "connection closed");
    const text = new TextDecoder().decode(r.bytes);
    const headEnd = text.indexOf("\r\n\r\n");
    if (headEnd >= 0) {
      const promised = Number(/content-length: (\d+)/i.exec(text.slice(0, headEnd))![1]);
      assert.ok(r.bytes.byteLength - headEnd - 4 < promised, "the body fell short of its head");
    }
    const small = `${root}/small.bin`;
    await Deno.writeFile(small, randomBytes(1000));
    await using server3 = startEngine(truncatingApp(small, 10));
    const r3 = await rawExchange(server3.port, "GET /t HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(r3.closed, true);
    assert.equal(r3.bytes.byteLength, 0);
    // fetch sees an error, not a hang
    await Deno.writeFile(path, randomBytes(32 * MiB));
    await assert.rejects(async () => {
      const res = await fetch(`${server2.base}/t`);
      await res.arrayBuffer();
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("files: 500 transfers aborted mid-body leave the fd count where it was", async () => {
  const root = await tempRoot();
  try {
    await Deno.writeFile(`${root}/movie.mp4`, randomBytes(16 * MiB));
    const metrics = new Metrics();
    await using server = startEngine(createApp({ root, metrics }), { metrics });
    // warm up: the open-file cache keeps one fd for the file
    const warm = await rawExchange(
      server.port,
      "GET /media/movie.mp4 HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n",
    );
    assert.equal(warm.responses[0].status, 206);
    await waitFor(() => server.handle.connections === 0, 5000, "warm-up connection closed");
    const before = openFdCount();
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 50 }, async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
        await writeAll(conn, enc.encode("GET /media/movie.mp4 HTTP/1.1\r\nHost: x\r\n\r\n"));
        const buf = new Uint8Array(65536);
        let got = 0;
        while (got < 100_000) {
          const n = await conn.read(buf);
          if (n === null) break;
          got += n;
        }
        conn.close();
      }));
    }
    await waitFor(() => server.handle.connections === 0, 10_000, "all aborted connections closed");
    assert.equal(openFdCount(), before);
    assert.equal(metrics.acceptedConnections, metrics.closedConnections);
    assert.ok(metrics.bytesSent.sendfile < 500 * 16 * MiB, "transfers were cut short");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("files: the open-file cache serves a replaced file's new bytes", async () => {
  const root = await tempRoot();
  try {
    const path = `${root}/seg.ts`;
    await Deno.writeFile(path, enc.encode("first version"));
    await using server = startEngine(createApp({ root }), { preadThreshold: 0 });
    const get = async () => await (await fetch(`${server.base}/media/seg.ts`)).text();
    assert.equal(await get(), "first version");
    assert.equal(await get(), "first version");
    // replaced by rename (new inode), as live ingest and editors do
    await Deno.writeFile(`${path}.tmp`, enc.encode("second, longer version"));
    await Deno.rename(`${path}.tmp`, path);
    assert.equal(await get(), "second, longer version");
    // rewritten in place with the same size and a different mtime
    await Deno.writeFile(path, enc.encode("SECOND, LONGER VERSION"));
    await Deno.utime(path, 1_800_000_000, 1_800_000_000);
    assert.equal(await get(), "SECOND, LONGER VERSION");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "files: curl and ffprobe/ffmpeg -ss read the sample MP4 over HTTP",
  ignore: !have("curl") || !have("ffprobe") || !have("ffmpeg"),
  async fn() {
    const metrics = new Metrics();
    await using server = startEngine(createApp({ root: Deno.realPathSync(REPO_MEDIA), metrics }), {
      metrics,
    });
    const url = `${server.base}/media/sample.mp4`;
    const file = await Deno.readFile(`${REPO_MEDIA}/sample.mp4`);
    const whole = await curl([url]);
    assert.equal(whole.code, 0, whole.stderr);
    assert.deepEqual(whole.stdout, file);
    const part = await curl(["-r", "100-199", url]);
    assert.deepEqual(part.stdout, file.subarray(100, 200));
    const probe = await new Deno.Command("ffprobe", {
      args: ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(probe.success, new TextDecoder().decode(probe.stderr));
    assert.ok(Number(new TextDecoder().decode(probe.stdout)) > 0);
    const seek = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-ss", "1", "-i", url, "-frames:v", "1", "-f", "null", "-"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(seek.success, new TextDecoder().decode(seek.stderr));
    assert.ok(metrics.bytesSent.sendfile > 0);
    void collect;
  },
});
