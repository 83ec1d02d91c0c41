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
import { parseArgs } from "node:util";
import { canPin, onPath } from "./support/child.ts";
import { DATA_ROOT, ensureDataFile, MiB, warmPageCache } from "./support/data.ts";
import { CLIENT_IDS, type ClientId, measure, type Measurement } from "./support/measure.ts";
import { freePort, portIsFree } from "./support/ports.ts";
import { treeRssBytes } from "./support/proc.ts";
import { mergeIntoResults, renderReport } from "./support/report.ts";
import {
  SERVER_IDS,
  type ServerId,
  type ServerSpec,
  serverSpecs,
  setZerocastArgs,
  type StartedServer,
  wrkVersion,
} from "./support/servers.ts";
import type { RssMeasurement } from "./support/targets.ts";
import { checkRoute, verifyFiles } from "./support/verify.ts";
import {
  defaultDataFiles,
  WORKLOAD_IDS,
  type WorkloadId,
  workloads as allWorkloads,
} from "./support/workloads.ts";
import { holdConnectionsProcess } from "./loadgen/run.ts";

const HELP = `deno task bench:compare [flags]

  --servers LIST          comma list of ${SERVER_IDS.join(", ")} (default: all)
  --workloads LIST        comma list of ${WORKLOAD_IDS.join(", ")} (default: all)
  --clients LIST          comma list of own, wrk (default: both)
  --duration S            measured seconds per client and workload (default 2; wrk: whole s)
  --warmup S              warm-up seconds of the own client (default 0.5)
  --runs N                runs over every server (default 2)
  --connections N         keep-alive connections per client (default 32)
  --rss-connections N     connections held open for the RSS measurement (default 1000, 0 = off)
  --big-mib N             size of the range file in MiB (default 1024)
  --seed N                seed of the random ranges (default 1)
  --max-minutes N         time budget; what would not fit is skipped and listed (default 6)
  --zerocast-args "..."   extra main.ts flags for both zerocast engines (space-separated)
  --no-pin                do not pin server and client to separate CPUs
  --out FILE              results file (default bench/RESULTS.md)
  --no-write              print only
  --help                  this text
`;

/** Parsed flags. */
interface Flags {
  servers: ServerId[];
  workloads: WorkloadId[];
  clients: ClientId[];
  duration: number;
  warmup: number;
  runs: number;
  connections: number;
  rssConnections: number;
  bigMiB: number;
  seed: number;
  maxMinutes: number;
  zerocastArgs: string[];
  pin: boolean;
  out: string | null;
}

function list<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  flag: string,
): T[] {
  if (value === undefined) return [...allowed];
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const item of items) {
    if (!allowed.includes(item as T)) {
      throw new Error(`--${flag}: unknown "${item}" (known: ${allowed.join(", ")})`);
    }
  }
  return allowed.filter((a) => items.includes(a));
}

function positive(value: string | undefined, fallback: number, flag: string, zero = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!zero && n === 0)) {
    throw new Error(`--${flag} must be a ${zero ? "non-negative" : "positive"} number`);
  }
  return n;
}

