/**
 * Quick correctness checks of the benchmark harness pieces (bench/): the own load client in its
 * subprocess, connection holding, /proc accounting, the correctness gate, wrk's script, the
 * peers' range parser and the results merge. Real sockets, small data, no timed assertions.
 */
import assert from "node:assert/strict";
import { holdConnectionsProcess, runLoadProcess } from "../bench/loadgen/run.ts";
import { onPath, spawnChild } from "../bench/support/child.ts";
import { ensureDataFile, expectedBytes, MiB } from "../bench/support/data.ts";
import { freePort, LOOPBACK, portIsFree } from "../bench/support/ports.ts";
import {
  processTree,
  resetTreePeakRss,
  treeCpuSeconds,
  treePeakRssBytes,
  treeRssBytes,
} from "../bench/support/proc.ts";
import { BEGIN_MARKER, END_MARKER, mergeIntoResults } from "../bench/support/report.ts";
import { serverSpecs } from "../bench/support/servers.ts";
import { checkRange, checkWhole, verifyFiles } from "../bench/support/verify.ts";
import { runWrk } from "../bench/support/wrk.ts";
import { parseSingleRange } from "../bench/peers/range.ts";
import { FlagError, parseCompareFlags } from "../bench/support/flags.ts";
import type { Measurement } from "../bench/support/measure.ts";
import { judgeTargets } from "../bench/support/targets.ts";

const FILE_SIZE = 3 * MiB + 5;
const FILE_NAME = "harness-test.bin";

/** A tiny Deno.serve range server over `bytes` that remembers every client port it saw. */
function tinyServer(bytes: Uint8Array<ArrayBuffer>, corrupt = false) {
  const ports = new Set<number>();
  let served = 0;
  const server = Deno.serve({ hostname: LOOPBACK, port: 0, onListen() {} }, (request, info) => {
    ports.add(info.remoteAddr.port);
    served++;
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return new Response("ok\n");
    const range = parseSingleRange(request.headers.get("range"), bytes.byteLength);
    if (range === "invalid") return new Response(null, { status: 416 });
    if (range === "none") return new Response(bytes);
    const body = bytes.slice(range.start, range.end + 1);
    if (corrupt) body[body.byteLength >> 1] ^= 0xff;
    return new Response(body, {
      status: 206,
      headers: { "content-range": `bytes ${range.start}-${range.end}/${bytes.byteLength}` },
    });
  });
  return {
    url: `http://${LOOPBACK}:${server.addr.port}`,
    port: server.addr.port,
    ports,
    served: () => served,
    close: () => server.shutdown(),
  };
}

/** Writes the test data file into a fresh temp dir; `remove` deletes the dir. */
async function dataFile() {
  const root = await Deno.makeTempDir({ prefix: "zerocast-bench-test-" });
  const path = await ensureDataFile(FILE_NAME, FILE_SIZE, root);
  return { root, path, remove: () => Deno.remove(root, { recursive: true }) };
}

Deno.test("data files are the deterministic pattern, byte for byte", async () => {
  const { path, remove } = await dataFile();
  try {
    const onDisk = await Deno.readFile(path);
    assert.equal(onDisk.byteLength, FILE_SIZE);
    assert.deepEqual(onDisk.subarray(MiB - 3, MiB + 20), expectedBytes(MiB - 3, 23));
    assert.deepEqual(onDisk, expectedBytes(0, FILE_SIZE));
    // Not periodic at 1 MiB: a range served from the wrong MiB would not compare equal.
    assert.notDeepEqual(expectedBytes(0, 64), expectedBytes(MiB, 64));
  } finally {
    await remove();
  }
});

Deno.test("peer range parser follows RFC 9110 single ranges", () => {
  assert.deepEqual(parseSingleRange("bytes=0-1", 10), { start: 0, end: 1 });
  assert.deepEqual(parseSingleRange("bytes=5-", 10), { start: 5, end: 9 });
  assert.deepEqual(parseSingleRange("bytes=-3", 10), { start: 7, end: 9 });
  assert.deepEqual(parseSingleRange("bytes=8-100", 10), { start: 8, end: 9 });
  assert.equal(parseSingleRange(null, 10), "none");
  assert.equal(parseSingleRange("bytes=10-", 10), "invalid");
  assert.equal(parseSingleRange("bytes=5-4", 10), "invalid");
  assert.equal(parseSingleRange("bytes=0-1,3-4", 10), "invalid");
  assert.equal(parseSingleRange("bytes=-0", 10), "invalid");
});

