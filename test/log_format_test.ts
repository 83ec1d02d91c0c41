/** `--log-format json`, `--access-log FILE` and its reopen on SIGUSR1 (logrotate). */
import assert from "node:assert/strict";
import {
  type AccessLogEntry,
  escapeLogField,
  fileLogSink,
  formatCombined,
  formatJson,
  formatLogTime,
} from "../src/log.ts";
import { ENGINES, startServer } from "./support/server.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

const ENTRY: AccessLogEntry = {
  remoteAddr: "::1",
  method: "GET",
  target: '/media/a "b".mp4?x=1',
  protocol: "HTTP/1.1",
  status: 206,
  bytes: 100,
  referer: null,
  userAgent: "curl/8",
  time: Date.UTC(2026, 10, 29, 12, 0, 0, 5),
  durationMs: 1.23456,
  engine: "zero-copy",
  range: "bytes=0-99",
};

Deno.test("log format: combined lines escape like nginx, the time is per second", () => {
  const line = formatCombined({
    ...ENTRY,
    method: "G\x01T",
    referer: "http://r/\\",
    userAgent: "ua \u00e9\x7f",
  });
  assert.equal(
    line,
    '::1 - - [29/Nov/2026:12:00:00 +0000] "G\\x01T /media/a \\x22b\\x22.mp4?x=1 HTTP/1.1" 206 100 ' +
      '"http://r/\\x5C" "ua \\xE9\\x7F"',
  );
  assert.equal(formatCombined({ ...ENTRY, userAgent: null }).endsWith('"-" "-"'), true);
  // nothing to escape: the very same string back
  const plain = "/media/video.mp4?t=1";
  assert.equal(escapeLogField(plain), plain);
  assert.equal(escapeLogField(""), "");
  // the cached second changes with the time, in both directions
  const t = Date.UTC(2026, 0, 31, 23, 59, 59, 999);
  assert.equal(formatLogTime(t), "31/Jan/2026:23:59:59 +0000");
  assert.equal(formatLogTime(t + 1), "01/Feb/2026:00:00:00 +0000");
  assert.equal(formatLogTime(t - 999), "31/Jan/2026:23:59:59 +0000");
  assert.equal(formatLogTime(Date.UTC(1999, 11, 9, 1, 2, 3)), "09/Dec/1999:01:02:03 +0000");
});

Deno.test("log format: JSON lines carry every field, null when absent", () => {
  assert.deepEqual(JSON.parse(formatJson(ENTRY)), {
    time: "2026-11-29T12:00:00.005Z",
    remote: "::1",
    method: "GET",
    path: '/media/a "b".mp4?x=1',
    status: 206,
    bytes: 100,
    duration_ms: 1.235,
    engine: "zero-copy",
    protocol: "HTTP/1.1",
    range: "bytes=0-99",
    user_agent: "curl/8",
    referer: null,
  });
  const bare = JSON.parse(formatJson({ ...ENTRY, durationMs: undefined, engine: undefined }));
  assert.equal(bare.duration_ms, null);
  assert.equal(bare.engine, null);
  assert.ok(!formatJson(ENTRY).includes("\n"));
  // The client behind a trusted proxy replaces the peer in both formats.
  assert.equal(JSON.parse(formatJson(ENTRY, "192.0.2.1")).remote, "192.0.2.1");
  assert.ok(formatCombined(ENTRY, "192.0.2.1").startsWith("192.0.2.1 - - [29/Nov/2026:12:00:00"));
});

Deno.test("log format: the file sink appends, and reopen follows a rename", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zerocast-log-" });
  try {
    const path = `${dir}/access.log`;
    await Deno.writeTextFile(path, "old\n");
    const sink = fileLogSink(path);
    sink.write("one\n");
    await Deno.rename(path, `${path}.1`);
    // As a `{ writeSync }` writer (a supervisor relaying worker lines): still the renamed file.
    assert.equal(sink.writeSync(new TextEncoder().encode("two\n")), 4);
    sink.reopen();
    sink.write("three\n");
    sink.close();
    assert.equal(await Deno.readTextFile(`${path}.1`), "old\none\ntwo\n");
    assert.equal(await Deno.readTextFile(path), "three\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Reads `path` until some line contains `needle`; returns the lines. */
async function waitForLine(path: string, needle: string): Promise<string[]> {
  for (;;) {
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const lines = text.split("\n").filter((l) => l !== "");
    if (lines.some((l) => l.includes(needle))) return lines;
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const engine of ENGINES) {
  Deno.test(`log format [${engine}]: JSON lines to a file; SIGUSR1 reopens it after a rename`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "zerocast-log-" });
    const path = `${dir}/access.log`;
    const server = await startServer({
      engine,
      log: true,
      args: ["--log-format", "json", "--access-log", path],
    });
    try {
      const res = await fetch(`${server.url}/media/sample.mp4?first`, {
        headers: { range: "bytes=0-99", "user-agent": "zc-test" },
      });
      assert.equal(res.status, 206);
      assert.equal((await res.bytes()).byteLength, 100);
      const lines = await waitForLine(path, "first");
      const entry = JSON.parse(lines.find((l) => l.includes("first"))!);
      assert.equal(entry.remote, "127.0.0.1");
      assert.equal(entry.method, "GET");
      assert.equal(entry.path, "/media/sample.mp4?first");
      assert.equal(entry.status, 206);
      assert.equal(entry.bytes, 100);
      assert.equal(typeof entry.duration_ms, "number");
      assert.ok(entry.duration_ms >= 0);
      assert.equal(entry.engine, engine);
      assert.equal(entry.protocol, "HTTP/1.1");
      assert.equal(entry.range, "bytes=0-99");
      assert.equal(entry.user_agent, "zc-test");
      assert.equal(entry.referer, null);
      assert.ok(!Number.isNaN(Date.parse(entry.time)));
      // Nothing but the start-up lines on stdout.
      assert.ok(!server.stdout.some((l) => l.includes("first")));

      // logrotate: move the file away, then SIGUSR1.
      await Deno.rename(path, `${path}.1`);
      server.process.kill("SIGUSR1");
      // The reopen happens on the server's event loop; poll until a request lands in the new file.
      for (let i = 0;; i++) {
        const r = await fetch(`${server.url}/healthz?second=${i}`);
        await r.body?.cancel();
        try {
          const text = await Deno.readTextFile(path);
          if (text.includes("second")) break;
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const rotated = await Deno.readTextFile(`${path}.1`);
      assert.ok(rotated.includes("first"));
      const fresh = (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
      assert.ok(fresh.every((l) => JSON.parse(l).path.startsWith("/healthz?second=")));
    } finally {
      assert.equal(await server.close(), 0);
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("log format: an access log that cannot be opened is one line, exit 2", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "--port", "0", "--access-log", "/nonexistent/dir/a.log"],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(out.code, 2);
  assert.equal(new TextDecoder().decode(out.stdout), "");
  assert.match(
    new TextDecoder().decode(out.stderr),
    /^zerocast: --access-log \/nonexistent\/dir\/a\.log: .+\n$/,
  );
});

Deno.test("log format: --quiet still disables the log; --log-format is checked", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zerocast-log-" });
  try {
    const path = `${dir}/access.log`;
    const server = await startServer({ args: ["--access-log", path] }); // --quiet by default
    try {
      const res = await fetch(`${server.url}/healthz`);
      await res.body?.cancel();
    } finally {
      assert.equal(await server.close(), 0);
    }
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "--log-format", "xml"],
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(out.code, 2);
    assert.equal(
      new TextDecoder().decode(out.stderr),
      'zerocast: --log-format must be combined or json, got "xml"\n',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
