/**
 * Writes a planned response ({@linkcode planResponse} of the zero-copy engine, with its head
 * serialized by the codec's one serializer, and the body as bytes, a file body or a stream) to a
 * {@linkcode ConnIo}.
 * Stream bodies (file bodies included: they are read as the `ReadableStream` they are) are read
 * one chunk at a time and each chunk is written before the next is read, so memory stays at one
 * chunk per connection. Body bytes are counted as each write completes, so a response cut short
 * reports what really left.
 *
 * @module
 */
import { CHUNK_CRLF, chunkHeader, LAST_CHUNK } from "../../http1/mod.ts";
import type { ResponsePlan } from "../engine/response_plan.ts";
import type { ConnIo } from "./conn_io.ts";

/** Bodies up to this size leave in the same write as the head. */
const COALESCE_BYTES = 16 * 1024;
const encoder = new TextEncoder();

/** How a response write ended. */
export interface WriteOutcome {
  /** Body bytes written (chunk framing not counted, like nginx's `$body_bytes_sent`). */
  bytes: number;
  /** The whole response went out with correct framing; false: the connection must close. */
  complete: boolean;
}

/** Writes `plan` to `io`, reporting each body write to `sent`; never throws. */
export async function writeResponse(
  io: ConnIo,
  plan: ResponsePlan,
  head: Uint8Array,
  sent: (bytes: number) => void,
): Promise<WriteOutcome> {
  const outcome: WriteOutcome = { bytes: 0, complete: false };
  const count = (n: number) => {
    outcome.bytes += n;
    sent(n);
  };
  const stream = plan.fileBody ?? plan.stream;
  try {
    if (stream === null) {
      const body = plan.bytes === null
        ? null
        : typeof plan.bytes === "string"
        ? encoder.encode(plan.bytes)
        : plan.bytes;
      if (body === null) await io.write(head);
      else if (body.byteLength <= COALESCE_BYTES) {
        const both = new Uint8Array(head.byteLength + body.byteLength);
        both.set(head);
        both.set(body, head.byteLength);
        await io.write(both);
        count(body.byteLength);
      } else {
        await io.write(head);
        await io.write(body);
        count(body.byteLength);
      }
      outcome.complete = true;
      return outcome;
    }
    await io.write(head);
  } catch {
    stream?.cancel().catch(() => {});
    return outcome;
  }
  const length = plan.fileBody !== null ? plan.fileBody.byteLength : plan.streamLength;
  outcome.complete = await writeStream(io, stream, plan.chunked, length, count);
  return outcome;
}

/**
 * Writes a stream body: chunked, exactly `length` bytes (a shorter stream breaks the framing, a
 * longer one is cut), or until the stream ends (close-delimited). True when the framing holds.
 */
async function writeStream(
  io: ConnIo,
  stream: ReadableStream<Uint8Array>,
  chunked: boolean,
  length: number,
  count: (n: number) => void,
): Promise<boolean> {
  const reader = stream.getReader();
  let left = length;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let chunk = value;
      if (chunk.byteLength === 0) continue;
      if (length >= 0) {
        if (chunk.byteLength > left) chunk = chunk.subarray(0, left);
        await io.write(chunk);
        left -= chunk.byteLength;
        count(chunk.byteLength);
        if (left === 0) {
          // the promised length is out: anything more would corrupt the next response
          const more = await reader.read();
          if (!more.done) {
            reader.cancel().catch(() => {});
            return false;
          }
          return true;
        }
      } else if (chunked) {
        await io.write(frameChunk(chunk));
        count(chunk.byteLength);
      } else {
        await io.write(chunk);
        count(chunk.byteLength);
      }
    }
    if (chunked) await io.write(LAST_CHUNK);
    return length < 0 || left === 0;
  } catch {
    // the peer went away (or a deadline closed the connection), or the body stream failed
    reader.cancel().catch(() => {});
    return false;
  } finally {
    reader.releaseLock();
  }
}

/** One chunk of the chunked coding in one buffer: size line, data, CRLF (RFC 9112 §7.1). */
function frameChunk(data: Uint8Array): Uint8Array {
  const size = chunkHeader(data.byteLength);
  const out = new Uint8Array(size.byteLength + data.byteLength + CHUNK_CRLF.byteLength);
  out.set(size);
  out.set(data, size.byteLength);
  out.set(CHUNK_CRLF, size.byteLength + data.byteLength);
  return out;
}
