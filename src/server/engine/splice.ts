/**
 * Moving bytes from a socket into a file without copying them through JavaScript:
 * `splice(2)` socket → pipe, then pipe → file (splice needs a pipe on one side). The pipe is
 * drained completely after every step, so it never holds bytes between steps.
 *
 * Used for request bodies (uploads): {@linkcode SocketToFileSplicer.step} is non-blocking on the
 * socket side and returns {@linkcode SPLICE_AGAIN} when the socket has nothing to read; the
 * caller then waits for EPOLLIN and steps again.
 *
 * @module
 */
import { errno, libc, MAX_IO } from "../../../ffi/libc.ts";
import {
  EAGAIN,
  EINTR,
  F_GETPIPE_SZ,
  F_SETPIPE_SZ,
  O_CLOEXEC,
  O_NONBLOCK,
  SPLICE_F_MORE,
  SPLICE_F_MOVE,
  SPLICE_F_NONBLOCK,
} from "../../../ffi/constants.ts";
import { SyscallError } from "./loop.ts";

/** {@linkcode SocketToFileSplicer.step} result: the socket has no data now (wait for EPOLLIN). */
export const SPLICE_AGAIN = -1;
/** {@linkcode SocketToFileSplicer.step} result: the peer closed its side (end of input). */
export const SPLICE_EOF = 0;

/** Default pipe capacity asked for (the kernel may grant less; 64 KiB is the usual default). */
export const DEFAULT_PIPE_SIZE = 1024 * 1024;

/** A pipe used to splice from sockets into files; reusable for many transfers. */
export class SocketToFileSplicer {
  readonly #fds = new Int32Array(2);
  /** Read end of the pipe. */
  readonly pipeRead: number;
  /** Write end of the pipe. */
  readonly pipeWrite: number;
  /** Pipe capacity in bytes (the most one step moves). */
  readonly capacity: number;
  /** splice(2) calls made (both halves counted). */
  calls = 0;
  #closed = false;

  /** Creates the pipe, asking for `pipeSize` bytes of capacity. */
  constructor(pipeSize = DEFAULT_PIPE_SIZE) {
    const c = libc();
    if (c.pipe2(new Uint8Array(this.#fds.buffer), O_NONBLOCK | O_CLOEXEC) < 0) {
      throw new SyscallError("pipe2", errno());
    }
    this.pipeRead = this.#fds[0];
    this.pipeWrite = this.#fds[1];
    // a bigger pipe moves more per pair of calls; failure (EPERM above the limit) is harmless
    c.fcntl(this.pipeWrite, F_SETPIPE_SZ, pipeSize);
    const size = c.fcntl(this.pipeWrite, F_GETPIPE_SZ, 0);
    this.capacity = size > 0 ? size : 65536;
  }

  /**
   * Moves up to `max` bytes from `socketFd` to the current position of `fileFd`. Returns the
   * number moved (> 0), {@linkcode SPLICE_EOF} at end of input, or {@linkcode SPLICE_AGAIN} when
   * the socket would block. Throws {@linkcode SyscallError} on other errors (reset, disk full).
   */
  step(socketFd: number, fileFd: number, max: number): number {
    if (this.#closed) throw new Error("splicer is closed");
    const c = libc();
    const want = Math.min(max, this.capacity, MAX_IO);
    if (want <= 0) return 0;
    let n: number;
    for (;;) {
      n = c.splice(
        socketFd,
        null,
        this.pipeWrite,
        null,
        BigInt(want),
        SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (want < max ? SPLICE_F_MORE : 0),
      );
      this.calls++;
      if (n >= 0) break;
      const code = errno();
      if (code === EAGAIN) return SPLICE_AGAIN;
      if (code !== EINTR) throw new SyscallError("splice(socket→pipe)", code);
    }
    if (n === 0) return SPLICE_EOF;
    this.#drainTo(fileFd, n);
    return n;
  }

  /** Moves exactly `n` bytes, already in the pipe, into `fileFd`. */
  #drainTo(fileFd: number, n: number): void {
    const c = libc();
    let left = n;
    while (left > 0) {
      const m = c.splice(this.pipeRead, null, fileFd, null, BigInt(left), SPLICE_F_MOVE);
      this.calls++;
      if (m > 0) {
        left -= m;
        continue;
      }
      const code = m === 0 ? 0 : errno();
      if (code === EINTR) continue;
      // the pipe now holds bytes that belong nowhere: it cannot be reused
      this.close();
      throw new SyscallError("splice(pipe→file)", code === 0 ? 5 : code);
    }
  }

  /** Closes the pipe. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const c = libc();
    c.close(this.pipeRead);
    c.close(this.pipeWrite);
  }
}
