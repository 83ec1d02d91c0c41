/**
 * Serves HTTP/1.0 and HTTP/1.1 on one `Deno.Conn` (TCP, or TLS after ALPN chose `http/1.1`)
 * with the project's codec (`src/http1/`): requests are parsed and validated exactly as on the
 * zero-copy engine (RFC 9112: Host rules of §3.2, framing and smuggling guards of §6, keep-alive
 * of §9.3), answered in order, and every response is written through {@linkcode writeResponse}.
 *
 * What this fixes compared with `Deno.serve`: a request whose body has been received is always
 * handed to the app and answered, even when the client has already closed its side (a client may
 * half-close after its request, RFC 9112 §9.6); the access log and metrics count the body bytes
 * really written and the protocol version the client spoke.
 *
 * @module
 */
import { respondWithOpenFiles } from "../../file_body.ts";
import { fileBodyOf } from "../engine/response_internals.ts";
import {
  errorResponseBytes,
  parseRequestHead,
  peekRequestLine,
  type RequestHead,
  type RequestLine,
  requestUrl as targetUrl,
  serializeResponseHead,
} from "../../http1/mod.ts";
import type { CodecLimits } from "../../http1/limits.ts";
import type { ResponseHook } from "../../log.ts";
import type { Metrics } from "../../metrics.ts";
import { BodyAbortedError, BodyTooLargeError } from "../../request_body.ts";
import { createRequest } from "../engine/request.ts";
import { planResponse } from "../engine/response_plan.ts";
import type { FetchApp, ServerEnv } from "../types.ts";
import { ConnIo } from "./conn_io.ts";
import type { ResolvedStreamLimits } from "./options.ts";
import { RequestBody } from "./request_body.ts";
import { writeResponse } from "./response_writer.ts";

/** What a connection shares with its server. */
export interface Http1Context {
  /** The app. */
  readonly app: FetchApp;
  /** `http` or `https`, for the request URL. */
  readonly scheme: "http" | "https";
  /** `host:port` of the listener, the authority of HTTP/1.0 requests without Host. */
  readonly localAuthority: string;
  /** Limits and timeouts. */
  readonly limits: ResolvedStreamLimits;
  /** The same limits in the codec's shape. */
  readonly codecLimits: CodecLimits;
  /** Counters, if any. */
  readonly metrics?: Metrics;
  /** The access log, if any. */
  readonly onResponse?: ResponseHook;
  /** Reports an app or server error (logged to stderr). */
  readonly onError: (error: unknown) => void;
}

/** How long a closing connection's input is read and dropped (as on the zero-copy engine). */
const LINGER_MS = 2_000;
/** Most input bytes dropped while lingering. */
const MAX_LINGER_BYTES = 1024 * 1024;

/** Bytes of the read buffer: a whole head fits (the codec caps it at maxHeaderBytes). */
function bufferSize(limits: ResolvedStreamLimits): number {
  return Math.max(limits.maxHeaderBytes, limits.maxRequestLineBytes) + 16 * 1024;
}

/** One HTTP/1.x connection. */
export class Http1Connection {
  /** The connection's I/O (the server's watchdog enforces its deadlines). */
  readonly io: ConnIo;
  readonly #ctx: Http1Context;
  readonly #env: ServerEnv;
  /** Waiting for the next request with nothing buffered: shutdown may close at once. */
  #idle = true;
  #draining = false;
  /** When the current request head was complete (`performance.now()`; 0: none yet). */
  #started = 0;

  /** Wraps `conn` from `remoteAddr`. */
  constructor(conn: Deno.Conn, remoteAddr: Deno.NetAddr, ctx: Http1Context) {
    this.#ctx = ctx;
    this.io = new ConnIo(conn, bufferSize(ctx.limits), ctx.limits.sendTimeoutMs);
    this.#env = { remoteAddr: { hostname: remoteAddr.hostname, port: remoteAddr.port } };
  }

