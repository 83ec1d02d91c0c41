/**
 * `deno task bench:compare`: zerocast (zero-copy and stream engines) side by side with nginx,
 * Bun and plain Deno.serve servers on loopback, with wrk and the project's own load client.
 * Writes `bench/RESULTS.md` and prints the generated tables. `--help` lists the flags.
 *
 * Servers start one at a time, each on a port checked free first, pinned to CPU 0 while the
 * client runs on CPU 1 (taskset), are checked for correct bytes before they are timed, and are
 * stopped by their own PID.
 *
 * @module
 */
import { holdConnectionsProcess } from "./loadgen/run.ts";
import { canPin, onPath } from "./support/child.ts";
import { DATA_ROOT, ensureDataFile, MiB, warmPageCache } from "./support/data.ts";
import { type CompareFlags, FlagError, HELP, parseCompareFlags } from "./support/flags.ts";
import { type ClientId, measure, type Measurement } from "./support/measure.ts";
import { freePort, portIsFree } from "./support/ports.ts";
import { treeRssBytes } from "./support/proc.ts";
import { mergeIntoResults, renderReport } from "./support/report.ts";
import {
  type ServerSpec,
  serverSpecs,
  setZerocastArgs,
  type StartedServer,
  wrkVersion,
} from "./support/servers.ts";
import type { RssMeasurement } from "./support/targets.ts";
import { checkRoute, type ServedFile, verifyFiles } from "./support/verify.ts";
import { defaultDataFiles, serves, type Workload, workloads } from "./support/workloads.ts";
import { prepareHlsData, verifyHls } from "./support/hls_data.ts";

const log = (line: string) => console.log(`· ${line}`);

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split("\n")[0];
}

/** One line of progress per measurement. */
function summary(m: Measurement): string {
  const percent = (seconds: number) => `${((100 * seconds) / m.seconds).toFixed(0)}%`;
  return [
    `${Math.round(m.requests / m.seconds)} req/s`,
    `${(m.bodyBytes / m.seconds / 1e9).toFixed(2)} GB/s`,
    `p99 ${(m.p99Us / 1000).toFixed(1)} ms`,
    `server CPU ${percent(m.serverCpuSeconds)}`,
    `client CPU ${percent(m.clientCpuSeconds)}`,
    `other CPU ${percent(m.otherCpuSeconds)}`,
    `errors ${m.errors}`,
  ].join(", ");
}

/** Machine facts for the results header. */
function machineFacts(): [string, string][] {
  let cpu = "unknown";
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? cpu;
  } catch { /* not Linux */ }
  return [
    ["CPU", cpu],
    ["cores", String(navigator.hardwareConcurrency)],
    ["kernel", `${Deno.build.os} ${Deno.osRelease()}`],
    ["memory", `${(Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1)} GiB`],
  ];
}

/** State of one comparison: settings, what was measured, and what was not (with the reason). */
class Session {
  readonly measurements: Measurement[] = [];
  readonly rss: RssMeasurement[] = [];
  readonly notes: string[] = [];
  readonly started = performance.now();
  readonly serverCpu: number | undefined;
  readonly clientCpu: number | undefined;
  readonly pinned: boolean;
  /** The server running now (stopped on SIGINT/SIGTERM). */
  current: StartedServer | null = null;

  constructor(
    readonly flags: CompareFlags,
    readonly clients: ClientId[],
    readonly workloads: Workload[],
    readonly big: ServedFile,
    readonly small: ServedFile,
  ) {
    this.pinned = flags.pin && canPin();
    this.serverCpu = this.pinned ? 0 : undefined;
    this.clientCpu = this.pinned ? 1 : undefined;
    if (flags.pin && !this.pinned) {
      this.notes.push("pinning off: taskset missing or fewer than 2 CPUs");
    }
  }

  /** True when `seconds` more work fits the time budget (about 15 s kept for the report). */
  fits(seconds: number): boolean {
    const deadline = this.started + this.flags.maxMinutes * 60_000;
    return performance.now() + (seconds + 15) * 1000 <= deadline;
  }

  /** CPUs of server and client for `spec`: the workers dimension runs both on every CPU. */
  cpus(spec: ServerSpec): { server: number | undefined; client: number | undefined } {
    return spec.workers !== undefined
      ? { server: undefined, client: undefined }
      : { server: this.serverCpu, client: this.clientCpu };
  }

