/**
 * The workers dimension of the report: each server family with 1 and with 2 workers, the
 * scaling factor (2 workers ÷ 1 worker) and CPU per request and per GB next to the rates, and
 * zerocast against nginx with the same number of workers.
 *
 * @module
 */
import type { ClientId, Measurement } from "./measure.ts";
import type { ServerId } from "./servers.ts";
import type { Workload } from "./workloads.ts";

/** Family and worker count of each workers-dimension server. */
export type Families = ReadonlyMap<ServerId, { readonly family: string; readonly count: number }>;

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "—");
const rate = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : fixed(n, 1));

/** What one measurement says, in the units of its workload. */
function figures(m: Measurement) {
  return {
    reqPerS: m.requests / m.seconds,
    gbPerS: m.bodyBytes / m.seconds / 1e9,
    cpuUsPerReq: (1e6 * m.serverCpuSeconds) / m.requests,
    cpuSPerGb: m.serverCpuSeconds / (m.bodyBytes / 1e9),
    serverCpu: (100 * m.serverCpuSeconds) / m.seconds,
    clientCpu: (100 * m.clientCpuSeconds) / m.seconds,
  };
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? "---" : "---:"))), ...rows.map(line)]
    .join("\n");
}

/** The workers section, or null when no workers-dimension server was measured. */
export function workersSection(
  families: Families,
  measurements: readonly Measurement[],
  workloads: readonly Workload[],
  runs: number,
): string | null {
  const ours = measurements.filter((m) => families.has(m.server));
  if (ours.length === 0) return null;
  const names = [...new Set([...families.values()].map((f) => f.family))];
  const out: string[] = [
    "### Workers dimension (1 and 2 workers, server and client on all CPUs)",
    "",
    "Each family runs once with 1 and once with 2 workers (zerocast `--workers N`, nginx " +
    "`worker_processes N`, N Bun processes with `reusePort`, `deno serve --parallel` with " +
    "`DENO_JOBS=N`); nothing is pinned, so on a 2-core machine the client and the servers share " +
    "the cores. Scaling = 2 workers ÷ 1 worker. With two cores and the client on them too, a " +
    "server cannot scale to 2×: the second worker takes CPU from the client, so a factor near " +
    "1.0 is expected and does not mean a server cannot use more cores. What the run can show: " +
    "CPU per request and per GB (a server that needs less CPU per request leaves more cores " +
    "for others and scales further on a bigger machine), and whether a second worker costs or " +
    "gains anything at equal client load. What it cannot show: scaling on a machine with cores " +
    "to spare, or a network-bound result (loopback, see the caveat in the README).",
  ];
  const target = (run: number, workload: Workload, client: ClientId): string | null => {
    const find = (id: ServerId) =>
      ours.find((m) =>
        m.run === run && m.workload === workload.id && m.client === client && m.server === id
      );
    const z = find("zerocast-w2");
    const n = find("nginx-w2");
    if (z === undefined || n === undefined) return null;
    const ratio = workload.id === "W1"
      ? figures(z).gbPerS / figures(n).gbPerS
      : figures(z).reqPerS / figures(n).reqPerS;
    return `${workload.id} ${client}: zerocast --workers 2 ÷ nginx worker_processes 2 = ` +
      `${fixed(ratio, 2)}× (target ≥ 1.0×: ${ratio >= 1 ? "met" : "missed"})`;
  };
  for (let run = 1; run <= runs; run++) {
    for (const workload of workloads) {
      for (const client of ["own", "wrk"] as const) {
        const rows: string[][] = [];
        for (const family of names) {
          const get = (count: number) => {
            const id = [...families].find(([, f]) => f.family === family && f.count === count)?.[0];
            return ours.find((m) =>
              m.run === run && m.workload === workload.id && m.client === client && m.server === id
            );
          };
          const one = get(1);
          const two = get(2);
          if (one === undefined && two === undefined) continue;
          const files = workload.kind === "files";
          const a = one && figures(one);
          const b = two && figures(two);
          const cell = (
            f: ReturnType<typeof figures> | undefined,
            pick: (f: ReturnType<typeof figures>) => string,
          ) => f === undefined ? "—" : pick(f);
          rows.push([
            family,
            cell(a, (f) => rate(f.reqPerS)),
            cell(b, (f) => rate(f.reqPerS)),
            a && b ? `${fixed(b.reqPerS / a.reqPerS, 2)}×` : "—",
            `${cell(a, (f) => fixed(f.gbPerS, 2))} / ${cell(b, (f) => fixed(f.gbPerS, 2))}`,
            `${cell(a, (f) => fixed(f.cpuUsPerReq, 1))} / ${
              cell(b, (f) => fixed(f.cpuUsPerReq, 1))
            }`,
            files
              ? `${cell(a, (f) => fixed(f.cpuSPerGb, 2))} / ${
                cell(b, (f) => fixed(f.cpuSPerGb, 2))
              }`
              : "—",
            `${cell(a, (f) => fixed(f.serverCpu, 0))}% / ${cell(b, (f) => fixed(f.serverCpu, 0))}%`,
            `${cell(a, (f) => fixed(f.clientCpu, 0))}% / ${cell(b, (f) => fixed(f.clientCpu, 0))}%`,
          ]);
        }
        if (rows.length === 0) continue;
        out.push("", `#### Run ${run}, ${workload.id} (${workload.label}), ${client} client`, "");
        out.push(table([
          "server",
          "1 worker req/s",
          "2 workers req/s",
          "scaling",
          "GB/s (1 / 2)",
          "server CPU µs/req (1 / 2)",
          "server CPU s/GB (1 / 2)",
          "server CPU (1 / 2)",
          "client CPU (1 / 2)",
        ], rows));
        const verdict = target(run, workload, client);
        if (verdict !== null) out.push("", verdict);
      }
    }
  }
  return out.join("\n");
}
