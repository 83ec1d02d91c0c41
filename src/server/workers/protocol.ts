/**
 * What a supervisor and its workers tell each other. Supervisor → worker: the environment
 * variable {@linkcode WORKER_ENV} (worker number, metrics slot, table path), signals (SIGTERM =
 * drain and exit) and the worker's stdin, which reaches EOF when the supervisor is gone. Worker →
 * supervisor: lines on stderr that start with {@linkcode CONTROL_PREFIX} (`engine: …`, `listening
 * on …`); every other stderr line is the worker's own and is passed through.
 *
 * @module
 */

/** Environment variable that makes `main.ts` run as a worker. */
export const WORKER_ENV = "ZEROCAST_WORKER";
/** Marks a control line on a worker's stderr (ASCII record separator + tag). */
export const CONTROL_PREFIX = "\u001ezerocast-worker ";

/** What the supervisor passes to a worker. */
export interface WorkerAssignment {
  /** Worker number, 1..N; a replacement keeps the number of the worker it replaces. */
  readonly worker: number;
  /** Slot of the shared metrics table this worker writes. */
  readonly slot: number;
  /** Path of the shared metrics table. */
  readonly table: string;
  /** Directory for the cross-process upload order markers. */
  readonly seq: string;
  /** True for the first worker of a server start (it alone removes upload leftovers). */
  readonly initial: boolean;
}

/** Parses {@linkcode WORKER_ENV}; undefined when it is not a valid assignment. */
export function parseAssignment(text: string | undefined): WorkerAssignment | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text);
    if (
      Number.isInteger(value?.worker) && value.worker >= 1 && Number.isInteger(value?.slot) &&
      value.slot >= 1 && typeof value?.table === "string" && typeof value?.seq === "string"
    ) {
      const { worker, slot, table, seq } = value;
      return { worker, slot, table, seq, initial: value.initial === true };
    }
  } catch {
    // fall through
  }
  return undefined;
}
