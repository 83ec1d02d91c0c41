/**
 * The idle memory release (src/server/idle_release.ts): when it fires (a policy over injected
 * counters), that its GC really shrinks V8's young generation in a process started with
 * `--v8-flags=--expose-gc`, and that a server started like `deno task serve` gives memory back
 * after a burst of requests over real sockets.
 */
import assert from "node:assert/strict";
import {
  IdleRelease,
  type IdleReleaseHooks,
  type IdleReleasePolicy,
  reducingGc,
  SERVER_V8_FLAGS,
} from "../src/server/idle_release.ts";
import { parseConfig } from "../src/config.ts";

const MiB = 1024 * 1024;
const POLICY: IdleReleasePolicy = { quietMs: 100, minGrowthBytes: 4 * MiB, minIntervalMs: 1000 };

/** Counters a test moves by hand. */
class FakeProcess {
  activity = 0;
  rss = 50 * MiB;
  now = 0;
  released = 0;
  /** RSS a release leaves behind. */
  floor = 50 * MiB;
  readonly hooks: IdleReleaseHooks = {
    activity: () => this.activity,
    rss: () => this.rss,
    now: () => this.now,
    release: () => {
      this.released++;
      this.rss = this.floor;
    },
  };
}

Deno.test("idle release: waits for quiet time after the last activity", () => {
  const p = new FakeProcess();
  const idle = new IdleRelease(POLICY, p.hooks);
  p.rss += 20 * MiB;
  p.activity++;
  p.now = 50;
  assert.equal(idle.tick(), false, "activity moved");
  p.now = 149;
  assert.equal(idle.tick(), false, "quiet for 99 ms only");
  p.now = 150;
  assert.equal(idle.tick(), true, "quiet for 100 ms, grew 20 MiB");
  assert.equal(p.released, 1);
  assert.equal(idle.releases, 1);
});

Deno.test("idle release: nothing without enough growth, once per quiet spell", () => {
  const p = new FakeProcess();
  const idle = new IdleRelease(POLICY, p.hooks);
  p.rss += 4 * MiB - 1;
  p.now = 500;
  assert.equal(idle.tick(), false, "grew less than 4 MiB");
  p.rss += 1;
  assert.equal(idle.tick(), true);
  // still quiet, RSS back at the floor: no second release
  for (p.now = 2000; p.now < 10_000; p.now += 50) assert.equal(idle.tick(), false);
  assert.equal(p.released, 1);
});

Deno.test("idle release: at most one release per interval, whatever the traffic", () => {
  const p = new FakeProcess();
  const idle = new IdleRelease(POLICY, p.hooks);
  p.rss += 8 * MiB;
  p.now = 200;
  assert.equal(idle.tick(), true);
  // a burst that grows the heap again, then quiet: too soon after the last release
  p.activity++;
  p.rss += 8 * MiB;
  p.now = 300;
  assert.equal(idle.tick(), false);
  p.now = 1100;
  assert.equal(idle.tick(), false, "quiet, grown, but only 900 ms after the release");
  p.now = 1200;
  assert.equal(idle.tick(), true);
  assert.equal(p.released, 2);
});

Deno.test("idle release: the growth counts from what the last release left", () => {
  const p = new FakeProcess();
  p.floor = 60 * MiB; // the release could not get below 60 MiB
  const idle = new IdleRelease(POLICY, p.hooks);
  p.rss = 70 * MiB;
  p.now = 200;
  assert.equal(idle.tick(), true);
  p.activity++;
  p.rss = 63 * MiB; // 3 MiB above the new floor
  p.now = 1300;
  idle.tick();
  p.now = 1500;
  assert.equal(idle.tick(), false);
  p.rss = 64 * MiB;
  assert.equal(idle.tick(), true);
});

