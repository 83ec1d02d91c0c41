/**
 * The zero-copy engine server: listening sockets, accept with limits, the epoll loop, deadline
 * timers and graceful shutdown. Connections do the HTTP work ({@link ./connection.ts}).
 *
 * @module
 */
import { errno, libc, type LibcSymbols } from "../../../ffi/libc.ts";
import {
  EAGAIN,
  ECONNABORTED,
  EINTR,
  EMFILE,
  ENFILE,
  ENOBUFS,
  ENOMEM,
  EPOLLET,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  errnoName,
  IPPROTO_TCP,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  TCP_NODELAY,
} from "../../../ffi/constants.ts";
import { decodeSockaddr, SOCKADDR_STORAGE_SIZE } from "../../../ffi/structs.ts";
import type { CodecLimits } from "../../http1/limits.ts";
import type { ResponseHook } from "../../log.ts";
import type { Metrics } from "../../metrics.ts";
import type { FetchApp } from "../types.ts";
import { type FileRoute, fileRouteOf } from "../../file_route.ts";
import { Connection } from "./connection.ts";
import type { EngineContext } from "./context.ts";
import { FileCache } from "./file_cache.ts";
import { type ListenSocket, listenTcp } from "./listener.ts";
import { EpollLoop } from "./loop.ts";
import { type EngineOptions, type ResolvedEngineOptions, resolveEngineOptions } from "./options.ts";
import { SocketToFileSplicer } from "./splice.ts";
import { closeStatWindow, openStatWindow } from "../../media/stat.ts";

/** Events every client socket is registered for, once (edge-triggered: no later epoll_ctl). */
const CONNECTION_EVENTS = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
/** Most connections accepted in one batch before other work runs. */
const ACCEPTS_PER_BATCH = 64;
/** Size of the shared read buffer. */
const READ_BUFFER_SIZE = 64 * 1024;
/** Size of the shared staging buffer (head + small bodies). */
const STAGING_SIZE = 128 * 1024;

/** A running zero-copy server. */
export class EngineServer implements EngineContext {
  readonly libc: LibcSymbols = libc();
  readonly loop: EpollLoop;
  readonly options: ResolvedEngineOptions;
  readonly limits: CodecLimits;
  readonly readBuf = new Uint8Array(READ_BUFFER_SIZE);
  readonly readBufSize = BigInt(READ_BUFFER_SIZE);
  readonly staging = new Uint8Array(STAGING_SIZE);
  readonly files: FileCache;
  readonly metrics: Metrics | undefined;
  readonly onResponse: ResponseHook | undefined;
  readonly encoder = new TextEncoder();
  readonly localHost: string;
  readonly fileRoute: FileRoute | undefined;
  draining = false;
  pendingJs = 0;
  /** The listening socket. */
  readonly listener: ListenSocket;
  /** Resolves when the server has stopped and released every fd. */
  readonly finished: Promise<void>;
  readonly #connections = new Set<Connection>();
  readonly #addrBuf = new Uint8Array(SOCKADDR_STORAGE_SIZE);
  readonly #addrLen = new Uint32Array(1);
  readonly #addrLenBytes = new Uint8Array(this.#addrLen.buffer);
  readonly #one = new Uint8Array(new Int32Array([1]).buffer);
  #acceptPending = true;
  #acceptScheduled = false;
  #backoff: ReturnType<typeof setTimeout> | undefined;
  #listening = true;
  #sweeper: ReturnType<typeof setInterval>;
  #resolveFinished!: () => void;
  #shutdown: Promise<void> | null = null;

