/**
 * Server-wide counters in Prometheus text format (`GET /metrics`). Servers and the app write
 * into one {@linkcode Metrics}; the app only renders it, so it never needs to know which server
 * produced a number.
 *
 * Every number lives in a `Float64Array` of {@linkcode METRIC_CELLS} cells. A single process owns
 * a private array; with `--workers N` each worker's array is its slot of a memory-mapped table
 * shared by all workers (src/server/workers/metrics_table.ts), and {@linkcode Metrics.render}
 * sums every worker's slot, so whichever worker answers `/metrics` reports the whole server.
 *
 * @module
 */

/** How response body bytes left the process. */
export type SendPath = "sendfile" | "copy" | "stream";
/** How request body bytes reached a file. */
export type IngestPath = "splice" | "stream";

/** Cell index of each scalar counter or gauge. */
export const CELL = {
  bytesSendfile: 0,
  bytesCopy: 1,
  bytesStream: 2,
  ingestSplice: 3,
  ingestStream: 4,
  activeConnections: 5,
  acceptedConnections: 6,
  closedConnections: 7,
  sendfileCalls: 8,
  spliceCalls: 9,
  eagainWaits: 10,
  uploadsCompleted: 11,
  uploadsAborted: 12,
} as const;
/** Cells that are gauges (a value now), not counters: never carried over from a gone worker. */
export const GAUGE_CELLS: readonly number[] = [CELL.activeConnections];
/** First cell of the responses-by-status block (one cell per status 100..599). */
const STATUS_BASE = 16;
const STATUS_MIN = 100;
const STATUS_MAX = 599;
/** Cells of one metrics array. */
export const METRIC_CELLS: number = STATUS_BASE + STATUS_MAX - STATUS_MIN + 1;

/** One worker's numbers, as a multi-worker table reports them. */
export interface WorkerCells {
  /** The worker's number (1..N), stable across restarts. */
  readonly worker: number;
  /** Its process id. */
  readonly pid: number;
  /** Its metrics cells. */
  readonly cells: Float64Array;
}

/** A consistent view of every worker's cells (see src/server/workers/metrics_table.ts). */
export interface MetricsSource {
  /** Totals over all workers (gone workers' counters included) and each live worker's cells. */
  snapshot(): { total: Float64Array; workers: WorkerCells[]; restarts: number };
}

/** An object whose numeric properties read and write cells of `cells`. */
function cellRecord<K extends string>(
  cells: Float64Array,
  map: Record<K, number>,
): Record<K, number> {
  const record = {} as Record<K, number>;
  for (const [key, index] of Object.entries(map) as [K, number][]) {
    Object.defineProperty(record, key, {
      enumerable: true,
      get: () => cells[index],
      set: (value: number) => {
        cells[index] = value;
      },
    });
  }
  return record;
}

/** Counters and gauges of one server (or of one worker of a multi-worker server). */
export class Metrics {
  /** This process's cells. */
  readonly cells: Float64Array;
  /** Response body bytes by the path they took. */
  readonly bytesSent: Record<SendPath, number>;
  /** Request body bytes written to files, by path. */
  readonly bytesIngested: Record<IngestPath, number>;
  /** Status codes outside 100..599 (never produced by the servers; kept for completeness). */
  readonly #otherStatus = new Map<number, number>();
  #source: MetricsSource | undefined;

  /** Creates counters in `cells` (default: a private zeroed array). */
  constructor(cells: Float64Array = new Float64Array(METRIC_CELLS)) {
    if (cells.length < METRIC_CELLS) throw new RangeError("metrics: cell array too small");
    this.cells = cells;
    this.bytesSent = cellRecord(cells, {
      sendfile: CELL.bytesSendfile,
      copy: CELL.bytesCopy,
      stream: CELL.bytesStream,
    });
    this.bytesIngested = cellRecord(cells, {
      splice: CELL.ingestSplice,
      stream: CELL.ingestStream,
    });
  }

  /** Makes {@linkcode render} report `source` (all workers) instead of this process alone. */
  attachSource(source: MetricsSource): void {
    this.#source = source;
  }

  /** Connections open now. */
  get activeConnections(): number {
    return this.cells[CELL.activeConnections];
  }
  set activeConnections(value: number) {
    this.cells[CELL.activeConnections] = value;
  }
  /** Connections accepted since start. */
  get acceptedConnections(): number {
    return this.cells[CELL.acceptedConnections];
  }
  set acceptedConnections(value: number) {
    this.cells[CELL.acceptedConnections] = value;
  }
  /** Connections closed since start. */
  get closedConnections(): number {
    return this.cells[CELL.closedConnections];
  }
  set closedConnections(value: number) {
    this.cells[CELL.closedConnections] = value;
  }
  /** sendfile(2) calls made. */
  get sendfileCalls(): number {
    return this.cells[CELL.sendfileCalls];
  }
  set sendfileCalls(value: number) {
    this.cells[CELL.sendfileCalls] = value;
  }
  /** splice(2) calls made. */
  get spliceCalls(): number {
    return this.cells[CELL.spliceCalls];
  }
  set spliceCalls(value: number) {
    this.cells[CELL.spliceCalls] = value;
  }
  /** Times a write found the socket full (EAGAIN) and waited for EPOLLOUT. */
  get eagainWaits(): number {
    return this.cells[CELL.eagainWaits];
  }
  set eagainWaits(value: number) {
    this.cells[CELL.eagainWaits] = value;
  }
  /** Uploads that completed and were renamed into place. */
  get uploadsCompleted(): number {
    return this.cells[CELL.uploadsCompleted];
  }
  set uploadsCompleted(value: number) {
    this.cells[CELL.uploadsCompleted] = value;
  }
  /** Uploads that failed or were interrupted (nothing left behind). */
  get uploadsAborted(): number {
    return this.cells[CELL.uploadsAborted];
  }
  set uploadsAborted(value: number) {
    this.cells[CELL.uploadsAborted] = value;
  }

