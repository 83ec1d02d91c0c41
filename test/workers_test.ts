/**
 * `--workers N`: worker processes behind one port (SO_REUSEPORT), server-wide metrics, whole
 * access-log lines, restart of a dead worker, shutdown, and SIGHUP replacing every worker without
 * a refused connection or a cut transfer. Every test runs real processes over real sockets.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type RunningServer, startServer } from "./support/server.ts";
import { countCpuList, cpusFromQuota } from "../src/server/workers/cpus.ts";
import { MetricsTable } from "../src/server/workers/metrics_table.ts";
import { Metrics } from "../src/metrics.ts";

const FIXTURE = new URL("./fixtures/busy_workers.ts", import.meta.url).pathname;

/** One request on its own connection (`Connection: close`); resolves to the whole raw answer. */
async function rawGet(url: string, path: string, headers = ""): Promise<string> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const request = `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    return new TextDecoder().decode(concat(chunks));
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** `/metrics` as name{labels} -> value. */
async function metrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`, { headers: { connection: "close" } })).text();
  const map = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(zerocast_\S+) (\S+)$/.exec(line);
    if (m) map.set(m[1], Number(m[2]));
  }
  return map;
}

/** Live workers' pids from `/metrics`, by worker number. */
async function workerPids(url: string): Promise<Map<number, number>> {
  const pids = new Map<number, number>();
  for (const key of (await metrics(url)).keys()) {
    const m = /^zerocast_worker_requests_total\{worker="(\d+)",pid="(\d+)"\}$/.exec(key);
    if (m) pids.set(Number(m[1]), Number(m[2]));
  }
  return pids;
}

/** Waits until `check` is true (polling); fails with `what` after `ms`. */
async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

async function mediaRoot(bytes: number): Promise<{ root: string; file: Uint8Array }> {
  const root = await Deno.makeTempDir({ prefix: "zerocast-workers-" });
  const file = new Uint8Array(bytes);
  for (let i = 0; i < file.length; i += 4096) file[i] = (i / 4096) & 0xff;
  await Deno.writeFile(`${root}/big.bin`, file);
  return { root, file };
}

