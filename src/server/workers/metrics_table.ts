/**
 * The workers' shared metrics table: one file (under /dev/shm) mapped by the supervisor and
 * every worker. Slot 0 holds the counters of workers that are gone; slots 1.. belong to live
 * workers, each written only by its own worker (plain stores, one writer per cell). Readers sum
 * all slots, so any worker answers `/metrics` for the whole server with the numbers as they are
 * at that instant (no periodic push, nothing stale).
 *
 * The supervisor alone claims and retires slots; it does so inside a sequence lock (an Atomics
 * counter that is odd while it writes), and readers retry a snapshot that overlapped a change, so
 * a retiring worker's counters are never counted twice or lost.
 *
 * @module
 */
import { GAUGE_CELLS, METRIC_CELLS, type MetricsSource, type WorkerCells } from "../../metrics.ts";
import { mapSharedFile } from "./shm.ts";

const MAGIC = 0x7a63_6d74; // "zcmt"
/** Header bytes before slot 0. */
const HEADER_BYTES = 128;
/** Per-slot bookkeeping cells before the metrics cells: state, pid, worker number, spare. */
const SLOT_META = 4;
const SLOT_CELLS = SLOT_META + METRIC_CELLS;
const STATE_FREE = 0;
const STATE_LIVE = 1;
/** Int32 header fields. */
const H_MAGIC = 0;
const H_SEQ = 1;
const H_SLOTS = 2;
const H_RESTARTS = 3;

/** The shared table, as mapped by one process. */
export class MetricsTable implements MetricsSource {
  readonly #header: Int32Array;
  readonly #cells: Float64Array;
  /** Number of slots, slot 0 (gone workers) included. */
  readonly slots: number;

  private constructor(buffer: ArrayBuffer) {
    this.#header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    if (this.#header[H_MAGIC] !== MAGIC) throw new Error("metrics table: bad magic");
    this.slots = this.#header[H_SLOTS];
    this.#cells = new Float64Array(buffer, HEADER_BYTES, this.slots * SLOT_CELLS);
  }

  /** Creates the file `path` with room for `slots` worker slots and maps it (supervisor). */
  static create(path: string, slots: number): MetricsTable {
    const total = slots + 1;
    const bytes = new Uint8Array(HEADER_BYTES + total * SLOT_CELLS * 8);
    const header = new Int32Array(bytes.buffer, 0, HEADER_BYTES / 4);
    header[H_MAGIC] = MAGIC;
    header[H_SLOTS] = total;
    Deno.writeFileSync(path, bytes, { mode: 0o600 });
    return new MetricsTable(mapSharedFile(path));
  }

  /** Maps an existing table (worker). */
  static open(path: string): MetricsTable {
    return new MetricsTable(mapSharedFile(path));
  }

  /** The metrics cells of `slot` (a live view into shared memory). */
  cellsOf(slot: number): Float64Array {
    this.#check(slot);
    const start = slot * SLOT_CELLS + SLOT_META;
    return this.#cells.subarray(start, start + METRIC_CELLS);
  }

  /** A free worker slot, or -1 when all are taken. */
  freeSlot(): number {
    for (let slot = 1; slot < this.slots; slot++) {
      if (this.#cells[slot * SLOT_CELLS] === STATE_FREE) return slot;
    }
    return -1;
  }

  /** Zeroes `slot` and marks it live for worker number `worker` (supervisor). */
  claim(slot: number, worker: number): void {
    this.#check(slot);
    this.#write(() => {
      const base = slot * SLOT_CELLS;
      this.#cells.fill(0, base, base + SLOT_CELLS);
      this.#cells[base + 2] = worker;
      this.#cells[base] = STATE_LIVE;
    });
  }

  /** Records the process id of the worker in `slot`. */
  setPid(slot: number, pid: number): void {
    this.#check(slot);
    this.#cells[slot * SLOT_CELLS + 1] = pid;
  }

  /** Folds a gone worker's counters into slot 0 and frees its slot (supervisor). */
  retire(slot: number): void {
    this.#check(slot);
    if (slot === 0) return;
    this.#write(() => {
      const base = slot * SLOT_CELLS;
      const from = this.cellsOf(slot);
      const into = this.cellsOf(0);
      for (let i = 0; i < METRIC_CELLS; i++) {
        if (!GAUGE_CELLS.includes(i)) into[i] += from[i];
      }
      this.#cells.fill(0, base, base + SLOT_CELLS);
    });
  }

  /** Counts one restarted worker (supervisor). */
  countRestart(): void {
    Atomics.add(this.#header, H_RESTARTS, 1);
  }

  /** Totals over all slots and each live worker's cells, consistent with any concurrent retire. */
  snapshot(): { total: Float64Array; workers: WorkerCells[]; restarts: number } {
    for (let attempt = 0;; attempt++) {
      const before = Atomics.load(this.#header, H_SEQ);
      if ((before & 1) === 0 || attempt > 10_000) {
        const total = new Float64Array(METRIC_CELLS);
        const workers: WorkerCells[] = [];
        total.set(this.cellsOf(0));
        for (let slot = 1; slot < this.slots; slot++) {
          const base = slot * SLOT_CELLS;
          if (this.#cells[base] !== STATE_LIVE) continue;
          const cells = this.cellsOf(slot).slice();
          for (let i = 0; i < METRIC_CELLS; i++) total[i] += cells[i];
          workers.push({ worker: this.#cells[base + 2], pid: this.#cells[base + 1], cells });
        }
        const restarts = Atomics.load(this.#header, H_RESTARTS);
        if (Atomics.load(this.#header, H_SEQ) === before || attempt > 10_000) {
          return { total, workers, restarts };
        }
      }
    }
  }

  /** Runs `change` inside the sequence lock. */
  #write(change: () => void): void {
    Atomics.add(this.#header, H_SEQ, 1);
    try {
      change();
    } finally {
      Atomics.add(this.#header, H_SEQ, 1);
    }
  }

  #check(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) {
      throw new RangeError(`metrics table: no slot ${slot}`);
    }
  }
}
