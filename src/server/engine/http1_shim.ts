/**
 * TEMPORARY minimal HTTP/1.1 request-head parser, used until src/http1/ (the codec) lands.
 *
 * @module
 */
import { TCHAR } from "../../http1/chars.ts";
import type { CodecLimits } from "../../http1/limits.ts";
import { latin1 } from "../../http1/latin1.ts";

/** A parsed request head. */
export interface ShimHead {
  /** Method. */
  method: string;
  /** Request target as received. */
  target: string;
  /** HTTP minor version (0 or 1). */
  minor: number;
  /** Header fields, names lower-cased, in order: name, value, name, value... */
  headers: string[];
  /** Content-Length, or -1. */
  contentLength: number;
  /** Transfer-Encoding: chunked. */
  chunked: boolean;
  /** Keep the connection open after the response. */
  keepAlive: boolean;
  /** Expect: 100-continue. */
  expectContinue: boolean;
}

/** Result of {@linkcode shimParseHead}. */
export type ShimResult =
  | { kind: "ok"; head: ShimHead; consumed: number }
  | { kind: "incomplete" }
  | { kind: "error"; status: number; reason: string };

const INCOMPLETE = { kind: "incomplete" } as const;

/** Parses one request head from `buf[start, end)`. */
export function shimParseHead(
  buf: Uint8Array,
  start: number,
  end: number,
  limits: CodecLimits,
): ShimResult {
  let p = start;
  while (p + 1 < end && buf[p] === 13 && buf[p + 1] === 10) p += 2;
  let headEnd = -1;
  for (let i = p; i + 3 < end; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
      headEnd = i + 4;
      break;
    }
  }
  let lineEnd = -1;
  for (let i = p; i < end; i++) {
    if (buf[i] === 10) {
      lineEnd = i;
      break;
    }
  }
  if (lineEnd < 0 && end - p > limits.maxRequestLineBytes) {
    return { kind: "error", status: 414, reason: "request line too long" };
  }
  if (lineEnd >= 0 && lineEnd - p > limits.maxRequestLineBytes) {
    return { kind: "error", status: 414, reason: "request line too long" };
  }
  if (headEnd < 0) {
    if (end - start > limits.maxHeaderBytes) {
      return { kind: "error", status: 431, reason: "header block too large" };
    }
    return INCOMPLETE;
  }
  if (headEnd - start > limits.maxHeaderBytes) {
    return { kind: "error", status: 431, reason: "header block too large" };
  }
  const bad = (reason: string): ShimResult => ({ kind: "error", status: 400, reason });
  if (buf[lineEnd - 1] !== 13) return bad("bare LF");
  const line = latin1(buf, p, lineEnd - 1);
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^\s]+) HTTP\/1\.([01])$/.exec(line);
  if (m === null) return bad("bad request line");
  const headers: string[] = [];
  let contentLength = -1;
  let chunked = false;
  let te = false;
  let connection = "";
  let expectContinue = false;
  let q = lineEnd + 1;
  while (q < headEnd - 2) {
    let e = q;
    while (buf[e] !== 10) e++;
    if (buf[e - 1] !== 13) return bad("bare LF");
    let colon = q;
    while (colon < e && TCHAR[buf[colon]] === 1) colon++;
    if (colon === q || buf[colon] !== 58) return bad("bad header line");
    const name = latin1(buf, q, colon).toLowerCase();
    let vs = colon + 1;
    let ve = e - 1;
    while (vs < ve && (buf[vs] === 32 || buf[vs] === 9)) vs++;
    while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
    for (let i = vs; i < ve; i++) {
      if (buf[i] < 32 && buf[i] !== 9 || buf[i] === 127) return bad("bad header value");
    }
    const value = latin1(buf, vs, ve);
    headers.push(name, value);
    if (headers.length / 2 > limits.maxHeaderCount) {
      return { kind: "error", status: 431, reason: "too many headers" };
    }
    if (name === "content-length") {
      if (!/^\d{1,15}$/.test(value)) return bad("bad content-length");
      const n = Number(value);
      if (contentLength >= 0 && contentLength !== n) return bad("conflicting content-length");
      contentLength = n;
    } else if (name === "transfer-encoding") {
      te = true;
      if (value.toLowerCase().split(",").map((s) => s.trim()).pop() === "chunked") chunked = true;
      else return bad("unsupported transfer-encoding");
    } else if (name === "connection") connection += "," + value.toLowerCase();
    else if (name === "expect") {
      if (value.toLowerCase() === "100-continue") expectContinue = true;
    }
    q = e + 1;
  }
  if (te && contentLength >= 0) return bad("content-length with transfer-encoding");
  const minor = Number(m[3]);
  const tokens = connection.split(",").map((s) => s.trim());
  const keepAlive = minor === 1 ? !tokens.includes("close") : tokens.includes("keep-alive");
  return {
    kind: "ok",
    consumed: headEnd - start,
    head: {
      method: m[1],
      target: m[2],
      minor,
      headers,
      contentLength,
      chunked,
      keepAlive,
      expectContinue,
    },
  };
}

