import assert from "node:assert/strict";
import {
  CHUNK_CRLF,
  chunkHeader,
  CONTINUE_100,
  encodeChunk,
  errorResponseBytes,
  type HeaderField,
  httpDate,
  LAST_CHUNK,
  prepareField,
  responseFraming,
  type ResponseHeadOptions,
  responseKeepsAlive,
  serializeResponseHead,
  statusText,
  writeResponseHead,
} from "../src/http1/mod.ts";

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const DATE = "Sun, 06 Nov 1994 08:49:37 GMT";
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;

const KEEP_11: ResponseHeadOptions = { keepAlive: true, versionMinor: 1, contentLength: 5 };

/** Serializes with a fixed Date so the bytes are exact. */
function head(status: number, fields: readonly HeaderField[], opts: ResponseHeadOptions): string {
  return latin1(serializeResponseHead(status, [["Date", DATE], ...fields], opts));
}

Deno.test("response: exact bytes of a keep-alive 200", () => {
  assert.equal(
    head(200, [["Content-Type", "text/plain"]], KEEP_11),
    `HTTP/1.1 200 OK\r\nDate: ${DATE}\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n\r\n`,
  );
});

Deno.test("response: the serializer adds a current IMF-fixdate Date", () => {
  const before = httpDate();
  const text = latin1(serializeResponseHead(204, [], KEEP_11));
  const after = httpDate();
  const date = /\r\ndate: ([^\r]*)\r\n/.exec(text)?.[1] ?? "";
  assert.match(date, IMF_FIXDATE);
  assert.ok(date === before || date === after);
  assert.equal(text, `HTTP/1.1 204 No Content\r\ndate: ${date}\r\n\r\n`);
});

Deno.test("response: Headers objects are serialized, set-cookie lines kept apart", () => {
  const headers = new Headers({ "Content-Type": "video/mp4", "date": DATE });
  headers.append("Set-Cookie", "a=1");
  headers.append("Set-Cookie", "b=2");
  assert.equal(
    latin1(serializeResponseHead(200, headers, KEEP_11)),
    `HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\ndate: ${DATE}\r\n` +
      "set-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 5\r\n\r\n",
  );
});

Deno.test("response: app framing and hop-by-hop fields are replaced", () => {
  const conflicting: [string, string][] = [
    ["Connection", "keep-alive"],
    ["Keep-Alive", "timeout=5"],
    ["TRANSFER-ENCODING", "chunked"],
    ["content-length", "999"],
    ["Proxy-Connection", "keep-alive"],
    ["X-Kept", "yes"],
  ];
  const expected = `HTTP/1.1 200 OK\r\nDate: ${DATE}\r\nX-Kept: yes\r\n` +
    "connection: close\r\ncontent-length: 5\r\n\r\n";
  const opts = { keepAlive: false, versionMinor: 1 as const, contentLength: 5 };
  assert.equal(head(200, conflicting, opts), expected);
  const asHeaders = new Headers([["date", DATE], ...conflicting]);
  assert.equal(
    latin1(serializeResponseHead(200, asHeaders, opts)),
    expected.replace("Date", "date").replace("X-Kept", "x-kept"),
  );
});

Deno.test("response: header injection is refused", () => {
  const opts = KEEP_11;
  for (
    const value of ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\0b", "a\x01b", "a\x7fb", "€"]
  ) {
    assert.throws(() => serializeResponseHead(200, [["X", value]], opts), TypeError, value);
  }
  for (const name of ["", "X Y", "X:Y", "X\r\nY", "é", "X\t"]) {
    assert.throws(() => serializeResponseHead(200, [[name, "v"]], opts), TypeError, name);
  }
  // Headers objects refuse line breaks themselves.
  assert.throws(() => new Headers({ x: "a\r\nb" }), TypeError);
  // obs-text and HTAB are legal field-value bytes.
  assert.match(head(200, [["X", "caf\xe9\tx"]], opts), /\r\nX: caf\xe9\tx\r\n/);
  assert.throws(() => serializeResponseHead(99, [], opts), RangeError);
  assert.throws(() => serializeResponseHead(200, [], { ...opts, contentLength: -1 }), RangeError);
  assert.throws(() => serializeResponseHead(200, [], { ...opts, contentLength: 1.5 }), RangeError);
});