  /** Responses by status code (this process's; a copy). */
  get requestsByStatus(): Map<number, number> {
    return statusMap(this.cells, this.#otherStatus);
  }

  /** Counts one response with `status`. */
  countRequest(status: number): void {
    if (status >= STATUS_MIN && status <= STATUS_MAX) {
      this.cells[STATUS_BASE + status - STATUS_MIN]++;
    } else this.#otherStatus.set(status, (this.#otherStatus.get(status) ?? 0) + 1);
  }

  /** Renders all counters in the Prometheus text exposition format (version 0.0.4). */
  render(): string {
    if (this.#source === undefined) return renderFamilies(this.cells, this.#otherStatus);
    const { total, workers, restarts } = this.#source.snapshot();
    return renderFamilies(total, this.#otherStatus) + renderWorkers(workers, restarts);
  }
}

/** Responses by status from a cell array (plus out-of-range statuses). */
function statusMap(cells: Float64Array, other: Map<number, number>): Map<number, number> {
  const map = new Map<number, number>();
  for (let status = STATUS_MIN; status <= STATUS_MAX; status++) {
    const n = cells[STATUS_BASE + status - STATUS_MIN];
    if (n > 0) map.set(status, n);
  }
  for (const [status, n] of other) map.set(status, n);
  return map;
}

/** One metric family: name, type, help and samples (label text, value). */
type Family = [name: string, type: string, help: string, samples: [string, number][]];

/** Formats families as exposition text. */
function formatFamilies(families: Family[]): string {
  const lines: string[] = [];
  for (const [name, type, help, samples] of families) {
    lines.push(`# HELP zerocast_${name} ${help}`, `# TYPE zerocast_${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`zerocast_${name}${labels} ${value}`);
  }
  return lines.join("\n") + "\n";
}

/** The server-wide families from a cell array. */
function renderFamilies(cells: Float64Array, other: Map<number, number>): string {
  const one = (cell: number): [string, number][] => [["", cells[cell]]];
  const byStatus = [...statusMap(cells, other)].sort((a, b) => a[0] - b[0]);
  return formatFamilies([
    [
      "requests_total",
      "counter",
      "HTTP responses by status code.",
      byStatus.map(([code, n]) => [`{status="${code}"}`, n]),
    ],
    ["bytes_sent_total", "counter", "Response body bytes by how they were sent.", [
      ['{path="sendfile"}', cells[CELL.bytesSendfile]],
      ['{path="copy"}', cells[CELL.bytesCopy]],
      ['{path="stream"}', cells[CELL.bytesStream]],
    ]],
    [
      "bytes_ingested_total",
      "counter",
      "Request body bytes written to files by how they were written.",
      [
        ['{path="splice"}', cells[CELL.ingestSplice]],
        ['{path="stream"}', cells[CELL.ingestStream]],
      ],
    ],
    ["active_connections", "gauge", "Open client connections.", one(CELL.activeConnections)],
    [
      "connections_accepted_total",
      "counter",
      "Connections accepted.",
      one(CELL.acceptedConnections),
    ],
    ["connections_closed_total", "counter", "Connections closed.", one(CELL.closedConnections)],
    ["sendfile_calls_total", "counter", "sendfile(2) calls.", one(CELL.sendfileCalls)],
    ["splice_calls_total", "counter", "splice(2) calls.", one(CELL.spliceCalls)],
    ["eagain_waits_total", "counter", "Writes that waited for EPOLLOUT.", one(CELL.eagainWaits)],
    [
      "uploads_completed_total",
      "counter",
      "Uploads renamed into place.",
      one(CELL.uploadsCompleted),
    ],
    [
      "uploads_aborted_total",
      "counter",
      "Uploads that left nothing behind.",
      one(CELL.uploadsAborted),
    ],
  ]);
}

/** Per-worker families (multi-worker servers only). */
function renderWorkers(workers: WorkerCells[], restarts: number): string {
  const sorted = [...workers].sort((a, b) => a.worker - b.worker || a.pid - b.pid);
  const per = (value: (cells: Float64Array) => number): [string, number][] =>
    sorted.map((w) => [`{worker="${w.worker}",pid="${w.pid}"}`, value(w.cells)]);
  const requests = (cells: Float64Array) => {
    let n = 0;
    for (let i = STATUS_BASE; i < METRIC_CELLS; i++) n += cells[i];
    return n;
  };
  return formatFamilies([
    ["workers", "gauge", "Worker processes serving now.", [["", workers.length]]],
    ["worker_restarts_total", "counter", "Workers restarted after they died.", [["", restarts]]],
    ["worker_requests_total", "counter", "HTTP responses by worker process.", per(requests)],
    [
      "worker_active_connections",
      "gauge",
      "Open client connections by worker process.",
      per((cells) => cells[CELL.activeConnections]),
    ],
    [
      "worker_connections_accepted_total",
      "counter",
      "Connections accepted by worker process.",
      per((cells) => cells[CELL.acceptedConnections]),
    ],
  ]);
}
