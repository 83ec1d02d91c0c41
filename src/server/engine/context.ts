/**
 * What connections share with their server: buffers, caches, settings and hooks.
 *
 * @module
 */
import type { LibcSymbols } from "../../../ffi/libc.ts";
import type { CodecLimits } from "../../http1/limits.ts";
import type { ResponseHook } from "../../log.ts";
import type { Metrics } from "../../metrics.ts";
import type { FetchApp } from "../types.ts";
import type { FileRoute } from "../../file_route.ts";
import type { FileCache } from "./file_cache.ts";
import type { EpollLoop } from "./loop.ts";
import type { ResolvedEngineOptions } from "./options.ts";
import type { SocketToFileSplicer } from "./splice.ts";

/** The per-server state every connection of that server uses. */
export interface EngineContext {
  /** libc symbols. */
  readonly libc: LibcSymbols;
  /** The loop the connections are registered with. */
  readonly loop: EpollLoop;
  /** Resolved settings. */
  readonly options: ResolvedEngineOptions;
  /** Head parser limits derived from the settings. */
  readonly limits: CodecLimits;
  /** The app. */
  readonly app: FetchApp;
  /** The app's prepared file path, if it offers one (src/file_route.ts). */
  readonly fileRoute: FileRoute | undefined;
  /** Shared read buffer (contents are only valid during one read's processing). */
  readonly readBuf: Uint8Array;
  /** `readBuf.byteLength` as a BigInt (the read(2) count argument). */
  readonly readBufSize: bigint;
  /** Shared buffer where a response head and small bodies are assembled for one send. */
  readonly staging: Uint8Array;
  /** Open-file cache. */
  readonly files: FileCache;
  /** Counters, if any. */
  readonly metrics: Metrics | undefined;
  /** Access log hook, if any. */
  readonly onResponse: ResponseHook | undefined;
  /** UTF-8 encoder. */
  readonly encoder: TextEncoder;
  /** Host used in request URLs when the client sent none (HTTP/1.0). */
  readonly localHost: string;
  /**
   * App promises and response-stream reads in flight: while non-zero the loop does not block
   * the JS thread waiting for sockets (their continuations must run promptly).
   */
  pendingJs: number;
  /** True once shutdown began: responses close their connection. */
  readonly draining: boolean;
  /** The pipe used to splice request bodies into files (created on first use). */
  splicer(): SocketToFileSplicer;
  /** Current time in ms since the epoch. */
  now(): number;
  /** Reports an unexpected error (app failure, broken stream). */
  onError(error: unknown): void;
  /** A connection closed its socket. */
  onClosed(connection: { readonly fd: number }): void;
}