/** TEMPORARY incremental decoder of chunked request bodies (RFC 9112 §7.1). */
export class ShimChunkedDecoder {
  #state: "size" | "ext" | "sizeLF" | "data" | "dataCR" | "dataLF" | "trailer" | "done" = "size";
  #size = 0;
  #digits = 0;
  #remaining = 0;
  #trailerLine = 0;
  #trailerBytes = 0;

  /** True once the last chunk and the trailer section were read. */
  get done(): boolean {
    return this.#state === "done";
  }

  /**
   * Consumes bytes of `buf[start, end)`, calling `onData` for each run of payload bytes.
   * Returns the number of bytes consumed (less than given only once done). Throws on bad framing.
   */
  decode(
    buf: Uint8Array,
    start: number,
    end: number,
    onData: (buf: Uint8Array, start: number, end: number) => void,
  ): number {
    let p = start;
    while (p < end && this.#state !== "done") {
      const b = buf[p];
      switch (this.#state) {
        case "size": {
          const h = b >= 48 && b <= 57
            ? b - 48
            : b >= 97 && b <= 102
            ? b - 87
            : b >= 65 && b <= 70
            ? b - 55
            : -1;
          if (h >= 0) {
            if (++this.#digits > 12) throw new Error("chunk size too large");
            this.#size = this.#size * 16 + h;
            p++;
          } else if (this.#digits === 0) throw new Error("bad chunk size");
          else if (b === 13) {
            this.#state = "sizeLF";
            p++;
          } else if (b === 59 || b === 32 || b === 9) {
            this.#state = "ext";
            p++;
          } else throw new Error("bad chunk size");
          break;
        }
        case "ext":
          if (b === 13) this.#state = "sizeLF";
          else if (b === 10) throw new Error("bare LF");
          p++;
          break;
        case "sizeLF":
          if (b !== 10) throw new Error("bad chunk line");
          p++;
          if (this.#size === 0) {
            this.#state = "trailer";
            this.#trailerLine = 0;
          } else {
            this.#remaining = this.#size;
            this.#state = "data";
          }
          this.#size = 0;
          this.#digits = 0;
          break;
        case "data": {
          const n = Math.min(this.#remaining, end - p);
          onData(buf, p, p + n);
          p += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = "dataCR";
          break;
        }
        case "dataCR":
          if (b !== 13) throw new Error("missing CRLF after chunk");
          this.#state = "dataLF";
          p++;
          break;
        case "dataLF":
          if (b !== 10) throw new Error("missing CRLF after chunk");
          this.#state = "size";
          p++;
          break;
        case "trailer":
          p++;
          if (++this.#trailerBytes > 16384) throw new Error("trailer too large");
          if (b === 10) {
            if (this.#trailerLine <= 1) this.#state = "done";
            this.#trailerLine = 0;
          } else this.#trailerLine++;
          break;
      }
    }
    return p - start;
  }
}
