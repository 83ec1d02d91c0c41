/**
 * Response streams in the output queue: each chunk the app's stream yields is queued in front of
 * the stream segment, framed by the chunked coding (RFC 9112 §7.1) or counted against the
 * Content-Length the app promised (RFC 9112 §6.2: never more than promised; less means the
 * connection must close, since the client cannot know the body ended).
 *
 * @module
 */
import { LAST_CHUNK } from "../../http1/mod.ts";
import { bytesSegment, chunkSegment, type Segment, type StreamSegment } from "./segments.ts";

/** What a stream result means for the connection. */
export const enum StreamStep {
  /** Queued (or nothing to queue): write on. */
  Queued,
  /** More bytes than the promised Content-Length: what was promised is queued, then close. */
  Overlong,
  /** The stream ended before the promised Content-Length: close now. */
  Short,
  /** A chunk that is neither bytes nor text: close now. */
  NotBytes,
}

/**
 * Applies one read result of `seg` (the first segment of `out`): queues its bytes before it, or
 * ends it (adding the last chunk of a chunked body). Cancels the reader once it is not needed.
 */
export function takeStreamResult(
  out: Segment[],
  seg: StreamSegment,
  result: ReadableStreamReadResult<unknown>,
  encoder: TextEncoder,
): StreamStep {
  if (result.done) {
    out.shift();
    if (seg.chunked) out.unshift(bytesSegment(LAST_CHUNK, LAST_CHUNK.byteLength, "stream"));
    else if (seg.remaining > 0) return StreamStep.Short;
    return StreamStep.Queued;
  }
  const value = result.value;
  let data: Uint8Array;
  if (value instanceof Uint8Array) data = value;
  else if (typeof value === "string") data = encoder.encode(value);
  else {
    seg.reader.cancel().catch(() => {});
    return StreamStep.NotBytes;
  }
  if (data.byteLength === 0) return StreamStep.Queued;
  let step = StreamStep.Queued;
  if (seg.remaining >= 0) {
    if (data.byteLength >= seg.remaining) {
      if (data.byteLength > seg.remaining) {
        data = data.subarray(0, seg.remaining);
        step = StreamStep.Overlong;
      }
      out.shift();
      seg.reader.cancel().catch(() => {});
    }
    seg.remaining -= data.byteLength;
    out.unshift(bytesSegment(data, 0, "stream"));
  } else if (seg.chunked) out.unshift(chunkSegment(data));
  else out.unshift(bytesSegment(data, 0, "stream"));
  return step;
}
