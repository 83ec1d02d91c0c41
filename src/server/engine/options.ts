/**
 * Settings of the zero-copy engine, each with its documented default.
 *
 * @module
 */
import { DEFAULT_CODEC_LIMITS } from "../../http1/limits.ts";
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
   * thread (default 0: off). Measured on this 2-vCPU VM: a worker-thread wait costs ~80-160 µs
   * of CPU per wake-up, a blocking one ~40 µs, so 1 ms cut user CPU per 4 MiB range by ~25%, but
   * waking from it is slower than the spin (single-client 64 KiB ranges ran ~30% slower), and
   * timers and other async work (the TLS server) run up to this much late.
   */
  readonly blockMs?: number;
}

/** Every engine setting with its default filled in. */
export interface ResolvedEngineOptions {
  readonly backlog: number;
  readonly maxConnections: number;
  readonly acceptBackoffMs: number;
  readonly maxRequestLineBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxHeaderCount: number;
  readonly maxBodyBytes: number;
  readonly headerTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly sendfileMaxChunk: number;
  readonly preadThreshold: number;
  readonly fileCacheSize: number;
  readonly fileCacheTtlMs: number;
  readonly shutdownGraceMs: number;
  readonly spinMs: number;
  readonly blockMs: number;
}

/** The defaults, documented on {@linkcode EngineOptions}. */
export const ENGINE_DEFAULTS: ResolvedEngineOptions = Object.freeze({
  backlog: 511,
  maxConnections: 10_000,
  acceptBackoffMs: 100,
  maxRequestLineBytes: DEFAULT_CODEC_LIMITS.maxRequestLineBytes,
  maxHeaderBytes: DEFAULT_CODEC_LIMITS.maxHeaderBytes,
  maxHeaderCount: DEFAULT_CODEC_LIMITS.maxHeaderCount,
  maxBodyBytes: 1024 * 1024 * 1024,
  headerTimeoutMs: 10_000,
  keepAliveTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  sendTimeoutMs: 60_000,
  sendfileMaxChunk: 2 * 1024 * 1024,
  preadThreshold: 32 * 1024,
  fileCacheSize: 256,
  fileCacheTtlMs: 10_000,
  shutdownGraceMs: 5_000,
  spinMs: 0.2,
  blockMs: 0,
});

/** Fills in defaults and validates ranges (throws RangeError on nonsense). */
export function resolveEngineOptions(options: EngineOptions): ResolvedEngineOptions {
  const out: Record<string, number> = {};
  for (const key of Object.keys(ENGINE_DEFAULTS) as (keyof ResolvedEngineOptions)[]) {
    const value = options[key] ?? ENGINE_DEFAULTS[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`engine option ${key} must be a non-negative number, got ${value}`);
    }
    out[key] = value;
  }
  const resolved = out as unknown as ResolvedEngineOptions;
  if (resolved.sendfileMaxChunk < 4096 || resolved.sendfileMaxChunk > 0x4000_0000) {
    throw new RangeError("engine option sendfileMaxChunk must be between 4 KiB and 1 GiB");
  }
  return resolved;
}
