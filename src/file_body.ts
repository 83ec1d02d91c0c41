/**
 * The file body: the seam between the app and the servers.
 *
 * A handler answers with a `Response` whose body is a {@linkcode FileBody}: an ordinary
 * `ReadableStream<Uint8Array>` (so `Deno.serve`, `fetch` consumers and tests can read it) that
 * also carries its description as a list of parts, each either bytes held in memory or a
 * {@linkcode FileSlice} (a path, an offset and a length). A zero-copy server recognises the body
 * with {@linkcode isFileBody} and sends each slice with `sendfile(2)` without ever reading the
 * stream; any other server just reads the stream, which opens the file lazily on the first pull.
 *
 * `new Response(body).body === body` holds in Deno and survives Hono middleware that only edits
 * headers, which is what lets the body pass through the app untouched.
 *
 * @example
 * ```ts
 * const body = new FileBody([{ path: "/srv/a.mp4", offset: 0, length: 1024, identity }]);
 * return new Response(body, { headers: { "content-length": String(body.byteLength) } });
 * ```
 * @module
 */
import { SETTINGS } from "./settings.ts";

/** What identifies one version of a file: a cached fd is reused only while all of these match. */
export interface FileIdentity {
  /** Device number. */
  readonly dev: number;
  /** Inode number. */
  readonly ino: number;
  /** Size in bytes. */
  readonly size: number;
  /** Modification time in nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
}

/** A byte range of a file on disk: what a zero-copy server sends with `sendfile(2)`. */
export interface FileSlice {
  /** Absolute, symlink-free path of the file. */
  readonly path: string;
  /** First byte to send. */
  readonly offset: number;
  /** Number of bytes to send (may be 0). */
  readonly length: number;
  /** The file version the response headers (ETag, Content-Length) were computed from. */
  readonly identity: FileIdentity;
}

/** One part of a file body: bytes in memory (e.g. a multipart boundary) or a file slice. */
export type BodyPart = Uint8Array | FileSlice;

/** Options of the streaming fallback. */
export interface FileBodyOptions {
  /** Bytes read from disk per pull when streamed (default 65536). */
  readonly chunkSize?: number;
}

/** Default number of bytes read per pull when a file body is streamed. */
export const DEFAULT_STREAM_CHUNK_SIZE: number = SETTINGS.streamChunkSize.default;

const FILE_BODY = Symbol.for("zerocast.fileBody");

/** Returns true when `part` is a {@linkcode FileSlice} rather than bytes. */
export function isFileSlice(part: BodyPart): part is FileSlice {
  return !(part instanceof Uint8Array);
}

/** Thrown into the stream when a file is shorter than the slice that was promised. */
export class FileTruncatedError extends Error {
  /** Creates the error for `path`. */
  constructor(readonly path: string, readonly expected: number, readonly got: number) {
    super(`file truncated while being sent: ${path} (expected ${expected} bytes, got ${got})`);
    this.name = "FileTruncatedError";
  }
}

/** Thrown into the stream when the path names another file version than the headers describe. */
export class FileChangedError extends Error {
  /** Creates the error for `path`. */
  constructor(readonly path: string) {
    super(`file replaced before it was sent: ${path}`);
    this.name = "FileChangedError";
  }
}

/** True when `info` (of an open file) is the version `identity` was computed from (ms mtime). */
function sameVersion(info: Deno.FileInfo, identity: FileIdentity): boolean {
  return info.dev === identity.dev && info.ino === identity.ino && info.size === identity.size &&
    BigInt(info.mtime?.getTime() ?? 0) === identity.mtimeNs / 1_000_000n;
}

/**
 * A response body made of in-memory bytes and file slices.
 *
 * As a stream it has bounded memory (one chunk in flight, backpressure from the reader), opens
 * each file only when its first byte is pulled, and closes it on end, on error and on cancel
 * (client abort).
 */
export class FileBody extends ReadableStream<Uint8Array> {
  /** The parts in order. A zero-copy server sends these instead of reading the stream. */
  readonly parts: readonly BodyPart[];
  /** Total number of bytes of all parts. */
  readonly byteLength: number;
  /** Brand checked by {@linkcode isFileBody} (works across module copies). */
  readonly [FILE_BODY] = true;

