/** Response streams in the output queue (src/server/engine/stream_output.ts), no socket. */
import assert from "node:assert/strict";
import { Seg, type Segment, type StreamSegment } from "../src/server/engine/segments.ts";
import { StreamStep, takeStreamResult } from "../src/server/engine/stream_output.ts";

const enc = new TextEncoder();

function streamSeg(
  chunked: boolean,
  remaining: number,
): { seg: StreamSegment; cancelled: () => boolean } {
  let cancelled = false;
  const reader = new ReadableStream<Uint8Array>({ cancel: () => void (cancelled = true) })
    .getReader();
  return {
    seg: { kind: Seg.Stream, reader, chunked, remaining, reading: false },
    cancelled: () => cancelled,
  };
}

const text = (out: Segment[]) =>
  out.map((s) => s.kind === Seg.Bytes ? new TextDecoder().decode(s.buf) : "<stream>").join("|");

Deno.test("stream output: chunked bodies are framed and end with the last chunk", () => {
  const { seg } = streamSeg(true, -1);
  const out: Segment[] = [seg];
  assert.equal(
    takeStreamResult(out, seg, { done: false, value: enc.encode("hello") }, enc),
    StreamStep.Queued,
  );
  assert.equal(text(out), "5\r\nhello\r\n|<stream>");
  out.shift();
  assert.equal(takeStreamResult(out, seg, { done: false, value: "" }, enc), StreamStep.Queued);
  assert.equal(
    takeStreamResult(out, seg, { done: true, value: undefined }, enc),
    StreamStep.Queued,
  );
  assert.equal(text(out), "0\r\n\r\n");
});

Deno.test("stream output: a Content-Length body gets exactly what was promised", async () => {
  const over = streamSeg(false, 4);
  const out: Segment[] = [over.seg];
  assert.equal(
    takeStreamResult(out, over.seg, { done: false, value: enc.encode("abcdef") }, enc),
    StreamStep.Overlong,
  );
  assert.equal(text(out), "abcd", "the stream segment is gone, the extra bytes dropped");
  await Promise.resolve();
  assert.equal(over.cancelled(), true);
  const short = streamSeg(false, 10);
  const out2: Segment[] = [short.seg];
  assert.equal(
    takeStreamResult(out2, short.seg, { done: false, value: "abc" }, enc),
    StreamStep.Queued,
  );
  assert.equal(short.seg.remaining, 7);
  out2.shift();
  assert.equal(
    takeStreamResult(out2, short.seg, { done: true, value: undefined }, enc),
    StreamStep.Short,
  );
  const bad = streamSeg(false, -1);
  assert.equal(
    takeStreamResult([bad.seg], bad.seg, { done: false, value: 42 }, enc),
    StreamStep.NotBytes,
  );
});
