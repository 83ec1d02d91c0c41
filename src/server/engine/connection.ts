/**
 * One client connection of the zero-copy engine: reads request heads and bodies, runs the app,
 * writes responses (bytes with send, file slices with sendfile, streams with backpressure), and
 * closes on errors, timeouts and when asked.
 *
 * States: waiting for a head (`exchange === null`), one exchange in flight (request body being
 * read and/or response being written; pipelined bytes wait in the input buffer or the kernel,
 * RFC 9112 §9.3.2), lingering (write side shut down after a `Connection: close` response,
 * reading and dropping what the client still sends so it sees our response instead of a
 * reset), closed.
 *
 * fd numbers are reused as soon as they are closed, so every asynchronous continuation (app
 * response, stream chunk) checks that its exchange is still this connection's current one.
 *
 * @module
 */
import { errno, MAX_IO } from "../../../ffi/libc.ts";
import {
  EAGAIN,
  EINTR,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_WRONLY,
  SHUT_WR,
} from "../../../ffi/constants.ts";
import type { SocketAddress } from "../../../ffi/structs.ts";
import {
  CONTINUE_100,
  errorResponseBytes,
  LAST_CHUNK,
  parseRequestHead,
  peekRequestLine,
  type RequestHead,
  type RequestLine,
  requestUrl,
} from "../../http1/mod.ts";
import { type BodyPart, FileChangedError, isFileSlice } from "../../file_body.ts";
import {
  BodyAbortedError,
  BodyTimeoutError,
  type BodyToFileOptions,
  BodyTooLargeError,
} from "../../request_body.ts";
import { type EpollHandler, SyscallError } from "./loop.ts";
import { SPLICE_AGAIN, SPLICE_EOF } from "./splice.ts";
import type { OpenFile } from "./file_cache.ts";
import { type BodySource, BodyStream } from "./body_stream.ts";
import type { EngineContext } from "./context.ts";
import { Exchange } from "./exchange.ts";
import { createRequest } from "./request.ts";
import { writeLatin1 } from "./head_writer.ts";
import { planResponse, type ResponsePlan } from "./response_plan.ts";
import {
  bodyBytesSent,
  bytesSegment,
  chunkSegment,
  Seg,
  type Segment,
  type StreamSegment,
} from "./segments.ts";

/** Bytes of an unread request body the engine reads and drops to keep a connection alive. */
const MAX_DRAIN_BYTES = 256 * 1024;
/** How long a closing connection keeps reading (and dropping) before the final close. */
const LINGER_MS = 2_000;
/** Most bytes a lingering connection drops before closing anyway. */
const MAX_LINGER_BYTES = 1024 * 1024;
/** Free space kept when reading into a connection's own input buffer. */
const READ_RESERVE = 16 * 1024;

/** What the connection waits for when its deadline passes. */
type DeadlineKind = "header" | "idle" | "body" | "send" | "linger";

/** See the module documentation. */
export class Connection implements EpollHandler, BodySource {
  /** The socket is closed; nothing may use `fd` any more. */
  closed = false;
  /** Absolute deadline (ms since epoch) of the current wait, 0 for none. */
  deadline: number;
  /** What happens at the deadline. */
  deadlineKind: DeadlineKind = "header";
  #readable = true;
  #writable = true;
  #peerEof = false;
  #rdhup = false;
  #lingering = false;
  #lingerBytes = 0;
  #exchange: Exchange | null = null;
  #requests = 0;
  /** Unconsumed input (own copy: the shared read buffer is reused by every connection). */
  #in: Uint8Array | null = null;
  #inStart = 0;
  #inEnd = 0;
  readonly #out: Segment[] = [];
  #flushing = false;
  #flushDeferred = false;
  #driving = false;
  #driveAgain = false;
  #spliceIdleMs = 0;
  readonly #env: { remoteAddr: { hostname: string; port: number; transport: "tcp" } };

  /** Wraps the accepted socket `fd` from `remote`. */
  constructor(readonly fd: number, readonly remote: SocketAddress, readonly ctx: EngineContext) {
    this.deadline = ctx.now() + ctx.options.headerTimeoutMs;
    this.#env = { remoteAddr: { hostname: remote.hostname, port: remote.port, transport: "tcp" } };
  }

  /** True while no request is in progress and no input is buffered. */
  get idle(): boolean {
    return this.#exchange === null && this.#inEnd === this.#inStart;
  }

