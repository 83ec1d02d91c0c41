/**
 * The stream server: the app over Deno's own sockets (`Deno.listen`, or `Deno.listenTls` for
 * HTTPS), for plain HTTP with `--engine stream` and always for HTTPS. HTTP/1.x is parsed and
 * framed by the project's codec (`src/http1/`, as on the zero-copy engine) and bodies are moved as
 * `ReadableStream`s with backpressure (no sendfile: TLS encrypts in user space anyway). Over TLS,
 * ALPN offers `h2` and `http/1.1`; `h2` connections are piped into `Deno.serve`
 * (`stream/h2_bridge.ts`).
 *
 * Why not `Deno.serve` for HTTP/1.x: it drops a request whose client sends the whole request and
 * closes its socket without waiting for the answer (ffmpeg's HLS muxer, once per segment), cannot
 * report the bytes really sent or the request's HTTP version, and lets requests without Host or
 * with several Host fields through (denoland/deno#27132, #27133).
 *
 * @module
 */
import type { CodecLimits } from "../http1/limits.ts";
import { H2Bridge } from "./stream/h2_bridge.ts";
import { Http1Connection, type Http1Context } from "./stream/http1_connection.ts";
import { resolveStreamLimits, type StreamLimits } from "./stream/options.ts";
import { reapSocket } from "./stream/socket_reaper.ts";
import { type Timed, Watchdog } from "./stream/watchdog.ts";
import type { CommonServerOptions, FetchApp, ServerHandle } from "./types.ts";

export { STREAM_DEFAULTS, type StreamLimits } from "./stream/options.ts";

/** Options of {@linkcode serveStream}. */
export interface StreamServerOptions extends CommonServerOptions, StreamLimits {
  /** PEM certificate and key: serve HTTPS instead of HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Offer HTTP/2 by ALPN on TLS (default true). */
  readonly http2?: boolean;
}

/** A started stream server. */
export interface StreamServerHandle extends ServerHandle {
  /** Open client connections now. */
  readonly connections: number;
}

