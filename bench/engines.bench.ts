/**
 * `deno task bench`: the app on the zero-copy engine against the stream engine, driven by a
 * minimal keep-alive client (one connection per engine, one request per iteration). Each group's
 * baseline is the stream engine, so Deno prints how many times faster the zero-copy engine is;
 * bytes/s per bench are printed at the end.
 *
 * Each server runs in its own process (`main.ts --engine ...`), as in production: with client
 * and server in one isolate, every request waited for the engine's loop to come round (its
 * `setImmediate` turns, and the wake-up of its off-thread `epoll_wait` whenever the client's
 * await left it idle), which measured the sharing rather than the engine (see
 * bench/PERFORMANCE.md). The side-by-side comparison with nginx and others is
 * `deno task bench:compare`.
 *
 * @module
 */
import { ensureDataFile, MiB, warmPageCache } from "./support/data.ts";
import { DATA_ROOT } from "./support/data.ts";
import { LOOPBACK } from "./support/ports.ts";
import { RawHttpClient } from "./support/raw_client.ts";

const RANGE_FILE = { name: "64m.bin", size: 64 * MiB };
await warmPageCache(await ensureDataFile(RANGE_FILE.name, RANGE_FILE.size));

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** A server process on an ephemeral loopback port. */
interface ServerProcess {
  readonly port: number;
  readonly child: Deno.ChildProcess;
}

/** Starts `main.ts --engine engine` in its own process; null when it cannot run here. */
async function startServer(engine: "zero-copy" | "stream"): Promise<ServerProcess | null> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      MAIN,
      "--engine",
      engine,
      "--root",
      Deno.realPathSync(DATA_ROOT),
      "--host",
      LOOPBACK,
      "--port",
      "0",
      "--quiet",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  // main.ts prints its settings first, then one `listening on` line once it accepts connections
  while (!/listening on [^\n]*\n/.test(text)) {
    const { value, done } = await lines.read();
    if (done) break;
    text += value;
  }
  lines.releaseLock();
  const match = /listening on http:\/\/[^\s]*:(\d+)/.exec(text);
  if (match === null) {
    console.log(`${engine} engine did not start: ${text.trim()}`);
    child.kill();
    await child.status;
    return null;
  }
  // keep draining its stdout
  child.stdout.pipeTo(new WritableStream()).catch(() => {});
  return { port: Number(match[1]), child };
}

const engines = {
  stream: await startServer("stream"),
  zeroCopy: await startServer("zero-copy"),
};

/** Requests, bytes and seconds per bench, for the summary printed on unload. */
const totals = new Map<string, { requests: number; bytes: number; seconds: number }>();

let seed = 0x1234567;
/** A seeded xorshift32 in [0, 1), so both engines get the same kind of offsets. */
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}

/** One benchmark group: the same requests against each engine. */
interface Group {
  readonly name: string;
  readonly path: string;
  /** Range length; none = whole resource. */
  readonly rangeLength?: number;
  /** Iterations suggested to Deno (large bodies need few). */
  readonly n: number;
}

const groups: Group[] = [
  { name: "4 MiB random ranges", path: `/media/${RANGE_FILE.name}`, rangeLength: 4 * MiB, n: 300 },
  {
    name: "64 KiB random ranges",
    path: `/media/${RANGE_FILE.name}`,
    rangeLength: 64 * 1024,
    n: 3000,
  },
  { name: "whole 64 MiB file", path: `/media/${RANGE_FILE.name}`, n: 40 },
  { name: "small Hono route (GET /healthz)", path: "/healthz", n: 5000 },
];

const engineList = [
  { label: "stream engine", server: engines.stream, baseline: true },
  { label: "zero-copy engine", server: engines.zeroCopy, baseline: false },
];

for (const group of groups) {
  for (const engine of engineList) {
    const name = `${engine.label} · ${group.name}`;
    let client: RawHttpClient | null = null;
    Deno.bench({
      name,
      group: group.name,
      baseline: engine.baseline,
      n: group.n,
      warmup: Math.max(3, Math.floor(group.n / 10)),
      ignore: engine.server === null,
      async fn() {
        client ??= await RawHttpClient.connect(LOOPBACK, engine.server!.port);
        let range: { start: number; end: number } | undefined;
        if (group.rangeLength !== undefined) {
          const start = Math.floor(random() * (RANGE_FILE.size - group.rangeLength + 1));
          range = { start, end: start + group.rangeLength - 1 };
        }
        const started = performance.now();
        const response = await client.get(group.path, range);
        const seconds = (performance.now() - started) / 1000;
        const expected = range ? 206 : 200;
        if (response.status !== expected) {
          throw new Error(`${name}: status ${response.status}, expected ${expected}`);
        }
        const total = totals.get(name) ?? { requests: 0, bytes: 0, seconds: 0 };
        total.requests++;
        total.bytes += response.bodyLength;
        total.seconds += seconds;
        totals.set(name, total);
      },
    });
  }
}

globalThis.addEventListener("unload", () => {
  for (const server of [engines.stream, engines.zeroCopy]) {
    try {
      server?.child.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  const lines = ["", "per bench, from each request's own timing (warm-up included):"];
  for (const [name, { requests, bytes, seconds }] of totals) {
    if (seconds === 0) continue;
    const perSecond = bytes / seconds;
    const rate = `${Math.round(requests / seconds).toLocaleString("en-US")} req/s`.padStart(14);
    const throughput = perSecond >= 1e8
      ? `${(perSecond / 1e9).toFixed(2)} GB/s`
      : `${(perSecond / 1e6).toFixed(2)} MB/s`;
    lines.push(`  ${name.padEnd(52)} ${rate}  ${throughput.padStart(11)}`);
  }
  console.log(lines.join("\n"));
});