  /** Shutdown: close now when idle, else after the current response. */
  drain(): void {
    this.#draining = true;
    if (this.#idle) this.io.close();
  }

  /** Serves requests until the connection ends; never throws. */
  async serve(): Promise<void> {
    const io = this.io;
    const limits = this.#ctx.limits;
    try {
      let first = true;
      while (!io.closed && !this.#draining) {
        // RFC 9112 §9.5 (idle timeout) and slowloris: the head must arrive within the header
        // timeout from accept or from its first byte; between requests the keep-alive timeout.
        this.#idle = io.buffered === 0;
        if (first || !this.#idle) this.#expectHead();
        else io.readDeadline(limits.keepAliveTimeoutMs);
        first = false;
        let parsed = io.buffered > 0
          ? parseRequestHead(io.buf, io.start, io.end, this.#ctx.codecLimits)
          : null;
        while (parsed === null || parsed.kind === "incomplete") {
          if (!(await io.fill())) {
            io.readDeadline(0);
            return; // EOF, reset or timeout (408 already sent) before a whole head
          }
          if (this.#idle) {
            this.#idle = false;
            this.#expectHead();
          }
          parsed = parseRequestHead(io.buf, io.start, io.end, this.#ctx.codecLimits);
        }
        io.readDeadline(0);
        this.#idle = false;
        this.#started = performance.now();
        if (parsed.kind === "error") {
          await this.#fail(parsed.status, parsed.reason, null);
          return;
        }
        io.start = parsed.headEnd;
        if (!(await this.#exchange(parsed.head))) return;
      }
    } catch (error) {
      this.#ctx.onError(error);
    } finally {
      await this.#linger();
      io.close();
    }
  }

  /**
   * Before closing a connection the client may still be sending on (an unread request body, a
   * pipelined request), shut down our sending side and read and drop its input for a while:
   * closing with unread input would make the kernel send a reset, which can destroy the response
   * before the client has read it (the "lingering close" of RFC 9112 §9.6).
   */
  async #linger(): Promise<void> {
    const io = this.io;
    if (io.closed || io.eof) return;
    try {
      await io.conn.closeWrite();
    } catch {
      return;
    }
    io.readDeadline(LINGER_MS);
    const sink = new Uint8Array(64 * 1024);
    let dropped = 0;
    while (dropped <= MAX_LINGER_BYTES) {
      const n = await io.read(sink);
      if (n === null) break;
      dropped += n;
    }
    io.readDeadline(0);
  }

  /** Read deadline for a request head: 408 and close when it passes. */
  #expectHead(): void {
    this.io.readDeadline(this.#ctx.limits.headerTimeoutMs, () => {
      if (this.#idle) this.io.close();
      else void this.#fail(408, "request head not received in time", null, true);
    });
  }

  /**
   * Sends an error response after which the connection must end (RFC 9112 §9.3: framing is
   * unknown after it); `close` closes at once, else the caller ends the connection (lingering).
   */
  async #fail(
    status: number,
    reason: string,
    head: RequestHead | null,
    close = false,
  ): Promise<void> {
    // a rejected head: its request line, as far as it came, for the log and for HEAD
    const line = head === null ? peekRequestLine(this.io.buf, this.io.start, this.io.end) : null;
    const method = head?.method ?? line?.method;
    const bytes = errorResponseBytes(status, reason, method === "HEAD");
    let bodyBytes = 0;
    try {
      await this.io.write(bytes);
      bodyBytes = bytes.byteLength - headLength(bytes);
      this.#ctx.metrics && (this.#ctx.metrics.bytesSent.stream += bodyBytes);
    } catch {
      // the client is gone
    }
    this.#finish(head, status, bodyBytes, line);
    if (close) this.io.close();
  }

  /** Answers one request; true when the connection may carry another. */
  async #exchange(head: RequestHead): Promise<boolean> {
    const ctx = this.#ctx;
    const io = this.io;
    const url = requestUrl(ctx.scheme, head, ctx.localAuthority);
    const length = head.contentLength ?? 0;
    let body: RequestBody | null = null;
    if (head.chunked || length > 0) {
      if (length > ctx.limits.maxBodyBytes) {
        await this.#fail(413, "request body too large", head);
        return false;
      }
      body = new RequestBody(io, {
        length: head.chunked ? -1 : length,
        maxBytes: ctx.limits.maxBodyBytes,
        expectContinue: head.expectContinue,
        idleTimeoutMs: ctx.limits.bodyTimeoutMs,
      });
    }
    const abort = new AbortController();
    const withBody = body !== null && head.method !== "GET" && head.method !== "HEAD";
    // The engine's lazy Request: `url` is the target as sent (a real Request would normalise
    // "/a/../b" before the app's path checks could see it), the rest is built on demand.
    const request = createRequest({
      method: head.method,
      url,
      headers: head.headers,
      body: withBody ? body!.stream : null,
      signal: () => abort.signal,
    });

    let response: Response;
    try {
      // file bodies are opened before the head goes out: a file replaced since the app's stat
      // (a live playlist) gets a fresh answer instead of a response cut off after its head
      response = await respondWithOpenFiles(
        head.method,
        () => ctx.app.fetch(request, this.#env),
        fileBodyOf,
      );
      if (!(response instanceof Response)) throw new TypeError("the app did not return a Response");
    } catch (error) {
      abort.abort(error);
      // an app that gives up on a broken request body has not failed itself (as on the engine)
      if (body?.failed) {
        const tooLarge = body.error instanceof BodyTooLargeError;
        await this.#fail(
          tooLarge ? 413 : 400,
          tooLarge && body.framingStatus === 0 ? "request body too large" : "bad request body",
          head,
        );
        return false;
      }
      ctx.onError(error);
      await this.#fail(500, "", head);
      return false;
    }

    if (body !== null && body.framingStatus !== 0) {
      // a malformed or oversized chunked body is answered by the server whatever the app made of
      // it, as on the zero-copy engine (RFC 9112 §7.1: the framing, not the app, failed)
      response.body?.cancel().catch(() => {});
      await this.#fail(body.framingStatus, "bad request body", head);
      return false;
    }
    // The connection is reused only when the request body has been read to its end: otherwise
    // where the next request starts is unknown (RFC 9112 §9.3).
    const bodyOk = body === null || (body.done && !body.failed && !body.reading);
    // A Content-Length body the app never touched is read and dropped after the response, so the
    // connection goes on (as on the zero-copy engine, and nginx). Not after `Expect:
    // 100-continue`: the client may be waiting for a 100 that must not follow a final answer.
    const discard = body !== null && !bodyOk && !head.chunked && !head.expectContinue &&
      !body.failed && !body.reading && !body.stream.locked;
    let plan;
    let headBytes: Uint8Array;
    try {
      plan = planResponse(response, {
        method: head.method,
        versionMinor: head.versionMinor,
        keepAlive: head.keepAlive && (bodyOk || discard) && !this.#draining && !io.eof,
      });
      // the one head serializer; an invalid field (header injection) throws: 500
      headBytes = serializeResponseHead(plan.status, plan.fields, plan.head);
    } catch (error) {
      ctx.onError(error);
      response.body?.cancel().catch(() => {});
      await this.#fail(500, "", head);
      return false;
    }
    const metrics = ctx.metrics;
    const outcome = await writeResponse(io, plan, headBytes, (n) => {
      if (metrics) metrics.bytesSent.stream += n;
    });
    if (!outcome.complete) abort.abort(new BodyAbortedError(new Error("response not delivered")));
    this.#finish(head, plan.status, outcome.bytes);
    if (!outcome.complete || !plan.keepAlive) return false;
    return discard ? await body!.discard() : true;
  }

  /** Counts and logs one answered (or abandoned) request. */
  #finish(
    head: RequestHead | null,
    status: number,
    bytes: number,
    line: RequestLine | null = null,
  ): void {
    const ctx = this.#ctx;
    ctx.metrics?.countRequest(status);
    const hook = ctx.onResponse;
    if (hook === undefined) return;
    try {
      hook({
        remoteAddr: this.#env.remoteAddr.hostname,
        method: head?.method ?? line?.method ?? "-",
        target: head?.target ?? line?.target ?? "-",
        protocol: head !== null
          ? (head.versionMinor === 0 ? "HTTP/1.0" : "HTTP/1.1")
          : line?.protocol ?? "-",
        status,
        bytes,
        referer: head === null ? null : field(head, "referer"),
        userAgent: head === null ? null : field(head, "user-agent"),
        durationMs: this.#started === 0 ? 0 : performance.now() - this.#started,
        engine: "stream",
        range: head === null ? null : field(head, "range"),
        forwardedFor: head === null ? null : field(head, "x-forwarded-for"),
      });
      this.#started = 0;
    } catch (error) {
      ctx.onError(error);
    }
  }
}

/** The first value of header `name` (lower-case). */
function field(head: RequestHead, name: string): string | null {
  for (const [n, v] of head.headers) if (n === name) return v;
  return null;
}

/** Length of the head of an error response built by errorResponseBytes. */
function headLength(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) {
      return i + 1;
    }
  }
  return bytes.length;
}

/**
 * The absolute URL of a request (RFC 9112 §3.3), built by the codec's one URL builder, as on the
 * zero-copy engine: the target's own authority (absolute- and authority-form), else the Host,
 * else the listener's address; `*` maps to `/*`.
 */
export function requestUrl(
  scheme: "http" | "https",
  head: RequestHead,
  localAuthority: string,
): string {
  return targetUrl(head.requestTarget, head.host, localAuthority, scheme);
}