function parseFlags(args: string[]): Flags | null {
  const { values } = parseArgs({
    args,
    options: {
      servers: { type: "string" },
      workloads: { type: "string" },
      clients: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      runs: { type: "string" },
      connections: { type: "string" },
      "rss-connections": { type: "string" },
      "big-mib": { type: "string" },
      seed: { type: "string" },
      "max-minutes": { type: "string" },
      "zerocast-args": { type: "string" },
      "no-pin": { type: "boolean" },
      out: { type: "string" },
      "no-write": { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return null;
  return {
    servers: list(values.servers, SERVER_IDS, "servers"),
    workloads: list(values.workloads, WORKLOAD_IDS, "workloads"),
    clients: list(values.clients, CLIENT_IDS, "clients"),
    duration: positive(values.duration, 2, "duration"),
    warmup: positive(values.warmup, 0.5, "warmup", true),
    runs: Math.round(positive(values.runs, 2, "runs")),
    connections: Math.round(positive(values.connections, 32, "connections")),
    rssConnections: Math.round(positive(values["rss-connections"], 1000, "rss-connections", true)),
    bigMiB: Math.round(positive(values["big-mib"], 1024, "big-mib")),
    seed: Math.round(positive(values.seed, 1, "seed", true)),
    maxMinutes: positive(values["max-minutes"], 6, "max-minutes"),
    zerocastArgs: (values["zerocast-args"] ?? "").split(/\s+/).filter((a) => a !== ""),
    pin: !values["no-pin"],
    out: values["no-write"]
      ? null
      : values.out ?? new URL("./RESULTS.md", import.meta.url).pathname,
  };
}

function machineFacts(): [string, string][] {
  let cpu = "unknown";
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? cpu;
  } catch { /* not Linux */ }
  const memory = Deno.systemMemoryInfo().total;
  return [
    ["CPU", cpu],
    ["cores", String(navigator.hardwareConcurrency)],
    ["kernel", `${Deno.build.os} ${Deno.osRelease()}`],
    ["memory", `${(memory / 2 ** 30).toFixed(1)} GiB`],
  ];
}

const log = (line: string) => console.log(`· ${line}`);

async function main(): Promise<number> {
  let flags: Flags | null;
  try {
    flags = parseFlags(Deno.args);
  } catch (error) {
    console.error(`bench:compare: ${error instanceof Error ? error.message : error}`);
    console.error(HELP);
    return 2;
  }
  if (flags === null) {
    console.log(HELP);
    return 0;
  }
  const started = performance.now();
  const deadline = started + flags.maxMinutes * 60_000;
  /** True when `seconds` more work still fits the time budget (keeps ~15 s for the report). */
  const fits = (seconds: number) => performance.now() + (seconds + 15) * 1000 <= deadline;
  const pin = flags.pin && canPin();
  const serverCpu = pin ? 0 : undefined;
  const clientCpu = pin ? 1 : undefined;
  const notes: string[] = [];
  if (flags.pin && !pin) notes.push("pinning off: taskset missing or fewer than 2 CPUs");
  if (flags.clients.includes("wrk") && !onPath("wrk")) {
    flags.clients = flags.clients.filter((c) => c !== "wrk");
    notes.push("wrk: not on PATH");
  }

  const files = defaultDataFiles(flags.bigMiB * MiB);
  const workloadMap = allWorkloads(files);
  const workloadList = flags.workloads.map((id) => workloadMap.get(id)!);
  log(`data: ${DATA_ROOT}${files.big.name} (${files.big.size} bytes), ${files.small.name}`);
  const bigPath = await ensureDataFile(files.big.name, files.big.size);
  const smallPath = await ensureDataFile(files.small.name, files.small.size);
  await warmPageCache(bigPath);
  await warmPageCache(smallPath);
  const big = { ...files.big, path: bigPath };
  const small = { ...files.small, path: smallPath };

  setZerocastArgs(flags.zerocastArgs);
  const specs = serverSpecs();
  const ready: ServerSpec[] = [];
  const versions: [string, string][] = [];
  for (const id of flags.servers) {
    const spec = specs.get(id)!;
    const needed = workloadList.some((w) =>
      w.kind === "files" ? spec.servesFiles : spec.servesRoute
    );
    if (!needed) continue;
    const prepared = await spec.prepare(log);
    if ("skip" in prepared) {
      notes.push(`${spec.label}: ${prepared.skip}`);
      log(`skip ${spec.label}: ${prepared.skip}`);
      continue;
    }
    ready.push(spec);
    versions.push([spec.label, prepared.version]);
  }
  if (flags.clients.includes("wrk")) versions.push(["wrk", wrkVersion()]);
  versions.push(["own client", "bench/loadgen (recv MSG_TRUNC), in its own Deno process"]);

  const measurements: Measurement[] = [];
  const rss: RssMeasurement[] = [];
  let current: StartedServer | null = null;
  const onInterrupt = () => {
    log("interrupted: stopping the running server");
    const stopping = current?.stop() ?? Promise.resolve();
    stopping.finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  Deno.addSignalListener("SIGTERM", onInterrupt);
  try {
    for (let run = 1; run <= flags.runs; run++) {
      for (const spec of ready) {
        if (!fits(5)) {
          notes.push(`run ${run}, ${spec.label}: skipped, time budget (--max-minutes)`);
          continue;
        }
        const port = await freePort();
        if (!(await portIsFree(port))) throw new Error(`port ${port} is taken`);
        log(`run ${run}: ${spec.label} on port ${port}`);
        try {
          current = await spec.start(port, DATA_ROOT, serverCpu);
        } catch (error) {
          notes.push(`run ${run}, ${spec.label}: did not start: ${firstLine(error)}`);
          log(`  did not start: ${error}`);
          continue;
        }
        const server = current;
        try {
          const failures = spec.servesFiles
            ? await verifyFiles(server.url, big, small, [4 * MiB, 64 * 1024])
            : [];
          if (spec.servesRoute) {
            const failure = await checkRoute(server.url, "/healthz");
            if (failure !== null) failures.push(failure);
          }
          if (failures.length > 0) {
            notes.push(`run ${run}, ${spec.label}: wrong bytes, not timed: ${failures[0]}`);
            log(`  wrong bytes, not timed: ${failures.join("; ")}`);
            continue;
          }
          const holdRss = async (phase: RssMeasurement["phase"]) => {
            if (run !== 1 || flags.rssConnections === 0) return;
            try {
              rss.push(
                await measureHeldRss(run, phase, spec.id, server, flags.rssConnections, clientCpu),
              );
            } catch (error) {
              notes.push(
                `${spec.label}: RSS with open connections (${phase}): ${firstLine(error)}`,
              );
            }
          };
          await holdRss("fresh");
          for (const workload of workloadList) {
            if (workload.kind === "files" ? !spec.servesFiles : !spec.servesRoute) continue;
            for (const client of flags.clients) {
              const needed = client === "own"
                ? flags.warmup + flags.duration + 1
                : Math.max(1, Math.round(flags.duration)) + 1;
              if (!fits(needed)) {
                notes.push(
                  `run ${run}, ${spec.label}, ${workload.id}, ${client}: skipped, time budget`,
                );
                continue;
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
                    clientCpu,
                    seed: flags.seed + run,
                  },
                );
                measurements.push(m);
                log(`  ${workload.id} ${client}: ${summary(m)}`);
              } catch (error) {
                notes.push(
                  `run ${run}, ${spec.label}, ${workload.id}, ${client}: ${firstLine(error)}`,
                );
                log(`  ${workload.id} ${client} failed: ${error}`);
              }
            }
          }
          await holdRss("after load");
        } finally {
          await server.stop();
          current = null;
        }
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    Deno.removeSignalListener("SIGTERM", onInterrupt);
  }

  const seconds = (performance.now() - started) / 1000;
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
        pin ? "server on CPU 0, client on CPU 1 (taskset)" : "none (server and client share CPUs)",
      ],
      ["range file", `${files.big.size} bytes, page-cached`],
      ["whole run took", `${seconds.toFixed(0)} s`],
    ],
    labels: new Map(ready.map((s) => [s.id, s.label])),
    workloads: workloadList,
    runs: flags.runs,
    measurements,
    rss,
    notes,
    command: `deno task bench:compare ${Deno.args.join(" ")}`.trim(),
  });
  console.log("");
  console.log(generated);
  if (flags.out !== null) {
    let existing: string | null = null;
    try {
      existing = await Deno.readTextFile(flags.out);
    } catch { /* first run */ }
    await Deno.writeTextFile(flags.out, mergeIntoResults(existing, generated));
    // The repo's `deno fmt --check` covers markdown: format the file as the project does.
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", flags.out],
      cwd: new URL("../", import.meta.url).pathname,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!fmt.success) log(`deno fmt ${flags.out} failed: ${new TextDecoder().decode(fmt.stderr)}`);
    log(`wrote ${flags.out}`);
  }
  return 0;
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split("\n")[0];
}

