/**
 * `deno task bench:soak`: a bounded soak run of the zero-copy engine. Starts `main.ts` (ingest
 * on, V8 inspector on loopback) on a temp media root, runs mixed traffic from this process for
 * `--minutes` (default 10), and after every `--interval` (default 60 s) pauses the traffic,
 * waits until the server has no client connection left, runs a full GC in the server through
 * its inspector and samples its RSS and fds. Prints the table after every sample; exits 1 with
 * the reasons when requests failed, fds grew, media files stayed open or RSS kept climbing
 * (criteria: `bench/support/soak_judge.ts`, explained in bench/PERFORMANCE.md). `--help` lists
 * the flags.
 *
 * @module
 */
import { spawnChild } from "./support/child.ts";
import { ensureDataFile, MiB } from "./support/data.ts";
import { FlagError } from "./support/flags.ts";
import { InspectorSession, inspectorUrl } from "./support/inspector_gc.ts";
import { freePort, LOOPBACK } from "./support/ports.ts";
import { treeRssBytes } from "./support/proc.ts";
import { parseSoakFlags, SOAK_HELP, type SoakFlags } from "./support/soak_flags.ts";
import { SoakConnection } from "./support/soak_http.ts";
import {
  judgeSoak,
  percentile,
  type SoakSample,
  soakTable,
  type SoakVerdict,
} from "./support/soak_judge.ts";
import { type IntervalStats, type SoakFile, SoakTraffic } from "./support/soak_traffic.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const TOKEN = "soak-ingest-token";
const LIVE_PREFIX = "/media/live/";
const BIG = { name: "soak-big.bin", size: 64 * MiB };
const SMALL = { name: "soak-small.bin", size: 300 * 1024 + 3 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for `check` to return a value other than null, polling; throws after `timeoutMs`. */
async function waitFor<T>(what: string, timeoutMs: number, check: () => T | null): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** One request on a fresh connection that is closed afterwards; returns head and body text. */
async function once(port: number, method: string, path: string) {
  const conn = await SoakConnection.open(LOOPBACK, port);
  try {
    await conn.send(`${method} ${path} HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n`);
    const head = await conn.readHead();
    const length = method === "HEAD" ? 0 : Number(head.headers.get("content-length") ?? 0);
    const parts: number[] = [];
    await conn.readBody(length, (_, bytes) => parts.push(...bytes));
    return { head, body: new TextDecoder().decode(new Uint8Array(parts)) };
  } finally {
    conn.close();
  }
}

async function fileInfo(port: number, name: string, size: number): Promise<SoakFile> {
  const path = `/media/${name}`;
  const { head } = await once(port, "HEAD", path);
  const etag = head.headers.get("etag");
  const lastModified = head.headers.get("last-modified");
  if (head.status !== 200 || !etag || !lastModified) {
    throw new Error(`HEAD ${path}: status ${head.status}, no validators`);
  }
  return { path, size, etag, lastModified };
}

/** The server's open fds: media files under `root` apart, everything else together. */
function countFds(pid: number, root: string): { fds: number; mediaFds: number } {
  let fds = 0;
  let mediaFds = 0;
  for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
    let target = "";
    try {
      target = Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`);
    } catch {
      continue; // closed meanwhile
    }
    if (target.startsWith(root + "/")) mediaFds++;
    else fds++;
  }
  return { fds, mediaFds };
}

/** `zerocast_active_connections` from `/metrics` (this request's own connection included). */
async function activeConnections(port: number): Promise<number> {
  const { body } = await once(port, "GET", "/metrics");
  const match = /^zerocast_active_connections (\d+)$/m.exec(body);
  if (match === null) throw new Error("/metrics has no zerocast_active_connections");
  return Number(match[1]);
}

function minutesLabel(seconds: number): string {
  const minutes = seconds / 60;
  return Number.isInteger(minutes) ? String(minutes) : minutes.toFixed(2);
}

function reportText(
  flags: SoakFlags,
  samples: SoakSample[],
  verdict: SoakVerdict,
  startedAt: Date,
): string {
  const load = Deno.loadavg().map((n) => n.toFixed(2)).join(" ");
  return [
    `Soak run of ${startedAt.toISOString()}: zero-copy engine, ${minutesLabel(flags.seconds)} min` +
    ` of mixed traffic (${flags.workers} loops, target ${flags.rps} req/s, seed ${flags.seed}),` +
    ` samples every ${flags.interval} s; Deno ${Deno.version.deno},` +
    ` ${navigator.hardwareConcurrency} cores, load average at the end ${load}.`,
    "",
    "Each row: the traffic of the interval ending at `min` (p50/p99 over its completed requests;" +
    " `healthz` = latency of a `/healthz` probe every 200 ms, the proxy for event-loop delay," +
    " since the server exports no event-loop gauge), then the server quiesced (no client" +
    " connection) after a full GC: RSS, fds without media files, media files held open" +
    " (file cache), connections open (the sampling request's own included). `start` is before" +
    " any traffic; the first interval is the warm-up.",
    "",
    soakTable(samples),
    "",
    `Verdict: ${verdict.ok ? "pass" : "FAIL"}`,
    ...verdict.findings.map((f) => `- FAIL: ${f}`),
    ...verdict.notes.map((n) => `- note: ${n}`),
  ].join("\n");
}

async function run(flags: SoakFlags): Promise<number> {
  const startedAt = new Date();
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "zerocast-soak-" }));
  await ensureDataFile(BIG.name, BIG.size, root);
  await ensureDataFile(SMALL.name, SMALL.size, root);
  await Deno.mkdir(`${root}/live`);
  const port = await freePort();
  const inspectPort = await freePort();
  const server = spawnChild(Deno.execPath(), [
    "run",
    "--allow-all",
    `--inspect=${LOOPBACK}:${inspectPort}`,
    MAIN,
    "--host",
    LOOPBACK,
    "--port",
    String(port),
    "--root",
    root,
    "--engine",
    "zero-copy",
    // one process: the inspector samples the heap of the process that serves
    "--workers",
    "1",
    "--quiet",
    "--ingest-token",
    TOKEN,
    "--no-ingest-fsync",
  ]);
  let session: InspectorSession | null = null;
  let traffic: SoakTraffic | null = null;
  try {
    await server.waitForLine(/^listening on http:/, 60_000);
    const url = await waitFor("the inspector URL", 10_000, () => inspectorUrl(server.stderr));
    session = await InspectorSession.connect(url);
    const gcSession = session;
    const target = {
      hostname: LOOPBACK,
      port,
      big: await fileInfo(port, BIG.name, BIG.size),
      small: await fileInfo(port, SMALL.name, SMALL.size),
      token: TOKEN,
      livePrefix: LIVE_PREFIX,
      connect: () => SoakConnection.open(LOOPBACK, port),
    };
    traffic = new SoakTraffic(target, flags.workers, flags.rps, flags.seed);
    const samples: SoakSample[] = [];

    const sample = async (label: string, stats: IntervalStats | null, settle: number) => {
      let open = await activeConnections(port);
      for (let waited = 0; open > 1 && waited < 100; waited++) {
        await sleep(100);
        open = await activeConnections(port);
      }
      if (!server.alive()) throw new Error("the server exited");
      let fds = countFds(server.pid, root);
      for (let waited = 0; fds.mediaFds > 0 && waited < settle * 10; waited++) {
        await sleep(100);
        fds = countFds(server.pid, root);
      }
      await gcSession.collectGarbage();
      await gcSession.collectGarbage();
      fds = countFds(server.pid, root);
      const latencies = stats?.latenciesMs ?? [];
      const healthz = stats?.healthzMs ?? [];
      const row: SoakSample = {
        label,
        requests: stats?.requests ?? 0,
        errors: stats?.errors ?? 0,
        aborted: stats?.aborted ?? 0,
        p50Ms: percentile(latencies, 0.5),
        p99Ms: percentile(latencies, 0.99),
        healthzP99Ms: percentile(healthz, 0.99),
        healthzMaxMs: healthz.length > 0 ? Math.max(...healthz) : null,
        rssBytes: treeRssBytes(server.pid),
        fds: fds.fds,
        mediaFds: fds.mediaFds,
        openConnections: open,
      };
      samples.push(row);
      for (const line of stats?.errorLines ?? []) console.error(`error: ${line}`);
      console.log(`\n${soakTable(samples)}\n`);
    };

    await sample("start", null, 0);
    traffic.start();
    const started = performance.now();
    let pausedMs = 0;
    let elapsed = 0;
    while (elapsed < flags.seconds) {
      const next = Math.min(flags.seconds, elapsed + flags.interval);
      const wait = started + pausedMs + next * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      const last = next >= flags.seconds;
      // from here until the loops go on again is not traffic time: the loops finish their
      // operations (a slow reader takes a while), then the sample is taken
      const pausedAt = performance.now();
      if (last) await traffic.stop();
      else await traffic.pause();
      const stats = traffic.takeStats();
      await sample(minutesLabel(next), stats, last ? flags.settle : 0);
      pausedMs += performance.now() - pausedAt;
      elapsed = next;
      if (!last) traffic.resume();
    }
    traffic = null;

    // aborted uploads remove their temp files once the server has seen the client go
    const listLive = () => [...Deno.readDirSync(`${root}/live`)].map((e) => e.name);
    let leftovers = listLive();
    for (let waited = 0; leftovers.length > 0 && waited < 50; waited++) {
      await sleep(100);
      leftovers = listLive();
    }
    const verdict = judgeSoak(samples, flags.settle > 0);
    if (leftovers.length > 0) {
      verdict.findings.push(`files left in the upload folder: ${leftovers.join(", ")}`);
    }
    session.close();
    session = null;
    const stopped = await server.stop("SIGTERM", 10_000);
    if (stopped !== 0) verdict.findings.push(`the server exited with ${stopped} on SIGTERM`);
    const final = { ...verdict, ok: verdict.findings.length === 0 };
    const report = reportText(flags, samples, final, startedAt);
    console.log(`\n${report}`);
    if (flags.report !== null) await Deno.writeTextFile(flags.report, report + "\n");
    if (!final.ok) console.error(`bench:soak: FAIL: ${final.findings.join("; ")}`);
    return final.ok ? 0 : 1;
  } finally {
    if (traffic !== null) await traffic.stop().catch(() => {});
    session?.close();
    if (server.alive()) await server.stop("SIGKILL");
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  let flags: SoakFlags | null;
  try {
    flags = parseSoakFlags(Deno.args);
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    console.error(`bench:soak: ${error.message}\n\n${SOAK_HELP}`);
    Deno.exit(2);
  }
  if (flags === null) {
    console.log(SOAK_HELP);
    Deno.exit(0);
  }
  try {
    Deno.exit(await run(flags));
  } catch (error) {
    console.error(`bench:soak: ${error instanceof Error ? error.stack : error}`);
    Deno.exit(1);
  }
}
