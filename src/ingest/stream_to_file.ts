/**
 * Writes a request body that arrives as a `ReadableStream` into a new file. One chunk is written
 * while the next is being read (read-ahead), so memory stays at two chunks whatever the upload
 * size, and network and disk overlap. This is the path of the stream engine (Deno.serve, TLS)
 * and of any body that cannot splice itself.
 *
 * Deno 2.9's `Deno.serve` loses the end of a request body when the client closes its socket
 * right after the last byte without waiting for the response (ffmpeg's HLS muxer does): the last
 * read fails with `BadResource` instead of reporting the end. Reading ahead keeps a read pending
 * when the end arrives, which wins that race most of the time; when it is lost, a body whose
 * Content-Length bytes all arrived is still complete (RFC 9112 §6.2), while a chunked body
 * cannot be told from a cut one and is refused (nothing is left behind).
 *
 * @module
 */
import {
  BodyAbortedError,
  BodyTimeoutError,
  type BodyToFileOptions,
  BodyTooLargeError,
} from "../request_body.ts";

/** Mode of uploaded files (before the umask), as for files created by a SpliceableBody. */
export const UPLOAD_FILE_MODE = 0o644;

/** Options of {@linkcode streamBodyToFile}. */
export interface StreamToFileOptions extends BodyToFileOptions {
  /** The request's Content-Length, when it had one (undefined for chunked bodies). */
  readonly contentLength?: number;
}

/**
 * Creates the file at `path` (it must not exist) and writes `body` into it; resolves to the byte
 * count. Rejects with {@linkcode BodyTooLargeError}, {@linkcode BodyTimeoutError} or
 * {@linkcode BodyAbortedError} (the body is cancelled then); the caller removes the file.
 */
export async function streamBodyToFile(
  body: ReadableStream<Uint8Array> | null,
  path: string,
  options: StreamToFileOptions,
): Promise<number> {
  if (body === null) {
    (await Deno.open(path, { write: true, createNew: true, mode: UPLOAD_FILE_MODE })).close();
    return 0;
  }
  const reader = body.getReader();
  // The first read is issued before the file is opened, so the body is consumed from the start.
  let next = readWithin(reader, options.idleTimeoutMs);
  next.catch(() => {}); // observed below; this only keeps an early failure from going unhandled
  let file: Deno.FsFile | undefined;
  let written = 0;
  try {
    file = await Deno.open(path, { write: true, createNew: true, mode: UPLOAD_FILE_MODE });
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await next;
      } catch (error) {
        if (error instanceof BodyAbortedError && written === options.contentLength) return written;
        throw error;
      }
      if (result.done) return written;
      const chunk = result.value;
      if (written + chunk.byteLength > options.maxBytes) {
        throw new BodyTooLargeError(options.maxBytes);
      }
      next = readWithin(reader, options.idleTimeoutMs);
      next.catch(() => {});
      await writeAll(file, chunk);
      written += chunk.byteLength;
    }
  } catch (error) {
    // Tell the server we will not read the rest; errors of an already broken stream are moot.
    reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    file?.close();
    reader.releaseLock();
  }
}

/** One `reader.read()` that fails with BodyTimeoutError when nothing arrives for `ms`. */
async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  ms: number,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BodyTimeoutError(ms)), ms);
  });
  try {
    return await Promise.race([
      reader.read().catch((error) => {
        throw new BodyAbortedError(error);
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes all of `bytes` (Deno's `write` may write less than asked). */
async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    offset += await file.write(bytes.subarray(offset));
  }
}
