/**
 * Request bodies read from the socket and handed to the app as a `ReadableStream` (pull-based:
 * bytes are read from the socket only while the app asks for them, which is the backpressure).
 *
 * Content-Length bodies count down; chunked bodies (RFC 9112 §7.1) go through the codec's
 * decoder, limited by the engine's `maxBodyBytes`. `Expect: 100-continue` (RFC 9110 §10.1.1) is
 * answered on the first pull, so a client waiting for it sends nothing until the app wants the
 * body.
 *
 * The stream is a {@linkcode SpliceableBody}: instead of reading it, the app may call
 * `spliceToFile(path, options)`, and the connection moves the body socket → pipe → file with
 * splice(2) (chunked bodies: payload spliced, framing parsed in JS). Bytes already read with the
 * head are written with write(2) first.
 *
 * @module
 */
import { errno, libc } from "../../../ffi/libc.ts";
import { ChunkedDecoder } from "../../http1/mod.ts";
import {
  BodyAbortedError,
  type BodyToFileOptions,
  BodyTooLargeError,
  SPLICEABLE_BODY,
  type SpliceableBody,
} from "../../request_body.ts";
import { SyscallError } from "./loop.ts";

/** What a {@linkcode BodyStream} needs from its connection. */
export interface BodySource {
  /** The app wants bytes: send 100 Continue if due, then feed from buffer and socket. */
  onBodyPull(body: BodyStream): void;
  /** The app cancelled the body: the rest may be discarded. */
  onBodyCancel(body: BodyStream): void;
  /** The app asked for the body in a file: open it, then feed buffer and splice the socket. */
  onSpliceToFile(body: BodyStream, path: string, options: BodyToFileOptions): Promise<number>;
}

/** The file a body is being written into. */
interface FileSink {
  readonly fd: number;
  readonly maxBytes: number;
  readonly resolve: (bytes: number) => void;
  readonly reject: (error: Error) => void;
}

/** The body stream handed to the app: a ReadableStream that can also splice itself to a file. */
class EngineBodyStream extends ReadableStream<Uint8Array> implements SpliceableBody {
  readonly [SPLICEABLE_BODY] = true as const;
  #owner: BodyStream | null = null;

  /** Binds the stream to the body it belongs to (once). */
  bind(owner: BodyStream): void {
    this.#owner = owner;
  }

  /** See {@linkcode SpliceableBody.spliceToFile}. */
  spliceToFile(path: string, options: BodyToFileOptions): Promise<number> {
    return this.#owner!.spliceToFile(path, options);
  }
}

/** The request body of one exchange. */
export class BodyStream {
  /** The stream the app reads. */
  readonly stream: ReadableStream<Uint8Array>;
  /** Bytes of payload received so far. */
  received = 0;
  /** No more payload will be delivered: complete, failed or abandoned. */
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
  #complete = false;
  #file: FileSink | null = null;

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
    const stream = new EngineBodyStream({
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
    stream.bind(this);
    this.stream = stream;
  }

  /** Payload bytes still expected for a Content-Length body (-1 when chunked). */
  get remaining(): number {
    return this.#decoder === null ? this.#remaining : -1;
  }

  /** The chunked decoder (null for a Content-Length body). */
  get decoder(): ChunkedDecoder | null {
    return this.#decoder;
  }

  /** Every payload byte arrived (so the connection is in sync for the next request). */
  get complete(): boolean {
    return this.#complete;
  }

  /** True when the connection should read the socket for this body now. */
  get wantsData(): boolean {
    return !this.done && (this.discarding || this.#pullResolve !== null || this.#file !== null);
  }

  /** The body is being written into a file (splice mode). */
  get splicing(): boolean {
    return this.#file !== null && !this.done;
  }

  /** fd of the file being written in splice mode. */
  get fileFd(): number {
    return this.#file?.fd ?? -1;
  }

  /** See {@linkcode SpliceableBody.spliceToFile}. */
  spliceToFile(path: string, options: BodyToFileOptions): Promise<number> {
    if (this.stream.locked || this.received > 0 || this.done) {
      return Promise.reject(new TypeError("the request body was already read"));
    }
    // lock the stream: nobody may read it while the connection writes it into the file
    this.stream.getReader();
    return this.source.onSpliceToFile(this, path, options);
  }

  /** Switches to splice mode, writing into the open file `fd`. */
  beginFile(
    fd: number,
    maxBytes: number,
    resolve: (n: number) => void,
    reject: (e: Error) => void,
  ) {
    this.#file = { fd, maxBytes: Math.min(maxBytes, this.maxBytes), resolve, reject };
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
      if (this.#remaining === 0) this.#complete = true;
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
      if (decoder.done) this.#complete = true;
    }
    this.#deliver();
    return used;
  }

  /**
   * Accounts for `n` payload bytes the connection spliced into the file. Throws
   * {@linkcode BodyTooLargeError} past the limit.
   */
  spliced(n: number): void {
    this.#count(n);
    if (this.#decoder === null) {
      this.#remaining -= n;
      if (this.#remaining === 0) this.#complete = true;
    } else this.#decoder.skipPayload(n);
    this.#deliver();
  }

  /** Ends the body with `error` (client gone, timeout, bad framing, disk full). */
  fail(error: Error): void {
    if (this.#failed || (this.done && this.#file === null)) return;
    this.#failed = true;
    this.done = true;
    this.#chunks = [];
    const file = this.#file;
    if (file !== null) {
      this.#file = null;
      libc().close(file.fd);
      file.reject(error);
    }
    try {
      this.#controller.error(error);
    } catch {
      // already closed or errored
    }
    this.#resolvePull();
  }

  #count(n: number): void {
    this.received += n;
    const limit = this.#file !== null ? this.#file.maxBytes : this.maxBytes;
    if (this.received > limit) throw new BodyTooLargeError(limit);
  }

  #take(buf: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    this.#count(end - start);
    const file = this.#file;
    if (file !== null) writeAll(file.fd, buf, start, end);
    else if (!this.discarding) this.#chunks.push(buf.slice(start, end));
  }

  #deliver(): void {
    if (this.#failed) return;
    if (this.#chunks.length > 0 && !this.discarding) {
      const chunks = this.#chunks;
      this.#chunks = [];
      this.#controller.enqueue(chunks.length === 1 ? chunks[0] : join(chunks));
      this.#resolvePull();
    }
    if (!this.#complete) return;
    this.done = true;
    const file = this.#file;
    if (file !== null) {
      this.#file = null;
      libc().close(file.fd);
      file.resolve(this.received);
    }
    if (!this.discarding) {
      try {
        this.#controller.close();
      } catch {
        // cancelled
      }
    }
    this.#resolvePull();
  }

  #resolvePull(): void {
    const resolve = this.#pullResolve;
    if (resolve !== null) {
      this.#pullResolve = null;
      resolve();
    }
  }
}

/** Joins byte arrays into one. */
function join(chunks: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const joined = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    joined.set(c, at);
    at += c.byteLength;
  }
  return joined;
}

/** write(2) of `buf[start, end)` to a regular file; throws on failure (e.g. ENOSPC). */
function writeAll(fd: number, buf: Uint8Array, start: number, end: number): void {
  const c = libc();
  let at = start;
  while (at < end) {
    const n = c.write(fd, buf.subarray(at, end), BigInt(end - at));
    if (n < 0) {
      const code = errno();
      if (code === 4 /* EINTR */) continue;
      throw new SyscallError("write(upload)", code);
    }
    at += n;
  }
}
