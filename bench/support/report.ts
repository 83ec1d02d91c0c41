/**
 * Renders the comparison as markdown for `bench/RESULTS.md`. Only measured numbers appear; a
 * server that was skipped or failed its correctness check is listed with the reason.
 *
 * @module
 */
import type { Measurement } from "./measure.ts";
import type { ServerId } from "./servers.ts";
import { type Families, workersSection } from "./workers_report.ts";
import {
  bytesPerSecond,
  cpuMicrosPerRequest,
  cpuSecondsPerGB,
  DISTURBED_SHARE,
  judgeTargets,
  requestsPerSecond,
  type RssMeasurement,
} from "./targets.ts";
import type { Workload } from "./workloads.ts";

/** Markers between which the generated part of RESULTS.md lives; text outside is kept. */
export const BEGIN_MARKER =
  "<!-- bench:compare results begin (generated; edits inside are lost) -->";
/** End marker of the generated part. */
export const END_MARKER = "<!-- bench:compare results end -->";

/** Everything the report shows. */
export interface Report {
  /** ISO date-time of the run. */
  readonly date: string;
  /** Machine facts, in order (e.g. CPU, cores, kernel, memory). */
  readonly machine: readonly [string, string][];
  /** Versions of every program involved. */
  readonly versions: readonly [string, string][];
  /** Settings of the run (duration, connections, pinning...). */
  readonly settings: readonly [string, string][];
  /** Server labels by id, in table order. */
  readonly labels: ReadonlyMap<ServerId, string>;
  /** Workers-dimension servers: family and worker count (none in a default run). */
  readonly families?: Families;
  /** Workloads run, in order. */
  readonly workloads: readonly Workload[];
  /** Number of runs. */
  readonly runs: number;
  /** Every measurement. */
  readonly measurements: readonly Measurement[];
  /** RSS with open connections. */
  readonly rss: readonly RssMeasurement[];
  /** Servers not measured (per run) and why. */
  readonly notes: readonly string[];
  /** The command line that produced it. */
  readonly command: string;
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "—");
const ms = (us: number) => fixed(us / 1000, us < 10_000 ? 2 : 1);
const mb = (bytes: number) => fixed(bytes / 1e6, 1);
const rate = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : fixed(n, 1));

/** The server the ratio columns compare against: the zero-copy engine, else the stream engine. */
function reference(measurements: readonly Measurement[]): ServerId | undefined {
  for (const id of ["zerocast-zero-copy", "zerocast-stream"] as const) {
    if (measurements.some((m) => m.server === id)) return id;
  }
  return undefined;
}

/** A markdown table whose first `textColumns` columns are left-aligned, the rest right. */
function table(header: string[], rows: string[][], textColumns = 2): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const align = header.map((_, i) => (i < textColumns ? "---" : "---:"));
  return [line(header), line(align), ...rows.map(line)].join("\n");
}

function workloadTable(report: Report, run: number, workload: Workload): string | null {
  const rows: string[][] = [];
  const inRun = report.measurements.filter((m) => m.run === run && m.workload === workload.id);
  if (inRun.length === 0) return null;
  const ref = reference(inRun);
  const files = workload.kind !== "route";
  const refLabel = ref === "zerocast-zero-copy" ? "zero-copy" : "stream";
  for (const client of ["own", "wrk"] as const) {
    const refM = inRun.find((m) => m.server === ref && m.client === client);
    for (const [id, label] of report.labels) {
      const m = inRun.find((x) => x.server === id && x.client === client);
      if (m === undefined) continue;
      const throughput = files ? bytesPerSecond : requestsPerSecond;
      const cpu = files ? cpuSecondsPerGB : cpuMicrosPerRequest;
      const speed = refM ? fixed(throughput(refM) / throughput(m), 2) : "—";
      const cost = refM ? fixed(cpu(refM) / cpu(m), 2) : "—";
      rows.push([
        label,
        client,
        rate(requestsPerSecond(m)),
        files ? fixed(bytesPerSecond(m) / 1e9, 2) : "—",
        ms(m.p50Us),
        ms(m.p99Us),
        fixed(cpu(m), files ? 2 : 1),
        fixed((100 * m.serverCpuSeconds) / m.seconds, 0),
        fixed((100 * m.clientCpuSeconds) / m.seconds, 0),
        fixed((100 * m.otherCpuSeconds) / m.seconds, 0),
        mb(m.peakRssBytes),
        String(m.errors),
        speed,
        cost,
      ]);
    }
  }
  const header = [
    "server",
    "client",
    "req/s",
    "GB/s",
    "p50 ms",
    "p99 ms",
    files ? "server CPU s/GB" : "server CPU µs/req",
    "server CPU %",
    "client CPU %",
    "other CPU %",
    "peak RSS MB",
    "errors",
    `${refLabel} ÷ this (${files ? "GB/s" : "req/s"})`,
    `${refLabel} ÷ this (CPU/${files ? "GB" : "req"})`,
  ];
  return `#### ${workload.id}: ${workload.label}\n\n${table(header, rows)}`;
}

