/** Flags of `deno task bench:compare` (node:util parseArgs). @module */
import { parseArgs } from "node:util";
import { CLIENT_IDS, type ClientId } from "./measure.ts";
import { DEFAULT_SERVER_IDS, SERVER_IDS, type ServerId, WORKER_SERVER_IDS } from "./servers.ts";
import { WORKLOAD_IDS, type WorkloadId } from "./workloads.ts";

/** The help text. */
export const HELP = `deno task bench:compare [flags]

  --servers LIST          comma list of ${SERVER_IDS.join(", ")}
                          (default: ${DEFAULT_SERVER_IDS.join(", ")})
  --workers-dimension     run the workers dimension instead: each of zerocast, nginx, Bun and
                          deno serve --parallel with 1 and with 2 workers, on all CPUs (client
                          too), with the scaling factor (${WORKER_SERVER_IDS.length} servers)
  --workloads LIST        comma list of ${WORKLOAD_IDS.join(", ")} (default: all)
  --clients LIST          comma list of ${CLIENT_IDS.join(", ")} (default: both)
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
export interface CompareFlags {
  /** Servers to run, in table order. */
  readonly servers: ServerId[];
  /** Workloads to run. */
  readonly workloads: WorkloadId[];
  /** Clients to run. */
  readonly clients: ClientId[];
  /** Measured seconds per client and workload. */
  readonly duration: number;
  /** Warm-up seconds of the own client. */
  readonly warmup: number;
  /** Number of runs. */
  readonly runs: number;
  /** Connections per client. */
  readonly connections: number;
  /** Connections held for the RSS measurement (0 = off). */
  readonly rssConnections: number;
  /** Size of the range file in MiB. */
  readonly bigMiB: number;
  /** Seed of the random ranges. */
  readonly seed: number;
  /** Time budget in minutes. */
  readonly maxMinutes: number;
  /** Extra main.ts flags for zerocast. */
  readonly zerocastArgs: string[];
  /** Pin server and client to separate CPUs. */
  readonly pin: boolean;
  /** Results file, or null to only print. */
  readonly out: string | null;
}

/** Thrown for an unusable flag value. */
export class FlagError extends Error {}

function list<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  flag: string,
): T[] {
  if (value === undefined) return [...allowed];
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const item of items) {
    if (!allowed.includes(item as T)) {
      throw new FlagError(`--${flag}: unknown "${item}" (known: ${allowed.join(", ")})`);
    }
  }
  return allowed.filter((a) => items.includes(a));
}

function number(value: string | undefined, fallback: number, flag: string, zero = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!zero && n === 0)) {
    throw new FlagError(`--${flag} must be a ${zero ? "non-negative" : "positive"} number`);
  }
  return n;
}

/** Parses `args`; null when `--help` was given. Throws {@linkcode FlagError} on bad values. */
export function parseCompareFlags(args: string[]): CompareFlags | null {
  let values;
  try {
    values = parseArgs({
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
        "workers-dimension": { type: "boolean" },
        out: { type: "string" },
        "no-write": { type: "boolean" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (error) {
    throw new FlagError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return null;
  return {
    servers: values.servers !== undefined
      ? list(values.servers, SERVER_IDS, "servers")
      : [...(values["workers-dimension"] ? WORKER_SERVER_IDS : DEFAULT_SERVER_IDS)],
    workloads: list(values.workloads, WORKLOAD_IDS, "workloads"),
    clients: list(values.clients, CLIENT_IDS, "clients"),
    duration: number(values.duration, 2, "duration"),
    warmup: number(values.warmup, 0.5, "warmup", true),
    runs: Math.round(number(values.runs, 2, "runs")),
    connections: Math.round(number(values.connections, 32, "connections")),
    rssConnections: Math.round(number(values["rss-connections"], 1000, "rss-connections", true)),
    bigMiB: Math.round(number(values["big-mib"], 1024, "big-mib")),
    seed: Math.round(number(values.seed, 1, "seed", true)),
    maxMinutes: number(values["max-minutes"], 6, "max-minutes"),
    zerocastArgs: (values["zerocast-args"] ?? "").split(/\s+/).filter((a) => a !== ""),
    pin: !values["no-pin"],
    out: values["no-write"]
      ? null
      : values.out ?? new URL("../RESULTS.md", import.meta.url).pathname,
  };
}
