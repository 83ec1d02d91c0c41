/**
 * One client connection of the zero-copy engine: it coordinates the pipeline units — input
 * ({@link ./input_buffer.ts}), deadlines ({@link ./deadlines.ts}, one table of transitions), the
 * exchange with the app ({@link ./app_bridge.ts}), output planning ({@link ./response_plan.ts},
 * {@link ./output_plan.ts}, {@link ./stream_output.ts}), the send chain
 * ({@link ./send_chain.ts}) and the upload sink ({@link ./upload_sink.ts}) — and keeps what
 * ties them together: reading the socket, keep-alive, errors, lingering close and the access
 * log.
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
import { errno } from "../../../ffi/libc.ts";
import {
  EAGAIN,
  EINTR,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  SHUT_WR,
} from "../../../ffi/constants.ts";
import type { SocketAddress } from "../../../ffi/structs.ts";
import {
  CONTINUE_100,
  errorResponseBytes,
  parseRequestHead,
  peekRequestLine,
  type RequestHead,
  type RequestLine,
} from "../../http1/mod.ts";
import { FileChangedError, type FileIdentity } from "../../file_body.ts";
import { statsMayHaveChanged } from "../../media/stat.ts";
import {
  BodyAbortedError,
  BodyTimeoutError,
  type BodyToFileOptions,
  BodyTooLargeError,
} from "../../request_body.ts";
import type { EpollHandler } from "./loop.ts";
import { type BodySource, BodyStream } from "./body_stream.ts";
import type { EngineContext } from "./context.ts";
import { Deadline } from "./deadlines.ts";
import { Exchange } from "./exchange.ts";
import { InputBuffer, READ_RESERVE } from "./input_buffer.ts";
import { type OutputDeps, queueBody, writeHead } from "./output_plan.ts";
import type { ResponsePlan } from "./response_plan.ts";
import { type BridgeHost, dispatch } from "./app_bridge.ts";
import { libcSendIO, sendChain, SendResult, type SendSink } from "./send_chain.ts";
import { bytesSegment, Seg, type Segment, type StreamSegment } from "./segments.ts";
import { StreamStep, takeStreamResult } from "./stream_output.ts";
import { openUploadFile, spliceStep, UploadStep } from "./upload_sink.ts";
import type { OpenFile } from "./file_cache.ts";

/** How long a closing connection keeps reading (and dropping) before the final close. */
const LINGER_MS = 2_000;
/** Times a response is answered again when its file changed before anything was queued. */
const MAX_FILE_RETRIES = 2;
/** Most bytes a lingering connection drops before closing anyway. */
const MAX_LINGER_BYTES = 1024 * 1024;

/** See the module documentation. */
export class Connection implements EpollHandler, BodySource, SendSink, OutputDeps, BridgeHost {
  /** The socket is closed; nothing may use `fd` any more. */
  closed = false;
  /** What the connection waits for, and until when (one table of transitions). */
  readonly wait: Deadline;
  #readable = true;
  #writable = true;
  #peerEof = false;
  #rdhup = false;
  #lingering = false;
  #lingerBytes = 0;
  #exchange: Exchange | null = null;
  #requests = 0;
  /** Unconsumed input (own copy: the shared read buffer is reused by every connection). */
  readonly #in = new InputBuffer();
  readonly #out: Segment[] = [];
  #flushing = false;
  #flushDeferred = false;
  #driving = false;
  #driveAgain = false;
  #spliceIdleMs = 0;
  /** A file changed under the response being queued (set by acquire, read by sendPlan). */
  #fileChanged = false;
  readonly #env: { remoteAddr: { hostname: string; port: number; transport: "tcp" } };

  /** Wraps the accepted socket `fd` from `remote`. */
  constructor(readonly fd: number, readonly remote: SocketAddress, readonly ctx: EngineContext) {
    const o = ctx.options;
    this.wait = new Deadline({
      header: o.headerTimeoutMs,
      idle: o.keepAliveTimeoutMs,
      body: o.bodyTimeoutMs,
      send: o.sendTimeoutMs,
      linger: LINGER_MS,
    }, () => ctx.now());
    this.wait.on("accepted");
    this.#env = { remoteAddr: { hostname: remote.hostname, port: remote.port, transport: "tcp" } };
  }

