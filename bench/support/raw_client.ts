/**
 * A minimal keep-alive HTTP/1.1 client over `Deno.connect` for in-process benchmarks: one
 * request at a time, bodies read into one reused buffer and dropped, so the client adds as
 * little as possible to the server it shares a thread with (fetch would add its own streams).
 *
 * @module
 */

/** What one response was. */
export interface RawResponse {
  /** Status code. */
  readonly status: number;
  /** Body bytes received. */
  readonly bodyLength: number;
}

const HEADER_END = [13, 10, 13, 10];

/** One keep-alive connection. */
export class RawHttpClient {
  #conn: Deno.TcpConn;
  #buffer = new Uint8Array(256 * 1024);
  #encoder = new TextEncoder();
  #host: string;

  private constructor(conn: Deno.TcpConn, host: string) {
    this.#conn = conn;
    this.#host = host;
  }

  /** Connects to `hostname:port`. */
  static async connect(hostname: string, port: number): Promise<RawHttpClient> {
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return new RawHttpClient(conn, `${hostname}:${port}`);
  }

  /** Sends `GET path` (with a `Range` header when given) and reads the whole response. */
  async get(path: string, range?: { start: number; end: number }): Promise<RawResponse> {
    const rangeLine = range ? `Range: bytes=${range.start}-${range.end}\r\n` : "";
    const request = `GET ${path} HTTP/1.1\r\nHost: ${this.#host}\r\n${rangeLine}\r\n`;
    let out = this.#encoder.encode(request);
    while (out.byteLength > 0) out = out.subarray(await this.#conn.write(out));

    const buffer = this.#buffer;
    let filled = 0;
    let headerLength = -1;
    while (headerLength < 0) {
      if (filled === buffer.byteLength) throw new Error("response header too large");
      const n = await this.#conn.read(buffer.subarray(filled));
      if (n === null) throw new Error("connection closed before the response header");
      const from = Math.max(0, filled - 3);
      filled += n;
      headerLength = findHeaderEnd(buffer, from, filled);
    }
    const head = new TextDecoder("latin1").decode(buffer.subarray(0, headerLength));
    const status = Number(head.slice(9, 12));
    const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (match === null) {
      throw new Error(`response without Content-Length: ${head.split("\r\n")[0]}`);
    }
    const bodyLength = Number(match[1]);
    let remaining = bodyLength - (filled - headerLength);
    if (remaining < 0) throw new Error("more bytes than one response");
    while (remaining > 0) {
      const n = await this.#conn.read(buffer.subarray(0, Math.min(buffer.byteLength, remaining)));
      if (n === null) throw new Error(`connection closed with ${remaining} body bytes missing`);
      remaining -= n;
    }
    return { status, bodyLength };
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** Index just past the first CRLFCRLF in `bytes[from, end)`, or -1. */
function findHeaderEnd(bytes: Uint8Array, from: number, end: number): number {
  for (let i = from; i + 3 < end; i++) {
    if (
      bytes[i] === HEADER_END[0] && bytes[i + 1] === HEADER_END[1] &&
      bytes[i + 2] === HEADER_END[2] && bytes[i + 3] === HEADER_END[3]
    ) return i + 4;
  }
  return -1;
}
