/**
 * Memory back to the operating system once a busy server goes quiet.
 *
 * Under load V8 grows its young generation (up to 2 × 16 MiB of semi-spaces on 64-bit) and
 * leaves garbage in the old one, and glibc keeps freed `malloc` memory; none of it is returned
 * while the process idles until V8's own memory reducer runs, which waits for a long stretch of
 * low allocation (about 20 s here). Shrinking the young generation for good
 * (`--max-semi-space-size`) would make scavenges several times as frequent under load (measured:
 * 2-4 times the GC time on the W2/W4 workloads), so the hot path keeps V8's defaults and the
 * memory is given back at the first quiet moment instead:
 *
 * - every `quietMs / 2` an unref'd timer compares an activity counter (requests, bytes,
 *   connections; see main.ts) with its last value;
 * - when it has not moved for `quietMs` and the resident set grew by at least `minGrowthBytes`
 *   since the last release, it runs one memory-reducing full GC (V8 shrinks the young generation
 *   and compacts the old one; needs `--v8-flags=--expose-gc`, which `deno task serve`, the
 *   benchmarks and the worker processes pass, with `--min-semi-space-size=4` so the young
 *   generation restarts at 4 MiB rather than 1 after it) and `malloc_trim(0)` (glibc), at most
 *   once a second.
 *
 * The release costs one GC pause (~10-30 ms) when nothing is being served; the growth threshold
 * keeps a trickle of requests from paying it again and again.
 *
 * @module
 */
import type { Metrics } from "../metrics.ts";

/**
 * The Deno flag every server process is started with: `--expose-gc` for the release's GC, and a
 * 4 MiB floor for the young generation so it does not restart at 1 MiB after a release. The
 * `serve` task in deno.json spells it out too (checked by test/idle_release_test.ts).
 */
export const SERVER_V8_FLAGS = "--v8-flags=--expose-gc,--min-semi-space-size=4";

/** RSS growth since the last release that makes the next one worth its GC pause (4 MiB). */
export const IDLE_RELEASE_GROWTH = 4 * 1024 * 1024;
/** Shortest time between two releases, whatever the traffic (bounds the GC time spent). */
export const MIN_RELEASE_INTERVAL_MS = 1_000;

/** What {@linkcode IdleRelease} reads and calls; injectable for tests. */
export interface IdleReleaseHooks {
  /** A counter that moves whenever the server does work (requests, bytes, connections). */
  readonly activity: () => number;
  /** Resident set size of this process in bytes. */
  readonly rss: () => number;
  /** Gives memory back (GC, malloc_trim). */
  readonly release: () => void;
  /** Milliseconds on a monotonic clock. */
  readonly now: () => number;
}

/** When to release: quiet for `quietMs`, grown by `minGrowthBytes`, not within `minIntervalMs`. */
export interface IdleReleasePolicy {
  /** Time without activity before a release. */
  readonly quietMs: number;
  /** RSS growth since the last release (or the start) needed for the next one. */
  readonly minGrowthBytes: number;
  /** Shortest time between two releases. */
  readonly minIntervalMs: number;
}

/** The decision of when to release, one {@linkcode IdleRelease.tick} per timer turn. */
export class IdleRelease {
  #activity: number;
  #activeAt: number;
  #baseline: number;
  #releasedAt = -Infinity;
  #releases = 0;

  /** Starts watching from the current activity and RSS. */
  constructor(readonly policy: IdleReleasePolicy, readonly hooks: IdleReleaseHooks) {
    this.#activity = hooks.activity();
    this.#activeAt = hooks.now();
    this.#baseline = hooks.rss();
  }

  /** Releases done so far. */
  get releases(): number {
    return this.#releases;
  }

  /** Looks at the counters once; returns true when it released memory. */
  tick(): boolean {
    const { hooks, policy } = this;
    const activity = hooks.activity();
    const now = hooks.now();
    if (activity !== this.#activity) {
      this.#activity = activity;
      this.#activeAt = now;
      return false;
    }
    if (now - this.#activeAt < policy.quietMs) return false;
    if (now - this.#releasedAt < policy.minIntervalMs) return false;
    if (hooks.rss() - this.#baseline < policy.minGrowthBytes) return false;
    hooks.release();
    this.#releases++;
    this.#releasedAt = hooks.now();
    // what is left after the release is the new floor
    this.#baseline = hooks.rss();
    return true;
  }
}

/** V8's memory-reducing full GC when `--expose-gc` is on, else undefined. */
export function reducingGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: (options?: unknown) => unknown }).gc;
  if (typeof gc !== "function") return undefined;
  // "last-resort": V8's CollectAllAvailableGarbage (reduce-memory flags, young generation
  // shrunk and uncommitted, old generation compacted)
  return () => void gc({ type: "major", execution: "sync", flavor: "last-resort" });
}

/** glibc's `malloc_trim(0)` through FFI, or undefined (no FFI permission, not glibc). */
export function mallocTrim(): (() => void) | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
    const lib = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32", optional: true },
    });
    const trim = lib.symbols.malloc_trim;
    if (trim === null) {
      lib.close();
      return undefined;
    }
    return () => void trim(0n);
  } catch {
    return undefined;
  }
}

/** Resident set size of this process (`Deno.memoryUsage().rss`). */
export function processRss(): number {
  return Deno.memoryUsage().rss;
}

/**
 * Starts the timer of an {@linkcode IdleRelease} that runs the GC and `malloc_trim` available in
 * this process; stops with `signal`. Returns undefined (nothing started) when `quietMs` is 0 or
 * neither is available.
 */
export function startIdleRelease(
  quietMs: number,
  minGrowthBytes: number,
  activity: () => number,
  signal: AbortSignal,
): IdleRelease | undefined {
  if (quietMs <= 0) return undefined;
  const gc = reducingGc();
  const trim = mallocTrim();
  if (gc === undefined && trim === undefined) return undefined;
  const policy = { quietMs, minGrowthBytes, minIntervalMs: MIN_RELEASE_INTERVAL_MS };
  const idle = new IdleRelease(policy, {
    activity,
    rss: processRss,
    release: () => {
      gc?.();
      trim?.();
    },
    now: () => performance.now(),
  });
  const timer = setInterval(() => idle.tick(), Math.max(1, Math.floor(quietMs / 2)));
  Deno.unrefTimer(timer);
  signal.addEventListener("abort", () => clearInterval(timer), { once: true });
  return idle;
}

/** Everything a server counts in `metrics`, summed: it moves whenever the server works. */
export function metricsActivity(metrics: Metrics): () => number {
  return () => {
    let n = metrics.acceptedConnections + metrics.bytesSent.sendfile + metrics.bytesSent.copy +
      metrics.bytesSent.stream + metrics.bytesIngested.splice + metrics.bytesIngested.stream;
    for (const count of metrics.requestsByStatus.values()) n += count;
    return n;
  };
}
