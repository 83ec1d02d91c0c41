/**
 * The send chain (like nginx's `ngx_linux_sendfile_chain.c`): writes the output queue with
 * `send(2)` and `sendfile(2)` until it is empty, the socket is full, or this turn's byte budget
 * is spent. Syscalls and bookkeeping of what left only: what the results mean for the connection
 * (wait for EPOLLOUT, defer, read a stream, close) is the caller's.
 *
 * @module
 */
import { errno, libc, MAX_IO } from "../../../ffi/libc.ts";
import { EAGAIN, EINTR } from "../../../ffi/constants.ts";
import { bodyBytesSent, Seg, type Segment } from "./segments.ts";

/** The syscalls the chain makes (libc, or a fake in tests). */
export interface SendIO {
  /** send(2); returns bytes sent or -1. */
  send(fd: number, buf: Uint8Array, len: bigint, flags: number): number;
  /** sendfile(2) from the offset in `offset` (an `off_t *` as bytes); returns bytes or -1. */
  sendfile(fd: number, inFd: number, offset: Uint8Array, len: bigint): number;
  /** errno of the last failed call. */
  errno(): number;
}

let libcIO: SendIO | null = null;

/** The real syscalls (libc through FFI). */
export function libcSendIO(): SendIO {
  if (libcIO === null) {
    const c = libc();
    libcIO = { send: c.send, sendfile: c.sendfile, errno };
  }
  return libcIO;
}

/** What left, reported as it happens. */
export interface SendSink {
  /** `n` body bytes left, counted in metrics bucket `path`. */
  bodySent(n: number, path: "copy" | "stream" | "sendfile"): void;
  /** A sendfile call was made. */
  sendfileCalled(): void;
  /** Bytes left (the peer is reading: a send deadline starts over). */
  progressed(): void;
}

/** Outcome of {@linkcode sendChain}. */
export const enum SendResult {
  /** The queue is empty. */
  Done,
  /** The socket is full (EAGAIN): wait for EPOLLOUT. */
  Again,
  /** The byte budget of this turn is spent: continue in a later turn. */
  Budget,
  /** The first segment is a stream: read its next chunk. */
  Stream,
  /** The peer is gone (EPIPE, ECONNRESET...): close. */
  Failed,
  /** The file is shorter than the slice the head promised: close. */
  ShortFile,
}

/** sendfile's `off_t *` argument, shared (the chain runs on one thread). */
const offset = new BigInt64Array(1);
const offsetBytes = new Uint8Array(offset.buffer);

/**
 * Writes `out` (removing finished segments) to `fd` within `budget` bytes. No MSG_MORE before a
 * sendfile: measured on loopback (Linux 6.18), send(head, MSG_MORE) + sendfile(64 KiB) took ~80
 * µs in sendfile against ~20 µs when the head goes out on its own, so 64 KiB ranges ran at half
 * the rate; TCP_CORK is avoided too (40 ms delayed-ACK stalls). Small bodies share the head's
 * packet through the pread rule of the output planner instead.
 */
export function sendChain(
  io: SendIO,
  fd: number,
  out: Segment[],
  budget: number,
  sink: SendSink,
): SendResult {
  for (;;) {
    const seg = out[0];
    if (seg === undefined) return SendResult.Done;
    if (budget <= 0) return SendResult.Budget;
    if (seg.kind === Seg.Bytes) {
      const len = seg.buf.byteLength - seg.off;
      const n = io.send(fd, seg.off === 0 ? seg.buf : seg.buf.subarray(seg.off), BigInt(len), 0);
      if (n < 0) {
        const code = io.errno();
        if (code === EINTR) continue;
        return code === EAGAIN ? SendResult.Again : SendResult.Failed;
      }
      const body = bodyBytesSent(seg, n);
      if (body > 0) sink.bodySent(body, seg.path);
      seg.off += n;
      budget -= n;
      if (seg.off === seg.buf.byteLength) out.shift();
      sink.progressed();
    } else if (seg.kind === Seg.File) {
      const want = Math.min(seg.end - seg.pos, budget, MAX_IO);
      offset[0] = BigInt(seg.pos);
      const n = io.sendfile(fd, seg.file.fd, offsetBytes, BigInt(want));
      sink.sendfileCalled();
      if (n < 0) {
        const code = io.errno();
        if (code === EINTR) continue;
        return code === EAGAIN ? SendResult.Again : SendResult.Failed;
      }
      if (n === 0) return SendResult.ShortFile;
      seg.pos += n;
      budget -= n;
      sink.bodySent(n, "sendfile");
      if (seg.pos === seg.end) out.shift();
      sink.progressed();
    } else return SendResult.Stream;
  }
}