/** The generated markdown (without the markers). */
export function renderReport(report: Report): string {
  const out: string[] = [];
  out.push(`Generated by \`${report.command}\` on ${report.date}.`);
  out.push("");
  out.push(table(["machine", ""], report.machine.map(([k, v]) => [k, v])));
  out.push("");
  out.push(table(["program", "version"], report.versions.map(([k, v]) => [k, v])));
  out.push("");
  out.push(table(["setting", "value"], report.settings.map(([k, v]) => [k, v])));
  if (report.notes.length > 0) {
    out.push("");
    out.push("Not measured:");
    out.push("");
    for (const note of report.notes) out.push(`- ${note}`);
  }

  out.push("");
  out.push("### Targets (own client; each run judged on its own numbers)");
  out.push("");
  out.push(
    "Against nginx, the better of its two variants is the bar. A verdict is marked disturbed " +
      `when other processes used more than ${DISTURBED_SHARE * 100}% of a core during either ` +
      "measurement; such a run should be repeated on a quiet machine.",
  );
  out.push("");
  const runs = Array.from({ length: report.runs }, (_, i) => i + 1);
  const verdicts = runs.map((run) =>
    judgeTargets(
      report.measurements.filter((m) => m.run === run),
      report.rss.filter((r) => r.run === run),
    )
  );
  const rows = verdicts[0]?.map((v, i) => [
    v.target,
    ...verdicts.map((perRun) => `${perRun[i].status}: ${perRun[i].measured}`),
  ]) ?? [];
  out.push(table(["target", ...runs.map((r) => `run ${r}`)], rows, runs.length + 1));

  if (report.rss.length > 0) {
    out.push("");
    out.push("### RSS with open keep-alive connections");
    out.push("");
    out.push(
      "Process-tree RSS (MB = 10^6 bytes) before and while the connections are open, each having " +
        "completed one `GET /healthz`; once on the fresh server, once after its workloads.",
    );
    out.push("");
    out.push(table(
      [
        "server",
        "run",
        "when",
        "connections",
        "RSS before MB",
        "RSS with connections MB",
        "KB/connection",
      ],
      report.rss.map((r) => [
        report.labels.get(r.server) ?? r.server,
        String(r.run),
        r.phase,
        String(r.connections),
        mb(r.idleBytes),
        mb(r.heldBytes),
        fixed((r.heldBytes - r.idleBytes) / 1000 / Math.max(1, r.connections), 1),
      ]),
      3,
    ));
  }

  out.push("");
  out.push(
    "Columns: req/s and GB/s (body bytes, 10^9) over the measured window; p50/p99 from request " +
      "sent to last body byte; server CPU = utime + stime of the server's whole process tree " +
      "(from /proc) per GB or per request, and as % of one core; client CPU likewise for the " +
      "client (100% = the client was the limit); other CPU = everything else the machine ran in " +
      "the window (2 cores = 200%; high values mean the numbers were disturbed); peak RSS = " +
      "VmHWM of the server tree, reset before each measurement; ratios compare the zero-copy " +
      "engine with each row, same run and same client (> 1 = zero-copy faster / cheaper).",
  );
  const workers = report.families === undefined
    ? null
    : workersSection(report.families, report.measurements, report.workloads, report.runs);
  if (workers !== null) out.push("", workers);
  for (const run of runs) {
    out.push("");
    out.push(`### Run ${run}`);
    for (const workload of report.workloads) {
      const section = workloadTable(report, run, workload);
      if (section === null) continue;
      out.push("");
      out.push(section);
    }
  }
  return out.join("\n");
}

/** Puts `generated` between the markers of `existing` (or builds a new file around it). */
export function mergeIntoResults(existing: string | null, generated: string): string {
  const block = `${BEGIN_MARKER}\n${generated}\n${END_MARKER}`;
  if (existing !== null) {
    const begin = existing.indexOf(BEGIN_MARKER);
    const end = existing.indexOf(END_MARKER);
    if (begin >= 0 && end > begin) {
      return existing.slice(0, begin) + block + existing.slice(end + END_MARKER.length);
    }
  }
  return `# Benchmark results

Measured by \`deno task bench:compare\` (see [PERFORMANCE.md](PERFORMANCE.md) for what is measured
and how to reproduce it). Everything between the markers is rewritten by each run; notes outside
them are kept.

${block}

## Analysis

(Written by hand after a run: where a target is missed, the measured gap and its cause.)
`;
}
