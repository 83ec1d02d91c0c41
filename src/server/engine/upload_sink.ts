/**
 * The upload sink: a request body written into a new file by splice(2) (socket → pipe → file,
 * no byte through JavaScript). The file is opened here (`O_EXCL`: never over an existing one)
 * and handed to the body ({@linkcode BodyStream.beginFile}), which closes it when the body
 * completes or fails; {@linkcode spliceStep} moves one pipe-full.
 *
 * @module
 */
import { errno, type LibcSymbols } from "../../../ffi/libc.ts";
import { O_CLOEXEC, O_CREAT, O_EXCL, O_WRONLY } from "../../../ffi/constants.ts";
import { BodyAbortedError } from "../../request_body.ts";
import type { BodyStream } from "./body_stream.ts";
import { SyscallError } from "./loop.ts";
import { type SocketToFileSplicer, SPLICE_AGAIN, SPLICE_EOF } from "./splice.ts";

const pathEncoder = new TextEncoder();

/** Creates the file at `path` for writing (fails if it exists); throws SyscallError. */
export function openUploadFile(libc: LibcSymbols, path: string): number {
  const fd = libc.open(
    pathEncoder.encode(path + "\0"),
    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
    0o644,
  );
  if (fd < 0) throw new SyscallError(`open ${path}`, errno());
  return fd;
}

/** Outcome of {@linkcode spliceStep}. */
export const enum UploadStep {
  /** Bytes moved into the file (the body may now be done). */
  Moved,
  /** At chunk framing: the caller reads and parses it the ordinary way. */
  Framing,
  /** The socket has nothing now: wait for EPOLLIN. */
  Again,
  /** The client closed its side. */
  Eof,
  /** The body failed on the file side (disk full, too large): the connection stays. */
  BodyFailed,
  /** The socket failed: close the connection. */
  SocketFailed,
}

/**
 * Moves body bytes socket → pipe → file: Content-Length bodies what remains, chunked bodies the
 * rest of the current chunk. `onCalls` gets the number of splice calls made.
 */
export function spliceStep(
  splicer: SocketToFileSplicer,
  socketFd: number,
  body: BodyStream,
  onCalls: (calls: number) => void,
): UploadStep {
  const decoder = body.decoder;
  const max = decoder === null ? body.remaining : decoder.payloadRemainingInChunk;
  if (max <= 0) return UploadStep.Framing;
  const calls = splicer.calls;
  let n: number;
  try {
    n = splicer.step(socketFd, body.fileFd, max);
  } catch (error) {
    const socketSide = error instanceof SyscallError && error.call.startsWith("splice(socket");
    body.fail(socketSide ? new BodyAbortedError(error) : error as Error);
    return socketSide ? UploadStep.SocketFailed : UploadStep.BodyFailed;
  } finally {
    onCalls(splicer.calls - calls);
  }
  if (n === SPLICE_AGAIN) return UploadStep.Again;
  if (n === SPLICE_EOF) return UploadStep.Eof;
  try {
    body.spliced(n);
  } catch (error) {
    body.fail(error as Error);
    return UploadStep.BodyFailed;
  }
  return UploadStep.Moved;
}