  /** epoll readiness. */
  onEpollEvent(events: number): void {
    if (this.closed) return;
    if ((events & (EPOLLERR | EPOLLHUP)) !== 0) {
      this.abort();
      return;
    }
    if ((events & EPOLLOUT) !== 0 && !this.#writable) {
      this.#writable = true;
      this.flush();
      if (this.closed) return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP)) !== 0) {
      // after the peer's FIN no new edge comes: reads must go on until they return 0
      if ((events & EPOLLRDHUP) !== 0) {
        this.#rdhup = true;
        // the client is gone (or half-closed) while the app works: tell the app, like Go's
        // request context; the response is still written if it comes
        const ex = this.#exchange;
        if (ex !== null && (ex.body === null || ex.body.complete)) {
          ex.signal?.abort(new BodyAbortedError(new Error("client closed the connection")));
        }
      }
      this.#readable = true;
      this.#drive();
    }
  }

  /** Called by the server's timer when `deadline` has passed. */
  onDeadline(): void {
    if (this.closed) return;
    const ex = this.#exchange;
    switch (this.deadlineKind) {
      case "header":
        // nothing received at all: no response is owed; else 408 (RFC 9110 §15.5.9)
        if (ex === null && this.#requests === 0 && this.#inEnd === this.#inStart) this.abort();
        else this.#sendError(408, "request head not received in time");
        return;
      case "body":
        ex?.body?.fail(new BodyTimeoutError(this.#bodyIdleMs()));
        if (ex !== null && !ex.responded) this.#sendError(408, "request body not received in time");
        else this.abort();
        return;
      default:
        this.abort();
    }
  }

  /** The server is shutting down: close now when idle, else after the current response. */
  drain(): void {
    if (this.closed) return;
    // a request may already wait in the socket: read it first (it is answered with close)
    if (this.idle && !this.#lingering) this.#drive();
    if (this.closed) return;
    // A connection that has not sent its first request yet (accepted in the final sweep before
    // the listener closed) keeps it: its request is answered, with close (header timeout and
    // the grace period still bound it). Idle keep-alive connections close now.
    if (this.idle && !this.#lingering && this.#requests > 0) this.abort();
    else if (this.#exchange !== null) this.#exchange.keepAlive = false;
  }

  // ---- input ----------------------------------------------------------------------------

  /** Reads and processes input while something wants it; re-entrant calls are folded in. */
  #drive(): void {
    if (this.#driving) {
      this.#driveAgain = true;
      return;
    }
    this.#driving = true;
    try {
      do {
        this.#driveAgain = false;
        this.#processBuffered();
        while (!this.closed && this.#readable && this.#wantsInput()) {
          const body = this.#exchange?.body;
          if (body?.splicing && this.#inEnd === this.#inStart) {
            if (!this.#spliceOnce(body)) break;
          } else if (!this.#readOnce()) break;
        }
      } while (this.#driveAgain && !this.closed);
    } finally {
      this.#driving = false;
    }
  }

  #wantsInput(): boolean {
    if (this.#lingering) return true;
    const ex = this.#exchange;
    if (ex === null) return true;
    return ex.body !== null && ex.body.wantsData;
  }

  /** One read(2); returns false when reading should stop (EAGAIN, EOF, error). */
  #readOnce(): boolean {
    const c = this.ctx.libc;
    let buf: Uint8Array;
    let n: number;
    const shared = this.#inEnd === this.#inStart || this.#lingering;
    if (shared) {
      buf = this.ctx.readBuf;
      n = c.read(this.fd, buf, this.ctx.readBufSize);
    } else {
      this.#reserveInput(READ_RESERVE);
      buf = this.#in!;
      n = c.read(this.fd, buf.subarray(this.#inEnd), BigInt(buf.byteLength - this.#inEnd));
    }
    if (n < 0) {
      const code = errno();
      if (code === EAGAIN) {
        this.#readable = false;
        return false;
      }
      if (code === EINTR) return true;
      this.abort();
      return false;
    }
    if (n === 0) {
      this.#readable = false;
      this.#onEof();
      return false;
    }
    // edge-triggered: a short read drained the socket, and bytes arriving later raise a new
    // edge; skipping the read that would only say EAGAIN saves a syscall per request
    if (!this.#rdhup && n < (shared ? this.ctx.readBuf.byteLength : buf.byteLength - this.#inEnd)) {
      this.#readable = false;
    }
    if (this.#lingering) {
      this.#lingerBytes += n;
      if (this.#lingerBytes > MAX_LINGER_BYTES) this.abort();
      return true;
    }
    if (shared) {
      const used = this.#process(buf, 0, n);
      if (used < n && !this.closed && !this.#lingering) this.#keepInput(buf, used, n);
    } else {
      this.#inEnd += n;
      this.#processBuffered();
    }
    return true;
  }

  #processBuffered(): void {
    if (this.#inEnd === this.#inStart || this.#in === null) return;
    const used = this.#process(this.#in, this.#inStart, this.#inEnd);
    // closing (abort, lingering) resets the buffer itself
    if (this.closed || this.#lingering) return;
    this.#inStart += used;
    if (this.#inStart === this.#inEnd) {
      this.#inStart = this.#inEnd = 0;
      // drop large buffers once empty; small ones are kept for the next request
      if (this.#in.byteLength > 65536) this.#in = null;
    }
  }

  #keepInput(buf: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (this.#in === null || this.#in.byteLength < n + READ_RESERVE) {
      this.#in = new Uint8Array(n + READ_RESERVE);
    }
    this.#in.set(buf.subarray(from, to), 0);
    this.#inStart = 0;
    this.#inEnd = n;
  }

  #reserveInput(space: number): void {
    let buf = this.#in!;
    if (buf.byteLength - this.#inEnd >= space) return;
    const data = this.#inEnd - this.#inStart;
    if (buf.byteLength - data < space) {
      const bigger = new Uint8Array(Math.max(buf.byteLength * 2, data + space));
      bigger.set(buf.subarray(this.#inStart, this.#inEnd), 0);
      this.#in = buf = bigger;
    } else buf.copyWithin(0, this.#inStart, this.#inEnd);
    this.#inStart = 0;
    this.#inEnd = data;
  }

  #onEof(): void {
    this.#peerEof = true;
    const ex = this.#exchange;
    if (this.#lingering || ex === null) {
      // between requests, mid-head, or done: nothing to answer
      this.abort();
      return;
    }
    if (ex.body !== null && !ex.body.complete) {
      ex.body.fail(new BodyAbortedError(new Error("client closed the connection mid-body")));
      this.abort();
      return;
    }
    // the client half-closed after a complete request: answer it, then close
    ex.keepAlive = false;
  }

  /** Processes `buf[start, end)`; returns how many bytes were consumed. */
  #process(buf: Uint8Array, start: number, end: number): number {
    let p = start;
    while (p < end && !this.closed && !this.#lingering) {
      const ex = this.#exchange;
      if (ex === null) {
        if (this.deadlineKind === "idle") {
          this.deadlineKind = "header";
          this.deadline = this.ctx.now() + this.ctx.options.headerTimeoutMs;
        }
        const result = parseRequestHead(buf, p, end, this.ctx.limits);
        if (result.kind === "incomplete") break;
        if (result.kind === "error") {
          this.#sendError(result.status, result.reason, peekRequestLine(buf, p, end));
          return end - start;
        }
        p = result.headEnd;
        this.#startExchange(result.head);
        continue;
      }
      const body = ex.body;
      if (body === null || body.done || !body.wantsData) break;
      try {
        p += body.feed(buf, p, end);
      } catch (error) {
        const status = error instanceof BodyTooLargeError ? 413 : 400;
        body.fail(error instanceof Error ? error : new Error(String(error)));
        if (!ex.responded) this.#sendError(status, "bad request body");
        else this.abort();
        return end - start;
      }
      if (body.done) this.#onBodyDone(ex);
      else this.deadline = this.ctx.now() + this.#bodyIdleMs();
    }
    return p - start;
  }

  // ---- exchanges --------------------------------------------------------------------------

  #startExchange(head: RequestHead): void {
    const ctx = this.ctx;
    const ex = new Exchange(head);
    this.#exchange = ex;
    this.deadline = 0;
    // one URL for every consumer: never an empty authority, path as sent (RFC 9112 §3.2-§3.3)
    const url = requestUrl(head.requestTarget, head.host, ctx.localHost);
    const length = head.contentLength ?? 0;
    if (head.chunked || length > 0) {
      if (length > ctx.options.maxBodyBytes) {
        this.#sendError(413, "request body too large");
        return;
      }
      ex.body = new BodyStream(
        this,
        head.chunked ? -1 : length,
        ctx.options.maxBodyBytes,
        head.expectContinue,
      );
      this.deadlineKind = "body";
      this.deadline = ctx.now() + ctx.options.bodyTimeoutMs;
    }
    const request = createRequest({
      method: head.method,
      url,
      headers: head.headers,
      body: ex.body === null ? null : ex.body.stream,
      signal: () => (ex.signal ??= this.#newSignal()).signal,
    });
    let result: Response | Promise<Response>;
    try {
      result = ctx.app.fetch(request, this.#env);
    } catch (error) {
      this.#appFailed(ex, error);
      return;
    }
    if (result instanceof Response) {
      // without a request body nothing can happen to the exchange before the batch ends, so
      // the response joins the batch's writes (see EpollLoop.afterEvents); with one it goes
      // now, before more body bytes are read, as the keep-alive decision expects
      const response = result;
      if (ex.body === null) ctx.loop.afterEvents(() => this.#respondSafely(ex, response));
      else this.#respondSafely(ex, response);
    } else {
      ctx.pendingJs++;
      Promise.resolve(result).then(
        (response) => {
          ctx.pendingJs--;
          this.#respondSafely(ex, response);
        },
        (error) => {
          ctx.pendingJs--;
          this.#appFailed(ex, error);
        },
      );
    }
  }

  /** The request's abort signal, already aborted when the client has gone. */
  #newSignal(): AbortController {
    const controller = new AbortController();
    if (this.closed || this.#rdhup) {
      controller.abort(new BodyAbortedError(new Error("client closed the connection")));
    }
    return controller;
  }

  #appFailed(ex: Exchange, error: unknown): void {
    if (this.#exchange !== ex || this.closed) return;
    this.ctx.onError(error);
    if (!ex.responded) this.#sendError(500, "");
    else this.abort();
  }

  /**
   * {@linkcode #respond}, never throwing: it runs in promise callbacks, where an exception
   * would be an unhandled rejection and end the process.
   */
  #respondSafely(ex: Exchange, response: Response): void {
    try {
      this.#respond(ex, response);
    } catch (error) {
      this.ctx.onError(error);
      if (this.#exchange === ex) this.abort();
    }
  }

  /** Writes `response` for `ex` (if `ex` is still current). */
  #respond(ex: Exchange, response: Response): void {
    if (this.#exchange !== ex || this.closed || ex.responded) {
      if (response instanceof Response && response.body !== null && !response.body.locked) {
        response.body.cancel().catch(() => {});
      }
      return;
    }
    if (!(response instanceof Response)) {
      this.#appFailed(ex, new TypeError("the app did not return a Response"));
      return;
    }
    const body = ex.body;
    if (body !== null && !body.complete) {
      // the app answered before the whole request body arrived (RFC 9110 §10.1.1, RFC 9112
      // §9.3): keep the connection only if the rest is small enough to read and drop
      const rest = body.remaining;
      if (body.done || body.continuePending || rest < 0 || rest > MAX_DRAIN_BYTES) {
        ex.keepAlive = false;
      }
    }
    if (this.ctx.draining) ex.keepAlive = false;
    let plan: ResponsePlan;
    try {
      plan = planResponse(response, {
        method: ex.head!.method,
        versionMinor: ex.head!.versionMinor,
        keepAlive: ex.keepAlive,
      });
    } catch (error) {
      this.#appFailed(ex, error);
      return;
    }
    ex.responded = true;
    ex.status = plan.status;
    ex.keepAlive = plan.keepAlive;
    this.ctx.metrics?.countRequest(plan.status);
    this.#queueResponse(ex, plan);
  }

  /** Queues head and body of `plan`, then writes as much as the socket takes. */
  #queueResponse(ex: Exchange, plan: ResponsePlan): void {
    const staging = this.ctx.staging;
    const head = plan.head;
    // the head goes into the staging buffer, followed by small bodies: one send for both
    let used = typeof head === "string" ? writeLatin1(head, staging, 0) : head.byteLength;
    if (typeof head !== "string") {
      if (used <= staging.byteLength) staging.set(head, 0);
      else used = -1;
    }
    if (used < 0) {
      // a head larger than the staging buffer (absurd app headers) goes on its own
      const bytes = typeof head === "string" ? latin1Copy(head) : head;
      this.#out.push(bytesSegment(bytes, bytes.byteLength, "copy"));
      used = 0;
    }
    const headLength = used;
    const staged = () => {
      if (used > 0) {
        this.#out.push(bytesSegment(staging.subarray(0, used), headLength, "copy", true));
      }
      used = 0;
    };
    const bytes = plan.bytes;
    if (bytes !== null) {
      if (typeof bytes === "string") {
        const room = staging.subarray(used);
        const result = this.ctx.encoder.encodeInto(bytes, room);
        if (result.read === bytes.length) used += result.written;
        else {
          staged();
          this.#out.push(bytesSegment(this.ctx.encoder.encode(bytes), 0, "copy"));
        }
      } else if (used + bytes.byteLength <= staging.byteLength) {
        staging.set(bytes, used);
        used += bytes.byteLength;
      } else {
        staged();
        this.#out.push(bytesSegment(bytes, 0, "copy"));
      }
    } else if (plan.fileBody !== null) {
      if (!this.#queueFileParts(ex, plan.fileBody.parts, used, used)) return;
      used = 0;
    } else if (plan.stream !== null) {
      staged();
      this.#out.push({
        kind: Seg.Stream,
        reader: plan.stream.getReader(),
        chunked: plan.chunked,
        remaining: plan.streamLength,
        reading: false,
      });
    }
    staged();
    this.flush();
  }

  /**
   * Queues the parts of a file body after the head (staging[0, used), body bytes from
   * `bodyStart`). A body of at most `preadThreshold` bytes is read with pread(2) into the staging
   * buffer, so head and body leave in one send; larger slices go out with sendfile after the
   * head. Returns false when the connection was closed instead (file missing or truncated).
   */
  #queueFileParts(
    ex: Exchange,
    parts: readonly BodyPart[],
    used: number,
    bodyStart: number,
  ): boolean {
    const ctx = this.ctx;
    const staging = ctx.staging;
    let total = 0;
    for (const part of parts) total += isFileSlice(part) ? part.length : part.byteLength;
    const preadAll = total <= ctx.options.preadThreshold && used + total <= staging.byteLength;
    // staging[base, used) is not queued yet; only a first segment may stay a view of the shared
    // staging buffer (flush copies what it could not send), later ones are copies
    let base = 0;
    const pushStaged = () => {
      if (used === base) return;
      const shared = base === 0 && this.#out.length === 0;
      const buf = shared ? staging.subarray(0, used) : staging.slice(base, used);
      this.#out.push(bytesSegment(buf, Math.max(0, bodyStart - base), "copy", shared));
      base = used;
    };
    for (const part of parts) {
      if (!isFileSlice(part)) {
        if (part.byteLength === 0) continue;
        if (used + part.byteLength <= staging.byteLength) {
          staging.set(part, used);
          used += part.byteLength;
        } else {
          pushStaged();
          this.#out.push(bytesSegment(part, 0, "copy"));
        }
        continue;
      }
      if (part.length === 0) continue;
      let file: OpenFile;
      try {
        file = ctx.files.acquire(part.path, part.identity, ctx.now());
      } catch (error) {
        // the file vanished or was replaced after the app's stat; the head promised bytes that do
        // not exist (a replacement is an expected race with live ingest: the client retries)
        if (!(error instanceof FileChangedError)) ctx.onError(error);
        this.#out.length = 0;
        this.abort();
        return false;
      }
      ex.files.push(file);
      if (preadAll) {
        const n = ctx.libc.pread(
          file.fd,
          staging.subarray(used, used + part.length),
          BigInt(part.length),
          BigInt(part.offset),
        );
        if (n !== part.length) {
          // truncated file: the head promised bytes that do not exist any more
          this.#out.length = 0;
          this.abort();
          return false;
        }
        used += n;
        continue;
      }
      pushStaged();
      this.#out.push({ kind: Seg.File, file, pos: part.offset, end: part.offset + part.length });
    }
    pushStaged();
    return true;
  }

  // ---- output -----------------------------------------------------------------------------

  /** Writes queued segments until done, EAGAIN, or this turn's chunk budget is spent. */
  flush(): void {
    if (this.#flushing || this.closed) return;
    this.#flushing = true;
    let finished: boolean;
    try {
      finished = this.#flushSegments();
    } finally {
      this.#flushing = false;
    }
    // bytes left in the shared staging buffer must be copied before anyone else uses it
    const first = this.#out[0];
    if (first !== undefined && first.kind === Seg.Bytes && first.shared) {
      first.buf = first.buf.slice(first.off);
      first.bodyStart = Math.max(0, first.bodyStart - first.off);
      first.bodyEnd -= first.off;
      first.off = 0;
      first.shared = false;
    }
    // outside the flushing guard: finishing may start the next (pipelined) response at once
    const ex = this.#exchange;
    if (finished && ex !== null && !this.closed) this.#onResponseWritten(ex);
  }

  /** Returns true when the current response has been written completely. */
  #flushSegments(): boolean {
    const ctx = this.ctx;
    const c = ctx.libc;
    const metrics = ctx.metrics;
    let budget = ctx.options.sendfileMaxChunk;
    while (!this.closed) {
      const seg = this.#out[0];
      if (seg === undefined) {
        const ex = this.#exchange;
        return ex !== null && ex.responded && !ex.written;
      }
      if (!this.#writable) return false;
      if (budget <= 0) {
        this.#deferFlush();
        return false;
      }
      if (seg.kind === Seg.Bytes) {
        const len = seg.buf.byteLength - seg.off;
        // No MSG_MORE before a sendfile: measured on loopback (Linux 6.18), send(head,
        // MSG_MORE) + sendfile(64 KiB) took ~80 µs in sendfile against ~20 µs when the head goes
        // out on its own (likely the head pushing the skb past the 64 KiB GSO limit), so 64 KiB
        // ranges ran at half the rate. TCP_CORK is avoided too (40 ms delayed-ACK stalls). Small
        // bodies share the head's packet through the pread path instead.
        const n = c.send(
          this.fd,
          seg.off === 0 ? seg.buf : seg.buf.subarray(seg.off),
          BigInt(len),
          0,
        );
        if (n < 0) {
          if (!this.#writeFailed()) return false;
          continue;
        }
        const body = bodyBytesSent(seg, n);
        if (body > 0) {
          this.#exchange!.bytes += body;
          if (metrics) metrics.bytesSent[seg.path] += body;
        }
        seg.off += n;
        budget -= n;
        if (seg.off === seg.buf.byteLength) this.#out.shift();
        this.#progress();
      } else if (seg.kind === Seg.File) {
        const want = Math.min(seg.end - seg.pos, budget, MAX_IO);
        ctx.offset[0] = BigInt(seg.pos);
        const n = c.sendfile(this.fd, seg.file.fd, ctx.offsetBytes, BigInt(want));
        if (metrics) metrics.sendfileCalls++;
        if (n < 0) {
          if (!this.#writeFailed()) return false;
          continue;
        }
        if (n === 0) {
          // the file is shorter than the slice the head promised: the response cannot be
          // completed, so the connection is closed (the client sees a short body, not a hang)
          this.abort();
          return false;
        }
        seg.pos += n;
        budget -= n;
        this.#exchange!.bytes += n;
        if (metrics) metrics.bytesSent.sendfile += n;
        if (seg.pos === seg.end) this.#out.shift();
        this.#progress();
      } else {
        if (!seg.reading) this.#readStream(seg);
        return false;
      }
    }
    return false;
  }

  /** Handles a failed send/sendfile; returns true to retry (EINTR). */
  #writeFailed(): boolean {
    const code = errno();
    if (code === EAGAIN) {
      this.#writable = false;
      if (this.ctx.metrics) this.ctx.metrics.eagainWaits++;
      this.deadlineKind = "send";
      this.deadline = this.ctx.now() + this.ctx.options.sendTimeoutMs;
      return false;
    }
    if (code === EINTR) return true;
    // EPIPE, ECONNRESET...: the client is gone
    this.abort();
    return false;
  }

  #progress(): void {
    if (this.deadlineKind === "send") {
      this.deadline = this.ctx.now() + this.ctx.options.sendTimeoutMs;
    }
  }

  #deferFlush(): void {
    if (this.#flushDeferred) return;
    this.#flushDeferred = true;
    this.ctx.loop.defer(() => {
      this.#flushDeferred = false;
      this.flush();
    });
  }

  /** Reads the next chunk of a response stream; the chunk is queued before the stream. */
  #readStream(seg: StreamSegment): void {
    const ex = this.#exchange!;
    const ctx = this.ctx;
    seg.reading = true;
    ctx.pendingJs++;
    seg.reader.read().then(
      (result) => {
        ctx.pendingJs--;
        seg.reading = false;
        if (this.closed || this.#exchange !== ex || this.#out[0] !== seg) {
          seg.reader.cancel().catch(() => {});
          return;
        }
        try {
          if (result.done) this.#endStream(ex, seg);
          else this.#queueChunk(ex, seg, result.value);
          if (!this.closed) this.flush();
        } catch (error) {
          // e.g. a chunk whose buffer was detached: the response cannot be completed
          this.ctx.onError(error);
          this.abort();
        }
      },
      (error) => {
        ctx.pendingJs--;
        seg.reading = false;
        if (this.closed || this.#exchange !== ex) return;
        // the body broke after the head was sent: the response cannot be completed
        this.ctx.onError(error);
        this.abort();
      },
    );
  }

  #endStream(ex: Exchange, seg: StreamSegment): void {
    this.#out.shift();
    if (seg.chunked) this.#out.unshift(bytesSegment(LAST_CHUNK, LAST_CHUNK.byteLength, "stream"));
    else if (seg.remaining > 0) {
      // the stream ended before the Content-Length the app promised
      ex.keepAlive = false;
      this.abort();
    }
  }

  #queueChunk(ex: Exchange, seg: StreamSegment, value: unknown): void {
    let data: Uint8Array;
    if (value instanceof Uint8Array) data = value;
    else if (typeof value === "string") data = this.ctx.encoder.encode(value);
    else {
      this.ctx.onError(new TypeError("response stream chunk is not a Uint8Array"));
      seg.reader.cancel().catch(() => {});
      this.abort();
      return;
    }
    if (data.byteLength === 0) return;
    if (seg.remaining >= 0) {
      if (data.byteLength >= seg.remaining) {
        if (data.byteLength > seg.remaining) {
          // more than the promised Content-Length: send what was promised, then close
          data = data.subarray(0, seg.remaining);
          ex.keepAlive = false;
        }
        this.#out.shift();
        seg.reader.cancel().catch(() => {});
      }
      seg.remaining -= data.byteLength;
      this.#out.unshift(bytesSegment(data, 0, "stream"));
    } else if (seg.chunked) this.#out.unshift(chunkSegment(data));
    else this.#out.unshift(bytesSegment(data, 0, "stream"));
  }

  /** The whole response is written. */
  #onResponseWritten(ex: Exchange): void {
    ex.written = true;
    this.#log(ex);
    this.#releaseFiles(ex);
    if (this.deadlineKind === "send") this.deadline = 0;
    const body = ex.body;
    if (!ex.keepAlive || this.#peerEof) {
      body?.fail(new BodyAbortedError(new Error("connection closed")));
      this.#closeGracefully();
      return;
    }
    if (body !== null && !body.complete) {
      if (body.done) {
        // failed mid-body: where the next request would start is unknown
        this.#closeGracefully();
        return;
      }
      // the rest of the body is read and dropped unless the app is still reading it
      if (!body.stream.locked) body.discarding = true;
      this.deadlineKind = "body";
      this.deadline = this.ctx.now() + this.ctx.options.bodyTimeoutMs;
      this.#drive();
      return;
    }
    this.#nextExchange();
  }

  #onBodyDone(ex: Exchange): void {
    if (ex.written) {
      if (ex.body?.complete) this.#nextExchange();
      else this.#closeGracefully();
    } else if (this.deadlineKind === "body") this.deadline = 0;
  }

  #nextExchange(): void {
    this.#exchange = null;
    this.#requests++;
    if (this.ctx.draining) {
      this.#closeGracefully();
      return;
    }
    this.deadlineKind = "idle";
    this.deadline = this.ctx.now() + this.ctx.options.keepAliveTimeoutMs;
    // pipelined requests already buffered, then the socket
    this.#drive();
  }

  // ---- request body source ------------------------------------------------------------------

  /** The app asked for body bytes. */
  onBodyPull(body: BodyStream): void {
    const ex = this.#exchange;
    if (this.closed || ex === null || ex.body !== body) {
      body.fail(new BodyAbortedError(new Error("connection closed")));
      return;
    }
    if (body.continuePending) {
      body.continuePending = false;
      // RFC 9110 §10.1.1: the client waits for this before sending the body
      if (!ex.responded) {
        this.#out.push(bytesSegment(CONTINUE_100, CONTINUE_100.byteLength, "copy"));
        this.flush();
      }
    }
    this.deadlineKind = "body";
    this.deadline = this.ctx.now() + this.ctx.options.bodyTimeoutMs;
    this.#drive();
  }

  /** The app cancelled the body: drop the rest. */
  onBodyCancel(body: BodyStream): void {
    if (this.closed || this.#exchange?.body !== body) return;
    this.#drive();
  }

  /** Idle time allowed between body bytes: the app's for a splice, else the engine's. */
  #bodyIdleMs(): number {
    const body = this.#exchange?.body;
    return body?.splicing && this.#spliceIdleMs > 0
      ? this.#spliceIdleMs
      : this.ctx.options.bodyTimeoutMs;
  }

  /** The app wants the body in a new file at `path` (SpliceableBody). */
  onSpliceToFile(body: BodyStream, path: string, options: BodyToFileOptions): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const ex = this.#exchange;
      if (this.closed || ex === null || ex.body !== body || body.done) {
        reject(new BodyAbortedError(new Error("connection closed")));
        return;
      }
      const c = this.ctx.libc;
      const fd = c.open(encodePath(path), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644);
      if (fd < 0) {
        reject(new SyscallError(`open ${path}`, errno()));
        return;
      }
      body.beginFile(fd, options.maxBytes, resolve, reject);
      this.#spliceIdleMs = options.idleTimeoutMs;
      if (body.continuePending) {
        body.continuePending = false;
        this.#out.push(bytesSegment(CONTINUE_100, CONTINUE_100.byteLength, "copy"));
        this.flush();
      }
      this.deadlineKind = "body";
      this.deadline = this.ctx.now() + this.#spliceIdleMs;
      this.#drive();
    });
  }

  /**
   * Moves body bytes socket → pipe → file. Content-Length bodies splice what remains; chunked
   * bodies splice the rest of the current chunk and read framing (and whatever follows it) the
   * ordinary way. Returns false when reading should stop.
   */
  #spliceOnce(body: BodyStream): boolean {
    const decoder = body.decoder;
    const max = decoder === null ? body.remaining : decoder.payloadRemainingInChunk;
    if (max <= 0) return this.#readOnce(); // chunk framing: parsed in JS
    const splicer = this.ctx.splicer();
    const calls = splicer.calls;
    let n: number;
    try {
      n = splicer.step(this.fd, body.fileFd, max);
    } catch (error) {
      const socketSide = error instanceof SyscallError && error.call.startsWith("splice(socket");
      body.fail(socketSide ? new BodyAbortedError(error) : error as Error);
      if (socketSide) this.abort();
      return false;
    } finally {
      if (this.ctx.metrics) this.ctx.metrics.spliceCalls += splicer.calls - calls;
    }
    if (n === SPLICE_AGAIN) {
      this.#readable = false;
      return false;
    }
    if (n === SPLICE_EOF) {
      this.#readable = false;
      this.#onEof();
      return false;
    }
    try {
      body.spliced(n);
    } catch (error) {
      body.fail(error as Error);
      return false;
    }
    this.deadline = this.ctx.now() + this.#bodyIdleMs();
    if (body.done) this.#onBodyDone(this.#exchange!);
    return true;
  }

  // ---- closing ------------------------------------------------------------------------------

  /**
   * Sends a complete error response and closes after it; `line` is the request line of a head
   * the codec rejected (read from the buffered input when not given).
   */
  #sendError(status: number, reason: string, line?: RequestLine | null): void {
    let ex = this.#exchange;
    if (ex !== null && ex.responded) {
      this.abort();
      return;
    }
    if (ex === null) {
      // a rejected head: its request line, as far as it came, for the log and for HEAD
      line ??= this.#in === null ? null : peekRequestLine(this.#in, this.#inStart, this.#inEnd);
      ex = new Exchange(null, line);
      this.#exchange = ex;
    }
    ex.body?.fail(new BodyAbortedError(new Error(`request failed with ${status}`)));
    ex.responded = true;
    ex.keepAlive = false;
    ex.status = status;
    this.ctx.metrics?.countRequest(status);
    this.#out.length = 0;
    const bytes = errorResponseBytes(status, reason, ex.method === "HEAD");
    let headEnd = 0;
    while (headEnd + 3 < bytes.length && !(bytes[headEnd] === 13 && bytes[headEnd + 3] === 10)) {
      headEnd++;
    }
    this.#out.push(bytesSegment(bytes, headEnd + 4, "copy"));
    this.deadlineKind = "send";
    this.deadline = this.ctx.now() + this.ctx.options.sendTimeoutMs;
    this.flush();
  }

  /** Shuts down the write side, then reads and drops input for a while before closing. */
  #closeGracefully(): void {
    if (this.closed) return;
    if (this.#peerEof) {
      this.abort();
      return;
    }
    this.ctx.libc.shutdown(this.fd, SHUT_WR);
    this.#lingering = true;
    this.#exchange = null;
    this.#inStart = this.#inEnd = 0;
    this.deadlineKind = "linger";
    this.deadline = this.ctx.now() + LINGER_MS;
    this.#drive();
  }

  /** Closes the socket now and releases everything the connection holds. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    const ex = this.#exchange;
    this.#exchange = null;
    this.ctx.loop.forget(this.fd);
    this.ctx.libc.close(this.fd);
    if (ex !== null) {
      ex.body?.fail(new BodyAbortedError(new Error("connection closed")));
      ex.signal?.abort(new BodyAbortedError(new Error("client disconnected")));
      if (ex.responded && !ex.written) this.#log(ex);
      this.#releaseFiles(ex);
    }
    for (const seg of this.#out) {
      if (seg.kind === Seg.Stream) seg.reader.cancel().catch(() => {});
    }
    this.#out.length = 0;
    this.#in = null;
    this.ctx.onClosed(this);
  }

  #releaseFiles(ex: Exchange): void {
    for (const file of ex.files) this.ctx.files.release(file);
    ex.files.length = 0;
  }

  #log(ex: Exchange): void {
    const hook = this.ctx.onResponse;
    if (hook === undefined) return;
    const head = ex.head;
    const line = ex.line;
    try {
      hook({
        remoteAddr: this.remote.hostname,
        method: head?.method ?? line?.method ?? "-",
        target: head?.target ?? line?.target ?? "-",
        protocol: head !== null
          ? (head.versionMinor === 0 ? "HTTP/1.0" : "HTTP/1.1")
          : line?.protocol ?? "-",
        status: ex.status,
        bytes: ex.bytes,
        referer: ex.header("referer"),
        userAgent: ex.header("user-agent"),
      });
    } catch (error) {
      this.ctx.onError(error);
    }
  }
}

/** `text` as latin1 bytes in a buffer of its own. */
function latin1Copy(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

const pathEncoder = new TextEncoder();

/** A NUL-terminated path for open(2). */
function encodePath(path: string): Uint8Array {
  return pathEncoder.encode(path + "\0");
}