Deno.test("own load client: counts responses, body bytes and errors against a real server", async () => {
  const bytes = expectedBytes(0, 256 * 1024);
  const server = tinyServer(bytes);
  try {
    const result = await runLoadProcess({
      hostname: LOOPBACK,
      port: server.port,
      path: "/file",
      range: { fileSize: bytes.byteLength, length: 4096 },
      connections: 4,
      warmupSeconds: 0.1,
      durationSeconds: 0.5,
      seed: 7,
    });
    assert.ok(result.requests > 0, "some responses completed");
    assert.equal(result.bodyBytes, result.requests * 4096);
    assert.deepEqual(result.errors, { status: 0, length: 0, parse: 0, closed: 0 });
    assert.ok(result.requests <= server.served(), "never more responses than the server sent");
    assert.equal(result.latencyUs.count, result.requests);
    assert.ok(result.latencyUs.p50 > 0 && result.latencyUs.p99 >= result.latencyUs.p50);
    assert.ok(result.seconds > 0.3);

    // Wrong expectations are counted, not hidden.
    const wrong = await runLoadProcess({
      hostname: LOOPBACK,
      port: server.port,
      path: "/file",
      range: { fileSize: bytes.byteLength, length: 4096 },
      expectLength: 4095,
      expectStatus: 200,
      connections: 2,
      warmupSeconds: 0,
      durationSeconds: 0.2,
    });
    assert.ok(wrong.requests > 0);
    assert.equal(wrong.errors.length, wrong.requests);
    assert.equal(wrong.errors.status, wrong.requests);
  } finally {
    await server.close();
  }
});

Deno.test("own load client: whole bodies larger than one read are discarded in full", async () => {
  const bytes = expectedBytes(0, 2 * MiB + 11);
  const server = tinyServer(bytes);
  try {
    const result = await runLoadProcess({
      hostname: LOOPBACK,
      port: server.port,
      path: "/file",
      expectLength: bytes.byteLength,
      connections: 2,
      warmupSeconds: 0,
      durationSeconds: 0.3,
    });
    assert.ok(result.requests > 0);
    assert.equal(result.bodyBytes, result.requests * bytes.byteLength);
    assert.equal(result.errors.parse + result.errors.closed + result.errors.length, 0);
  } finally {
    await server.close();
  }
});

Deno.test("own load client: reconnects when the server closes after a response", async () => {
  const server = Deno.serve(
    { hostname: LOOPBACK, port: 0, onListen() {} },
    () => new Response("closing\n", { headers: { connection: "close" } }),
  );
  try {
    const result = await runLoadProcess({
      hostname: LOOPBACK,
      port: server.addr.port,
      path: "/",
      expectLength: 8,
      connections: 2,
      warmupSeconds: 0,
      durationSeconds: 0.3,
    });
    assert.ok(result.requests > 0);
    assert.ok(result.reconnects >= result.requests, "one new connection per response");
    assert.deepEqual(result.errors, { status: 0, length: 0, parse: 0, closed: 0 });
  } finally {
    await server.shutdown();
  }
});

Deno.test("holding connections keeps that many distinct keep-alive connections open", async () => {
  const server = tinyServer(new Uint8Array(16));
  try {
    const held = await holdConnectionsProcess(LOOPBACK, server.port, "/healthz", 50);
    try {
      assert.equal(held.count, 50);
      assert.equal(server.ports.size, 50);
    } finally {
      await held.release();
    }
  } finally {
    await server.close();
  }
});