  /** Binds and starts serving `app` (throws when the address cannot be bound). */
  constructor(readonly app: FetchApp, options: EngineOptions) {
    this.options = resolveEngineOptions(options);
    this.fileRoute = fileRouteOf(app);
    this.limits = {
      maxRequestLineBytes: this.options.maxRequestLineBytes,
      maxHeaderBytes: this.options.maxHeaderBytes,
      maxHeaderCount: this.options.maxHeaderCount,
    };
    this.metrics = options.metrics;
    this.onResponse = options.onResponse;
    this.files = new FileCache(this.options.fileCacheSize, this.options.fileCacheTtlMs);
    this.finished = new Promise((resolve) => this.#resolveFinished = resolve);
    this.listener = listenTcp(
      options.hostname,
      options.port,
      this.options.backlog,
      options.reusePort ?? false,
    );
    this.localHost = this.listener.family === 10
      ? `[${this.listener.hostname}]:${this.listener.port}`
      : `${this.listener.hostname}:${this.listener.port}`;
    let loop: EpollLoop | undefined;
    try {
      this.loop = loop = new EpollLoop({
        onError: (error) => this.onError(error),
        spinMs: this.options.spinMs,
        syncRounds: this.options.syncRounds,
        blockMs: this.options.blockMs,
        jsPending: () => this.pendingJs > 0,
        afterEventsPhase: { begin: openStatWindow, end: closeStatWindow },
      });
      this.loop.add(this.listener.fd, EPOLLIN | EPOLLET, {
        onEpollEvent: () => {
          this.#acceptPending = true;
          this.#accept();
        },
      });
      this.#splicer = new SocketToFileSplicer();
    } catch (error) {
      this.libc.close(this.listener.fd);
      if (loop !== undefined) void loop.close();
      throw error;
    }
    const tick = Math.max(
      10,
      Math.min(250, this.options.headerTimeoutMs / 4, this.options.keepAliveTimeoutMs / 4),
    );
    this.#sweeper = setInterval(() => this.#sweep(), tick);
    Deno.unrefTimer(this.#sweeper);
    this.loop.start();
  }

  /**
   * The pipe for request-body splices: one per server (each step drains it completely), made
   * at start so fd counts do not change on the first upload.
   */
  readonly #splicer: SocketToFileSplicer;

  /** The pipe for request-body splices. */
  splicer(): SocketToFileSplicer {
    return this.#splicer;
  }

  /** Current time in ms since the epoch. */
  now(): number {
    return Date.now();
  }

  /** Reports an unexpected error on stderr. */
  onError(error: unknown): void {
    console.error("zerocast engine:", error instanceof Error ? (error.stack ?? error) : error);
  }

  /** Bookkeeping when a connection closed its socket. */
  onClosed(connection: Connection): void {
    this.#connections.delete(connection);
    if (this.metrics) {
      this.metrics.activeConnections--;
      this.metrics.closedConnections++;
    }
    if (this.#listening && this.#acceptPending && !this.#acceptScheduled) {
      // accept may have paused at the connection cap
      this.#acceptScheduled = true;
      this.loop.defer(() => {
        this.#acceptScheduled = false;
        this.#accept();
      });
    }
    if (this.draining && this.#connections.size === 0) this.#allClosed?.();
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Accepts queued connections. `final` (at shutdown, just before the listener closes) takes
   * every connection already queued, past the batch size and the connection cap: with
   * SO_REUSEPORT the kernel resets what is left in a closing listener's queue, and those
   * clients would see a reset instead of an answer.
   */
  #accept(final = false): void {
    const c = this.libc;
    let accepted = 0;
    while (this.#acceptPending && (this.#listening || final) && this.#backoff === undefined) {
      if (!final && this.#connections.size >= this.options.maxConnections) return; // resumed by onClosed
      if (!final && accepted >= ACCEPTS_PER_BATCH) {
        if (!this.#acceptScheduled) {
          this.#acceptScheduled = true;
          this.loop.defer(() => {
            this.#acceptScheduled = false;
            this.#accept();
          });
        }
        return;
      }
      this.#addrLen[0] = SOCKADDR_STORAGE_SIZE;
      const fd = c.accept4(
        this.listener.fd,
        this.#addrBuf,
        this.#addrLenBytes,
        SOCK_NONBLOCK | SOCK_CLOEXEC,
      );
      if (fd < 0) {
        const code = errno();
        if (code === EAGAIN) {
          this.#acceptPending = false;
          return;
        }
        if (code === EINTR || code === ECONNABORTED) continue;
        if (code === EMFILE || code === ENFILE || code === ENOBUFS || code === ENOMEM) {
          if (final) return;
          // out of fds: leave the connection in the backlog and retry later instead of spinning
          this.#backoff = setTimeout(() => {
            this.#backoff = undefined;
            try {
              this.#accept();
            } catch (error) {
              this.onError(error);
            }
            this.loop.nudge();
          }, this.options.acceptBackoffMs);
          return;
        }
        this.onError(new Error(`accept4 failed: ${errnoName(code)}`));
        return;
      }
      accepted++;
      c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, this.#one, 4);
      const conn = new Connection(fd, decodeSockaddr(this.#addrBuf), this);
      try {
        this.loop.add(fd, CONNECTION_EVENTS, conn);
      } catch (error) {
        c.close(fd);
        this.onError(error);
        continue;
      }
      this.#connections.add(conn);
      if (this.metrics) {
        this.metrics.activeConnections++;
        this.metrics.acceptedConnections++;
      }
    }
  }

  #sweep(): void {
    const now = this.now();
    for (const conn of this.#connections) {
      if (conn.deadline === 0 || now < conn.deadline) continue;
      try {
        conn.onDeadline();
      } catch (error) {
        // a timer callback must not throw (it would end the process)
        this.onError(error);
        conn.abort();
      }
    }
    this.files.sweep(now);
  }

  #allClosed: (() => void) | null = null;

  /**
   * Stops accepting, closes idle connections, lets in-flight responses finish for up to
   * `graceMs` (default: the `shutdownGraceMs` setting), then closes everything.
   */
  shutdown(graceMs: number = this.options.shutdownGraceMs): Promise<void> {
    this.#shutdown ??= this.#doShutdown(graceMs);
    return this.#shutdown;
  }

  async #doShutdown(graceMs: number): Promise<void> {
    this.draining = true;
    this.#listening = false;
    clearTimeout(this.#backoff);
    this.#backoff = undefined;
    this.#acceptPending = true;
    this.#accept(true);
    this.loop.forget(this.listener.fd);
    this.libc.close(this.listener.fd);
    for (const conn of [...this.#connections]) conn.drain();
    if (this.#connections.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#allClosed = resolve),
        new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs)),
      ]);
      clearTimeout(timer);
      for (const conn of [...this.#connections]) conn.abort();
    }
    clearInterval(this.#sweeper);
    await this.loop.close();
    this.files.clear();
    this.#splicer.close();
    this.#resolveFinished();
  }
}

export type { EngineOptions };
