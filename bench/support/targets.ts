/**
 * The speed targets of the engine issue, judged on the numbers of one run only (own client,
 * which keeps the server the bottleneck). A target is never "met" on a number not measured in
 * that run.
 *
 * @module
 */
import type { Measurement } from "./measure.ts";
import type { ServerId } from "./servers.ts";
import type { WorkloadId } from "./workloads.ts";

/** RSS ceiling with 1,000 open connections (issue 3). */
export const RSS_LIMIT_BYTES = 80 * 1000 * 1000;
/** Most RSS (MB = 10^6 bytes) with 1,000 connections after all the workloads (issue 10). */
export const RSS_LOADED_LIMIT_BYTES = 100 * 1000 * 1000;

/** Result of one RSS-with-open-connections measurement. */
export interface RssMeasurement {
  /** Run number. */
  readonly run: number;
  /** Server measured. */
  readonly server: ServerId;
  /** "fresh": right after start and the correctness check; "after load": after the workloads. */
  readonly phase: "fresh" | "after load";
  /** RSS of the process tree before the connections were opened. */
  readonly idleBytes: number;
  /** RSS of the process tree with the connections open. */
  readonly heldBytes: number;
  /** Connections actually held open. */
  readonly connections: number;
}

/** One target's verdict in one run. */
export interface TargetVerdict {
  /** What the issue asks. */
  readonly target: string;
  /** The measured ratio or value, as text. */
  readonly measured: string;
  /** Verdict. */
  readonly status: "met" | "missed" | "not measured";
}

/** Throughput of a measurement: GB/s of body bytes (files) or requests/s (route). */
export function requestsPerSecond(m: Measurement): number {
  return m.seconds > 0 ? m.requests / m.seconds : 0;
}

/** Body bytes per second. */
export function bytesPerSecond(m: Measurement): number {
  return m.seconds > 0 ? m.bodyBytes / m.seconds : 0;
}

/** Server CPU seconds per GB (10^9 bytes) of body. */
export function cpuSecondsPerGB(m: Measurement): number {
  return m.bodyBytes > 0 ? m.serverCpuSeconds / (m.bodyBytes / 1e9) : 0;
}

/** Server CPU microseconds per request. */
export function cpuMicrosPerRequest(m: Measurement): number {
  return m.requests > 0 ? (m.serverCpuSeconds * 1e6) / m.requests : 0;
}

type Pick = (server: ServerId, workload: WorkloadId) => Measurement | undefined;

/** Share of one core that other processes used during a measurement above which it is flagged. */
export const DISTURBED_SHARE = 0.2;

/** ", disturbed (other CPU N%)" when another process used much CPU during `a` or `b`. */
function disturbance(a: Measurement, b: Measurement): string {
  const worst = Math.max(a.otherCpuSeconds / a.seconds, b.otherCpuSeconds / b.seconds);
  return worst > DISTURBED_SHARE ? `, disturbed (other CPU ${(worst * 100).toFixed(0)}%)` : "";
}

function ratioTarget(
  pick: Pick,
  target: string,
  workload: WorkloadId,
  peers: readonly ServerId[],
  metric: (m: Measurement) => number,
  minimum: number,
): TargetVerdict {
  const ours = pick("zerocast-zero-copy", workload);
  const candidates = peers.map((id) => pick(id, workload)).filter((m) => m !== undefined);
  if (ours === undefined || candidates.length === 0) {
    return { target, measured: "—", status: "not measured" };
  }
  if (ours.errors > 0 || candidates.some((m) => m.errors > 0)) {
    return { target, measured: "errors during the run", status: "not measured" };
  }
  // Against several variants (nginx with and without tcp_nopush) the best one is the bar.
  const best = candidates.reduce((a, b) => (metric(b) > metric(a) ? b : a));
  const ratio = metric(ours) / metric(best);
  return {
    target,
    measured: `${ratio.toFixed(2)}× (vs ${best.server})${disturbance(ours, best)}`,
    status: ratio >= minimum ? "met" : "missed",
  };
}