Deno.test("/proc accounting sees a child's CPU and memory", async () => {
  // The child works until its own getrusage() says so (not for a wall-clock time, which a busy
  // machine turns into little CPU), touches 192 MiB that it frees again (waiting until its RSS
  // has dropped), then holds 64 MiB. Every number asserted below is far from its bound, so the
  // approximate per-CPU RSS counters of the kernel cannot flip a result.
  const child = spawnChild(Deno.execPath(), [
    "eval",
    "--v8-flags=--expose-gc",
    "let big = new Uint8Array(192 << 20).fill(1); const before = Deno.memoryUsage().rss; " +
    "let x = big[4097]; big = null; " +
    "while (Deno.memoryUsage().rss > before - (128 << 20)) gc(); " +
    "const hold = new Uint8Array(64 << 20).fill(1); " +
    "const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }; " +
    "while (cpu() < 0.4) x += hold[x & 1023]; " +
    "console.log('done', x > 0); setTimeout(() => {}, 60000);",
  ]);
  try {
    await child.waitForLine(/^done/, 30_000);
    assert.ok(processTree(Deno.pid).includes(child.pid), "child is in our tree");
    assert.ok(treeCpuSeconds(child.pid) >= 0.3, "busy loop shows as CPU time");
    const rss = treeRssBytes(child.pid);
    assert.ok(rss > 64 * MiB, `64 MiB held shows in RSS (${rss})`);
    assert.ok(rss < 160 * MiB, `192 MiB freed is gone from RSS (${rss})`);
    const peak = treePeakRssBytes(child.pid);
    assert.ok(peak > 192 * MiB, `the freed 192 MiB shows in the peak (${peak})`);
    assert.equal(resetTreePeakRss(child.pid), true);
    const afterReset = treePeakRssBytes(child.pid);
    assert.ok(afterReset > 64 * MiB && afterReset < 160 * MiB, `reset peak ${afterReset}`);
  } finally {
    await child.stop("SIGKILL");
  }
});

Deno.test("correctness gate passes a correct server and catches wrong bytes", async () => {
  const bytes = expectedBytes(0, FILE_SIZE);
  const { path, remove } = await dataFile();
  const file = { name: FILE_NAME, path, size: FILE_SIZE };
  const good = tinyServer(bytes);
  const bad = tinyServer(bytes, true);
  try {
    // tinyServer ignores the path, so /media/<name> reaches the same bytes.
    assert.deepEqual(await verifyFiles(good.url, file, file, [MiB, 4096], 2), []);
    assert.equal(await checkWhole(good.url, file), null);
    const failure = await checkRange(bad.url, file, 1000, 4096);
    assert.match(failure ?? "", /body differs/);
  } finally {
    await good.close();
    await bad.close();
    await remove();
  }
});

Deno.test("peer server starts on a checked port, serves exact ranges, stops by PID", async () => {
  const { root, path, remove } = await dataFile();
  const file = { name: FILE_NAME, path, size: FILE_SIZE };
  const spec = serverSpecs().get(onPath("nginx") ? "nginx-nopush-off" : "deno-stream")!;
  const prepared = await spec.prepare(() => {});
  assert.ok("version" in prepared, JSON.stringify(prepared));
  const port = await freePort();
  const server = await spec.start(port, root, undefined);
  try {
    assert.equal(await portIsFree(port), false);
    assert.equal(await checkRange(server.url, file, FILE_SIZE - 70_000, 70_000), null);
    assert.equal(await checkRange(server.url, file, 12_345, MiB), null);
  } finally {
    await server.stop();
    await remove();
  }
  assert.equal(server.child.alive(), false);
  assert.equal(await portIsFree(port), true);
});

Deno.test({
  name: "wrk runs the generated random-range script and reports JSON",
  ignore: !onPath("wrk"),
  async fn() {
    const bytes = expectedBytes(0, 256 * 1024);
    const server = tinyServer(bytes);
    try {
      const result = await runWrk({
        url: server.url,
        path: "/file",
        range: { fileSize: bytes.byteLength, length: 1000 },
        connections: 2,
        durationSeconds: 1,
        seed: 3,
      });
      assert.ok(result.requests > 0);
      assert.equal(result.errors, 0);
      assert.ok(result.bytes > result.requests * 1000, "wrk counts headers and bodies");
      assert.ok(result.p99 >= result.p50);
    } finally {
      await server.close();
    }
  },
});

