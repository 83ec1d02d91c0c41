/**
 * The worker side of `--workers N`: when `main.ts` runs with {@linkcode WORKER_ENV} set it is one
 * worker of a supervisor. It then listens with SO_REUSEPORT (the kernel spreads connections over
 * the workers' sockets), counts into its slot of the shared metrics table, reports its listeners
 * to the supervisor instead of printing them, and drains when the supervisor goes away.
 *
 * @module
 */
import { Metrics } from "../../metrics.ts";
import { MetricsTable } from "./metrics_table.ts";
import { CONTROL_PREFIX, parseAssignment, WORKER_ENV } from "./protocol.ts";
import { SharedFolderSequencer } from "./shared_sequencer.ts";

/** What main.ts needs to run as a worker. */
export interface WorkerRuntime {
  /** Worker number (1..N). */
  readonly worker: number;
  /** True for worker 1: the one that runs server-wide timers (the stale-stream sweeper). */
  readonly primary: boolean;
  /** Counters in this worker's slot; `render()` reports the whole server. */
  readonly metrics: Metrics;
  /**
   * Ingest settings for a worker (spread over the configured ones): the upload order shared by
   * all workers, the stale-stream sweeper in worker 1 only (re-scanning the tree, since uploads
   * reach the other workers too), upload leftovers removed by the first worker of a start only
   * (later ones would remove other workers' uploads in progress).
   */
  readonly ingest: {
    readonly sequencer: SharedFolderSequencer;
    readonly staleAfterMs?: number;
    readonly rescanTree: boolean;
    readonly removeLeftovers: boolean;
  };
  /** Sends a start-up line (`engine: …`, `listening on …`) to the supervisor. */
  announce(line: string): void;
  /** Calls `stop` once the supervisor is gone (stdin EOF), so no worker outlives it. */
  stopWithSupervisor(stop: () => void): void;
}

/** Reads the worker assignment from the environment; null when this process is not a worker. */
export function workerRuntime(): WorkerRuntime | null {
  if (Deno.permissions.querySync({ name: "env", variable: WORKER_ENV }).state !== "granted") {
    return null;
  }
  const assignment = parseAssignment(Deno.env.get(WORKER_ENV));
  if (assignment === undefined) return null;
  const table = MetricsTable.open(assignment.table);
  table.setPid(assignment.slot, Deno.pid);
  const metrics = new Metrics(table.cellsOf(assignment.slot));
  metrics.attachSource(table);
  // SIGHUP is the supervisor's (reload); a worker that gets one from a process-group kill ignores it.
  Deno.addSignalListener("SIGHUP", () => {});
  const encoder = new TextEncoder();
  const primary = assignment.worker === 1;
  const sequencer = new SharedFolderSequencer(assignment.seq);
  return {
    worker: assignment.worker,
    primary,
    metrics,
    ingest: {
      sequencer,
      ...(primary ? {} : { staleAfterMs: 0 }),
      rescanTree: true,
      removeLeftovers: assignment.initial,
    },
    announce(line) {
      const bytes = encoder.encode(`${CONTROL_PREFIX}${line}\n`);
      let rest = bytes;
      while (rest.byteLength > 0) rest = rest.subarray(Deno.stderr.writeSync(rest));
    },
    stopWithSupervisor(stop) {
      (async () => {
        const buf = new Uint8Array(256);
        try {
          while (await Deno.stdin.read(buf) !== null) { /* the supervisor sends nothing */ }
        } catch { /* closed */ }
        stop();
      })();
    },
  };
}
