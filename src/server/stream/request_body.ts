/**
 * A request body read from a {@linkcode ConnIo} and handed to the app as a pull-based
 * `ReadableStream` (bytes are read from the connection only while the app asks, which is the
 * backpressure). Content-Length bodies count down (RFC 9112 §6.2); chunked bodies go through the
 * codec's {@linkcode ChunkedDecoder} (RFC 9112 §7.1). `Expect: 100-continue` is answered on the
 * first pull (RFC 9110 §10.1.1).
 *
 * The body ends as soon as its last byte has been read, whatever the connection does next: a
 * client that sends its whole request and closes its socket without waiting for the answer
 * (ffmpeg's HLS muxer does, once per segment) still delivers the whole body.
 *
 * @module
 */
import { ChunkedDecoder, CONTINUE_100 } from "../../http1/mod.ts";
import { BodyAbortedError, BodyTimeoutError, BodyTooLargeError } from "../../request_body.ts";
import type { ConnIo } from "./conn_io.ts";

/** Largest piece read from the connection per pull for Content-Length bodies. */
const READ_CHUNK = 64 * 1024;

/** Settings of one request body. */
export interface RequestBodyOptions {
  /** Content-Length, or -1 for a chunked body. */
  readonly length: number;
  /** Largest chunked payload accepted (413 beyond). */
  readonly maxBytes: number;
  /** Send `100 Continue` before the first read. */
  readonly expectContinue: boolean;
  /** Idle time allowed between body bytes. */
  readonly idleTimeoutMs: number;
}

/** One request body; {@linkcode stream} is what the app reads. */
export class RequestBody {
  /** The stream handed to the app. */
  readonly stream: ReadableStream<Uint8Array>;
  /** All body bytes have been read (the next request, if any, starts in the buffer). */
  done = false;
  /** The body broke (framing error, EOF, timeout): the connection cannot be reused. */
  failed = false;
  /** Why it broke. */
  error: unknown = undefined;
  /** The chunked framing was malformed (400) or over the limit (413); 0 while it is fine. */
  framingStatus: 0 | 400 | 413 = 0;
  /** A pull is reading from the connection now. */
  reading = false;
  readonly #io: ConnIo;
  readonly #options: RequestBodyOptions;
  #remaining: number;
  readonly #decoder: ChunkedDecoder | null;
  #continueDue: boolean;

  /** Creates the body of a request on `io`. */
  constructor(io: ConnIo, options: RequestBodyOptions) {
    this.#io = io;
    this.#options = options;
    this.#remaining = options.length;
    this.#decoder = options.length < 0 ? new ChunkedDecoder(options.maxBytes) : null;
    this.#continueDue = options.expectContinue;
    this.stream = new ReadableStream<Uint8Array>({
      pull: (controller) => this.#pull(controller),
      cancel: () => {},
    }, { highWaterMark: 0 });
  }

  /** Reads the rest of the body and drops it; true when it ended cleanly (framing intact). */
  async discard(): Promise<boolean> {
    const reader = this.stream.getReader();
    try {
      for (;;) {
        if ((await reader.read()).done) return this.done && !this.failed;
      }
    } catch {
      return false;
    } finally {
      reader.releaseLock();
    }
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    this.reading = true;
    try {
      if (this.#continueDue) {
        this.#continueDue = false;
        await this.#io.write(CONTINUE_100);
      }
      this.#io.readDeadline(this.#options.idleTimeoutMs);
      const chunk = this.#decoder === null ? await this.#readLength() : await this.#readChunked();
      this.#io.readDeadline(0);
      if (chunk === null) {
        this.done = true;
        controller.close();
      } else controller.enqueue(chunk);
    } catch (error) {
      this.#io.readDeadline(0);
      this.failed = true;
      this.error = error;
      controller.error(error);
    } finally {
      this.reading = false;
    }
  }

  /** The next piece of a Content-Length body, or null at its end. */
  async #readLength(): Promise<Uint8Array | null> {
    if (this.#remaining === 0) return null;
    const io = this.#io;
    if (io.buffered > 0) {
      const n = Math.min(io.buffered, this.#remaining);
      const piece = io.buf.slice(io.start, io.start + n);
      io.start += n;
      this.#remaining -= n;
      if (this.#remaining === 0) this.done = true;
      return piece;
    }
    const into = new Uint8Array(Math.min(READ_CHUNK, this.#remaining));
    const n = await io.read(into);
    if (n === null) throw this.#ended();
    this.#remaining -= n;
    if (this.#remaining === 0) this.done = true;
    return n === into.byteLength ? into : into.subarray(0, n);
  }

  /** The next payload run of a chunked body, or null at its end. */
  async #readChunked(): Promise<Uint8Array | null> {
    const io = this.#io;
    const decoder = this.#decoder!;
    for (;;) {
      if (decoder.done) return null;
      if (io.buffered === 0 && !(await io.fill())) throw this.#ended();
      const step = decoder.decode(io.buf, io.start, io.end);
      io.start += step.consumed;
      if (step.error !== undefined) {
        this.framingStatus = step.errorStatus === 413 ? 413 : 400;
        throw step.errorStatus === 413
          ? new BodyTooLargeError(decoder.maxBodyBytes)
          : new BodyAbortedError(new Error(`malformed chunked body: ${step.error}`));
      }
      if (step.dataLength > 0) {
        if (decoder.done) this.done = true;
        return io.buf.slice(step.dataStart, step.dataStart + step.dataLength);
      }
      if (step.done) {
        this.done = true;
        return null;
      }
    }
  }

  /** The error for a connection that ended before the body did. */
  #ended(): Error {
    if (this.#io.timedOut === "read") return new BodyTimeoutError(this.#options.idleTimeoutMs);
    return new BodyAbortedError(new Error("connection closed before the end of the body"));
  }
}