/** Starts curl downloading `url` at `rate` into a temp file; resolves when the first bytes are in. */
async function slowDownload(url: string, rate: string) {
  const out = await Deno.makeTempFile();
  const child = new Deno.Command("curl", {
    args: ["-sS", "--fail", "--limit-rate", rate, "-o", out, url],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await waitFor(() => Deno.statSync(out).size > 0, "the download to start");
  return {
    async done(): Promise<{ code: number; bytes: Uint8Array; stderr: string }> {
      const result = await child.output();
      const bytes = await Deno.readFile(out);
      await Deno.remove(out);
      return { code: result.code, bytes, stderr: new TextDecoder().decode(result.stderr) };
    },
  };
}

Deno.test("workers: CPU list and quota parsing", () => {
  assert.equal(countCpuList("0-1"), 2);
  assert.equal(countCpuList("0-3,8,10-11"), 7);
  assert.equal(countCpuList("bogus"), 0);
  assert.equal(cpusFromQuota("max 100000"), Infinity);
  assert.equal(cpusFromQuota("150000 100000"), 2);
  assert.equal(cpusFromQuota("50000 100000"), 1);
});

Deno.test("workers: the shared table sums workers and keeps a gone worker's counters once", () => {
  const path = Deno.makeTempFileSync();
  try {
    const table = MetricsTable.create(path, 4);
    const other = MetricsTable.open(path); // a second mapping, as another process has
    table.claim(1, 1);
    table.claim(2, 2);
    const a = new Metrics(other.cellsOf(1));
    const b = new Metrics(table.cellsOf(2));
    a.attachSource(other);
    b.attachSource(table);
    for (let i = 0; i < 3; i++) a.countRequest(200);
    b.countRequest(200);
    b.countRequest(404);
    a.activeConnections = 2;
    a.bytesSent.sendfile += 1000;
    let snap = table.snapshot();
    assert.equal(snap.workers.length, 2);
    assert.match(a.render(), /^zerocast_requests_total\{status="200"\} 4$/m);
    assert.match(a.render(), /^zerocast_requests_total\{status="404"\} 1$/m);
    table.retire(1);
    snap = table.snapshot();
    assert.equal(snap.workers.length, 1);
    const text = b.render();
    assert.match(
      text,
      /^zerocast_requests_total\{status="200"\} 4$/m,
      "counters of a gone worker stay",
    );
    assert.match(text, /^zerocast_active_connections 0$/m, "gauges of a gone worker do not");
    assert.match(text, /^zerocast_bytes_sent_total\{path="sendfile"\} 1000$/m);
    assert.equal(table.freeSlot(), 1);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("workers: bad --workers values -> one line, exit 2", async () => {
  for (const value of ["0", "x", "257", "1.5"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("../main.ts", import.meta.url).pathname,
        "--workers",
        value,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 2, value);
    assert.match(new TextDecoder().decode(out.stderr), /^zerocast: --workers must be auto or/);
  }
});

Deno.test("workers: separate connections reach both workers; /metrics and the log are server-wide", async () => {
  const server = await startServer({ args: ["--workers", "2"], log: true });
  try {
    assert.ok(server.stdout.some((l) => /; workers: 2 \(--workers\)$/.test(l)), server.stdout[0]);
    assert.equal(server.stdout.filter((l) => l.startsWith("listening on")).length, 1);
    const requests = 40;
    // Long targets and user agents: each log line is larger than PIPE_BUF (4096 bytes).
    const agent = "ua-" + "x".repeat(5000);
    const answers = await Promise.all(
      Array.from(
        { length: requests },
        (_, i) =>
          rawGet(server.url, `/healthz?n=${i}&pad=${"p".repeat(3000)}`, `User-Agent: ${agent}\r\n`),
      ),
    );
    for (const a of answers) assert.match(a, /^HTTP\/1\.1 200 /);
    const m = await metrics(server.url);
    assert.equal(m.get('zerocast_requests_total{status="200"}'), requests, "exact, right after");
    assert.equal(m.get("zerocast_workers"), 2);
    const perWorker = [...m].filter(([k]) => k.startsWith("zerocast_worker_requests_total"));
    assert.equal(perWorker.length, 2);
    for (const [key, n] of perWorker) assert.ok(n > 0, `${key} served nothing`);
    assert.equal(perWorker.reduce((s, [, n]) => s + n, 0), requests);
    await waitFor(
      () => server.stdout.filter((l) => l.includes("/healthz?n=")).length === requests,
      "every access-log line",
    );
    const line = new RegExp(
      `^127\\.0\\.0\\.1 - - \\[[^\\]]+\\] "GET /healthz\\?n=(\\d+)&pad=p{3000} HTTP/1\\.1" 200 3 "-" "${agent}"$`,
    );
    const seen = new Set<number>();
    for (const l of server.stdout.filter((l) => l.includes("/healthz"))) {
      const match = line.exec(l);
      assert.ok(match, `mangled log line: ${l.slice(0, 120)}… (${l.length} chars)`);
      seen.add(Number(match[1]));
    }
    assert.equal(seen.size, requests);
  } finally {
    assert.equal(await server.close(), 0);
  }
});

Deno.test("workers: a handler blocking one worker does not hold up the other", async () => {
  const dir = await Deno.makeTempDir();
  const until = `${dir}/release`;
  const server = await startServer({ entry: FIXTURE, args: ["--workers", "2"] });
  try {
    let busyDone = false;
    const busy = rawGet(server.url, `/busy?until=${encodeURIComponent(until)}`).then((r) => {
      busyDone = true;
      return r;
    });
    await waitFor(() => {
      try {
        return Deno.readTextFileSync(`${until}.started`).length > 0;
      } catch {
        return false;
      }
    }, "the busy handler to start");
    const busyWorker = Deno.readTextFileSync(`${until}.started`);
    // Connections land on either worker; the ones on the busy worker wait. Wait for the first
    // answer: it must come from the other worker while the busy handler still spins.
    const pending: Promise<string>[] = [];
    let answer: string | undefined;
    for (let round = 0; answer === undefined && round < 50; round++) {
      const batch = Array.from({ length: 4 }, () => rawGet(server.url, "/who"));
      pending.push(...batch);
      answer = await Promise.race([
        Promise.any(batch),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 500)),
      ]);
    }
    assert.ok(answer, "no request was answered while one worker was busy");
    assert.equal(busyDone, false, "the busy request is still in progress");
    assert.match(answer, /\r\n\r\nworker (\d+)\n$/);
    assert.notEqual(/worker (\d+)\n$/.exec(answer)![1], busyWorker);
    await Deno.writeTextFile(until, "go");
    assert.match(await busy, new RegExp(`done ${busyWorker}\\n$`));
    for (const r of await Promise.all(pending)) assert.match(r, /^HTTP\/1\.1 200 /);
  } finally {
    await Deno.writeTextFile(until, "go").catch(() => {});
    assert.equal(await server.close(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workers: a killed worker is restarted and logged; counters survive", async () => {
  const server = await startServer({ args: ["--workers", "2"] });
  try {
    for (let i = 0; i < 10; i++) {
      assert.match(await rawGet(server.url, "/healthz"), /^HTTP\/1\.1 200/);
    }
    const before = await workerPids(server.url);
    assert.equal(before.size, 2);
    const [victimNumber, victim] = [...before][0];
    Deno.kill(victim, "SIGKILL");
    await waitFor(
      () =>
        server.stderr.some((l) =>
          l.includes(`worker ${victimNumber} pid ${victim} died (signal SIGKILL)`)
        ),
      "the death to be logged",
    );
    await waitFor(
      () =>
        server.stderr.some((l) => new RegExp(`worker ${victimNumber} restarted: pid \\d+`).test(l)),
      "the restart to be logged",
    );
    const after = await workerPids(server.url);
    assert.equal(after.size, 2);
    assert.notEqual(after.get(victimNumber), victim);
    assert.ok(after.get(victimNumber)! > 0 && alive(after.get(victimNumber)!));
    for (let i = 0; i < 10; i++) {
      assert.match(await rawGet(server.url, "/healthz"), /^HTTP\/1\.1 200/);
    }
    const m = await metrics(server.url);
    // 10 + 10 /healthz and two /metrics reads before this one, whichever worker counted them.
    assert.equal(m.get('zerocast_requests_total{status="200"}'), 22);
    assert.equal(m.get("zerocast_worker_restarts_total"), 1);
  } finally {
    assert.equal(await server.close(), 0);
  }
});

Deno.test("workers: SIGTERM drains every worker (an in-flight download completes) and exits 0", async () => {
  const { root, file } = await mediaRoot(16 * 1024 * 1024);
  const server = await startServer({ root, args: ["--workers", "2", "--shutdown-grace", "60000"] });
  try {
    const pids = [...(await workerPids(server.url)).values()];
    assert.equal(pids.length, 2);
    const download = await slowDownload(`${server.url}/media/big.bin`, "8M");
    const code = await server.close();
    const result = await download.done();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.bytes, file);
    assert.equal(code, 0);
    for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} still running`);
  } finally {
    await server.close();
    await Deno.remove(root, { recursive: true });
  }
});

/** Connects continuously until `stop()`; counts answers and failures (refused, reset, empty). */
function connectContinuously(server: RunningServer) {
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const answer = await rawGet(server.url, "/healthz");
        if (/^HTTP\/1\.1 200 /.test(answer)) ok++;
        else failures.push(`bad answer: ${JSON.stringify(answer.slice(0, 60))}`);
      } catch (error) {
        failures.push(String(error));
      }
    }
  })();
  return {
    get ok() {
      return ok;
    },
    async stop() {
      running = false;
      await loop;
      return { ok, failures };
    },
  };
}

Deno.test("workers: SIGHUP replaces every worker with no refused connection and no cut transfer", async () => {
  const { root, file } = await mediaRoot(24 * 1024 * 1024);
  const server = await startServer({ root, args: ["--workers", "2", "--shutdown-grace", "60000"] });
  try {
    const old = await workerPids(server.url);
    assert.equal(old.size, 2);
    const download = await slowDownload(`${server.url}/media/big.bin`, "8M");
    const clients = [connectContinuously(server), connectContinuously(server)];
    await waitFor(() => clients.every((c) => c.ok > 5), "the clients to connect");
    server.process.kill("SIGHUP");
    await waitFor(
      () => server.stderr.some((l) => l.includes("reload done: 2 workers")),
      "the reload",
    );
    // Keep connecting until every old worker has drained and exited.
    await waitFor(
      () => [...old.values()].every((pid) => !alive(pid)),
      "the old workers to exit",
      60_000,
    );
    const counts = clients.map((c) => c.ok);
    await waitFor(() => clients.every((c, i) => c.ok > counts[i] + 5), "requests after the reload");
    const results = await Promise.all(clients.map((c) => c.stop()));
    for (const r of results) assert.deepEqual(r.failures, [], "no connection refused or reset");
    const result = await download.done();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.bytes, file, "the transfer in flight was not cut");
    const fresh = await workerPids(server.url);
    assert.equal(fresh.size, 2);
    for (const [n, pid] of fresh) assert.notEqual(pid, old.get(n), `worker ${n} was replaced`);
    const m = await metrics(server.url);
    const served = results.reduce((s, r) => s + r.ok, 0);
    assert.ok(m.get('zerocast_requests_total{status="200"}')! >= served + 1, "counts kept");
    assert.equal(m.get("zerocast_worker_restarts_total"), 0, "a reload is not a crash");
  } finally {
    assert.equal(await server.close(), 0);
    await Deno.remove(root, { recursive: true });
  }
});

/** A keep-alive connection that reads `/metrics` again and again (it stays on one worker). */
async function metricsReader(url: string) {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const decoder = new TextDecoder();
  let buffered: Uint8Array = new Uint8Array(0);
  const readMore = async () => {
    const buf = new Uint8Array(65536);
    const n = await conn.read(buf);
    if (n === null) throw new Error("metrics connection closed");
    buffered = concat([buffered, buf.subarray(0, n)]);
  };
  return {
    async read(): Promise<Map<string, number>> {
      await conn.write(new TextEncoder().encode("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
      let headEnd;
      while ((headEnd = decoder.decode(buffered).indexOf("\r\n\r\n")) < 0) await readMore();
      const head = decoder.decode(buffered.subarray(0, headEnd));
      const length = Number(/content-length: (\d+)/i.exec(head)![1]);
      while (buffered.byteLength < headEnd + 4 + length) await readMore();
      const body = decoder.decode(buffered.subarray(headEnd + 4, headEnd + 4 + length));
      buffered = buffered.slice(headEnd + 4 + length);
      const map = new Map<string, number>();
      for (const line of body.split("\n")) {
        const m = /^(zerocast_\S+) (\S+)$/.exec(line);
        if (m) map.set(m[1], Number(m[2]));
      }
      return map;
    },
    close: () => conn.close(),
  };
}

/** Accepted connections by worker number. */
function acceptedByWorker(m: Map<string, number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [key, n] of m) {
    const match = /^zerocast_worker_connections_accepted_total\{worker="(\d+)"/.exec(key);
    if (match) out.set(Number(match[1]), n);
  }
  return out;
}

/** Opens a connection and finds which worker accepted it (from the accept counters). */
async function connectAndLocate(url: string, reader: Awaited<ReturnType<typeof metricsReader>>) {
  const before = acceptedByWorker(await reader.read());
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  let worker: number | undefined;
  await waitFor(async () => {
    const after = acceptedByWorker(await reader.read());
    const grown = [...after].filter(([n, count]) => count > (before.get(n) ?? 0));
    if (grown.length === 1) worker = grown[0][0];
    return grown.length > 0;
  }, "the accept to be counted");
  return { conn, worker: worker! };
}

async function readAnswer(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = "";
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text;
}

Deno.test("workers: a playlist PUT through one worker waits for the segment PUT another worker holds", async () => {
  const root = await Deno.makeTempDir({ prefix: "zerocast-workers-ingest-" });
  await Deno.mkdir(`${root}/live/s`, { recursive: true });
  const token = "workers-token-1";
  const server = await startServer({
    root,
    args: ["--workers", "2", "--ingest-token", token, "--no-ingest-fsync"],
  });
  const reader = await metricsReader(server.url);
  const encoder = new TextEncoder();
  try {
    const seg = await connectAndLocate(server.url, reader);
    const segment = new Uint8Array(200_000).fill(7);
    await seg.conn.write(encoder.encode(
      `PUT /media/live/s/seg0.ts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Length: ${segment.byteLength}\r\n\r\n`,
    ));
    await seg.conn.write(segment.subarray(0, 1000));
    const dir = `${root}/live/s`;
    const temps = (prefix: string) =>
      [...Deno.readDirSync(dir)].filter((e) =>
        e.name.startsWith(prefix) && e.name.includes(".upload-")
      );
    await waitFor(() => temps(".seg0.ts").length === 1, "the segment upload to begin");
    // A connection on the other worker.
    let other = await connectAndLocate(server.url, reader);
    while (other.worker === seg.worker) {
      other.conn.close();
      other = await connectAndLocate(server.url, reader);
    }
    const playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg0.ts\n";
    await other.conn.write(encoder.encode(
      `PUT /media/live/s/index.m3u8 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Length: ${playlist.length}\r\n\r\n${playlist}`,
    ));
    // Its body is in the temp file; it must stay there while the segment is incomplete.
    await waitFor(() => {
      const t = temps(".index.m3u8");
      return t.length === 1 && Deno.statSync(`${dir}/${t[0].name}`).size === playlist.length;
    }, "the playlist body to be written");
    for (let i = 0; i < 20; i++) {
      assert.equal(temps(".index.m3u8").length, 1, "the playlist waits for the earlier segment");
      await assert.rejects(Deno.stat(`${dir}/index.m3u8`), Deno.errors.NotFound);
      await new Promise((r) => setTimeout(r, 10));
    }
    await seg.conn.write(segment.subarray(1000));
    assert.match(await readAnswer(seg.conn), /^HTTP\/1\.1 201 /);
    assert.match(await readAnswer(other.conn), /^HTTP\/1\.1 201 /);
    assert.deepEqual(await Deno.readFile(`${dir}/seg0.ts`), segment);
    assert.equal(await Deno.readTextFile(`${dir}/index.m3u8`), playlist);
    seg.conn.close();
    other.conn.close();
  } finally {
    reader.close();
    assert.equal(await server.close(), 0);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("workers: listedFiles names the relative files a playlist lists", async () => {
  const { listedFiles } = await import("../src/server/workers/shared_sequencer.ts");
  const text = [
    "#EXTM3U",
    '#EXT-X-MAP:URI="init.mp4"',
    "#EXTINF:2,",
    "seg1.m4s",
    "#EXTINF:2,",
    "sub/seg2.m4s",
    "https://cdn.example/seg3.m4s",
    "/media/live/abs.ts",
    "../escape.ts",
    "seg4.ts?x=1",
    ".hidden.ts",
  ].join("\n");
  assert.deepEqual(listedFiles(text, "/d"), ["/d/init.mp4", "/d/seg1.m4s", "/d/sub/seg2.m4s"]);
});

Deno.test("workers: the HTTPS listener runs in every worker too", async () => {
  const { makeTestCert } = await import("./support/tls.ts");
  const cert = await makeTestCert();
  const server = await startServer({
    args: ["--workers", "2"],
    tls: { cert: cert.certFile, key: cert.keyFile },
  });
  try {
    const requests = 30;
    for (let i = 0; i < requests; i++) {
      // a new TLS connection each time: curl runs once per request
      const out = await new Deno.Command("curl", {
        args: ["-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}", `${server.httpsUrl}/healthz`],
      }).output();
      assert.equal(new TextDecoder().decode(out.stdout), "200");
    }
    const m = await metrics(server.url);
    const perWorker = [...m].filter(([k]) => k.startsWith("zerocast_worker_requests_total"));
    assert.equal(perWorker.length, 2);
    for (const [key, n] of perWorker) assert.ok(n > 0, `${key} served no HTTPS request`);
    assert.equal(m.get('zerocast_requests_total{status="200"}'), requests);
  } finally {
    assert.equal(await server.close(), 0);
    await cert.cleanup();
  }
});
