/**
 * The soak's mixed traffic: client loops that each pick a random operation (small and large
 * ranges, whole files, 304s, If-Range, aborted downloads and uploads, PUT with Content-Length
 * and chunked then GET back and DELETE, slow readers) on a keep-alive connection that is
 * sometimes replaced by a new one, paced to a target request rate; plus a `/healthz` probe.
 * Every body that comes back is checked against the bytes it must be (whole, or its first and
 * last 64 KiB for large ones).
 *
 * @module
 */
import { expectedBytes, MiB } from "./data.ts";
import type { Pace, SoakConnection } from "./soak_http.ts";

/** A file the server has under its root, with its validators. */
export interface SoakFile {
  /** `/media/<name>` */
  readonly path: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: string;
}

/** What the loops need to know about the server. */
export interface SoakTarget {
  readonly hostname: string;
  readonly port: number;
  /** A large file (ranges, aborted and slow downloads). */
  readonly big: SoakFile;
  /** A small file (whole GETs). */
  readonly small: SoakFile;
  /** The ingest token and the prefix uploads go to (e.g. `/media/live/`). */
  readonly token: string;
  readonly livePrefix: string;
  /** Opens a connection. */
  connect(): Promise<SoakConnection>;
}

/** Counters of one interval. */
export class IntervalStats {
  requests = 0;
  errors = 0;
  aborted = 0;
  readonly latenciesMs: number[] = [];
  readonly healthzMs: number[] = [];
  readonly errorLines: string[] = [];
  readonly byOp = new Map<string, number>();

  /** Records a failure of `op`. */
  fail(op: string, error: unknown): void {
    this.errors++;
    const text = error instanceof Error ? error.message : String(error);
    if (this.errorLines.length < 10) this.errorLines.push(`${op}: ${text.split("\n")[0]}`);
  }
}

