/**
 * Settings of the stream server (`serveStream`), each with its documented default. The limits
 * and timeouts mirror the zero-copy engine's named settings ({@linkcode ENGINE_DEFAULTS}), so
 * both servers treat slow or oversized clients alike.
 *
 * @module
 */
import { ENGINE_DEFAULTS } from "../engine/options.ts";

/** Limits and timeouts of the stream server. */
export interface StreamLimits {
  /** Longest request line; longer → 414 and close (default 8 KiB). */
  readonly maxRequestLineBytes?: number;
  /** Largest request head; larger → 431 and close (default 16 KiB). */
  readonly maxHeaderBytes?: number;
  /** Most header fields; more → 431 and close (default 100). */
  readonly maxHeaderCount?: number;
  /** Largest request body; larger → 413 (default 1 GiB). */
  readonly maxBodyBytes?: number;
  /**
   * Time from accept (TLS: including the handshake) or from the first byte of a request head to
   * its end; exceeded → 408 and close, which is what ends slowloris connections (default 10 s).
   */
  readonly headerTimeoutMs?: number;
  /** Idle time between keep-alive requests before the connection is closed (default 10 s). */
  readonly keepAliveTimeoutMs?: number;
  /** Idle time while a request body is being read; exceeded → close (default 30 s). */
  readonly bodyTimeoutMs?: number;
  /** Time a response write may make no progress (peer not reading) before close (default 60 s). */
  readonly sendTimeoutMs?: number;
  /**
   * HTTP/2 connections (ALPN `h2`, TLS only) carry no byte in either direction for this long →
   * close (default 30 s, the body timeout).
   */
  readonly h2IdleTimeoutMs?: number;
  /**
   * Most open client connections (default 10000); at the cap the server stops accepting (the
   * kernel queues new connections in the backlog) until one closes.
   */
  readonly maxConnections?: number;
}

/** Every setting of {@linkcode StreamLimits} with its default filled in. */
export type ResolvedStreamLimits = { readonly [K in keyof StreamLimits]-?: number };

/** The defaults, documented on {@linkcode StreamLimits}. */
export const STREAM_DEFAULTS: ResolvedStreamLimits = Object.freeze({
  maxRequestLineBytes: ENGINE_DEFAULTS.maxRequestLineBytes,
  maxHeaderBytes: ENGINE_DEFAULTS.maxHeaderBytes,
  maxHeaderCount: ENGINE_DEFAULTS.maxHeaderCount,
  maxBodyBytes: ENGINE_DEFAULTS.maxBodyBytes,
  headerTimeoutMs: ENGINE_DEFAULTS.headerTimeoutMs,
  keepAliveTimeoutMs: ENGINE_DEFAULTS.keepAliveTimeoutMs,
  bodyTimeoutMs: ENGINE_DEFAULTS.bodyTimeoutMs,
  sendTimeoutMs: ENGINE_DEFAULTS.sendTimeoutMs,
  h2IdleTimeoutMs: ENGINE_DEFAULTS.bodyTimeoutMs,
  maxConnections: ENGINE_DEFAULTS.maxConnections,
});

/** Fills in defaults; throws a RangeError for a negative or non-numeric setting. */
export function resolveStreamLimits(options: StreamLimits): ResolvedStreamLimits {
  const out: Record<string, number> = {};
  for (const key of Object.keys(STREAM_DEFAULTS) as (keyof StreamLimits)[]) {
    const value = options[key] ?? STREAM_DEFAULTS[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`stream server option ${key} must be a non-negative number`);
    }
    out[key] = value;
  }
  return out as ResolvedStreamLimits;
}
