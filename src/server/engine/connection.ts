/**
 * One client connection of the zero-copy engine: reads request heads and bodies, runs the app,
 * writes responses (bytes with send, file slices with sendfile, streams with backpressure), and
 * closes on errors, timeouts and when asked.
 *
 * States: waiting for a head (`exchange === null`), one exchange in flight (request body being
 * read and/or response being written; pipelined bytes wait in the input buffer or the kernel),
 * lingering (write side shut down after a `Connection: close` response, reading and dropping
 * what the client still sends so it sees our response instead of a reset), closed.
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
  MSG_MORE,
  SHUT_WR,
} from "../../../ffi/constants.ts";
import type { SocketAddress } from "../../../ffi/structs.ts";
import { type BodyPart, type FileBody, isFileBody, isFileSlice } from "../../file_body.ts";
import { BodyTooLargeError } from "../../request_body.ts";
import type { EpollHandler } from "./loop.ts";
import type { OpenFile } from "./file_cache.ts";
import { type BodySource, BodyStream } from "./body_stream.ts";
import { type ShimHead, shimParseHead } from "./http1_shim.ts";
import { createRequest } from "./request.ts";
import { encodeHead, errorResponse, Framing, serializeHead } from "./response_head.ts";
import { headerList, staticBody } from "./response_internals.ts";
import type { EngineContext } from "./context.ts";

/** Bytes of an unread request body the engine reads and drops to keep a connection alive. */
const MAX_DRAIN_BYTES = 256 * 1024;
/** How long a closing connection keeps reading (and dropping) before the final close. */
const LINGER_MS = 2_000;
/** Most bytes a lingering connection drops before closing anyway. */
const MAX_LINGER_BYTES = 1024 * 1024;

const enum Seg {
  Bytes,
  File,
  Stream,
}

interface BytesSegment {
  readonly kind: Seg.Bytes;
  buf: Uint8Array;
  off: number;
  /** Offset in `buf` where body bytes start (bytes before are the head or chunk framing). */
  bodyStart: number;
  /** Offset in `buf` where body bytes end (bytes after are chunk framing). */
  bodyEnd: number;
  /** Metrics bucket of the body bytes. */
  readonly path: "copy" | "stream";
  /** `buf` is the shared staging buffer: copy what is left after the first write attempt. */
  shared: boolean;
}

interface FileSegment {
  readonly kind: Seg.File;
  readonly file: OpenFile;
  pos: number;
  readonly end: number;
}

interface StreamSegment {
  readonly kind: Seg.Stream;
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly chunked: boolean;
  /** Body bytes still allowed for a Content-Length response (-1 when not length-framed). */
  remaining: number;
  reading: boolean;
}

type Segment = BytesSegment | FileSegment | StreamSegment;

/** One request/response exchange. */
class Exchange {
  body: BodyStream | null = null;
  status = 0;
  /** Body bytes written so far. */
  bytes = 0;
  /** Keep the connection open after this exchange. */
  keepAlive: boolean;
  responded = false;
  written = false;
  signal: AbortController | null = null;
  /** Files acquired for this response, released when it ends. */
  files: OpenFile[] = [];

  constructor(readonly head: ShimHead) {
    this.keepAlive = head.keepAlive;
  }
}

