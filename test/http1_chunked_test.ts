import assert from "node:assert/strict";
import fc from "fast-check";
import { ChunkedDecoder, type ChunkedLimits, encodeChunk, LAST_CHUNK } from "../src/http1/mod.ts";
import { concat } from "./support/bytes.ts";

/** Bytes of a latin1 string. */
function bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

interface Decoded {
  payload: Uint8Array;
  /** Bytes after the end of the body (the next pipelined request). */
  rest: Uint8Array;
  done: boolean;
  error?: string;
  errorStatus?: number;
}

/** Feeds `pieces` one after the other, as reads from a socket would arrive. */
function decodePieces(pieces: Uint8Array[], max = 1 << 30, limits?: ChunkedLimits): Decoded {
  const dec = new ChunkedDecoder(max, limits);
  const payload: Uint8Array[] = [];
  const rest: Uint8Array[] = [];
  for (const piece of pieces) {
    if (dec.done) {
      rest.push(piece);
      continue;
    }
    let at = 0;
    while (at < piece.length) {
      const step = dec.decode(piece, at, piece.length);
      if (step.error !== undefined) {
        return {
          payload: concat(payload),
          rest: new Uint8Array(),
          done: false,
          error: step.error,
          errorStatus: step.errorStatus,
        };
      }
      if (step.dataLength > 0) {
        payload.push(piece.slice(step.dataStart, step.dataStart + step.dataLength));
      }
      assert.ok(step.consumed > 0 || step.done, "progress");
      at += step.consumed;
      if (step.done) {
        rest.push(piece.subarray(at));
        break;
      }
    }
  }
  return { payload: concat(payload), rest: concat(rest), done: dec.done };
}

function decodeText(text: string, max?: number, limits?: ChunkedLimits): Decoded {
  return decodePieces([bytes(text)], max, limits);
}

const text = (b: Uint8Array) => String.fromCharCode(...b);

