/**
 * Settings of the zero-copy engine. Defaults and bounds are rows of the settings table
 * (src/settings.ts); the interface below documents them for library users.
 *
 * @module
 */
import { checkNumber, type KeysOf, numericDefaults, SETTINGS } from "../../settings.ts";
import type { CommonServerOptions } from "../types.ts";

/** Options of the zero-copy engine ({@linkcode serve} in src/server/adapter.ts). */
export interface EngineOptions extends CommonServerOptions {
  /** listen(2) backlog (default 511, nginx's). */
  readonly backlog?: number;
  /**
   * Most open client connections (default 10000). At the cap the engine stops accepting (the
   * kernel queues new connections in the backlog) until one closes; on EMFILE/ENFILE it backs
   * off for {@linkcode EngineOptions.acceptBackoffMs}.
   */
  readonly maxConnections?: number;
  /** Pause before accepting again after EMFILE/ENFILE (default 100 ms). */
  readonly acceptBackoffMs?: number;
  /** Longest request line; longer → 414 and close (default 8 KiB). */
  readonly maxRequestLineBytes?: number;
  /** Largest request head; larger → 431 and close (default 16 KiB). */
  readonly maxHeaderBytes?: number;
  /** Most header fields; more → 431 and close (default 100). */
  readonly maxHeaderCount?: number;
  /** Largest request body; larger → 413 and close (default 1 GiB). */
  readonly maxBodyBytes?: number;
  /**
   * Time allowed from the first byte of a request head (or from accept) to its end; exceeded →
   * 408 and close. This is what closes slowloris connections (default 10 s).
   */
  readonly headerTimeoutMs?: number;
  /** Idle time between keep-alive requests before the connection is closed (default 10 s). */
  readonly keepAliveTimeoutMs?: number;
  /** Idle time while a request body is expected (default 30 s; 408 when no response yet). */
  readonly bodyTimeoutMs?: number;
  /** Time a response may make no write progress (peer not reading) before close (default 60 s). */
  readonly sendTimeoutMs?: number;
  /**
   * Bytes one sendfile(2) call sends at most, and so what one connection sends per loop turn
   * before others get theirs (default 2 MiB, nginx's `sendfile_max_chunk` default).
   */
  readonly sendfileMaxChunk?: number;
  /**
   * File bodies up to this many bytes are read with pread(2) into the buffer holding the head,
   * so head and body leave in one send (one packet), instead of send(head) + sendfile (default
   * 32 KiB; 0 disables). Measured on loopback, 16 client connections: at 4-16 KiB pread+send
   * served ~20-70% more requests with less CPU, at 24-32 KiB both were even, at 64 KiB and above
   * sendfile is as fast and copies nothing.
   */
  readonly preadThreshold?: number;
  /** Open file descriptors kept for reuse (default 256; 0 disables the cache). */
  readonly fileCacheSize?: number;
  /** A cached fd unused for this long is closed (default 10 s). */
  readonly fileCacheTtlMs?: number;
  /** Default grace period of `shutdown()` for in-flight responses (default 5 s). */
  readonly shutdownGraceMs?: number;
  /**
   * How long the loop keeps polling after the last event before it blocks in an off-thread
   * epoll_wait (default 0.2 ms): waking from that wait costs tens of microseconds, so a short
   * spin lowers latency for clients that send their next request right away, at some CPU cost.
   */
  readonly spinMs?: number;
  /**
   * When no socket is ready, the spin is over and no app promise is pending, the loop may
   * block the JS thread in epoll_wait for up to this long before handing the wait to a worker
   * thread (default 0: off; 1 in the worker processes of `--workers` 2+, `WORKER_IDLE_WAIT`).
   * Measured on this 2-vCPU VM: a worker-thread wait costs ~80-160 µs of CPU per wake-up, a
   * blocking one ~40 µs, and no spin leaves the cores to sibling workers and clients (W2 with 2
   * workers and the client on 2 cores: ~20% more requests), but waking from it is slower than the
   * spin for a lone client (~20% on small requests), and timers and other async work (the TLS
   * server) run up to this much late; a wait that times out backs off (see `EpollLoop`).
   */
  readonly blockMs?: number;
  /**
   * Under load, polls in a row (each finding events) before the loop yields to the JS event
   * loop (default 4; 1 = after every batch). A turn of the event loop costs about as much as a
   * dozen 64 KiB range requests; while no app promise, stream read or deferred write waits for
   * one, polling again at once saves it. Timers run at most this many batches late.
   */
  readonly syncRounds?: number;
}

/** Every engine setting with its default filled in (the engine and server rows of the table). */
export type ResolvedEngineOptions = { readonly [K in KeysOf<"engine" | "server">]: number };

/** Compile-time check: {@linkcode EngineOptions} documents exactly the table's engine rows. */
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _documented: SameKeys<
  Exclude<keyof EngineOptions, keyof CommonServerOptions>,
  keyof ResolvedEngineOptions
> = true;
void _documented;

/** The defaults, from the settings table (src/settings.ts), documented on {@linkcode EngineOptions}. */
export const ENGINE_DEFAULTS: ResolvedEngineOptions = Object.freeze(
  numericDefaults(["engine", "server"]),
);

/** Fills in defaults and checks each value against the table's bounds (RangeError on nonsense). */
export function resolveEngineOptions(options: EngineOptions): ResolvedEngineOptions {
  const out: Record<string, number> = {};
  for (const key of Object.keys(ENGINE_DEFAULTS) as (keyof ResolvedEngineOptions)[]) {
    const value = options[key] ?? ENGINE_DEFAULTS[key];
    try {
      out[key] = checkNumber(SETTINGS[key], value, `engine option ${key}`);
    } catch (error) {
      throw new RangeError(error instanceof Error ? error.message : String(error));
    }
  }
  return out as ResolvedEngineOptions;
}