  /** Starts `spec`, checks its bytes, measures every workload it serves, stops it. */
  async runServer(run: number, spec: ServerSpec): Promise<void> {
    if (!this.fits(5)) {
      this.notes.push(`run ${run}, ${spec.label}: skipped, time budget (--max-minutes)`);
      return;
    }
    const port = await freePort();
    if (!(await portIsFree(port))) throw new Error(`port ${port} is taken`);
    log(`run ${run}: ${spec.label} on port ${port}`);
    let server: StartedServer;
    try {
      server = await spec.start(port, DATA_ROOT, this.cpus(spec).server);
    } catch (error) {
      this.notes.push(`run ${run}, ${spec.label}: did not start: ${firstLine(error)}`);
      log(`  did not start: ${error}`);
      return;
    }
    this.current = server;
    try {
      const failures = await this.verify(spec, server);
      if (failures.length > 0) {
        this.notes.push(`run ${run}, ${spec.label}: wrong bytes, not timed: ${failures[0]}`);
        log(`  wrong bytes, not timed: ${failures.join("; ")}`);
        return;
      }
      await this.holdRss(run, "fresh", spec, server);
      for (const workload of this.workloads) {
        if (!serves(spec, workload)) continue;
        for (const client of this.clients) {
          await this.measureOne(run, spec, server, workload, client);
        }
      }
      await this.holdRss(run, "after load", spec, server);
    } finally {
      await server.stop();
      this.current = null;
    }
  }

  /** The correctness gate: random ranges and a whole file byte for byte, and the route. */
  async verify(spec: ServerSpec, server: StartedServer): Promise<string[]> {
    const failures = spec.servesFiles &&
        this.workloads.some((w) => w.kind === "files")
      ? await verifyFiles(server.url, this.big, this.small, [4 * MiB, 64 * 1024])
      : [];
    const hls = this.workloads.find((w) => w.kind === "hls");
    if (hls !== undefined && serves(spec, hls)) {
      failures.push(...await verifyHls(server.url, hls.paths ?? []));
    }
    if (spec.servesRoute) {
      const failure = await checkRoute(server.url, "/healthz");
      if (failure !== null) failures.push(failure);
    }
    return failures;
  }

  async measureOne(
    run: number,
    spec: ServerSpec,
    server: StartedServer,
    workload: Workload,
    client: ClientId,
  ): Promise<void> {
    const { flags } = this;
    const what = `run ${run}, ${spec.label}, ${workload.id}, ${client}`;
    const needed = client === "own"
      ? flags.warmup + flags.duration + 1
      : Math.max(1, Math.round(flags.duration)) + 1;
    if (!this.fits(needed)) {
      this.notes.push(`${what}: skipped, time budget (--max-minutes)`);
      return;
    }
    try {
      const m = await measure(
        run,
        { id: spec.id, url: server.url, pid: server.pid },
        workload,
        client,
        {
          connections: flags.connections,
          durationSeconds: flags.duration,
          warmupSeconds: flags.warmup,
          clientCpu: this.cpus(spec).client,
          seed: flags.seed + run,
        },
      );
      this.measurements.push(m);
      log(`  ${workload.id} ${client}: ${summary(m)}`);
    } catch (error) {
      this.notes.push(`${what}: ${firstLine(error)}`);
      log(`  ${workload.id} ${client} failed: ${error}`);
    }
  }

  /** RSS of the server tree before and while `--rss-connections` connections are held open. */
  async holdRss(
    run: number,
    phase: RssMeasurement["phase"],
    spec: ServerSpec,
    server: StartedServer,
  ): Promise<void> {
    const count = this.flags.rssConnections;
    if (count === 0 || !this.fits(3)) return;
    try {
      const idleBytes = treeRssBytes(server.pid);
      const { hostname, port } = new URL(server.url);
      const held = await holdConnectionsProcess(
        hostname,
        Number(port),
        "/healthz",
        count,
        this.cpus(spec).client,
      );
      try {
        await new Promise((r) => setTimeout(r, 300));
        const heldBytes = treeRssBytes(server.pid);
        const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
        log(
          `  RSS (${phase}) ${mb(idleBytes)} MB -> ${mb(heldBytes)} MB, ${held.count} connections`,
        );
        this.rss.push({
          run,
          server: spec.id,
          phase,
          idleBytes,
          heldBytes,
          connections: held.count,
        });
      } finally {
        await held.release();
      }
    } catch (error) {
      this.notes.push(`${spec.label}: RSS with open connections (${phase}): ${firstLine(error)}`);
    }
  }
}