/** See the module documentation. */
export class Connection implements EpollHandler, BodySource {
  closed = false;
  /** Absolute deadline (ms since epoch) of the current wait, 0 for none. */
  deadline: number;
  /** What happens at the deadline. */
  deadlineKind: "header" | "idle" | "body" | "send" | "linger" = "header";
  #readable = true;
  #writable = true;
  #peerEof = false;
  #lingering = false;
  #lingerBytes = 0;
  #exchange: Exchange | null = null;
  #requests = 0;
  /** Unconsumed input (own copy; the shared read buffer is reused by every connection). */
  #in: Uint8Array | null = null;
  #inStart = 0;
  #inEnd = 0;
  #out: Segment[] = [];
  #flushing = false;
  #flushDeferred = false;
  #driving = false;
  #driveAgain = false;
  #env: { remoteAddr: { hostname: string; port: number; transport: "tcp" } };

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
    if (Deno.env.get("ZC_DEBUG")) console.log("event", this.fd, events.toString(16));
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
        if (ex === null && this.#requests === 0 && this.#inEnd === this.#inStart) {
          // nothing received at all: no response is owed
          this.abort();
        } else this.#sendError(408);
        return;
      case "body":
        if (ex !== null) ex.body?.fail(new Error("request body timeout"));
        if (ex !== null && !ex.responded) this.#sendError(408);
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
    if (this.idle && !this.#lingering) this.abort();
    else if (this.#exchange !== null) this.#exchange.keepAlive = false;
  }

  // ---- input ----------------------------------------------------------------------------

  /** Reads and processes input while there is something that wants it. */
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
          if (!this.#readOnce()) break;
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
    let start: number;
    let n: number;
    const buffered = this.#inEnd - this.#inStart;
    if (buffered === 0 || this.#lingering) {
      buf = this.ctx.readBuf;
      start = 0;
      n = c.read(this.fd, buf, this.ctx.readBufSize);
    } else {
      this.#reserveInput(4096);
      buf = this.#in!;
      start = this.#inEnd;
      n = c.read(this.fd, buf.subarray(start), BigInt(buf.byteLength - start));
    }
    if (Deno.env.get("ZC_DEBUG")) console.log("read", this.fd, n, n < 0 ? errno() : 0);
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
    if (this.#lingering) {
      this.#lingerBytes += n;
      if (this.#lingerBytes > MAX_LINGER_BYTES) this.abort();
      return true;
    }
    if (buf === this.ctx.readBuf) {
      const used = this.#process(buf, 0, n);
      if (used < n && !this.closed) this.#keepInput(buf, used, n);
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
    if (this.#in === null || this.#in.byteLength < n) {
      this.#in = new Uint8Array(Math.max(n + 4096, 16384));
    }
    this.#in.set(buf.subarray(from, to), 0);
    this.#inStart = 0;
    this.#inEnd = n;
  }

  #reserveInput(space: number): void {
    const data = this.#inEnd - this.#inStart;
    let buf = this.#in!;
    if (buf.byteLength - this.#inEnd >= space) return;
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
    if (this.#lingering) {
      this.abort();
      return;
    }
    const ex = this.#exchange;
    if (ex === null) {
      // between requests (or mid-head): nothing to answer
      this.abort();
      return;
    }
    if (ex.body !== null && !ex.body.done) {
      ex.body.fail(new Error("client closed the connection before the request body ended"));
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
        const result = shimParseHead(buf, p, end, this.ctx.limits);
        if (result.kind === "incomplete") break;
        if (result.kind === "error") {
          this.#sendError(result.status);
          return end - start;
        }
        p += result.consumed;
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
        if (!ex.responded) this.#sendError(status);
        else this.abort();
        return end - start;
      }
      this.deadline = this.ctx.now() + this.ctx.options.bodyTimeoutMs;
      if (body.done) this.#onBodyDone(ex);
    }
    return p - start;
  }

  // ---- exchanges --------------------------------------------------------------------------

  #startExchange(head: ShimHead): void {
    const ctx = this.ctx;
    const ex = new Exchange(head);
    this.#exchange = ex;
    this.deadline = 0;
    let host: string | null = null;
    let hosts = 0;
    const headers = head.headers;
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] === "host") {
        host = headers[i + 1];
        hosts++;
      }
    }
    // RFC 9112 §3.2: a missing (HTTP/1.1), repeated or invalid Host is a 400
    if (hosts > 1 || (host === null && head.minor === 1) || (host !== null && !validHost(host))) {
      this.#sendError(400);
      return;
    }
    const target = head.target;
    let url: string;
    if (target.charCodeAt(0) === 0x2f) url = `http://${host ?? ctx.localHost}${target}`;
    else if (/^https?:\/\/[^/?#]+/i.test(target)) url = target;
    else if (target === "*" && head.method === "OPTIONS") url = `http://${host ?? ctx.localHost}/*`;
    else {
      this.#sendError(400);
      return;
    }
    if (head.chunked || head.contentLength > 0) {
      if (head.contentLength > ctx.options.maxBodyBytes) {
        this.#sendError(413);
        return;
      }
      ex.body = new BodyStream(
        this,
        head.chunked ? -1 : head.contentLength,
        ctx.options.maxBodyBytes,
        head.expectContinue,
      );
      this.deadlineKind = "body";
      this.deadline = ctx.now() + ctx.options.bodyTimeoutMs;
    }
    const request = createRequest({
      method: head.method,
      url,
      headers,
      body: ex.body === null ? null : ex.body.stream,
      signal: () => (ex.signal ??= new AbortController()).signal,
    });
    let result: Response | Promise<Response>;
    try {
      result = ctx.app.fetch(request, this.#env);
    } catch (error) {
      this.#appFailed(ex, error);
      return;
    }
    if (result instanceof Response) this.#respond(ex, result);
    else {
      Promise.resolve(result).then(
        (response) => this.#respond(ex, response),
        (error) => this.#appFailed(ex, error),
      );
    }
  }

  #appFailed(ex: Exchange, error: unknown): void {
    if (this.#exchange !== ex || this.closed) return;
    this.ctx.onError(error);
    if (!ex.responded) this.#sendError(500);
    else this.abort();
  }

  /** Writes `response` for `ex` (if `ex` is still current). */
  #respond(ex: Exchange, response: Response): void {
    if (this.#exchange !== ex || this.closed || ex.responded) {
      cancelBody(response);
      return;
    }
    if (!(response instanceof Response)) {
      this.#appFailed(ex, new TypeError("the app did not return a Response"));
      return;
    }
    ex.responded = true;
    const ctx = this.ctx;
    const head = ex.head;
    const status = response.status;
    ex.status = status;
    const isHead = head.method === "HEAD";
    const bodyless = status < 200 || status === 204 || status === 304;
    const list = headerList(response);
    let appLength = -1;
    let appClose = false;
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const name = list[i][0];
        if (name.length === 14 && name.toLowerCase() === "content-length") {
          appLength = parseLength(list[i][1]);
        } else if (name.length === 10 && name.toLowerCase() === "connection") {
          appClose = /(^|,)\s*close\s*(,|$)/i.test(list[i][1]);
        }
      }
    } else {
      const cl = response.headers.get("content-length");
      if (cl !== null) appLength = parseLength(cl);
      appClose = /(^|,)\s*close\s*(,|$)/i.test(response.headers.get("connection") ?? "");
    }
    let staticBytes = staticBody(response);
    let fileBody: FileBody | null = null;
    let stream: ReadableStream<Uint8Array> | null = null;
    if (staticBytes === undefined) {
      const body = response.body;
      if (body === null) staticBytes = null;
      else if (isFileBody(body)) fileBody = body;
      else stream = body;
    }
    if (typeof staticBytes === "string") staticBytes = ctx.encoder.encode(staticBytes);
    const knownLength = staticBytes !== undefined
      ? (staticBytes === null ? 0 : staticBytes.byteLength)
      : fileBody !== null
      ? fileBody.byteLength
      : -1;
    let framing: Framing;
    let length = 0;
    if (bodyless) framing = Framing.None;
    else if (isHead) {
      // Hono answers HEAD with `new Response(null, getResponse)`: only the app's own
      // Content-Length describes the GET body; a null body says nothing about it
      length = appLength >= 0 ? appLength : staticBytes === null ? -1 : knownLength;
      framing = length >= 0 ? Framing.Length : Framing.None;
    } else if (knownLength >= 0) {
      framing = Framing.Length;
      length = knownLength;
    } else if (appLength >= 0) {
      framing = Framing.Length;
      length = appLength;
    } else framing = head.minor === 1 ? Framing.Chunked : Framing.Close;
    const body = ex.body;
    if (body !== null && !body.done) {
      // the app answered before the whole request body arrived (RFC 9110 §10.1.1 / RFC 9112
      // §9.3): keep the connection only if the rest is small enough to read and drop
      const rest = body.remaining;
      if (body.continuePending || rest < 0 || rest > MAX_DRAIN_BYTES) ex.keepAlive = false;
    }
    if (framing === Framing.Close || appClose || ctx.draining) ex.keepAlive = false;
    const sendBody = !isHead && !bodyless;
    if (!sendBody) {
      if (stream !== null) stream.cancel().catch(() => {});
      stream = null;
      fileBody = null;
      staticBytes = null;
    }
    const headText = serializeHead(
      status,
      list ?? response.headers,
      framing,
      length,
      ex.keepAlive,
      head.minor === 0,
      ctx.now(),
    );
    ctx.metrics?.countRequest(status);
    this.#writeResponse(ex, headText, staticBytes ?? null, fileBody, stream, framing, length);
  }

  #writeResponse(
    ex: Exchange,
    headText: string,
    bytes: Uint8Array | null,
    fileBody: FileBody | null,
    stream: ReadableStream<Uint8Array> | null,
    framing: Framing,
    length: number,
  ): void {
    const ctx = this.ctx;
    const staging = ctx.staging;
    const headLen = headText.length;
    if (headLen > staging.byteLength) {
      // absurd app headers: write the head on its own
      this.#out.push(bytesSegment(latin1Bytes(headText), headLen, "copy", false));
    } else encodeHead(headText, staging, 0);
    let used = headLen > staging.byteLength ? 0 : headLen;
    const pushStaging = () => {
      if (used > 0) this.#out.push(bytesSegment(staging.subarray(0, used), headLen, "copy", true));
      used = 0;
    };
    if (bytes !== null && bytes.byteLength > 0) {
      if (used > 0 && used + bytes.byteLength <= staging.byteLength) {
        staging.set(bytes, used);
        used += bytes.byteLength;
      } else {
        pushStaging();
        this.#out.push(bytesSegment(bytes, 0, "copy", false));
      }
    } else if (fileBody !== null) {
      if (!this.#planFileBody(ex, fileBody.parts, used, headLen)) return;
      used = 0;
    } else if (stream !== null) {
      pushStaging();
      this.#out.push({
        kind: Seg.Stream,
        reader: stream.getReader(),
        chunked: framing === Framing.Chunked,
        remaining: framing === Framing.Length ? length : -1,
        reading: false,
      });
    }
    pushStaging();
    this.flush();
  }

  /**
   * Queues the parts of a file body after the head (already in staging[0, used)). Small bodies
   * are read with pread into the staging buffer so head and body leave in one send; larger
   * slices go out with sendfile. Returns false when the connection was closed (open failed...).
   */
  #planFileBody(ex: Exchange, parts: readonly BodyPart[], used: number, headLen: number): boolean {
    const ctx = this.ctx;
    const staging = ctx.staging;
    let total = 0;
    for (const part of parts) total += isFileSlice(part) ? part.length : part.byteLength;
    const preadAll = total <= ctx.options.preadThreshold && used + total <= staging.byteLength;
    let stagingBody = 0;
    for (const part of parts) {
      if (!isFileSlice(part)) {
        if (part.byteLength === 0) continue;
        if (used + part.byteLength <= staging.byteLength) {
          staging.set(part, used);
          used += part.byteLength;
          stagingBody += part.byteLength;
        } else {
          if (used > 0) {
            this.#out.push(bytesSegment(staging.slice(0, used), used - stagingBody, "copy", false));
          }
          used = 0;
          stagingBody = 0;
          this.#out.push(bytesSegment(part, 0, "copy", false));
        }
        continue;
      }
      if (part.length === 0) continue;
      let file: OpenFile;
      try {
        file = ctx.files.acquire(part.path, part.identity, ctx.now());
      } catch (error) {
        // the file vanished between the app's stat and now: the head is not sent yet
        ctx.onError(error);
        this.#out.length = 0;
        this.#sendError(ex.responded && used === 0 ? 500 : 500);
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
          // truncated (or unreadable) file: nothing is sent yet, but the head promised bytes
          this.#out.length = 0;
          this.abort();
          return false;
        }
        used += n;
        stagingBody += n;
        continue;
      }
      if (used > 0) {
        const shared = this.#out.length === 0;
        this.#out.push(
          bytesSegment(
            shared ? staging.subarray(0, used) : staging.slice(0, used),
            used - stagingBody,
            "copy",
            shared,
          ),
        );
        used = 0;
        stagingBody = 0;
      }
      this.#out.push({ kind: Seg.File, file, pos: part.offset, end: part.offset + part.length });
    }
    if (used > 0) {
      const shared = this.#out.length === 0;
      this.#out.push(
        bytesSegment(
          shared ? staging.subarray(0, used) : staging.slice(0, used),
          used - stagingBody,
          "copy",
          shared,
        ),
      );
    }
    void headLen;
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
        const next = this.#out[1];
        const flags = next !== undefined && next.kind === Seg.File ? MSG_MORE : 0;
        const n = c.send(
          this.fd,
          seg.off === 0 ? seg.buf : seg.buf.subarray(seg.off),
          BigInt(len),
          flags,
        );
        if (Deno.env.get("ZC_DEBUG")) console.log("send", this.fd, len, n, this.remote);
        if (n < 0) {
          if (!this.#writeFailed()) return false;
          continue;
        }
        const bodyBytes = Math.max(
          0,
          Math.min(seg.off + n, seg.bodyEnd) - Math.max(seg.off, seg.bodyStart),
        );
        if (bodyBytes > 0) {
          this.#exchange!.bytes += bodyBytes;
          if (metrics) metrics.bytesSent[seg.path] += bodyBytes;
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

  #readStream(seg: StreamSegment): void {
    const ex = this.#exchange!;
    seg.reading = true;
    seg.reader.read().then(
      (result) => {
        seg.reading = false;
        if (this.closed || this.#exchange !== ex || this.#out[0] !== seg) {
          seg.reader.cancel().catch(() => {});
          return;
        }
        if (result.done) {
          this.#out.shift();
          if (seg.chunked) {
            this.#out.unshift(bytesSegment(ZERO_CHUNK, ZERO_CHUNK.byteLength, "stream", false));
          } else if (seg.remaining > 0) {
            // the stream ended before the Content-Length the app promised
            this.abort();
            return;
          }
          this.flush();
          return;
        }
        let chunk: unknown = result.value;
        if (!(chunk instanceof Uint8Array)) {
          if (typeof chunk === "string") chunk = this.ctx.encoder.encode(chunk);
          else {
            this.ctx.onError(new TypeError("response stream chunk is not a Uint8Array"));
            seg.reader.cancel().catch(() => {});
            this.abort();
            return;
          }
        }
        let data = chunk as Uint8Array;
        if (seg.remaining >= 0) {
          if (data.byteLength > seg.remaining) {
            // more than the promised Content-Length: send what was promised, then close
            data = data.subarray(0, seg.remaining);
            ex.keepAlive = false;
          }
          seg.remaining -= data.byteLength;
          if (data.byteLength > 0) this.#out.unshift(bytesSegment(data, 0, "stream", false));
          if (seg.remaining === 0) {
            this.#out.splice(this.#out.indexOf(seg), 1);
            seg.reader.cancel().catch(() => {});
          }
        } else if (data.byteLength > 0) {
          if (seg.chunked) {
            const size = data.byteLength.toString(16);
            const framed = new Uint8Array(size.length + 2 + data.byteLength + 2);
            for (let i = 0; i < size.length; i++) framed[i] = size.charCodeAt(i);
            framed[size.length] = 13;
            framed[size.length + 1] = 10;
            framed.set(data, size.length + 2);
            framed[framed.byteLength - 2] = 13;
            framed[framed.byteLength - 1] = 10;
            const framedSeg = bytesSegment(framed, size.length + 2, "stream", false);
            framedSeg.bodyEnd = framed.byteLength - 2;
            this.#out.unshift(framedSeg);
          } else this.#out.unshift(bytesSegment(data, 0, "stream", false));
        }
        this.flush();
      },
      (error) => {
        seg.reading = false;
        if (this.closed || this.#exchange !== ex) return;
        this.ctx.onError(error);
        this.abort();
      },
    );
  }

  /** The whole response is written. */
  #onResponseWritten(ex: Exchange): void {
    ex.written = true;
    this.#log(ex);
    this.#releaseFiles(ex);
    if (this.deadlineKind === "send") this.deadline = 0;
    const body = ex.body;
    if (!ex.keepAlive || this.#peerEof) {
      body?.fail(new Error("connection closed"));
      this.#closeGracefully();
      return;
    }
    if (body !== null && !body.done) {
      if (!body.stream.locked) body.discarding = true;
      this.deadlineKind = "body";
      this.deadline = this.ctx.now() + this.ctx.options.bodyTimeoutMs;
      this.#drive();
      return;
    }
    this.#nextExchange();
  }

  #onBodyDone(ex: Exchange): void {
    if (ex.written) this.#nextExchange();
    else if (this.deadlineKind === "body") this.deadline = 0;
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
      body.fail(new Error("connection closed"));
      return;
    }
    if (body.continuePending) {
      body.continuePending = false;
      if (!ex.responded) {
        this.#out.push(bytesSegment(CONTINUE.slice(), CONTINUE.byteLength, "copy", false));
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

  // ---- closing ------------------------------------------------------------------------------

  /** Sends a short error response and closes after it. */
  #sendError(status: number): void {
    let ex = this.#exchange;
    if (ex !== null && ex.responded) {
      this.abort();
      return;
    }
    if (ex === null) {
      ex = new Exchange({
        method: "-",
        target: "-",
        minor: 1,
        headers: [],
        contentLength: -1,
        chunked: false,
        keepAlive: false,
        expectContinue: false,
      });
      this.#exchange = ex;
    }
    ex.body?.fail(new Error(`request failed with ${status}`));
    ex.responded = true;
    ex.keepAlive = false;
    ex.status = status;
    this.ctx.metrics?.countRequest(status);
    this.#out.length = 0;
    const text = errorResponse(status, this.ctx.now());
    const bytes = latin1Bytes(text);
    this.#out.push(bytesSegment(bytes, text.indexOf("\r\n\r\n") + 4, "copy", false));
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
      ex.body?.fail(new Error("connection closed"));
      ex.signal?.abort(new Error("client disconnected"));
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
    if (hook === undefined || ex.head.method === "-" && ex.status === 0) return;
    let referer: string | null = null;
    let userAgent: string | null = null;
    const h = ex.head.headers;
    for (let i = 0; i < h.length; i += 2) {
      if (h[i] === "referer") referer = h[i + 1];
      else if (h[i] === "user-agent") userAgent = h[i + 1];
    }
    try {
      hook({
        remoteAddr: this.remote.hostname,
        method: ex.head.method,
        target: ex.head.target,
        protocol: ex.head.minor === 0 ? "HTTP/1.0" : "HTTP/1.1",
        status: ex.status,
        bytes: ex.bytes,
        referer,
        userAgent,
      });
    } catch (error) {
      this.ctx.onError(error);
    }
  }
}

const ZERO_CHUNK = new Uint8Array([0x30, 13, 10, 13, 10]);
const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

function bytesSegment(
  buf: Uint8Array,
  bodyStart: number,
  path: "copy" | "stream",
  shared: boolean,
): BytesSegment {
  return { kind: Seg.Bytes, buf, off: 0, bodyStart, bodyEnd: buf.byteLength, path, shared };
}

function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  encodeHead(text, out, 0);
  return out;
}

function parseLength(value: string): number {
  return /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : -1;
}

/** Host header syntax (RFC 9110 §7.2, RFC 3986 §3.2.2): reg-name or IP literal, and a port. */
function validHost(host: string): boolean {
  return /^[A-Za-z0-9\-._~!$&'()*+,;=%]*(:\d*)?$|^\[[0-9A-Fa-f:.]+\](:\d*)?$/.test(host);
}

function cancelBody(response: unknown): void {
  if (response instanceof Response && response.body !== null && !response.body.locked) {
    response.body.cancel().catch(() => {});
  }
}