Deno.test("chunked: a simple body", () => {
  const r = decodeText("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  assert.equal(r.error, undefined);
  assert.equal(r.done, true);
  assert.equal(text(r.payload), "hello world");
  assert.equal(r.rest.length, 0);
});

Deno.test("chunked: hex sizes in both cases with leading zeros", () => {
  const data = "x".repeat(0x1a);
  for (const size of ["1a", "1A", "001a", "0000000000000001A"]) {
    const r = decodeText(`${size}\r\n${data}\r\n0\r\n\r\n`);
    assert.equal(text(r.payload), data, size);
  }
  assert.equal(decodeText("000\r\n\r\n").done, true);
});

Deno.test("chunked: extensions are ignored (RFC 9112 §7.1.1)", () => {
  const r = decodeText(
    '5;name=value\r\nhello\r\n1 ; a ; b="q;\\"uoted"\r\n!\r\n0;last\r\n\r\n',
  );
  assert.equal(r.error, undefined);
  assert.equal(text(r.payload), "hello!");
});

Deno.test("chunked: trailers are read and discarded (RFC 9112 §7.1.2)", () => {
  const r = decodeText("3\r\nabc\r\n0\r\nX-Checksum: 123\r\nX-Other: a b\r\n\r\nGET / HTTP/1.1");
  assert.equal(r.done, true);
  assert.equal(text(r.payload), "abc");
  assert.equal(text(r.rest), "GET / HTTP/1.1");
});

Deno.test("chunked: the bytes after the body are left for the next request", () => {
  const body = "4\r\nwiki\r\n0\r\n\r\n";
  const next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  const buf = bytes(body + next);
  const dec = new ChunkedDecoder(100);
  let at = 0;
  for (;;) {
    const step = dec.decode(buf, at, buf.length);
    at += step.consumed;
    if (step.done) break;
  }
  assert.equal(at, body.length);
  // Once done, decoding consumes nothing more.
  const after = dec.decode(buf, at, buf.length);
  assert.equal(after.consumed, 0);
  assert.equal(after.done, true);
});

Deno.test("chunked: split at every byte position and fed byte by byte", () => {
  const body = "5;x=y\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: v\r\n\r\nNEXT";
  const whole = decodeText(body);
  assert.equal(text(whole.payload), "helloabcdefghijklmnopqrstuvwxyz");
  assert.equal(text(whole.rest), "NEXT");
  const buf = bytes(body);
  for (let k = 0; k <= buf.length; k++) {
    assert.deepEqual(decodePieces([buf.subarray(0, k), buf.subarray(k)]), whole, `split ${k}`);
  }
  const single = [...buf].map((b) => new Uint8Array([b]));
  assert.deepEqual(decodePieces(single), whole);
});

Deno.test("chunked: malformed framing is a 400", () => {
  const cases: [string, string][] = [
    ["5\nhello\r\n0\r\n\r\n", "bare LF after size"],
    ["5\r\nhello\n0\r\n\r\n", "bare LF after data"],
    ["5\r\nhelloX\r\n0\r\n\r\n", "data longer than size"],
    ["5\r\nhell\r\n0\r\n\r\n", "data shorter than size"],
    ["5\rhello\r\n0\r\n\r\n", "bare CR after size"],
    ["g\r\n", "non-hex size"],
    ["\r\n", "empty size"],
    [";ext\r\n", "extension without size"],
    ["-5\r\n", "negative size"],
    ["0x5\r\n", "0x prefix"],
    ["5 \r\nhello\r\n0\r\n\r\n", "whitespace without extension"],
    ["5 x\r\n", "whitespace then garbage"],
    ["5;a\x00b\r\n", "control in extension"],
    ["5;a\nb\r\n", "LF in extension"],
    ["fffffffffffffffff\r\n", "size overflow"],
    ["0\r\nX: y\n\r\n", "bare LF in trailer"],
    ["0\r\nX: y\rz\r\n\r\n", "bare CR in trailer"],
    ["0\r\n folded: x\r\n\r\n", "obs-fold in trailer"],
    ["0\r\nX: \x01\r\n\r\n", "control in trailer"],
    ["0\r\n\n", "bare LF at end"],
    ["0\r\n\rX", "CR without LF at end"],
  ];
  for (const [body, why] of cases) {
    const r = decodeText(body);
    assert.notEqual(r.error, undefined, why);
    assert.equal(r.errorStatus, 400, why);
  }
});

Deno.test("chunked: a body over the limit is a 413, detected at the size line", () => {
  const one = decodeText("b\r\n", 10); // 11 bytes announced, before any data arrives
  assert.equal(one.errorStatus, 413);
  const total = decodeText("6\r\nabcdef\r\n6\r\n", 10);
  assert.equal(total.errorStatus, 413);
  assert.equal(text(total.payload), "abcdef");
  const exact = decodeText("5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n", 10);
  assert.equal(exact.error, undefined);
  assert.equal(exact.payload.length, 10);
});

Deno.test("chunked: framing limits on size lines and trailers", () => {
  const limits = { maxChunkLineBytes: 16, maxTrailerBytes: 32 };
  assert.equal(decodeText("1;" + "e".repeat(14) + "\r\nx\r\n0\r\n\r\n", 1e9, limits).done, true);
  assert.equal(decodeText("1;" + "e".repeat(15) + "\r\n", 1e9, limits).errorStatus, 400);
  assert.equal(decodeText("0".repeat(17) + "\r\n", 1e9, limits).errorStatus, 400);
  const trailer = "X: " + "v".repeat(25) + "\r\n"; // 30 bytes
  assert.equal(decodeText("0\r\n" + trailer + "\r\n", 1e9, limits).done, true);
  assert.equal(decodeText("0\r\n" + trailer + "Y: z\r\n\r\n", 1e9, limits).errorStatus, 400);
});

Deno.test("chunked: an error is sticky", () => {
  const dec = new ChunkedDecoder(100);
  const bad = bytes("zz");
  const first = dec.decode(bad, 0, bad.length);
  assert.equal(first.errorStatus, 400);
  const again = dec.decode(bytes("5\r\n"), 0, 3);
  assert.equal(again.errorStatus, 400);
  assert.equal(again.consumed, 0);
  assert.equal(again.dataLength, 0);
});

Deno.test("chunked: payload moved elsewhere (splice) is reported with skipPayload", () => {
  const dec = new ChunkedDecoder(1000);
  assert.equal(dec.payloadRemainingInChunk, 0);
  // The caller read only the size line, then splices the data itself.
  let step = dec.decode(bytes("a\r\n"), 0, 3);
  assert.equal(step.consumed, 3);
  assert.equal(step.dataLength, 0);
  assert.equal(dec.payloadRemainingInChunk, 10);
  dec.skipPayload(4);
  assert.equal(dec.payloadRemainingInChunk, 6);
  assert.throws(() => dec.skipPayload(7), RangeError);
  assert.throws(() => dec.skipPayload(-1), RangeError);
  dec.skipPayload(6);
  assert.equal(dec.payloadRemainingInChunk, 0);
  assert.throws(() => dec.skipPayload(1), RangeError);
  // Framing after the spliced data comes back through decode, here with payload in the buffer.
  const tail = bytes("\r\n3\r\nabc\r\n0\r\n\r\n");
  step = dec.decode(tail, 0, tail.length);
  assert.equal(text(tail.subarray(step.dataStart, step.dataStart + step.dataLength)), "abc");
  step = dec.decode(tail, step.consumed, tail.length);
  assert.equal(step.done, true);
  assert.equal(dec.payloadBytes, 13);
  assert.equal(dec.done, true);
});

Deno.test("chunked: round trip of the response chunk encoder", () => {
  const parts = [bytes("first"), new Uint8Array(0), bytes("x".repeat(300))];
  const wire = concat([...parts.flatMap((p) => encodeChunk(p)), LAST_CHUNK]);
  const r = decodePieces([wire]);
  assert.equal(r.done, true);
  assert.equal(text(r.payload), "first" + "x".repeat(300));
});

/** One chunked body as the property tests generate it. */
interface BodySpec {
  payload: Uint8Array;
  /** Sizes of the chunks, summing to the payload length. */
  cuts: number[];
  upper: boolean;
  ext: string[];
  trailers: string[];
}

const bodySpec: fc.Arbitrary<BodySpec> = fc
  .record({
    payload: fc.uint8Array({ maxLength: 3000 }),
    cutsSeed: fc.array(fc.nat({ max: 600 }), { maxLength: 12 }),
    upper: fc.boolean(),
    ext: fc.array(fc.constantFrom("", ";a", ";a=b", ' ; n="v;x"', ";x;y=1"), { maxLength: 13 }),
    trailers: fc.array(fc.constantFrom("X-A: 1", "Checksum: abc def", "T:"), { maxLength: 3 }),
  })
  .map(({ payload, cutsSeed, upper, ext, trailers }) => {
    const cuts: number[] = [];
    let left = payload.length;
    for (const c of cutsSeed) {
      if (left === 0) break;
      const n = Math.min(left, c + 1);
      cuts.push(n);
      left -= n;
    }
    if (left > 0) cuts.push(left);
    return { payload, cuts, upper, ext, trailers };
  });

function encodeBody(spec: BodySpec): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  spec.cuts.forEach((n, i) => {
    const hex = spec.upper ? n.toString(16).toUpperCase() : n.toString(16);
    parts.push(bytes(hex + (spec.ext[i] ?? "") + "\r\n"));
    parts.push(spec.payload.subarray(at, at + n), bytes("\r\n"));
    at += n;
  });
  parts.push(bytes("0" + (spec.ext[spec.cuts.length] ?? "") + "\r\n"));
  for (const t of spec.trailers) parts.push(bytes(t + "\r\n"));
  parts.push(bytes("\r\n"));
  return concat(parts);
}

