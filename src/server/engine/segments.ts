/**
 * The output queue of a connection: what is left to write of the current response, in order.
 *
 * @module
 */
import type { OpenFile } from "./file_cache.ts";

/** Segment kinds. */
export const enum Seg {
  /** Bytes in memory (head, small bodies, chunk framing, stream chunks). */
  Bytes,
  /** A file range sent with sendfile(2). */
  File,
  /** A response stream read chunk by chunk. */
  Stream,
}

/** Bytes to send. */
export interface BytesSegment {
  readonly kind: Seg.Bytes;
  /** The bytes. */
  buf: Uint8Array;
  /** Bytes of `buf` already sent. */
  off: number;
  /** Where body bytes start in `buf` (before: head or framing, not counted as body). */
  bodyStart: number;
  /** Where body bytes end in `buf` (after: chunk framing). */
  bodyEnd: number;
  /** Metrics bucket of the body bytes. */
  readonly path: "copy" | "stream";
  /** `buf` is the shared staging buffer: copy what is left after the first write attempt. */
  shared: boolean;
}

/** A file range to send with sendfile. */
export interface FileSegment {
  readonly kind: Seg.File;
  /** The open file (released when the exchange ends). */
  readonly file: OpenFile;
  /** Next file offset to send. */
  pos: number;
  /** File offset where the range ends. */
  readonly end: number;
}

/** A response stream. */
export interface StreamSegment {
  readonly kind: Seg.Stream;
  /** Reader of the app's stream. */
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Frame chunks with the chunked coding. */
  readonly chunked: boolean;
  /** Body bytes still allowed for a Content-Length response (-1 when not length-framed). */
  remaining: number;
  /** A read is in flight. */
  reading: boolean;
}

/** Anything in the output queue. */
export type Segment = BytesSegment | FileSegment | StreamSegment;

/** A bytes segment whose body part is `buf[bodyStart, end)`. */
export function bytesSegment(
  buf: Uint8Array,
  bodyStart: number,
  path: "copy" | "stream",
  shared = false,
): BytesSegment {
  return { kind: Seg.Bytes, buf, off: 0, bodyStart, bodyEnd: buf.byteLength, path, shared };
}

/** One chunk of the chunked coding (RFC 9112 §7.1): size line, `data`, CRLF, in one buffer. */
export function chunkSegment(data: Uint8Array): BytesSegment {
  const size = data.byteLength.toString(16);
  const framed = new Uint8Array(size.length + 2 + data.byteLength + 2);
  for (let i = 0; i < size.length; i++) framed[i] = size.charCodeAt(i);
  framed[size.length] = 13;
  framed[size.length + 1] = 10;
  framed.set(data, size.length + 2);
  framed[framed.byteLength - 2] = 13;
  framed[framed.byteLength - 1] = 10;
  const seg = bytesSegment(framed, size.length + 2, "stream");
  seg.bodyEnd = framed.byteLength - 2;
  return seg;
}

/** Body bytes among `n` bytes sent from `seg` starting at `seg.off`. */
export function bodyBytesSent(seg: BytesSegment, n: number): number {
  const from = seg.off > seg.bodyStart ? seg.off : seg.bodyStart;
  const to = seg.off + n < seg.bodyEnd ? seg.off + n : seg.bodyEnd;
  return to > from ? to - from : 0;
}
