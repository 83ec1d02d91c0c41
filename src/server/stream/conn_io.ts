/**
 * Buffered reads and complete writes on one `Deno.Conn` (TCP or TLS), with a read deadline and a
 * write deadline that a {@linkcode Watchdog} enforces by closing the connection: a pending
 * `read` or `write` then fails, and the code waiting on it sees the failure.
 *
 * @module
 */
import type { Timed } from "./watchdog.ts";

/** What to do when the read deadline passes (the write deadline always just closes). */
export type ReadTimeoutAction = () => void;

/** The I/O side of one connection. */
export class ConnIo implements Timed {
  /** The connection. */
  readonly conn: Deno.Conn;
  /** Read buffer: unread bytes are `buf[start, end)`. */
  readonly buf: Uint8Array;
  /** First unread byte in {@linkcode buf}. */
  start = 0;
  /** End of the bytes read into {@linkcode buf}. */
  end = 0;
  /** The peer sent EOF or the read side failed; no more bytes will come. */
  eof = false;
  /** {@linkcode close} was called. */
  closed = false;
  /** Set when a deadline closed the connection: `"read"` or `"write"`. */
  timedOut: "read" | "write" | null = null;
  #readDeadline = 0;
  #onReadTimeout: ReadTimeoutAction | null = null;
  #writeDeadline = 0;
  #sendTimeoutMs: number;

  /** Wraps `conn` with a read buffer of `bufferSize` bytes. */
  constructor(conn: Deno.Conn, bufferSize: number, sendTimeoutMs: number) {
    this.conn = conn;
    this.buf = new Uint8Array(bufferSize);
    this.#sendTimeoutMs = sendTimeoutMs;
  }

  /** Unread buffered bytes. */
  get buffered(): number {
    return this.end - this.start;
  }

  /**
   * Sets the read deadline `ms` from now (0: none); when it passes, `action` runs (default:
   * close).
   */
  readDeadline(ms: number, action: ReadTimeoutAction | null = null): void {
    this.#readDeadline = ms > 0 ? Date.now() + ms : 0;
    this.#onReadTimeout = action;
  }

  /** See {@linkcode Timed}. */
  checkDeadlines(now: number): void {
    if (this.closed) return;
    if (this.#writeDeadline > 0 && now >= this.#writeDeadline) {
      this.timedOut = "write";
      this.close();
    } else if (this.#readDeadline > 0 && now >= this.#readDeadline) {
      this.#readDeadline = 0;
      this.timedOut = "read";
      const action = this.#onReadTimeout;
      if (action === null) this.close();
      else action();
    }
  }

  /**
   * Reads more bytes into the buffer after {@linkcode end} (moving unread bytes to the front
   * first). Returns false at EOF, on a read error or when the buffer is full.
   */
  async fill(): Promise<boolean> {
    if (this.eof || this.closed) return false;
    if (this.start === this.end) this.start = this.end = 0;
    else if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buf.byteLength) return false;
    const n = await this.read(this.buf.subarray(this.end));
    if (n === null) return false;
    this.end += n;
    return true;
  }

  /** Reads into `into` directly (the buffer must be empty); null at EOF or on error. */
  async read(into: Uint8Array): Promise<number | null> {
    if (this.eof || this.closed) return null;
    try {
      const n = await this.conn.read(into);
      if (n === null) this.eof = true;
      return n;
    } catch {
      // reset, TLS error, or closed by a deadline: nothing more can be read
      this.eof = true;
      return null;
    }
  }

  /** Writes all of `bytes`; throws when the connection fails, closes or stops reading. */
  async write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    try {
      while (offset < bytes.byteLength) {
        if (this.closed) throw new Deno.errors.BadResource("connection closed");
        this.#writeDeadline = Date.now() + this.#sendTimeoutMs;
        offset += await this.conn.write(offset === 0 ? bytes : bytes.subarray(offset));
      }
    } finally {
      this.#writeDeadline = 0;
    }
  }

  /** Closes the connection once (a pending read or write fails). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.eof = true;
    try {
      this.conn.close();
    } catch {
      // already closed by Deno
    }
  }
}
