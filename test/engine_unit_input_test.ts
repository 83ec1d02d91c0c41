/** A connection's input buffer (src/server/engine/input_buffer.ts), no socket. */
import assert from "node:assert/strict";
import { InputBuffer, READ_RESERVE } from "../src/server/engine/input_buffer.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: InputBuffer) => new TextDecoder().decode(b.buf!.subarray(b.start, b.end));

Deno.test("input buffer: keeps a copy, appends reads, consumes, compacts", () => {
  const input = new InputBuffer();
  assert.equal(input.empty, true);
  const shared = bytes("GET / HTTP/1.1\r\nHo");
  input.keep(shared, 4, shared.length);
  shared.fill(0); // the shared read buffer is reused: the kept bytes are a copy
  assert.equal(text(input), "/ HTTP/1.1\r\nHo");
  const room = input.room(8);
  assert.ok(room.byteLength >= 8);
  room.set(bytes("st: x\r\n\r\n"));
  input.appended(9);
  assert.equal(text(input), "/ HTTP/1.1\r\nHost: x\r\n\r\n");
  input.consumed(2);
  assert.equal(text(input), "HTTP/1.1\r\nHost: x\r\n\r\n");
  // asking for more room than is left after `end` compacts the data to the front
  const before = input.buf!;
  input.room(before.byteLength - (input.end - input.start));
  assert.equal(input.start, 0);
  assert.equal(text(input), "HTTP/1.1\r\nHost: x\r\n\r\n");
  input.consumed(input.end - input.start);
  assert.equal(input.empty, true);
  assert.ok(input.buf !== null, "small buffers are kept for the next request");
});

Deno.test("input buffer: grows for large input and drops large buffers once empty", () => {
  const input = new InputBuffer();
  input.keep(bytes("abc"), 0, 3);
  assert.equal(input.buf!.byteLength, 3 + READ_RESERVE);
  const big = 200_000;
  const room = input.room(big);
  assert.ok(room.byteLength >= big);
  assert.equal(text(input), "abc");
  room.fill(0x61, 0, big);
  input.appended(big);
  assert.equal(input.end - input.start, big + 3);
  input.consumed(big + 3);
  assert.equal(input.buf, null, "an emptied large buffer is dropped");
  input.keep(bytes("x"), 0, 1);
  input.clear();
  assert.equal(input.empty, true);
  input.release();
  assert.equal(input.buf, null);
});