Deno.test("response: prepared fields are checked once and written byte for byte", () => {
  const plain: [string, string][] = [
    ["ETag", '"1f-5e0"'],
    ["X-Long", "v".repeat(300)],
    ["content-length", "999"],
    ["X-Obs", "caf\xe9"],
  ];
  const prepared = plain.map(([name, value]) => prepareField(name, value));
  const opts = { keepAlive: true, versionMinor: 1 as const, contentLength: 1234567 };
  const expected = `HTTP/1.1 206 Partial Content\r\nDate: ${DATE}\r\nETag: "1f-5e0"\r\n` +
    `X-Long: ${"v".repeat(300)}\r\nX-Obs: caf\xe9\r\ncontent-length: 1234567\r\n\r\n`;
  assert.equal(head(206, plain, opts), expected);
  // a prepared framing field is still the serializer's: dropped like any other
  assert.equal(head(206, prepared, opts), expected);
  // mixed with plain fields, in the order given
  const mixed = [prepared[0], ["X-Plain", "p"] as const, prepared[3]];
  assert.match(head(206, mixed, opts), /\r\nETag: "1f-5e0"\r\nX-Plain: p\r\nX-Obs: caf\xe9\r\n/);
  // a prepared Date is the app's own
  const date = prepareField("date", DATE);
  const text = latin1(serializeResponseHead(200, [date], KEEP_11));
  assert.equal(text.split("\r\ndate: ").length + text.split("\r\nDate: ").length, 3);
  for (const value of ["a\r\nSet-Cookie: x=1", "a\nb", "a\0b", "€"]) {
    assert.throws(() => prepareField("X", value), TypeError);
  }
  assert.throws(() => prepareField("X Y", "v"), TypeError);
  // a prepared field never changes: its pair is frozen
  assert.ok(Object.isFrozen(prepared[0]));
});

Deno.test("response: a head that does not fit returns -1, whatever part overflows", () => {
  const fields = [prepareField("etag", '"abc"'), ["x-text", "t".repeat(100)] as const];
  const opts = { keepAlive: false, versionMinor: 0 as const, contentLength: 10_000_000 };
  const full = serializeResponseHead(200, fields, opts);
  for (let size = 0; size < full.byteLength; size++) {
    assert.equal(writeResponseHead(new Uint8Array(size), 0, 200, fields, opts), -1, `size ${size}`);
  }
  const exact = new Uint8Array(full.byteLength + 3);
  const end = writeResponseHead(exact, 3, 200, fields, opts);
  assert.equal(end, full.byteLength + 3);
  // same second: same date line
  assert.equal(latin1(exact.subarray(3)), latin1(full));
});

Deno.test("response: Connection header per version and keep-alive (RFC 9112 §9.3)", () => {
  const conn = (keepAlive: boolean, versionMinor: 0 | 1) => {
    const text = head(200, [], { keepAlive, versionMinor, contentLength: 0 });
    return /\r\nconnection: ([^\r]*)\r\n/.exec(text)?.[1] ?? null;
  };
  assert.equal(conn(true, 1), null);
  assert.equal(conn(false, 1), "close");
  assert.equal(conn(true, 0), "keep-alive");
  assert.equal(conn(false, 0), "close");
});

Deno.test("response: framing for each kind of body (RFC 9112 §6.3, RFC 9110 §8.6)", () => {
  const cases: [number, ResponseHeadOptions, string, string, boolean][] = [
    // status, options, framing, framing header lines, keeps alive
    [200, KEEP_11, "length", "content-length: 5\r\n", true],
    [
      200,
      { keepAlive: true, versionMinor: 1, contentLength: null, chunked: true },
      "chunked",
      "transfer-encoding: chunked\r\n",
      true,
    ],
    [
      200,
      { keepAlive: true, versionMinor: 0, contentLength: null, chunked: true },
      "close",
      "connection: close\r\n",
      false,
    ],
    [
      200,
      { keepAlive: true, versionMinor: 1, contentLength: null },
      "close",
      "connection: close\r\n",
      false,
    ],
    [200, { ...KEEP_11, head: true }, "none", "content-length: 5\r\n", true],
    [
      200,
      { keepAlive: true, versionMinor: 1, contentLength: null, chunked: true, head: true },
      "none",
      "",
      true,
    ],
    [204, KEEP_11, "none", "", true],
    [304, { ...KEEP_11, contentLength: 1234 }, "none", "content-length: 1234\r\n", true],
    [304, { ...KEEP_11, contentLength: null }, "none", "", true],
    [101, KEEP_11, "none", "", true],
    [
      206,
      { keepAlive: true, versionMinor: 0, contentLength: 2 },
      "length",
      "connection: keep-alive\r\ncontent-length: 2\r\n",
      true,
    ],
  ];
  for (const [status, opts, framing, lines, keeps] of cases) {
    const label = `${status} ${JSON.stringify(opts)}`;
    assert.equal(responseFraming(status, opts), framing, label);
    assert.equal(responseKeepsAlive(status, opts), keeps, label);
    const text = head(status, [], opts);
    const after = text.slice(text.indexOf(DATE) + DATE.length + 2);
    assert.equal(after, lines + "\r\n", label);
  }
});