/** Splits `buf` at the given points (taken modulo its length, sorted). */
function splitAt(buf: Uint8Array, points: number[]): Uint8Array[] {
  const cuts = [...new Set(points.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

Deno.test("chunked: property: random payload, chunking and read splits decode to the payload", () => {
  fc.assert(
    fc.property(
      bodySpec,
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.uint8Array({ maxLength: 20 }),
      (spec, points, next) => {
        const wire = concat([encodeBody(spec), next]);
        const r = decodePieces(splitAt(wire, points));
        assert.equal(r.error, undefined);
        assert.equal(r.done, true);
        assert.deepEqual(r.payload, spec.payload);
        assert.deepEqual(r.rest, next);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("chunked: property: alternating buffered decode and spliced payload", () => {
  // Model of the socket-owning caller: it reads the wire in random pieces; whenever its buffer
  // is drained inside chunk data it may move payload straight from the "socket" (as splice
  // would) and report it with skipPayload.
  fc.assert(
    fc.property(
      bodySpec,
      fc.array(fc.record({ read: fc.nat({ max: 700 }), splice: fc.nat({ max: 900 }) }), {
        minLength: 1,
        maxLength: 40,
      }),
      (spec, moves) => {
        const wire = encodeBody(spec);
        const dec = new ChunkedDecoder(spec.payload.length);
        const out: Uint8Array[] = [];
        let socket = 0; // next unread wire byte
        for (let turn = 0; !dec.done; turn++) {
          const move = moves[turn % moves.length];
          const left = dec.payloadRemainingInChunk;
          if (left > 0 && move.splice > 0) {
            const n = Math.min(left, move.splice, wire.length - socket);
            out.push(wire.subarray(socket, socket + n));
            dec.skipPayload(n);
            socket += n;
            continue;
          }
          const n = Math.max(1, Math.min(move.read, wire.length - socket));
          const piece = wire.subarray(socket, socket + n);
          socket += n;
          let at = 0;
          while (at < piece.length && !dec.done) {
            const step = dec.decode(piece, at, piece.length);
            assert.equal(step.error, undefined);
            if (step.dataLength > 0) {
              out.push(piece.subarray(step.dataStart, step.dataStart + step.dataLength));
            }
            at += step.consumed;
          }
          assert.equal(at, piece.length, "no bytes after the body in this model");
        }
        assert.equal(socket, wire.length);
        assert.deepEqual(concat(out), spec.payload);
        assert.equal(dec.payloadBytes, spec.payload.length);
      },
    ),
    { numRuns: 300 },
  );
});
