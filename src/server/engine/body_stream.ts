/**
 * Request bodies read from the socket and handed to the app as a `ReadableStream` (pull-based:
 * bytes are read from the socket only while the app asks for them, which is the backpressure).
 *
 * Content-Length bodies count down; chunked bodies (RFC 9112 §7.1) go through a decoder and are
 * limited by the engine's `maxBodyBytes`. `Expect: 100-continue` (RFC 9110 §10.1.1) is answered
 * on the first pull, so a client waiting for it sends nothing until the app wants the body.
 *
 * @module
 */
import { ChunkedDecoder } from "../../http1/mod.ts";
import { BodyAbortedError, BodyTooLargeError } from "../../request_body.ts";

/** What a {@linkcode BodyStream} needs from its connection. */
export interface BodySource {
  /** The app wants bytes: send 100 Continue if due, then feed from buffer and socket. */
  onBodyPull(body: BodyStream): void;
  /** The app cancelled the body: the rest may be discarded. */
  onBodyCancel(body: BodyStream): void;
}

/** The request body of one exchange. */
export class BodyStream {
  /** The stream the app reads. */
  readonly stream: ReadableStream<Uint8Array>;
  /** Bytes of payload received so far. */
  received = 0;
  /** All payload bytes were received (or the body was abandoned). */
  done = false;
  /** Bytes are dropped instead of delivered (app cancelled, or response finished first). */
  discarding = false;
  /** A `100 Continue` is owed before the client sends the body. */
  continuePending: boolean;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #pullResolve: (() => void) | null = null;
  #remaining: number;
  readonly #decoder: ChunkedDecoder | null;
  #chunks: Uint8Array[] = [];
  #failed = false;

  /**
   * A body of `length` bytes, or chunked when `length` is -1; `maxBytes` bounds chunked bodies
   * (Content-Length bodies are checked before the exchange starts).
   */
  constructor(
    readonly source: BodySource,
    length: number,
    readonly maxBytes: number,
    expectContinue: boolean,
  ) {
    this.#remaining = length;
    this.#decoder = length < 0 ? new ChunkedDecoder(maxBytes) : null;
    this.continuePending = expectContinue;
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => {
        if (this.done) return;
        return new Promise<void>((resolve) => {
          this.#pullResolve = resolve;
          this.source.onBodyPull(this);
        });
      },
      cancel: () => {
        this.discarding = true;
        this.#resolvePull();
        this.source.onBodyCancel(this);
      },
    }, { highWaterMark: 0 });
  }

  /** Payload bytes still expected for a Content-Length body (-1 when chunked). */
  get remaining(): number {
    return this.#decoder === null ? this.#remaining : -1;
  }

  /** True when the connection should read the socket for this body now. */
  get wantsData(): boolean {
    return !this.done && (this.discarding || this.#pullResolve !== null);
  }

  /**
   * Takes body bytes from `buf[start, end)`; returns how many were part of the body (the rest
   * belongs to the next request). Throws {@linkcode BodyTooLargeError} (413) or
   * {@linkcode BodyAbortedError} for bad chunked framing (400).
   */
  feed(buf: Uint8Array, start: number, end: number): number {
    if (this.done) return 0;
    let used: number;
    const decoder = this.#decoder;
    if (decoder === null) {
      used = Math.min(end - start, this.#remaining);
      this.#take(buf, start, start + used);
      this.#remaining -= used;
      if (this.#remaining === 0) this.done = true;
    } else {
      let p = start;
      while (p < end) {
        const step = decoder.decode(buf, p, end);
        if (step.error !== undefined) {
          throw step.errorStatus === 413
            ? new BodyTooLargeError(this.maxBytes)
            : new BodyAbortedError(new Error(step.error));
        }
        if (step.dataLength > 0) this.#take(buf, step.dataStart, step.dataStart + step.dataLength);
        p += step.consumed;
        if (step.done) break;
      }
      used = p - start;
      if (decoder.done) this.done = true;
    }
    this.#deliver();
    return used;
  }

  /** Ends the body with `error` (client gone, timeout, bad framing). */
  fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.done = true;
    this.#chunks = [];
    try {
      this.#controller.error(error);
    } catch {
      // already closed or errored
    }
    this.#resolvePull();
  }

  #take(buf: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    this.received += end - start;
    if (this.received > this.maxBytes) throw new BodyTooLargeError(this.maxBytes);
    if (!this.discarding) this.#chunks.push(buf.slice(start, end));
  }

  #deliver(): void {
    if (this.#failed) return;
    if (this.#chunks.length > 0 && !this.discarding) {
      const chunks = this.#chunks;
      this.#chunks = [];
      if (chunks.length === 1) this.#controller.enqueue(chunks[0]);
      else {
        let total = 0;
        for (const c of chunks) total += c.byteLength;
        const joined = new Uint8Array(total);
        let at = 0;
        for (const c of chunks) {
          joined.set(c, at);
          at += c.byteLength;
        }
        this.#controller.enqueue(joined);
      }
      this.#resolvePull();
    }
    if (this.done && !this.discarding) {
      try {
        this.#controller.close();
      } catch {
        // cancelled
      }
      this.#resolvePull();
    }
  }

  #resolvePull(): void {
    const resolve = this.#pullResolve;
    if (resolve !== null) {
      this.#pullResolve = null;
      resolve();
    }
  }
}
