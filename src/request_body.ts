/**
 * The request-body seam, the mirror of {@linkcode FileBody}: a server that owns the socket may
 * hand the app a request body that can move itself into a file without passing through
 * JavaScript (`splice(2)` socket -> pipe -> file). The app checks for the capability with
 * {@linkcode isSpliceableBody} and otherwise reads the body as an ordinary stream.
 *
 * @module
 */

/** Limits for writing a request body to a file. */
export interface BodyToFileOptions {
  /** Largest body accepted; more fails with {@linkcode BodyTooLargeError}. */
  readonly maxBytes: number;
  /** Fail with {@linkcode BodyTimeoutError} when no body byte arrives for this long. */
  readonly idleTimeoutMs: number;
}

/** A request body that can write itself into an open file descriptor's path with splice. */
export interface SpliceableBody {
  /** Brand checked by {@linkcode isSpliceableBody}. */
  readonly [SPLICEABLE_BODY]: true;
  /**
   * Writes the whole body into the (new, empty) file at `path`, creating it with mode 0644.
   * Resolves to the number of bytes written. Rejects on abort, timeout or size limit; the caller
   * removes the file then.
   */
  spliceToFile(path: string, options: BodyToFileOptions): Promise<number>;
}

/** Brand of a {@linkcode SpliceableBody}. */
export const SPLICEABLE_BODY: unique symbol = Symbol.for("zerocast.spliceableBody") as never;

/** Returns true when `body` can splice itself into a file and has not been read yet. */
export function isSpliceableBody(body: unknown): body is SpliceableBody & ReadableStream {
  return typeof body === "object" && body !== null &&
    (body as Record<symbol, unknown>)[SPLICEABLE_BODY] === true &&
    !(body as ReadableStream).locked;
}

/** The request body was larger than allowed (HTTP 413). */
export class BodyTooLargeError extends Error {
  /** Creates the error for a limit of `limit` bytes. */
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** No request-body byte arrived within the idle timeout (HTTP 408). */
export class BodyTimeoutError extends Error {
  /** Creates the error for a timeout of `ms` milliseconds. */
  constructor(readonly ms: number) {
    super(`request body idle for more than ${ms} ms`);
    this.name = "BodyTimeoutError";
  }
}

/** The request body ended early or broke (client disconnect, bad chunk framing). */
export class BodyAbortedError extends Error {
  /** Wraps what the body stream or socket raised. */
  constructor(cause: unknown) {
    super(`request body aborted: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = "BodyAbortedError";
  }
}
