/**
 * HTTP/2 over TLS: the stream server owns the TLS listener and serves HTTP/1.x itself, and
 * connections whose ALPN chose `h2` are handed to `Deno.serve` (hyper's HTTP/2), which listens
 * on an ephemeral loopback port and reads cleartext HTTP/2 with prior knowledge (RFC 9113 §3.3).
 * Each such connection is piped both ways into a loopback connection of its own; the backend
 * maps the loopback peer port back to the real client for the app and the access log, and
 * refuses (403) loopback peers it did not open. A pipe with no byte in either direction for the
 * idle timeout is closed.
 *
 * @module
 */
import type { ResponseHook } from "../../log.ts";
import type { Metrics } from "../../metrics.ts";
import { serveDeno } from "../deno_serve.ts";
import type { FetchApp, ServerHandle } from "../types.ts";
import type { Timed } from "./watchdog.ts";

const LOOPBACK = "127.0.0.1";
const PIPE_CHUNK = 64 * 1024;

/** The HTTP/2 backend and the pipes into it. */
export class H2Bridge {
  readonly #backend: ServerHandle;
  /** Loopback port of our side of a pipe → the client it carries. */
  readonly #clients: Map<number, Deno.NetAddr>;
  readonly #pipes = new Set<H2Pipe>();
  readonly #idleMs: number;

  private constructor(backend: ServerHandle, clients: Map<number, Deno.NetAddr>, idleMs: number) {
    this.#backend = backend;
    this.#clients = clients;
    this.#idleMs = idleMs;
  }

  /** Starts the backend for `app`. */
  static async start(
    app: FetchApp,
    options: { metrics?: Metrics; onResponse?: ResponseHook; idleTimeoutMs: number },
  ): Promise<H2Bridge> {
    const clients = new Map<number, Deno.NetAddr>();
    const backend = await serveDeno(app, {
      hostname: LOOPBACK,
      port: 0,
      metrics: options.metrics,
      onResponse: options.onResponse,
      protocol: "HTTP/2.0",
      requireHost: false,
      clientOf: (peer) => peer.hostname === LOOPBACK ? clients.get(peer.port) ?? null : null,
    });
    return new H2Bridge(backend, clients, options.idleTimeoutMs);
  }

  /** Open pipes. */
  get size(): number {
    return this.#pipes.size;
  }

  /**
   * Pipes `conn` (TLS, ALPN h2) from `client` into the backend until either side ends; resolves
   * then. `track` registers the pipe's deadline with the server's watchdog.
   */
  async pipe(
    conn: Deno.Conn,
    client: Deno.NetAddr,
    track: (pipe: Timed) => () => void,
  ): Promise<void> {
    let inner: Deno.TcpConn;
    try {
      inner = await Deno.connect({ hostname: LOOPBACK, port: this.#backend.port });
    } catch {
      conn.close();
      return;
    }
    const port = (inner.localAddr as Deno.NetAddr).port;
    this.#clients.set(port, client);
    const pipe = new H2Pipe(conn, inner, this.#idleMs);
    this.#pipes.add(pipe);
    const untrack = track(pipe);
    try {
      await pipe.run();
    } finally {
      untrack();
      this.#pipes.delete(pipe);
      this.#clients.delete(port);
    }
  }

  /** Lets the backend finish in-flight streams for up to `graceMs`, then closes every pipe. */
  async shutdown(graceMs: number): Promise<void> {
    await this.#backend.shutdown(graceMs);
    for (const pipe of this.#pipes) pipe.close();
  }
}

/** One client connection piped both ways into one backend connection. */
class H2Pipe implements Timed {
  readonly #outer: Deno.Conn;
  readonly #inner: Deno.Conn;
  readonly #idleMs: number;
  #lastActivity = Date.now();
  #closed = false;

  constructor(outer: Deno.Conn, inner: Deno.Conn, idleMs: number) {
    this.#outer = outer;
    this.#inner = inner;
    this.#idleMs = idleMs;
  }

  checkDeadlines(now: number): void {
    if (this.#idleMs > 0 && now - this.#lastActivity >= this.#idleMs) this.close();
  }

  /** Copies both ways; when one direction ends the whole pipe is closed. */
  async run(): Promise<void> {
    await Promise.race([
      this.#copy(this.#outer, this.#inner),
      this.#copy(this.#inner, this.#outer),
    ]);
    this.close();
  }

  async #copy(from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(PIPE_CHUNK);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) return;
        this.#lastActivity = Date.now();
        let offset = 0;
        while (offset < n) offset += await to.write(buffer.subarray(offset, n));
        this.#lastActivity = Date.now();
      }
    } catch {
      // either side reset or closed
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of [this.#outer, this.#inner]) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }
}