/** A seeded xorshift32 generator in [0, 1). */
export function seededRandom(seed: number): () => number {
  let x = (seed * 0x9e3779b1) | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Bytes compared at each end of a large body. */
const CHECK_WINDOW = 64 * 1024;
const OP_TIMEOUT_MS = 60_000;

/** Checks pieces of a body against `expected(position, length)` (whole, or at both ends). */
function bodyChecker(
  length: number,
  expected: (position: number, n: number) => Uint8Array,
): { onPiece: (position: number, bytes: Uint8Array) => void; mismatch: () => string | null } {
  let bad: string | null = null;
  const whole = length <= 2 * CHECK_WINDOW;
  const compare = (position: number, bytes: Uint8Array, from: number, to: number) => {
    const a = Math.max(position, from);
    const b = Math.min(position + bytes.byteLength, to);
    if (a >= b || bad !== null) return;
    const want = expected(a, b - a);
    const got = bytes.subarray(a - position, b - position);
    for (let i = 0; i < want.byteLength; i++) {
      if (want[i] !== got[i]) {
        bad = `body differs at byte ${a + i}`;
        return;
      }
    }
  };
  return {
    onPiece(position, bytes) {
      if (whole) compare(position, bytes, 0, length);
      else {
        compare(position, bytes, 0, CHECK_WINDOW);
        compare(position, bytes, length - CHECK_WINDOW, length);
      }
    },
    mismatch: () => bad,
  };
}

/** One client loop's state: its connection, its random numbers, its uploads. */
class Loop {
  conn: SoakConnection | null = null;
  readonly random: () => number;
  readonly uploaded = new Set<string>();
  uploads = 0;

  constructor(readonly id: number, readonly target: SoakTarget, seed: number) {
    this.random = seededRandom(seed * 1000 + id + 1);
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  async connection(): Promise<SoakConnection> {
    if (this.conn === null || this.conn.closed) this.conn = await this.target.connect();
    return this.conn;
  }

  drop(): void {
    this.conn?.close();
    this.conn = null;
  }

  /**
   * Sends `request` and reads the response; checks the status and, with `expected`, the body.
   * Counts the request and its latency. `stopAfter` reads only that many body bytes and closes
   * (an aborted transfer).
   */
  async exchange(
    stats: IntervalStats,
    request: string | Uint8Array | (string | Uint8Array)[],
    status: number | number[],
    options: {
      expected?: (position: number, n: number) => Uint8Array;
      pace?: Pace;
      stopAfter?: number;
    } = {},
  ): Promise<{ length: number; headers: Map<string, string> }> {
    const conn = await this.connection();
    const started = performance.now();
    for (const part of Array.isArray(request) ? request : [request]) await conn.send(part);
    const head = await conn.readHead();
    const allowed = Array.isArray(status) ? status : [status];
    if (!allowed.includes(head.status)) {
      this.drop();
      throw new Error(`status ${head.status}, expected ${allowed.join(" or ")}`);
    }
    // 1xx, 204 and 304 never have a body, whatever Content-Length says (RFC 9112 §6.3)
    const bodyless = head.status < 200 || head.status === 204 || head.status === 304;
    const length = bodyless ? 0 : Number(head.headers.get("content-length") ?? "0");
    const check = options.expected ? bodyChecker(length, options.expected) : null;
    const read = await conn.readBody(length, check?.onPiece, options.pace, options.stopAfter);
    stats.requests++;
    if (read < length) {
      stats.aborted++;
      this.drop();
    } else {
      // a slow reader's time is the reader's own choice, not the server's latency
      if (options.pace === undefined) stats.latenciesMs.push(performance.now() - started);
      if (!head.keepAlive) this.drop();
    }
    const mismatch = check?.mismatch();
    if (mismatch) throw new Error(mismatch);
    return { length, headers: head.headers };
  }
}

function get(target: SoakTarget, path: string, extra: Record<string, string> = {}): string {
  let s = `GET ${path} HTTP/1.1\r\nHost: ${target.hostname}:${target.port}\r\n`;
  for (const [name, value] of Object.entries(extra)) s += `${name}: ${value}\r\n`;
  return s + "\r\n";
}

/** A random range of `size`-byte file of `min..max` bytes. */
function range(loop: Loop, size: number, min: number, max: number) {
  const length = loop.int(min, Math.min(max, size));
  const start = loop.int(0, size - length);
  return { start, end: start + length - 1, length };
}

type Op = (loop: Loop, stats: IntervalStats) => Promise<void>;

const fromFile = (offset: number) => (position: number, n: number) =>
  expectedBytes(offset + position, n);

async function rangeOp(loop: Loop, stats: IntervalStats, min: number, max: number, pace?: Pace) {
  const { big } = loop.target;
  const r = range(loop, big.size, min, max);
  const { length, headers } = await loop.exchange(
    stats,
    get(loop.target, big.path, { Range: `bytes=${r.start}-${r.end}` }),
    206,
    { expected: fromFile(r.start), pace },
  );
  const want = `bytes ${r.start}-${r.end}/${big.size}`;
  if (length !== r.length || headers.get("content-range") !== want) {
    throw new Error(`range ${want}: got ${headers.get("content-range")}, ${length} bytes`);
  }
}

/** PUT body of `size` bytes from pattern offset `offset`, Content-Length or chunked. */
function putRequest(loop: Loop, path: string, body: Uint8Array, chunked: boolean) {
  const t = loop.target;
  const head = `PUT ${path} HTTP/1.1\r\nHost: ${t.hostname}:${t.port}\r\n` +
    `Authorization: Bearer ${t.token}\r\n`;
  if (!chunked) return [head + `Content-Length: ${body.byteLength}\r\n\r\n`, body];
  const parts: (string | Uint8Array)[] = [head + "Transfer-Encoding: chunked\r\n\r\n"];
  for (let at = 0; at < body.byteLength;) {
    const n = Math.min(body.byteLength - at, loop.int(1, 64 * 1024));
    parts.push(`${n.toString(16)}\r\n`, body.subarray(at, at + n), "\r\n");
    at += n;
  }
  parts.push("0\r\n\r\n");
  return parts;
}

const ops: [weight: number, name: string, op: Op][] = [
  [30, "small range", (loop, stats) => rangeOp(loop, stats, 1, 64 * 1024)],
  [8, "large range", (loop, stats) => rangeOp(loop, stats, MiB, 8 * MiB)],
  [6, "whole small file", async (loop, stats) => {
    const { small } = loop.target;
    const { length } = await loop.exchange(stats, get(loop.target, small.path), 200, {
      expected: fromFile(0),
    });
    if (length !== small.size) throw new Error(`whole file: ${length} bytes`);
  }],
  [8, "If-None-Match 304", async (loop, stats) => {
    const { big } = loop.target;
    await loop.exchange(stats, get(loop.target, big.path, { "If-None-Match": big.etag }), 304);
  }],
  [5, "If-Modified-Since 304", async (loop, stats) => {
    const { big } = loop.target;
    const path = loop.random() < 0.5 ? big.path : loop.target.small.path;
    const lm = path === big.path ? big.lastModified : loop.target.small.lastModified;
    await loop.exchange(stats, get(loop.target, path, { "If-Modified-Since": lm }), 304);
  }],
  [5, "If-Range 206", async (loop, stats) => {
    const { big } = loop.target;
    const r = range(loop, big.size, 1, 256 * 1024);
    await loop.exchange(
      stats,
      get(loop.target, big.path, { Range: `bytes=${r.start}-${r.end}`, "If-Range": big.etag }),
      206,
      { expected: fromFile(r.start) },
    );
  }],
  [8, "aborted download", async (loop, stats) => {
    const { big } = loop.target;
    await loop.exchange(stats, get(loop.target, big.path), 200, {
      expected: fromFile(0),
      stopAfter: loop.int(0, 2 * MiB),
    });
  }],
  [
    4,
    "slow reader",
    (loop, stats) => rangeOp(loop, stats, 2 * MiB, 4 * MiB, { bytes: 16 * 1024, delayMs: 4 }),
  ],
  [10, "upload", async (loop, stats) => {
    const t = loop.target;
    const path = `${t.livePrefix}soak-${loop.id}-${loop.uploads++ % 3}.bin`;
    const offset = loop.int(0, 4 * MiB);
    const body = expectedBytes(offset, loop.int(0, 256 * 1024));
    const chunked = loop.random() < 0.5;
    const existed = loop.uploaded.has(path);
    await loop.exchange(stats, putRequest(loop, path, body, chunked), existed ? 204 : 201);
    loop.uploaded.add(path);
    const { length } = await loop.exchange(stats, get(t, path), 200, {
      expected: fromFile(offset),
    });
    if (length !== body.byteLength) throw new Error(`uploaded ${body.byteLength}, got ${length}`);
    if (loop.random() < 0.5) {
      await loop.exchange(
        stats,
        `DELETE ${path} HTTP/1.1\r\nHost: ${t.hostname}:${t.port}\r\n` +
          `Authorization: Bearer ${t.token}\r\n\r\n`,
        204,
      );
      loop.uploaded.delete(path);
    }
  }],
  [3, "aborted upload", async (loop, stats) => {
    // Half a body, then the client is gone: the server must drop its temp file and fd.
    const t = loop.target;
    const body = expectedBytes(0, loop.int(2, 256 * 1024));
    const path = `${t.livePrefix}soak-aborted-${loop.id}.bin`;
    const [head] = putRequest(loop, path, body, false);
    const conn = await loop.connection();
    await conn.send(head);
    await conn.send(body.subarray(0, body.byteLength >> 1));
    loop.drop();
    stats.requests++;
    stats.aborted++;
  }],
];
const totalWeight = ops.reduce((n, [w]) => n + w, 0);

function pick(loop: Loop): [string, Op] {
  let x = loop.random() * totalWeight;
  for (const [weight, name, op] of ops) {
    if ((x -= weight) < 0) return [name, op];
  }
  return [ops[0][1], ops[0][2]];
}

async function withTimeout<T>(loop: Loop, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      loop.drop();
      reject(new Error(`no answer within ${OP_TIMEOUT_MS} ms`));
    }, OP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the client loops and the probe; pausable so that samples are taken on a quiet server. */
export class SoakTraffic {
  #stats = new IntervalStats();
  #paused: { promise: Promise<void>; resolve: () => void } | null = null;
  #stopped = false;
  #busy = 0;
  #idle: (() => void) | null = null;
  readonly #loops: Loop[];
  readonly #running: Promise<void>[] = [];

  constructor(
    readonly target: SoakTarget,
    readonly workers: number,
    readonly rps: number,
    seed: number,
  ) {
    this.#loops = Array.from({ length: workers }, (_, i) => new Loop(i, target, seed));
  }

  /** Starts the loops and the `/healthz` probe. */
  start(): void {
    for (const loop of this.#loops) this.#running.push(this.#runLoop(loop));
    this.#running.push(this.#runProbe(new Loop(this.workers, this.target, 0)));
  }

  /** Returns the counters since the last call and starts new ones. */
  takeStats(): IntervalStats {
    const stats = this.#stats;
    this.#stats = new IntervalStats();
    return stats;
  }

  /** Lets every loop finish its operation and close its connection; resolves when all did. */
  async pause(): Promise<void> {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => resolve = r);
    this.#paused = { promise, resolve };
    if (this.#busy > 0) await new Promise<void>((r) => this.#idle = r);
    this.#idle = null;
  }

  /** Lets the loops go on. */
  resume(): void {
    const paused = this.#paused;
    this.#paused = null;
    paused?.resolve();
  }

  /** Stops for good, then deletes what the uploads left behind. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.resume();
    await Promise.all(this.#running);
    const cleanup = new Loop(this.workers + 1, this.target, 0);
    const stats = new IntervalStats();
    for (const loop of this.#loops) {
      for (const path of loop.uploaded) {
        await cleanup.exchange(
          stats,
          `DELETE ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${this.target.token}\r\n\r\n`,
          204,
        );
      }
    }
    cleanup.drop();
  }

  /** Waits while paused (connection closed); returns true when it did wait. */
  async #gate(loop: Loop): Promise<boolean> {
    let waited = false;
    while (this.#paused !== null && !this.#stopped) {
      waited = true;
      loop.drop();
      this.#busy--;
      if (this.#busy === 0) this.#idle?.();
      await this.#paused.promise;
      this.#busy++;
    }
    return waited;
  }

  async #runLoop(loop: Loop): Promise<void> {
    this.#busy++;
    const interval = (1000 * this.workers) / this.rps;
    let next = performance.now() + loop.random() * interval;
    while (!this.#stopped) {
      // after a pause the pace starts afresh instead of catching up in a burst
      if (await this.#gate(loop)) next = performance.now();
      if (this.#stopped) break;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next = Math.max(next + interval, performance.now() - 1000);
      if (loop.random() < 0.2) loop.drop(); // a new connection now and then
      const [name, op] = pick(loop);
      const stats = this.#stats;
      try {
        await withTimeout(loop, op(loop, stats));
      } catch (error) {
        loop.drop();
        stats.fail(name, error);
      }
    }
    loop.drop();
    this.#busy--;
    if (this.#busy === 0) this.#idle?.();
  }

  async #runProbe(loop: Loop): Promise<void> {
    this.#busy++;
    while (!this.#stopped) {
      await this.#gate(loop);
      if (this.#stopped) break;
      await new Promise((r) => setTimeout(r, 200));
      const stats = this.#stats;
      const started = performance.now();
      try {
        await withTimeout(
          loop,
          loop.exchange(new IntervalStats(), get(this.target, "/healthz"), 200),
        );
        stats.healthzMs.push(performance.now() - started);
      } catch (error) {
        loop.drop();
        stats.fail("healthz", error);
      }
    }
    loop.drop();
    this.#busy--;
    if (this.#busy === 0) this.#idle?.();
  }
}