/** Judges every target on the own-client measurements and RSS results of one run. */
export function judgeTargets(
  measurements: readonly Measurement[],
  rss: readonly RssMeasurement[],
): TargetVerdict[] {
  const pick: Pick = (server, workload) =>
    measurements.find((m) => m.server === server && m.workload === workload && m.client === "own");
  const nginx: ServerId[] = ["nginx-nopush-on", "nginx-nopush-off"];
  const verdicts: TargetVerdict[] = [
    ratioTarget(pick, "W1 GB/s ≥ 1.0× nginx", "W1", nginx, bytesPerSecond, 1.0),
  ];
  // CPU per GB is compared with the nginx variant that was fastest, lower is better.
  const ours = pick("zerocast-zero-copy", "W1");
  const peers = nginx.map((id) => pick(id, "W1")).filter((m) => m !== undefined);
  if (ours === undefined || peers.length === 0) {
    verdicts.push({ target: "W1 CPU-s/GB ≤ 1.0× nginx", measured: "—", status: "not measured" });
  } else {
    const best = peers.reduce((a, b) => (bytesPerSecond(b) > bytesPerSecond(a) ? b : a));
    const ratio = cpuSecondsPerGB(ours) / cpuSecondsPerGB(best);
    verdicts.push({
      target: "W1 CPU-s/GB ≤ 1.0× nginx",
      measured: `${ratio.toFixed(2)}× (vs ${best.server})${disturbance(ours, best)}`,
      status: ours.errors > 0 || best.errors > 0 ? "not measured" : ratio <= 1.0 ? "met" : "missed",
    });
  }
  verdicts.push(
    ratioTarget(pick, "W2 req/s ≥ 1.0× nginx", "W2", nginx, requestsPerSecond, 1.0),
    ratioTarget(pick, "W1 ≥ 4× Deno.serve stream", "W1", ["deno-stream"], bytesPerSecond, 4),
    ratioTarget(pick, "W2 ≥ 4× Deno.serve stream", "W2", ["deno-stream"], requestsPerSecond, 4),
    ratioTarget(pick, "W1 ≥ 1.3× Bun", "W1", ["bun"], bytesPerSecond, 1.3),
    ratioTarget(pick, "W2 ≥ 2× Bun", "W2", ["bun"], requestsPerSecond, 2),
    ratioTarget(pick, "W5 req/s ≥ 0.9× nginx (static copies)", "W5", nginx, requestsPerSecond, 0.9),
    ratioTarget(pick, "W5 GB/s ≥ 0.9× nginx (static copies)", "W5", nginx, bytesPerSecond, 0.9),
    ratioTarget(
      pick,
      "Hono route ≥ 1.0× Deno.serve(app.fetch)",
      "W4",
      ["deno-app"],
      requestsPerSecond,
      1.0,
    ),
  );
  // Issue 10: ≤ 80 MB with 1,000 idle connections on the fresh server, ≤ 100 MB (with them)
  // after all the workloads.
  const ofZeroCopy = (phase: RssMeasurement["phase"]) =>
    rss.find((r) => r.server === "zerocast-zero-copy" && r.phase === phase);
  const rssTargets: [RssMeasurement["phase"], string, number][] = [
    ["fresh", "RSS ≤ 80 MB with 1,000 open connections (fresh server)", RSS_LIMIT_BYTES],
    [
      "after load",
      "RSS ≤ 100 MB with 1,000 connections after all workloads",
      RSS_LOADED_LIMIT_BYTES,
    ],
  ];
  for (const [phase, target, limit] of rssTargets) {
    const held = ofZeroCopy(phase);
    if (held === undefined || held.connections < 1000) {
      verdicts.push({ target, measured: "—", status: "not measured" });
    } else {
      verdicts.push({
        target,
        measured: `${(held.heldBytes / 1e6).toFixed(1)} MB`,
        status: held.heldBytes <= limit ? "met" : "missed",
      });
    }
  }
  return verdicts;
}