Deno.test("idle release: --idle-release is a setting (default 100 ms, 0 = off)", async () => {
  const root = await Deno.makeTempDir({ prefix: "zerocast-idle-" });
  try {
    const env = () => undefined;
    assert.equal(parseConfig(["--root", root], env).idleReleaseMs, 100);
    assert.equal(parseConfig(["--root", root, "--idle-release", "0"], env).idleReleaseMs, 0);
    assert.equal(parseConfig(["--root", root, "--idle-release=2500"], env).idleReleaseMs, 2500);
    assert.throws(() => parseConfig(["--root", root, "--idle-release", "-1"], env));
    assert.throws(() => parseConfig(["--root", root, "--idle-release", "soon"], env));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("idle release: no GC without --expose-gc", () => {
  // the test runner is started without the flag
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, "undefined");
  assert.equal(reducingGc(), undefined);
});

/** Runs `code` in a fresh `deno` with `--v8-flags=--expose-gc`; returns its stdout. */
async function runWithGc(code: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--v8-flags=--expose-gc", "--allow-all", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    cwd: new URL("../", import.meta.url).pathname,
  }).spawn();
  const writer = out.stdin.getWriter();
  await writer.write(new TextEncoder().encode(code));
  await writer.close();
  const result = await out.output();
  const stderr = new TextDecoder().decode(result.stderr);
  assert.ok(result.success, `child failed: ${stderr}`);
  return new TextDecoder().decode(result.stdout);
}

Deno.test("idle release: the release shrinks V8's young generation (real GC, real timer)", async () => {
  const stdout = await runWithGc(`
    import v8 from "node:v8";
    import { startIdleRelease } from "./src/server/idle_release.ts";
    const young = () =>
      v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
    // allocation load: short-lived objects grow the young generation
    let keep = [];
    for (let i = 0; i < 4e6; i++) {
      keep.push({ i, a: [i] });
      if (keep.length > 20000) keep = [];
    }
    keep = [];
    const before = young();
    const lifetime = new AbortController();
    // activity never moves: quiet from the start; growth 0 so the first quiet tick releases
    const idle = startIdleRelease(20, 0, () => 0, lifetime.signal);
    while (idle.releases === 0) await new Promise((r) => setTimeout(r, 10));
    lifetime.abort();
    console.log(JSON.stringify({ before, after: young() }));
  `);
  const { before, after } = JSON.parse(stdout.trim().split("\n").at(-1)!);
  assert.ok(before >= 4 * MiB, `young generation grew under load: ${before}`);
  assert.ok(after < before / 4, `young generation shrunk: ${before} -> ${after}`);
});

/** VmRSS of `pid` in bytes. */
function vmRss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

Deno.test({
  name: "idle release: a server started like `deno task serve` gives memory back after a burst",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "zerocast-idle-" });
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", SERVER_V8_FLAGS, "--allow-all"],
        new URL("../main.ts", import.meta.url).pathname,
        ...["--host", "127.0.0.1", "--port", "0", "--root", root, "--workers", "1", "--quiet"],
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      let url: string | undefined;
      while (url === undefined) {
        const { value, done } = await lines.read();
        assert.ok(!done, "server exited before listening");
        seen += value;
        url = /listening on (http:\/\/\S+)/.exec(seen)?.[1];
      }
      // allocation load: requests through the Hono app (each makes a Request, Headers, a
      // Response) until the server's RSS has grown by 12 MiB
      const start = vmRss(child.pid);
      let peak = start;
      while (peak - start < 12 * MiB) {
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            for (let i = 0; i < 200; i++) {
              const response = await fetch(`${url}/no/such/path?${i}`);
              await response.body?.cancel();
            }
          }),
        );
        peak = Math.max(peak, vmRss(child.pid));
      }
      // quiet now: the release brings RSS back down (V8's own memory reducer waits ~20 s)
      let now = vmRss(child.pid);
      const deadline = Date.now() + 15_000;
      while (now > peak - 8 * MiB && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        now = vmRss(child.pid);
      }
      const mb = (n: number) => (n / 1e6).toFixed(1);
      assert.ok(
        now <= peak - 8 * MiB,
        `RSS ${mb(start)} MB at start, ${mb(peak)} MB after the burst, ${mb(now)} MB when quiet`,
      );
      lines.releaseLock();
    } finally {
      child.kill("SIGTERM");
      await child.stdout.cancel().catch(() => {});
      await child.status;
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("idle release: `deno task serve` passes the server's V8 flags", () => {
  const config = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  assert.ok((config.tasks.serve as string).split(" ").includes(SERVER_V8_FLAGS));
});
