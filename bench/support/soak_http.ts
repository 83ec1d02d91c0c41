/**
 * The soak client's HTTP/1.1 connection over `Deno.connect`: one request at a time, keep-alive,
 * bodies read piece by piece (optionally slowly, or only partly before closing), so the soak can
 * do what real players do to a server, including leaving in the middle of a body.
 *
 * @module
 */

/** A response head: status and lower-cased fields (the last of repeated names wins). */
export interface SoakResponseHead {
  readonly status: number;
  readonly headers: Map<string, string>;
  /** The server keeps the connection open after this response. */
  readonly keepAlive: boolean;
}

/** How to read a body slowly: at most `bytes` per read, then a pause of `delayMs`. */
export interface Pace {
  readonly bytes: number;
  readonly delayMs: number;
}

const MAX_HEAD = 64 * 1024;
const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One client connection. */
export class SoakConnection {
  readonly #conn: Deno.TcpConn;
  readonly #buf = new Uint8Array(128 * 1024);
  #start = 0;
  #end = 0;
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Connects to `hostname:port`. */
  static async open(hostname: string, port: number): Promise<SoakConnection> {
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return new SoakConnection(conn);
  }

  /** True once {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Writes all of `data` (a string is sent as UTF-8). */
  async send(data: Uint8Array | string): Promise<void> {
    let out = typeof data === "string" ? encoder.encode(data) : data;
    while (out.byteLength > 0) out = out.subarray(await this.#conn.write(out));
  }

  async #fill(limit = this.#buf.byteLength): Promise<void> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.byteLength) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const room = Math.min(this.#buf.byteLength - this.#end, limit);
    const n = await this.#conn.read(this.#buf.subarray(this.#end, this.#end + room));
    if (n === null) throw new Error("connection closed by the server");
    this.#end += n;
  }

  /** Reads one response head (RFC 9112 §4, §5). */
  async readHead(): Promise<SoakResponseHead> {
    for (;;) {
      const at = headEnd(this.#buf, this.#start, this.#end);
      if (at >= 0) {
        const text = latin1(this.#buf, this.#start, at);
        this.#start = at + 4;
        return parseHead(text);
      }
      if (this.#end - this.#start > MAX_HEAD) throw new Error("response head too large");
      await this.#fill();
    }
  }

  /**
   * Reads `length` body bytes, handing each piece to `onPiece(position, bytes)` (a view valid
   * only during the call). With `stopAfter`, stops once that many bytes were read and returns
   * the count (the rest stays unread: the caller closes the connection).
   */
  async readBody(
    length: number,
    onPiece?: (position: number, bytes: Uint8Array) => void,
    pace?: Pace,
    stopAfter = length,
  ): Promise<number> {
    const want = Math.min(length, stopAfter);
    let got = 0;
    while (got < want) {
      if (this.#start === this.#end) await this.#fill(pace?.bytes);
      const n = Math.min(this.#end - this.#start, want - got);
      onPiece?.(got, this.#buf.subarray(this.#start, this.#start + n));
      this.#start += n;
      got += n;
      if (pace !== undefined && got < want) await sleep(pace.delayMs);
    }
    return got;
  }

  /** Closes the connection (idempotent); a pending read then fails. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** Index of the CR of the first CRLFCRLF in `buf[from, end)`, or -1. */
function headEnd(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i + 3 < end; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i += 8192) {
    s += String.fromCharCode(...buf.subarray(i, Math.min(end, i + 8192)));
  }
  return s;
}

function parseHead(text: string): SoakResponseHead {
  const [statusLine, ...lines] = text.split("\r\n");
  const match = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(statusLine);
  if (match === null) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`bad field line ${JSON.stringify(line)}`);
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const connection = (headers.get("connection") ?? "").toLowerCase();
  const keepAlive = match[1] === "1"
    ? !/\bclose\b/.test(connection)
    : /\bkeep-alive\b/.test(connection);
  return { status: Number(match[2]), headers, keepAlive };
}