  /** Absolute deadline (ms since epoch) of the current wait, 0 for none. */
  get deadline(): number {
    return this.wait.at;
  }

  /** True while no request is in progress and no input is buffered. */
  get idle(): boolean {
    return this.#exchange === null && this.#in.empty;
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
    switch (this.wait.kind) {
      case "header":
        // nothing received at all: no response is owed; else 408 (RFC 9110 §15.5.9)
        if (ex === null && this.#requests === 0 && this.#in.empty) this.abort();
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
          if (body?.splicing && this.#in.empty) {
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
    const shared = this.#in.empty || this.#lingering;
    if (shared) {
      buf = this.ctx.readBuf;
      n = c.read(this.fd, buf, this.ctx.readBufSize);
    } else {
      buf = this.#in.room(READ_RESERVE);
      n = c.read(this.fd, buf, BigInt(buf.byteLength));
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
    // stats shared by the requests answered so far predate these bytes (src/media/stat.ts)
    statsMayHaveChanged();
    // edge-triggered: a short read drained the socket, and bytes arriving later raise a new
    // edge; skipping the read that would only say EAGAIN saves a syscall per request
    if (!this.#rdhup && n < buf.byteLength) this.#readable = false;
    if (this.#lingering) {
      this.#lingerBytes += n;
      if (this.#lingerBytes > MAX_LINGER_BYTES) this.abort();
      return true;
    }
    if (shared) {
      const used = this.#process(buf, 0, n);
      if (used < n && !this.closed && !this.#lingering) this.#in.keep(buf, used, n);
    } else {
      this.#in.appended(n);
      this.#processBuffered();
    }
    return true;
  }

  #processBuffered(): void {
    const input = this.#in;
    if (input.empty || input.buf === null) return;
    const used = this.#process(input.buf, input.start, input.end);
    // closing (abort, lingering) resets the buffer itself
    if (this.closed || this.#lingering) return;
    input.consumed(used);
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
        this.wait.on("head-bytes");
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
      else this.wait.on("body-progress", this.#bodyIdleMs());
    }
    return p - start;
  }

  // ---- exchange: the bridge to the app ------------------------------------------------------

  #startExchange(head: RequestHead): void {
    const ctx = this.ctx;
    const ex = new Exchange(head, null, ctx.onResponse !== undefined);
    this.#exchange = ex;
    this.wait.on("exchange");
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
      this.wait.on("body-wait");
    }
    dispatch(this, ex);
  }

  // ---- BridgeHost ----------------------------------------------------------------------------

  /** `env` for `app.fetch`. */
  get env(): { remoteAddr: { hostname: string; port: number; transport: "tcp" } } {
    return this.#env;
  }

  /** True while `ex` is the current exchange and the socket is open. */
  isCurrent(ex: Exchange): boolean {
    return this.#exchange === ex && !this.closed;
  }

  /** The client closed or half-closed its side. */
  get clientGone(): boolean {
    return this.closed || this.#rdhup;
  }

  /** The app failed for `ex`: a 500 when nothing was sent yet, else close. */
  appFailed(ex: Exchange, error: unknown): void {
    if (this.#exchange !== ex || this.closed) return;
    this.ctx.onError(error);
    if (!ex.responded) this.#sendError(500, "");
    else this.abort();
  }

  /** Closes the connection if `ex` is still its exchange. */
  abortFor(ex: Exchange): void {
    if (this.#exchange === ex) this.abort();
  }

  /** Writes the head of `plan`, queues its body and flushes; a bad head is a 500. */
  sendPlan(ex: Exchange, plan: ResponsePlan): void {
    let head: number | Uint8Array;
    try {
      head = writeHead(this, plan);
    } catch (error) {
      // an invalid field name or value (header injection) or status
      if (plan.stream !== null) plan.stream.cancel().catch(() => {});
      this.appFailed(ex, error);
      return;
    }
    const mark = this.#out.length;
    this.#fileChanged = false;
    let used = 0;
    if (typeof head === "number") used = head;
    else this.#out.push(bytesSegment(head, head.byteLength, "copy"));
    const queued = queueBody(this, plan, used, this.#out, ex.files);
    if (!queued && this.#fileChanged && this.#answerAgain(ex, mark)) return;
    ex.responded = true;
    ex.status = plan.status;
    ex.keepAlive = plan.keepAlive;
    this.ctx.metrics?.countRequest(plan.status);
    if (!queued) {
      this.abort();
      return;
    }
    this.flush();
  }

  /**
   * A file was replaced between the app's stat and its open here (a live playlist renamed into
   * place). Nothing of this response has been sent (its segments start at `mark` in the output
   * queue), so a body-less request is dropped from the queue and answered again from the new
   * version instead of cutting the connection; false when it cannot be.
   */
  #answerAgain(ex: Exchange, mark: number): boolean {
    if (ex.body !== null || ex.head === null || ex.retries >= MAX_FILE_RETRIES) return false;
    this.#out.length = mark;
    for (const file of ex.files) this.ctx.files.release(file);
    ex.files.length = 0;
    ex.retries++;
    dispatch(this, ex);
    return true;
  }

  // ---- output planning dependencies (OutputDeps) -------------------------------------------

  /** Shared staging buffer. */
  get staging(): Uint8Array {
    return this.ctx.staging;
  }

  /** UTF-8 encoder. */
  get encoder(): TextEncoder {
    return this.ctx.encoder;
  }

  /** Bodies up to this many bytes leave with the head. */
  get preadThreshold(): number {
    return this.ctx.options.preadThreshold;
  }

  /** An open file for a slice, from the server's cache. */
  acquire(part: { path: string; identity: FileIdentity }): OpenFile {
    try {
      return this.ctx.files.acquire(part.path, part.identity, this.ctx.now());
    } catch (error) {
      // seen by sendPlan, which may answer the request again (see #answerAgain) from a fresh stat
      if (error instanceof FileChangedError) {
        this.#fileChanged = true;
        statsMayHaveChanged();
      }
      throw error;
    }
  }

  /** pread(2) of `buf.byteLength` bytes at `offset`. */
  pread(fd: number, buf: Uint8Array, offset: number): number {
    return this.ctx.libc.pread(fd, buf, BigInt(buf.byteLength), BigInt(offset));
  }

  /** Reports an unexpected error. */
  onError(error: unknown): void {
    this.ctx.onError(error);
  }

  // ---- output -----------------------------------------------------------------------------

  /** Writes queued segments until done, EAGAIN, or this turn's chunk budget is spent. */
  flush(): void {
    if (this.#flushing || this.closed) return;
    this.#flushing = true;
    let finished = false;
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

  /** Runs the send chain; returns true when the current response has been written completely. */
  #flushSegments(): boolean {
    if (this.closed) return false;
    if (!this.#writable) return this.#out.length === 0 && this.#responseComplete();
    const result = sendChain(
      libcSendIO(),
      this.fd,
      this.#out,
      this.ctx.options.sendfileMaxChunk,
      this,
    );
    switch (result) {
      case SendResult.Done:
        return this.#responseComplete();
      case SendResult.Again:
        this.#writable = false;
        if (this.ctx.metrics) this.ctx.metrics.eagainWaits++;
        this.wait.on("sending");
        return false;
      case SendResult.Budget:
        this.#deferFlush();
        return false;
      case SendResult.Stream: {
        const seg = this.#out[0] as StreamSegment;
        if (!seg.reading) this.#readStream(seg);
        return false;
      }
      default:
        // the peer is gone, or the file is shorter than the slice the head promised: the
        // response cannot be completed (the client sees a short body, not a hang)
        this.abort();
        return false;
    }
  }

  #responseComplete(): boolean {
    const ex = this.#exchange;
    return ex !== null && ex.responded && !ex.written;
  }

  /** SendSink: body bytes left. */
  bodySent(n: number, path: "copy" | "stream" | "sendfile"): void {
    this.#exchange!.bytes += n;
    const metrics = this.ctx.metrics;
    if (metrics) metrics.bytesSent[path] += n;
  }

  /** SendSink: a sendfile call was made. */
  sendfileCalled(): void {
    if (this.ctx.metrics) this.ctx.metrics.sendfileCalls++;
  }

  /** SendSink: bytes left. */
  progressed(): void {
    this.wait.on("send-progress");
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
          const step = takeStreamResult(this.#out, seg, result, ctx.encoder);
          if (step === StreamStep.Overlong) ex.keepAlive = false;
          else if (step !== StreamStep.Queued) {
            if (step === StreamStep.NotBytes) {
              ctx.onError(new TypeError("response stream chunk is not a Uint8Array"));
            }
            ex.keepAlive = false;
            this.abort();
            return;
          }
          this.flush();
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

  // ---- keep-alive ---------------------------------------------------------------------------

  /** The whole response is written. */
  #onResponseWritten(ex: Exchange): void {
    ex.written = true;
    this.#log(ex);
    this.#releaseFiles(ex);
    this.wait.on("written");
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
      this.wait.on("body-wait");
      this.#drive();
      return;
    }
    this.#nextExchange();
  }

  #onBodyDone(ex: Exchange): void {
    if (ex.written) {
      if (ex.body?.complete) this.#nextExchange();
      else this.#closeGracefully();
    } else this.wait.on("body-done");
  }

  #nextExchange(): void {
    this.#exchange = null;
    this.#requests++;
    if (this.ctx.draining) {
      this.#closeGracefully();
      return;
    }
    this.wait.on("keep-alive");
    // pipelined requests already buffered, then the socket
    this.#drive();
  }

  // ---- request body source and upload sink ----------------------------------------------------

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
    this.wait.on("body-wait");
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
      let fd: number;
      try {
        fd = openUploadFile(this.ctx.libc, path);
      } catch (error) {
        reject(error);
        return;
      }
      body.beginFile(fd, options.maxBytes, resolve, reject);
      this.#spliceIdleMs = options.idleTimeoutMs;
      if (body.continuePending) {
        body.continuePending = false;
        this.#out.push(bytesSegment(CONTINUE_100, CONTINUE_100.byteLength, "copy"));
        this.flush();
      }
      this.wait.on("body-wait", this.#spliceIdleMs);
      this.#drive();
    });
  }

  /** One splice step of an upload; returns false when reading should stop. */
  #spliceOnce(body: BodyStream): boolean {
    const metrics = this.ctx.metrics;
    const step = spliceStep(this.ctx.splicer(), this.fd, body, (calls) => {
      if (metrics) metrics.spliceCalls += calls;
    });
    switch (step) {
      case UploadStep.Framing:
        return this.#readOnce(); // chunk framing: parsed in JS
      case UploadStep.Again:
        this.#readable = false;
        return false;
      case UploadStep.Eof:
        this.#readable = false;
        this.#onEof();
        return false;
      case UploadStep.SocketFailed:
        this.abort();
        return false;
      case UploadStep.BodyFailed:
        return false;
    }
    this.wait.on("body-progress", this.#bodyIdleMs());
    if (body.done) this.#onBodyDone(this.#exchange!);
    return true;
  }

  // ---- errors, linger, logging ---------------------------------------------------------------

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
      const input = this.#in;
      line ??= input.buf === null ? null : peekRequestLine(input.buf, input.start, input.end);
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
    this.wait.on("sending");
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
    this.#in.clear();
    this.wait.on("linger");
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
    this.#in.release();
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
        durationMs: performance.now() - ex.start,
        engine: "zero-copy",
        range: ex.header("range"),
        forwardedFor: ex.header("x-forwarded-for"),
      });
    } catch (error) {
      this.ctx.onError(error);
    }
  }
}