Deno.test("response: status lines and reason phrases", () => {
  assert.equal(statusText(200), "OK");
  assert.equal(statusText(206), "Partial Content");
  assert.equal(statusText(416), "Range Not Satisfiable");
  assert.equal(statusText(431), "Request Header Fields Too Large");
  assert.equal(statusText(599), "");
  assert.ok(head(599, [], KEEP_11).startsWith("HTTP/1.1 599 \r\n"));
  assert.ok(head(416, [], KEEP_11).startsWith("HTTP/1.1 416 Range Not Satisfiable\r\n"));
});

Deno.test("response: httpDate formats IMF-fixdate and caches per second", () => {
  assert.equal(httpDate(784111777000), DATE);
  assert.equal(httpDate(784111777999), DATE);
  assert.equal(httpDate(784111778000), "Sun, 06 Nov 1994 08:49:38 GMT");
  assert.equal(httpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  assert.equal(httpDate(Date.UTC(2024, 1, 29, 23, 59, 59)), "Thu, 29 Feb 2024 23:59:59 GMT");
  assert.match(httpDate(), IMF_FIXDATE);
});

Deno.test("response: chunk helpers and 100 Continue", () => {
  assert.equal(latin1(CONTINUE_100), "HTTP/1.1 100 Continue\r\n\r\n");
  assert.equal(latin1(LAST_CHUNK), "0\r\n\r\n");
  assert.equal(latin1(CHUNK_CRLF), "\r\n");
  assert.equal(latin1(chunkHeader(255)), "ff\r\n");
  assert.equal(latin1(chunkHeader(1)), "1\r\n");
  assert.throws(() => chunkHeader(0), RangeError);
  const data = new TextEncoder().encode("hello");
  const parts = encodeChunk(data);
  assert.equal(parts.map(latin1).join(""), "5\r\nhello\r\n");
  assert.equal(parts[1], data, "data is passed through, not copied");
  assert.deepEqual(encodeChunk(new Uint8Array(0)), []);
});

Deno.test("response: error responses are complete and close the connection", () => {
  for (const status of [400, 408, 413, 414, 431, 501, 505]) {
    const text = latin1(errorResponseBytes(status, "why\r\nInjected: 1"));
    const [headPart, body] = text.split("\r\n\r\n");
    const lines = headPart.split("\r\n");
    assert.equal(lines[0], `HTTP/1.1 ${status} ${statusText(status)}`);
    assert.ok(lines.includes("connection: close"));
    assert.ok(lines.includes("content-type: text/plain; charset=utf-8"));
    assert.ok(lines.includes(`content-length: ${body.length}`));
    assert.ok(!lines.some((l) => l.startsWith("Injected")));
    assert.equal(body, `${status} ${statusText(status)}: why??Injected: 1\n`);
  }
  assert.throws(() => errorResponseBytes(200, "x"), RangeError);
});

Deno.test("response: many heads stay intact (slab views are never reused)", () => {
  const kept: [Uint8Array, string][] = [];
  for (let i = 0; i < 2000; i++) {
    const value = "v".repeat(i % 97) + i;
    const bytes = serializeResponseHead(200, [["Date", DATE], ["X-I", value]], KEEP_11);
    kept.push([bytes, value]);
  }
  for (const [bytes, value] of kept) {
    assert.equal(
      latin1(bytes),
      `HTTP/1.1 200 OK\r\nDate: ${DATE}\r\nX-I: ${value}\r\ncontent-length: 5\r\n\r\n`,
    );
  }
  const big = "b".repeat(20000);
  assert.ok(latin1(serializeResponseHead(200, [["X-Big", big]], KEEP_11)).includes(big));
});