/** Starts `app` on the stream server; resolves once the listener accepts connections. */
export async function serveStream(
  app: FetchApp,
  options: StreamServerOptions,
): Promise<StreamServerHandle> {
  const limits = resolveStreamLimits(options);
  const tls = options.tls;
  const offerH2 = tls !== undefined && (options.http2 ?? true);
  const listener: Deno.Listener = tls
    ? Deno.listenTls({
      hostname: options.hostname,
      port: options.port,
      // several worker processes on one port (--workers; needs --unstable-net in Deno 2.9)
      reusePort: options.reusePort ?? false,
      cert: tls.cert,
      key: tls.key,
      // "http/1.0" too: a client offering only it would otherwise fail the handshake (RFC 7301 §3.2)
      alpnProtocols: offerH2 ? ["h2", "http/1.1", "http/1.0"] : ["http/1.1", "http/1.0"],
    })
    : Deno.listen({
      hostname: options.hostname,
      port: options.port,
      reusePort: options.reusePort ?? false,
    });
  const addr = listener.addr as Deno.NetAddr;
  let bridge: H2Bridge | null = null;
  try {
    if (offerH2) {
      bridge = await H2Bridge.start(app, {
        metrics: options.metrics,
        onResponse: options.onResponse,
        idleTimeoutMs: limits.h2IdleTimeoutMs,
      });
    }
  } catch (error) {
    listener.close();
    throw error;
  }
  const codecLimits: CodecLimits = {
    maxRequestLineBytes: limits.maxRequestLineBytes,
    maxHeaderBytes: limits.maxHeaderBytes,
    maxHeaderCount: limits.maxHeaderCount,
  };
  const ctx: Http1Context = {
    app,
    scheme: tls ? "https" : "http",
    localAuthority: addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`,
    limits,
    codecLimits,
    metrics: options.metrics,
    onResponse: options.onResponse,
    onError: (error) =>
      console.error(`zerocast: handler error: ${error instanceof Error ? error.stack : error}`),
  };
  const server = new StreamServer(listener, ctx, bridge, tls !== undefined);
  return {
    hostname: addr.hostname,
    port: addr.port,
    finished: server.finished,
    get connections() {
      return server.connectionCount;
    },
    shutdown: (graceMs = 5000) => server.shutdown(graceMs),
  };
}

/** The accept loop and the set of open connections. */
class StreamServer {
  readonly finished: Promise<void>;
  readonly #listener: Deno.Listener;
  readonly #ctx: Http1Context;
  readonly #bridge: H2Bridge | null;
  readonly #tls: boolean;
  readonly #watchdog = new Watchdog();
  /** Open connections: their close function and, for HTTP/1.x, the connection to drain. */
  readonly #open = new Map<Deno.Conn, Http1Connection | null>();
  #closing = false;
  #allClosed: (() => void) | null = null;
  #slotFree: (() => void) | null = null;
  /** TLS connections still in their handshake (no request yet: shutdown closes them at once). */
  readonly #handshaking = new Set<Deno.TlsConn>();
  #resolveFinished!: () => void;

  constructor(listener: Deno.Listener, ctx: Http1Context, bridge: H2Bridge | null, tls: boolean) {
    this.#listener = listener;
    this.#ctx = ctx;
    this.#bridge = bridge;
    this.#tls = tls;
    this.finished = new Promise((resolve) => this.#resolveFinished = resolve);
    void this.#acceptLoop();
  }

  get connectionCount(): number {
    return this.#open.size;
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closing || error instanceof Deno.errors.BadResource) return;
        // EMFILE/ENFILE and the like: back off instead of spinning
        console.error(`zerocast: accept failed: ${error}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (this.#closing) {
        conn.close();
        return;
      }
      void this.#handle(conn);
      // at the cap, stop accepting (the kernel queues new connections) until one closes
      while (this.#open.size >= this.#ctx.limits.maxConnections && !this.#closing) {
        await new Promise<void>((resolve) => this.#slotFree = resolve);
      }
    }
  }

  async #handle(conn: Deno.Conn): Promise<void> {
    const metrics = this.#ctx.metrics;
    if (metrics) {
      metrics.acceptedConnections++;
      metrics.activeConnections++;
    }
    this.#open.set(conn, null);
    try {
      const remote = conn.remoteAddr as Deno.NetAddr;
      if (this.#tls && await this.#serveH2IfNegotiated(conn as Deno.TlsConn, remote)) return;
      if (this.#closing) return;
      const http1 = new Http1Connection(conn, remote, this.#ctx);
      this.#open.set(conn, http1);
      this.#watchdog.add(http1.io);
      try {
        await http1.serve();
      } finally {
        this.#watchdog.delete(http1.io);
      }
    } catch (error) {
      this.#ctx.onError(error);
    } finally {
      try {
        conn.close();
      } catch {
        // already closed
      }
      this.#open.delete(conn);
      if (metrics) {
        metrics.activeConnections--;
        metrics.closedConnections++;
      }
      this.#slotFree?.();
      this.#slotFree = null;
      if (this.#open.size === 0) this.#allClosed?.();
    }
  }

  /**
   * Completes the TLS handshake (within the header timeout) and, when ALPN chose `h2`, pipes the
   * connection into the HTTP/2 backend. Returns true when the connection has been dealt with.
   */
  async #serveH2IfNegotiated(conn: Deno.TlsConn, remote: Deno.NetAddr): Promise<boolean> {
    const deadline: Timed = {
      checkDeadlines: (now) => {
        if (now >= end) abandonHandshake(conn);
      },
    };
    const end = Date.now() + this.#ctx.limits.headerTimeoutMs;
    this.#watchdog.add(deadline);
    this.#handshaking.add(conn);
    let alpn: string | null;
    try {
      alpn = (await conn.handshake()).alpnProtocol;
    } catch {
      return true; // failed handshake or timeout: nothing to answer
    } finally {
      this.#watchdog.delete(deadline);
      this.#handshaking.delete(conn);
    }
    if (this.#closing) return true;
    if (alpn !== "h2" || this.#bridge === null) return false;
    await this.#bridge.pipe(conn, remote, (pipe) => {
      this.#watchdog.add(pipe);
      return () => this.#watchdog.delete(pipe);
    });
    return true;
  }

  /** Stops accepting; idle connections close now, busy ones after their response or grace. */
  async shutdown(graceMs: number): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      try {
        this.#listener.close();
      } catch {
        // already closed
      }
      this.#slotFree?.();
      for (const http1 of this.#open.values()) http1?.drain();
      for (const conn of this.#handshaking) abandonHandshake(conn);
      const allClosed = new Promise<void>((resolve) => {
        this.#allClosed = resolve;
        if (this.#open.size === 0) resolve();
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
      const bridgeDone = this.#bridge?.shutdown(graceMs) ?? Promise.resolve();
      await Promise.race([Promise.all([allClosed, bridgeDone]), grace]);
      clearTimeout(timer);
      for (const [conn, http1] of this.#open) {
        if (http1) http1.io.close();
        else {
          try {
            conn.close();
          } catch {
            // already closed
          }
        }
      }
      // closed connections finish their bookkeeping within a turn or two; do not hang on one
      let last: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([allClosed, new Promise((r) => last = setTimeout(r, 1000))]);
      clearTimeout(last);
      this.#resolveFinished();
    }
    await this.finished;
  }
}

/**
 * Gives up on a TLS connection in its handshake: closes the handle and, since Deno keeps the
 * socket of a pending handshake open, has the reaper shut the socket down where it can.
 */
function abandonHandshake(conn: Deno.TlsConn): void {
  let local: Deno.NetAddr | undefined;
  let remote: Deno.NetAddr | undefined;
  try {
    local = conn.localAddr as Deno.NetAddr;
    remote = conn.remoteAddr as Deno.NetAddr;
    conn.close();
  } catch {
    return; // already closed: its handshake has ended
  }
  reapSocket(local, remote);
}
