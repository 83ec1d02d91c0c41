/**
 * The send chain (src/server/engine/send_chain.ts) against fake syscalls: what it sends, in which
 * order, what it counts as body bytes, and how it stops (EAGAIN, budget, stream, peer gone,
 * short file). No socket.
 */
import assert from "node:assert/strict";
import { EAGAIN, EINTR, EPIPE } from "../ffi/constants.ts";
import {
  sendChain,
  type SendIO,
  SendResult,
  type SendSink,
} from "../src/server/engine/send_chain.ts";
import { bytesSegment, chunkSegment, Seg, type Segment } from "../src/server/engine/segments.ts";
import type { OpenFile } from "../src/server/engine/file_cache.ts";

/** A fake socket taking at most `room` bytes per call, then answering with `errors` in order. */
class FakeIO implements SendIO {
  calls: string[] = [];
  sent: number[] = [];
  #errno = 0;
  constructor(public room: number, public errors: number[] = []) {}
  #take(want: number): number {
    const error = this.errors.shift();
    if (error !== undefined && error !== 0) {
      this.#errno = error;
      return -1;
    }
    return Math.min(want, this.room);
  }
  send(_fd: number, buf: Uint8Array, len: bigint): number {
    assert.equal(Number(len), buf.byteLength);
    const n = this.#take(buf.byteLength);
    this.calls.push(`send ${buf.byteLength} -> ${n}`);
    for (let i = 0; i < n; i++) this.sent.push(buf[i]);
    return n;
  }
  sendfile(_fd: number, inFd: number, offset: Uint8Array, len: bigint): number {
    const pos = Number(new BigInt64Array(offset.buffer)[0]);
    const want = Number(len);
    const n = inFd === 99 ? 0 : this.#take(want);
    this.calls.push(`sendfile fd${inFd} @${pos} ${want} -> ${n}`);
    return n;
  }
  errno(): number {
    return this.#errno;
  }
}

class Sink implements SendSink {
  body: Record<string, number> = { copy: 0, stream: 0, sendfile: 0 };
  sendfileCalls = 0;
  progress = 0;
  bodySent(n: number, path: "copy" | "stream" | "sendfile"): void {
    this.body[path] += n;
  }
  sendfileCalled(): void {
    this.sendfileCalls++;
  }
  progressed(): void {
    this.progress++;
  }
}

const file = (fd: number) => ({ fd, stat: {} } as unknown as OpenFile);
const bytes = (n: number, v = 1) => new Uint8Array(n).fill(v);

Deno.test("send chain: head + file slice go out in order; head bytes are not body bytes", () => {
  const io = new FakeIO(1 << 20);
  const sink = new Sink();
  const out: Segment[] = [
    bytesSegment(bytes(100), 100, "copy"),
    { kind: Seg.File, file: file(7), pos: 1000, end: 1000 + 5000 },
  ];
  assert.equal(sendChain(io, 3, out, 1 << 20, sink), SendResult.Done);
  assert.deepEqual(io.calls, ["send 100 -> 100", "sendfile fd7 @1000 5000 -> 5000"]);
  assert.deepEqual(sink.body, { copy: 0, stream: 0, sendfile: 5000 });
  assert.equal(sink.sendfileCalls, 1);
  assert.equal(out.length, 0);
});

Deno.test("send chain: a full socket stops with Again and resumes where it stopped", () => {
  const io = new FakeIO(60);
  const sink = new Sink();
  const seg = bytesSegment(bytes(150, 2), 50, "copy");
  const out: Segment[] = [seg];
  io.errors = [0, EINTR, 0, EAGAIN];
  assert.equal(sendChain(io, 3, out, 1 << 20, sink), SendResult.Again);
  assert.deepEqual(io.calls, ["send 150 -> 60", "send 90 -> -1", "send 90 -> 60", "send 30 -> -1"]);
  assert.equal(seg.off, 120);
  assert.equal(sink.body.copy, 70, "body bytes start at bodyStart");
  assert.equal(sendChain(io, 3, out, 1 << 20, sink), SendResult.Done);
  assert.equal(sink.body.copy, 100);
  assert.equal(io.sent.length, 150);
});

Deno.test("send chain: the byte budget caps one turn; chunk framing is not body", () => {
  const io = new FakeIO(1 << 30);
  const sink = new Sink();
  const out: Segment[] = [
    { kind: Seg.File, file: file(5), pos: 0, end: 10_000 },
    chunkSegment(bytes(10)),
  ];
  assert.equal(sendChain(io, 3, out, 4096, sink), SendResult.Budget);
  assert.deepEqual(io.calls, ["sendfile fd5 @0 4096 -> 4096"]);
  assert.equal(sendChain(io, 3, out, 1 << 20, sink), SendResult.Done);
  assert.deepEqual(io.calls.slice(1), ["sendfile fd5 @4096 5904 -> 5904", "send 15 -> 15"]);
  assert.deepEqual(sink.body, { copy: 0, stream: 10, sendfile: 10_000 });
});

Deno.test("send chain: streams, a gone peer and a short file stop the chain", () => {
  const sink = new Sink();
  const reader = new ReadableStream<Uint8Array>().getReader();
  const stream: Segment = {
    kind: Seg.Stream,
    reader,
    chunked: false,
    remaining: -1,
    reading: false,
  };
  const io = new FakeIO(1 << 20);
  assert.equal(
    sendChain(io, 3, [bytesSegment(bytes(3), 3, "copy"), stream], 1 << 20, sink),
    SendResult.Stream,
  );
  assert.equal(
    sendChain(new FakeIO(10, [EPIPE]), 3, [bytesSegment(bytes(3), 0, "copy")], 100, sink),
    SendResult.Failed,
  );
  const short: Segment[] = [{ kind: Seg.File, file: file(99), pos: 0, end: 10 }];
  assert.equal(sendChain(io, 3, short, 100, sink), SendResult.ShortFile);
  assert.equal(sendChain(io, 3, [], 100, sink), SendResult.Done);
});