/** Writes `generated` into the results file between its markers and formats it. */
async function writeResults(path: string, generated: string): Promise<void> {
  let existing: string | null = null;
  try {
    existing = await Deno.readTextFile(path);
  } catch { /* first run */ }
  await Deno.writeTextFile(path, mergeIntoResults(existing, generated));
  // The repo's `deno fmt --check` covers markdown: format the file the way the project does.
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", path],
    cwd: new URL("../", import.meta.url).pathname,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!fmt.success) log(`deno fmt ${path} failed: ${new TextDecoder().decode(fmt.stderr)}`);
  log(`wrote ${path}`);
}

async function main(): Promise<number> {
  let flags: CompareFlags | null;
  try {
    flags = parseCompareFlags(Deno.args);
  } catch (error) {
    if (!(error instanceof FlagError)) throw error;
    console.error(`bench:compare: ${error.message}\n\n${HELP}`);
    return 2;
  }
  if (flags === null) {
    console.log(HELP);
    return 0;
  }

  const files = defaultDataFiles(flags.bigMiB * MiB);
  log(`data: ${DATA_ROOT}${files.big.name} (${files.big.size} bytes), ${files.small.name}`);
  const big = { ...files.big, path: await ensureDataFile(files.big.name, files.big.size) };
  const small = { ...files.small, path: await ensureDataFile(files.small.name, files.small.size) };
  await warmPageCache(big.path);
  await warmPageCache(small.path);

  const clients = flags.clients.filter((c) => c !== "wrk" || onPath("wrk"));
  const hlsPaths = flags.workloads.includes("W5") ? await prepareHlsData(log) : [];
  const all = workloads(files, hlsPaths);
  const session = new Session(
    flags,
    clients,
    flags.workloads.map((id) => all.get(id)!),
    big,
    small,
  );
  if (clients.length < flags.clients.length) session.notes.push("wrk: not on PATH");

  setZerocastArgs(flags.zerocastArgs);
  const specs = serverSpecs();
  const ready: ServerSpec[] = [];
  const versions: [string, string][] = [];
  for (const id of flags.servers) {
    const spec = specs.get(id)!;
    if (
      !session.workloads.some((w) => serves(spec, w))
    ) {
      continue;
    }
    const prepared = await spec.prepare(log);
    if ("skip" in prepared) {
      session.notes.push(`${spec.label}: ${prepared.skip}`);
      log(`skip ${spec.label}: ${prepared.skip}`);
      continue;
    }
    ready.push(spec);
    versions.push([spec.label, prepared.version]);
  }
  if (clients.includes("wrk")) versions.push(["wrk", wrkVersion()]);
  versions.push(["own client", "bench/loadgen (recv MSG_TRUNC), in its own Deno process"]);

  const onSignal = () => {
    log("interrupted: stopping the running server");
    (session.current?.stop() ?? Promise.resolve()).finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    for (let run = 1; run <= flags.runs; run++) {
      for (const spec of ready) await session.runServer(run, spec);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }

  const seconds = (performance.now() - session.started) / 1000;
  const generated = renderReport({
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    machine: machineFacts(),
    versions,
    settings: [
      ["measured seconds per client and workload", String(flags.duration)],
      ["own client warm-up seconds (wrk follows it on the warm server)", String(flags.warmup)],
      ["keep-alive connections per client", String(flags.connections)],
      ["runs", String(flags.runs)],
      [
        "pinning",
        session.pinned
          ? "server on CPU 0, client on CPU 1 (taskset); workers dimension: none"
          : "none (server and client share CPUs)",
      ],
      ["range file", `${files.big.size} bytes, page-cached`],
      ["whole run took", `${seconds.toFixed(0)} s`],
    ],
    labels: new Map(ready.map((s) => [s.id, s.label])),
    families: new Map(
      ready.flatMap((s) => s.workers === undefined ? [] : [[s.id, s.workers] as const]),
    ),
    workloads: session.workloads,
    runs: flags.runs,
    measurements: session.measurements,
    rss: session.rss,
    notes: session.notes,
    command: `deno task bench:compare ${Deno.args.join(" ")}`.trim(),
  });
  console.log(`\n${generated}`);
  if (flags.out !== null) await writeResults(flags.out, generated);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