function summary(m: Measurement): string {
  const rps = m.requests / m.seconds;
  const gbps = m.bodyBytes / m.seconds / 1e9;
  return `${Math.round(rps)} req/s, ${gbps.toFixed(2)} GB/s, p99 ${
    (m.p99Us / 1000).toFixed(1)
  } ms, ` +
    `server CPU ${(100 * m.serverCpuSeconds / m.seconds).toFixed(0)}%, client CPU ` +
    `${(100 * m.clientCpuSeconds / m.seconds).toFixed(0)}%, errors ${m.errors}`;
}

/** RSS of the server tree before and while `count` keep-alive connections are held open. */
async function measureHeldRss(
  run: number,
  phase: RssMeasurement["phase"],
  id: ServerId,
  server: StartedServer,
  count: number,
  cpu: number | undefined,
): Promise<RssMeasurement> {
  const idleBytes = treeRssBytes(server.pid);
  const { hostname, port } = new URL(server.url);
  const held = await holdConnectionsProcess(hostname, Number(port), "/healthz", count, cpu);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const heldBytes = treeRssBytes(server.pid);
    log(
      `  RSS (${phase}) ${(idleBytes / 1e6).toFixed(1)} MB -> ${
        (heldBytes / 1e6).toFixed(1)
      } MB with ${held.count} connections`,
    );
    return { run, server: id, phase, idleBytes, heldBytes, connections: held.count };
  } finally {
    await held.release();
  }
}

if (import.meta.main) Deno.exit(await main());