Deno.test("results merge keeps hand-written text outside the markers", () => {
  const first = mergeIntoResults(null, "table one");
  assert.ok(first.includes(`${BEGIN_MARKER}\ntable one\n${END_MARKER}`));
  const edited = first.replace("(Written by hand", "W1 gap: cause X. (Written by hand");
  const second = mergeIntoResults(edited, "table two");
  assert.ok(second.includes("table two"));
  assert.ok(!second.includes("table one"));
  assert.ok(second.includes("W1 gap: cause X."));
});

Deno.test("compare flags: defaults, lists in table order, bad values rejected", () => {
  const defaults = parseCompareFlags([])!;
  assert.equal(defaults.runs, 2);
  assert.equal(defaults.duration, 2);
  assert.equal(defaults.servers.length, 7);
  const picked = parseCompareFlags(["--servers", "bun,zerocast-zero-copy", "--no-write"])!;
  assert.deepEqual(picked.servers, ["zerocast-zero-copy", "bun"]);
  assert.equal(picked.out, null);
  assert.equal(parseCompareFlags(["--help"]), null);
  assert.throws(() => parseCompareFlags(["--servers", "apache"]), FlagError);
  assert.throws(() => parseCompareFlags(["--duration", "0"]), FlagError);
  assert.throws(() => parseCompareFlags(["--bogus"]), FlagError);
});

Deno.test("targets: judged only on measured numbers, against the best nginx variant", () => {
  const m = (server: Measurement["server"], workload: Measurement["workload"], rps: number) => ({
    run: 1,
    server,
    workload,
    client: "own" as const,
    requests: rps,
    seconds: 1,
    bodyBytes: rps * (workload === "W1" ? 4 * MiB : 65536),
    p50Us: 1,
    p99Us: 2,
    serverCpuSeconds: 1,
    clientCpuSeconds: 0.5,
    otherCpuSeconds: 0,
    peakRssBytes: 1,
    errors: 0,
  });
  const verdicts = judgeTargets([
    m("zerocast-zero-copy", "W1", 100),
    m("nginx-nopush-on", "W1", 50),
    m("nginx-nopush-off", "W1", 110),
    m("zerocast-zero-copy", "W2", 1000),
    m("nginx-nopush-off", "W2", 900),
  ], []);
  const byTarget = new Map(verdicts.map((v) => [v.target, v]));
  const w1 = byTarget.get("W1 GB/s ≥ 1.0× nginx")!;
  assert.equal(w1.status, "missed");
  assert.match(w1.measured, /0\.91× \(vs nginx-nopush-off\)/);
  assert.equal(byTarget.get("W2 req/s ≥ 1.0× nginx")!.status, "met");
  assert.equal(byTarget.get("W1 ≥ 1.3× Bun")!.status, "not measured");
  assert.equal(byTarget.get("Hono route ≥ 1.0× Deno.serve(app.fetch)")!.status, "not measured");
  assert.equal(
    byTarget.get("RSS ≤ 80 MB with 1,000 open connections (fresh server)")!.status,
    "not measured",
  );
});

Deno.test("harness: RSS targets judge the fresh server (≤ 80 MB) and after the workloads (≤ 100 MB)", () => {
  const held = (phase: "fresh" | "after load", mb: number) => ({
    run: 1,
    server: "zerocast-zero-copy" as const,
    phase,
    idleBytes: 1,
    heldBytes: mb * 1e6,
    connections: 1000,
  });
  const verdicts = new Map(
    judgeTargets([], [held("fresh", 79.9), held("after load", 100.1)]).map((v) => [v.target, v]),
  );
  const fresh = verdicts.get("RSS ≤ 80 MB with 1,000 open connections (fresh server)")!;
  assert.equal(fresh.status, "met");
  assert.equal(fresh.measured, "79.9 MB");
  const loaded = verdicts.get("RSS ≤ 100 MB with 1,000 connections after all workloads")!;
  assert.equal(loaded.status, "missed");
  assert.equal(loaded.measured, "100.1 MB");
});