  /** Creates a body from `parts`; nothing is opened until the stream is read. */
  constructor(parts: readonly BodyPart[], options: FileBodyOptions = {}) {
    const chunkSize = options.chunkSize ?? DEFAULT_STREAM_CHUNK_SIZE;
    const reader = new PartReader(parts, chunkSize);
    super({
      pull: (controller) => reader.pull(controller),
      cancel: () => reader.close(),
    }, { highWaterMark: 0 });
    this.parts = parts;
    let total = 0;
    for (const part of parts) total += part instanceof Uint8Array ? part.byteLength : part.length;
    this.byteLength = total;
  }
}

/** Returns true when `body` is a {@linkcode FileBody} that has not been read as a stream yet. */
export function isFileBody(body: unknown): body is FileBody {
  return typeof body === "object" && body !== null &&
    (body as Record<symbol, unknown>)[FILE_BODY] === true &&
    !(body as ReadableStream).locked;
}

/** Streams parts one chunk per pull; owns at most one open file at a time. */
class PartReader {
  #index = 0;
  #file: Deno.FsFile | null = null;
  #remaining = 0;
  #sliceRead = 0;

  constructor(readonly parts: readonly BodyPart[], readonly chunkSize: number) {}

  async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    try {
      while (this.#index < this.parts.length) {
        const part = this.parts[this.#index];
        if (part instanceof Uint8Array) {
          this.#index++;
          if (part.byteLength > 0) {
            controller.enqueue(part);
            return;
          }
          continue;
        }
        if (this.#file === null) {
          if (part.length === 0) {
            this.#index++;
            continue;
          }
          this.#file = await Deno.open(part.path, { read: true });
          // The path may name a newer file than the one the headers describe (an upload renamed
          // over it): sending its bytes under the old Content-Length/ETag would mix versions.
          const info = await this.#file.stat();
          if (!sameVersion(info, part.identity)) throw new FileChangedError(part.path);
          await this.#file.seek(part.offset, Deno.SeekMode.Start);
          this.#remaining = part.length;
          this.#sliceRead = 0;
        }
        const buffer = new Uint8Array(Math.min(this.chunkSize, this.#remaining));
        const n = await this.#file.read(buffer);
        if (n === null || n === 0) {
          throw new FileTruncatedError(part.path, part.length, this.#sliceRead);
        }
        this.#remaining -= n;
        this.#sliceRead += n;
        if (this.#remaining === 0) {
          this.close();
          this.#index++;
        }
        controller.enqueue(n === buffer.byteLength ? buffer : buffer.subarray(0, n));
        return;
      }
      controller.close();
    } catch (error) {
      this.close();
      controller.error(error);
    }
  }

  close(): void {
    if (this.#file !== null) {
      try {
        this.#file.close();
      } catch {
        // already closed
      }
      this.#file = null;
    }
  }
}

/**
 * The parts covering bytes `[offset, offset + length)` of the body made of `parts` (file slices
 * are narrowed, byte parts sub-viewed); used to answer a byte range of a virtual body.
 */
export function sliceParts(
  parts: readonly BodyPart[],
  offset: number,
  length: number,
): BodyPart[] {
  const out: BodyPart[] = [];
  let pos = 0;
  const end = offset + length;
  for (let i = 0; i < parts.length && pos < end; i++) {
    const part = parts[i];
    const partLength = part instanceof Uint8Array ? part.byteLength : part.length;
    const partEnd = pos + partLength;
    if (partEnd > offset && partLength > 0) {
      const from = Math.max(offset, pos) - pos;
      const to = Math.min(end, partEnd) - pos;
      if (part instanceof Uint8Array) {
        out.push(from === 0 && to === partLength ? part : part.subarray(from, to));
      } else {
        out.push(
          from === 0 && to === partLength ? part : {
            path: part.path,
            offset: part.offset + from,
            length: to - from,
            identity: part.identity,
          },
        );
      }
    }
    pos = partEnd;
  }
  return out;
}
