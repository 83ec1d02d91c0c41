/**
 * Property-based tests of the HTTP/1.1 codec (src/http1/) with fast-check.
 *
 * Requests are generated as models (method, origin-form target, header set, Content-Length or
 * chunked body with extensions and trailers) and serialised here to wire bytes; pipelines are
 * several of them back to back. They are fed to the codec by a driver that uses it the way the
 * zero-copy engine's connection does (`#process` in src/server/engine/connection.ts):
 * `parseRequestHead` from the same start on a growing buffer until it is complete, then
 * Content-Length bytes or a `ChunkedDecoder`, then the next request where the body ended.
 *
 * Properties: (i) the whole buffer and the same bytes split at every byte boundary (all single
 * split points of small inputs, random ones of larger inputs, byte by byte, random multi-splits)
 * give the same heads and bodies; (ii) what was serialised from a model parses back to the model
 * (RFC 9112 §3, §5, §6, §7.1); (iii) the one response-head serialiser, as the engine calls it
 * (`writeResponseHead` into its staging buffer) and through the codec's `serializeResponseHead`,
 * produces heads a small independent parser reads back, byte for byte the same both ways, and
 * rejects CR/LF/control injection (RFC 9110 §5.5); (iv) a
 * valid request with one byte of a field name or value turned into a forbidden byte is answered
 * with the codec's own error result (never an exception, never a hang), and split feeding
 * agrees with whole feeding on broken input too.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ChunkedDecoder,
  parseRequestHead,
  type RequestHead,
  responseFraming,
  type ResponseHeadOptions,
  serializeResponseHead,
  writeResponseHead,
} from "../src/http1/mod.ts";
import { concat } from "./support/bytes.ts";

// ---- character classes (RFC 9110 §5.6.2 tchar, §5.5 field-value; RFC 3986 pchar) ----------

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const UNRESERVED = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~";
const PCHAR_EXTRA = "!$&'()*+,;=:@";
const HOST_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-";
/** VCHAR and obs-text: bytes a field value may hold anywhere (SP/HTAB only inside). */
const VALUE_EDGE_CHARS = Array.from({ length: 256 }, (_, c) => String.fromCharCode(c))
  .filter((ch) => {
    const c = ch.charCodeAt(0);
    return (c >= 0x21 && c <= 0x7e) || c >= 0x80;
  });
/** Names the codec interprets; the generator adds them only on purpose. */
const SPECIAL_NAMES = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "expect",
]);

const latin1 = (s: string): Uint8Array =>
  Uint8Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));

// ---- request models and their serialiser ---------------------------------------------------

type Body =
  | { kind: "none" }
  | { kind: "length"; data: Uint8Array; lineForm: "plain" | "list" | "twice" }
  | {
    kind: "chunked";
    chunks: { data: Uint8Array; sizePrefix: string; upper: boolean; ext: string }[];
    lastExt: string;
    trailers: string[];
    te: string;
  };

interface RequestModel {
  method: string;
  target: string;
  versionMinor: 0 | 1;
  hostName: string;
  host: string | null;
  /** Extra fields as sent: name (any case), OWS before, value, OWS after. */
  fields: { name: string; before: string; value: string; after: string }[];
  connection: "none" | "close" | "keep-alive";
  body: Body;
}

const token = (max: number) =>
  fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: max });
const ows = fc.string({ unit: fc.constantFrom(" ", "\t"), maxLength: 3 });

const pctEscape = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.boolean()).map(([b, upper]) => {
  const hex = b.toString(16).padStart(2, "0");
  return "%" + (upper ? hex.toUpperCase() : hex);
});
const pchar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...UNRESERVED) },
  { weight: 2, arbitrary: fc.constantFrom(...PCHAR_EXTRA) },
  { weight: 1, arbitrary: pctEscape },
  // raw obs-text, which the parser percent-encodes (what a browser sends for a UTF-8 path)
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)) },
);

/** The target as the codec reports it: raw bytes 0x80-0xFF become `%XX` (upper-case hex). */
const reportedTarget = (wire: string) =>
  wire.replace(/[\x80-\xff]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
const segment = fc.array(pchar, { maxLength: 8 }).map((a) => a.join(""));
const target = fc.tuple(
  fc.array(segment, { minLength: 1, maxLength: 4 }),
  fc.option(fc.array(fc.oneof(pchar, fc.constantFrom("/", "?")), { maxLength: 12 })),
).map(([segments, query]) =>
  "/" + segments.join("/") + (query === null ? "" : "?" + query.join(""))
);

/** A field value without surrounding whitespace: edge bytes VCHAR/obs-text, SP/HTAB inside. */
const fieldValue = fc.oneof(
  fc.constant(""),
  fc.tuple(
    fc.constantFrom(...VALUE_EDGE_CHARS),
    fc.string({
      unit: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...VALUE_EDGE_CHARS) },
        { weight: 1, arbitrary: fc.constantFrom(" ", "\t") },
      ),
      maxLength: 30,
    }),
    fc.constantFrom(...VALUE_EDGE_CHARS),
  ).map(([a, mid, b]) => a + mid + b),
);

const extraField = fc.record({
  name: token(20).filter((n) => !SPECIAL_NAMES.has(n.toLowerCase())),
  before: ows,
  value: fieldValue,
  after: ows,
});

const chunkExt = fc.array(
  fc.tuple(
    ows,
    token(8),
    fc.option(
      fc.oneof(
        token(8),
        fc.string({ unit: fc.constantFrom(...UNRESERVED, " "), maxLength: 8 }).map((s) => `"${s}"`),
      ),
    ),
  ).map(([bws, name, value]) => `${bws};${name}${value === null ? "" : "=" + value}`),
  { maxLength: 2 },
).map((a) => a.join(""));

const trailerLine = fc.tuple(token(12), ows, fieldValue).map(([n, w, v]) => `${n}:${w}${v}`);

const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({
    kind: fc.constant("length" as const),
    data: fc.uint8Array({ maxLength: 48 }),
    lineForm: fc.constantFrom("plain" as const, "list" as const, "twice" as const),
  }),
  fc.record({
    kind: fc.constant("chunked" as const),
    chunks: fc.array(
      fc.record({
        data: fc.uint8Array({ minLength: 1, maxLength: 40 }),
        sizePrefix: fc.constantFrom("", "0", "00"),
        upper: fc.boolean(),
        ext: chunkExt,
      }),
      { maxLength: 4 },
    ),
    lastExt: chunkExt,
    trailers: fc.array(trailerLine, { maxLength: 2 }),
    te: fc.constantFrom("chunked", "Chunked", "CHUNKED", ", chunked", "chunked ,"),
  }),
);

const requestModel: fc.Arbitrary<RequestModel> = fc.record({
  method: fc.oneof(
    fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"),
    token(10),
  ),
  target,
  versionMinor: fc.constantFrom(0 as const, 1 as const, 1 as const),
  hostName: fc.constantFrom("Host", "host", "HOST"),
  host: fc.option(
    fc.oneof(
      // an empty Host is allowed (RFC 9112 §3.2); a port needs a host before it
      fc.constant(""),
      fc.tuple(
        // labels start with a letter, so no name reads as an (invalid) IPv4 address
        fc.array(
          fc.tuple(
            fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz"),
            fc.string({ unit: fc.constantFrom(...HOST_CHARS), maxLength: 8 }),
          ).map(([first, rest]) => first + rest),
          { minLength: 1, maxLength: 3 },
        ).map((labels) => labels.join(".")),
        fc.option(fc.nat(65535)),
      ).map(([h, port]) => port === null ? h : `${h}:${port}`),
    ),
    { nil: null, freq: 8 },
  ),
  fields: fc.array(extraField, { maxLength: 8 }),
  connection: fc.constantFrom("none" as const, "close" as const, "keep-alive" as const),
  body,
}).map((m) => {
  // HTTP/1.1 requires Host (RFC 9112 §3.2); chunked requires HTTP/1.1 (§6.1).
  if (m.versionMinor === 1 && m.host === null) return { ...m, host: "example.test" };
  if (m.versionMinor === 0 && m.body.kind === "chunked") {
    return { ...m, versionMinor: 1 as const, host: m.host ?? "h" };
  }
  return m;
});

/** Byte ranges of field names and values in the serialised request (for mutations). */
interface Spans {
  names: [number, number][];
  values: [number, number][];
}

/** The model as wire bytes (latin1 string) plus where its extra fields' names/values lie. */
function serializeRequest(m: RequestModel): { wire: string; spans: Spans } {
  const spans: Spans = { names: [], values: [] };
  let s = `${m.method} ${m.target} HTTP/1.${m.versionMinor}\r\n`;
  if (m.host !== null) s += `${m.hostName}: ${m.host}\r\n`;
  for (const f of m.fields) {
    spans.names.push([s.length, s.length + f.name.length]);
    s += `${f.name}:${f.before}`;
    spans.values.push([s.length, s.length + f.value.length]);
    s += `${f.value}${f.after}\r\n`;
  }
  if (m.connection !== "none") s += `Connection: ${m.connection}\r\n`;
  const b = m.body;
  if (b.kind === "length") {
    const n = b.data.length;
    if (b.lineForm === "plain") s += `Content-Length: ${n}\r\n`;
    else if (b.lineForm === "list") s += `content-length: ${n} , ${n}\r\n`;
    else s += `Content-Length: ${n}\r\ncontent-LENGTH:${n}\r\n`;
    return { wire: s + "\r\n" + String.fromCharCode(...b.data), spans };
  }
  if (b.kind === "chunked") {
    s += `Transfer-Encoding: ${b.te}\r\n\r\n`;
    for (const c of b.chunks) {
      const hex = c.data.length.toString(16);
      s += `${c.sizePrefix}${c.upper ? hex.toUpperCase() : hex}${c.ext}\r\n`;
      s += String.fromCharCode(...c.data) + "\r\n";
    }
    s += `0${b.lastExt}\r\n`;
    for (const t of b.trailers) s += t + "\r\n";
    return { wire: s + "\r\n", spans };
  }
  return { wire: s + "\r\n", spans };
}

/** The header list the codec must report: names lower-cased, values trimmed (RFC 9112 §5). */
function expectedHeaders(m: RequestModel): [string, string][] {
  const list: [string, string][] = [];
  if (m.host !== null) list.push(["host", m.host]);
  for (const f of m.fields) list.push([f.name.toLowerCase(), f.value]);
  if (m.connection !== "none") list.push(["connection", m.connection]);
  const b = m.body;
  if (b.kind === "length") {
    const n = String(b.data.length);
    if (b.lineForm === "plain") list.push(["content-length", n]);
    else if (b.lineForm === "list") list.push(["content-length", `${n} , ${n}`]);
    else list.push(["content-length", n], ["content-length", n]);
  }
  if (b.kind === "chunked") list.push(["transfer-encoding", b.te.trim()]);
  return list;
}

function modelBody(m: RequestModel): Uint8Array {
  if (m.body.kind === "length") return m.body.data;
  if (m.body.kind === "chunked") return concat(m.body.chunks.map((c) => c.data));
  return new Uint8Array(0);
}

// ---- the driver: the codec used as the engine uses it ---------------------------------------

type Event =
  | { kind: "request"; head: RequestHead; body: number[] }
  | { kind: "head-error"; status: number; reason: string }
  | { kind: "body-error"; status: number; reason: string };

/**
 * Feeds `pieces` in order; returns the requests (head + body), the error that ended them (the
 * engine answers it and closes), and the bytes left unconsumed (null after an error).
 */
function drive(pieces: readonly Uint8Array[]): { events: Event[]; leftover: number | null } {
  const events: Event[] = [];
  let buf = new Uint8Array(0);
  let p = 0;
  let current: { head: RequestHead; body: number[] } | null = null;
  let remaining = 0;
  let decoder: ChunkedDecoder | null = null;
  for (const piece of pieces) {
    const grown = new Uint8Array(buf.length + piece.length);
    grown.set(buf);
    grown.set(piece, buf.length);
    buf = grown;
    const end = buf.length;
    while (p < end) {
      if (current === null) {
        const r = parseRequestHead(buf, p, end);
        if (r.kind === "incomplete") break;
        if (r.kind === "error") {
          events.push({ kind: "head-error", status: r.status, reason: r.reason });
          return { events, leftover: null };
        }
        assert.ok(r.headEnd > p && r.headEnd <= end, "a head is made of the bytes given");
        p = r.headEnd;
        current = { head: r.head, body: [] };
        decoder = r.head.chunked ? new ChunkedDecoder(1 << 20) : null;
        remaining = r.head.contentLength ?? 0;
      } else if (decoder === null) {
        const n = Math.min(remaining, end - p);
        for (let i = 0; i < n; i++) current.body.push(buf[p + i]);
        p += n;
        remaining -= n;
      } else {
        const step = decoder.decode(buf, p, end);
        if (step.error !== undefined) {
          events.push({ kind: "body-error", status: step.errorStatus, reason: step.error });
          return { events, leftover: null };
        }
        // Progress or the end: a decode call that consumes nothing would make the engine spin.
        assert.ok(step.consumed > 0 || step.done, "the decoder made progress");
        for (let i = 0; i < step.dataLength; i++) current.body.push(buf[step.dataStart + i]);
        p += step.consumed;
      }
      if (current !== null && (decoder === null ? remaining === 0 : decoder.done)) {
        events.push({ kind: "request", ...current });
        current = null;
        decoder = null;
      }
    }
  }
  return { events, leftover: buf.length - p };
}

function pieces(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(points.map((x) => x % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const cut of cuts) {
    out.push(bytes.subarray(at, cut));
    at = cut;
  }
  out.push(bytes.subarray(at));
  return out;
}

/** Asserts that every way of splitting `bytes` gives what feeding it whole gives; returns it. */
function assertSplitInvariant(bytes: Uint8Array, randomCuts: readonly number[][]) {
  const whole = drive([bytes]);
  const n = bytes.length;
  const singles = n <= 400
    ? Array.from({ length: n + 1 }, (_, i) => i)
    : randomCuts.flat().slice(0, 64);
  for (const k of singles) {
    assert.deepEqual(drive(pieces(bytes, [k])), whole, `split at ${k}`);
  }
  const bytewise = Array.from({ length: n }, (_, i) => bytes.subarray(i, i + 1));
  assert.deepEqual(drive(bytewise), whole, "byte by byte");
  for (const cuts of randomCuts) {
    assert.deepEqual(drive(pieces(bytes, cuts)), whole, `split at ${cuts}`);
  }
  return whole;
}

const randomCuts = fc.array(fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), {
  minLength: 1,
  maxLength: 3,
});

// ---- (i) + (ii): requests and pipelines ------------------------------------------------------

Deno.test("http1 property: pipelines parse the same whole and split, and round-trip to their models", () => {
  fc.assert(
    fc.property(
      fc.array(requestModel, { minLength: 1, maxLength: 3 }),
      randomCuts,
      (models, cuts) => {
        const wire = latin1(models.map((m) => serializeRequest(m).wire).join(""));
        const { events, leftover } = assertSplitInvariant(wire, cuts);
        assert.equal(leftover, 0, "every byte belongs to a request");
        assert.equal(events.length, models.length);
        models.forEach((m, i) => {
          const e = events[i];
          assert.equal(e.kind, "request", JSON.stringify(e));
          if (e.kind !== "request") return;
          const keepAlive = m.versionMinor === 1
            ? m.connection !== "close"
            : m.connection === "keep-alive";
          assert.deepEqual(e.head, {
            method: m.method,
            target: reportedTarget(m.target),
            // generated targets are origin-form (RFC 9112 §3.2.1)
            requestTarget: {
              form: "origin",
              authority: null,
              pathAndQuery: reportedTarget(m.target),
            },
            versionMinor: m.versionMinor,
            headers: expectedHeaders(m),
            keepAlive,
            contentLength: m.body.kind === "length" ? m.body.data.length : null,
            chunked: m.body.kind === "chunked",
            expectContinue: false,
            host: m.host,
          });
          assert.deepEqual(e.body, [...modelBody(m)]);
        });
      },
    ),
    { numRuns: 400 },
  );
});

// ---- (iv): one forbidden byte ----------------------------------------------------------------

/** Bytes that are never part of a field name and do not end it (everything but tchar and ":"). */
const NOT_NAME = Array.from({ length: 256 }, (_, c) => c).filter((c) =>
  !TCHARS.includes(String.fromCharCode(c)) && c !== 0x3a
);
/** Controls a field value may not hold (RFC 9110 §5.5), except LF, a line end the parser accepts. */
const NOT_VALUE = Array.from({ length: 256 }, (_, c) => c).filter((c) =>
  (c < 0x20 && c !== 0x09 && c !== 0x0a) || c === 0x7f
);

Deno.test("http1 property: a forbidden byte in a field name or value is a 400, never an exception", () => {
  const withField = requestModel.filter((m) => m.fields.some((f) => f.value.length > 0));
  fc.assert(
    fc.property(
      withField,
      fc.boolean(),
      fc.nat(),
      fc.nat(),
      fc.constantFrom(...NOT_NAME),
      fc.constantFrom(...NOT_VALUE),
      randomCuts,
      (m, inName, which, offset, badName, badValue, cuts) => {
        const { wire, spans } = serializeRequest(m);
        const candidates = (inName ? spans.names : spans.values).filter(([a, b]) => b > a);
        const [from, to] = candidates[which % candidates.length];
        const at = from + (offset % (to - from));
        const bytes = latin1(wire);
        // An LF in place of a name's first byte is an empty line: the head ends there, legally
        // (RFC 9112 §2.2 allows a bare LF), so that one case is a different byte.
        bytes[at] = inName ? (at === from && badName === 0x0a ? 0x00 : badName) : badValue;
        const { events } = assertSplitInvariant(bytes, cuts);
        assert.equal(events.length, 1);
        const e = events[0];
        assert.equal(e.kind, "head-error", JSON.stringify(e));
        if (e.kind === "head-error") assert.equal(e.status, 400);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("http1 property: any single byte changed anywhere ends in a result, not an exception or a hang", () => {
  fc.assert(
    fc.property(
      fc.array(requestModel, { minLength: 1, maxLength: 2 }),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      randomCuts,
      (models, where, byte, cuts) => {
        const bytes = latin1(models.map((m) => serializeRequest(m).wire).join(""));
        bytes[where % bytes.length] = byte;
        // assertSplitInvariant also fails on a thrown exception and on a decoder that stalls.
        const { events, leftover } = assertSplitInvariant(bytes, cuts);
        for (const e of events) {
          if (e.kind === "head-error") assert.ok([400, 414, 431, 501, 505].includes(e.status));
          if (e.kind === "body-error") assert.ok(e.status === 400 || e.status === 413);
        }
        if (leftover === null) assert.notEqual(events.at(-1)?.kind, "request");
        else assert.ok(leftover >= 0 && leftover < bytes.length);
      },
    ),
    { numRuns: 300 },
  );
});

// ---- (iii): response heads -------------------------------------------------------------------

interface ParsedResponse {
  status: number;
  reason: string;
  fields: [string, string][];
}

/** A deliberately small response-head parser (RFC 9112 §4, §5), independent of the codec. */
function parseResponseHead(bytes: Uint8Array): ParsedResponse {
  const text = String.fromCharCode(...bytes);
  const end = text.indexOf("\r\n\r\n");
  assert.equal(end, text.length - 4, "one head, ending in an empty line");
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const m = /^HTTP\/1\.1 (\d{3}) ([\t \x21-\x7e\x80-\xff]*)$/.exec(statusLine);
  assert.ok(m, `status line ${JSON.stringify(statusLine)}`);
  const fields = lines.map((line): [string, string] => {
    const f = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\t\x20-\x7e\x80-\xff]*?)[ \t]*$/.exec(line);
    assert.ok(f, `field line ${JSON.stringify(line)}`);
    return [f[1], f[2]];
  });
  return { status: Number(m[1]), reason: m[2], fields };
}

const FRAMING_NAMES = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "content-length",
];

const responseCase = fc.record({
  status: fc.oneof(
    fc.constantFrom(100, 101, 200, 204, 206, 304, 400, 404, 416, 500),
    fc.integer({ min: 100, max: 999 }),
  ),
  fields: fc.array(
    fc.tuple(
      fc.oneof(
        { weight: 6, arbitrary: token(16) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            "Content-Length",
            "connection",
            "Transfer-Encoding",
            "Keep-Alive",
            "Date",
          ),
        },
      ),
      fieldValue,
    ),
    { maxLength: 8 },
  ),
  opts: fc.record({
    keepAlive: fc.boolean(),
    versionMinor: fc.constantFrom(0 as const, 1 as const),
    contentLength: fc.option(fc.nat(1 << 30)),
    chunked: fc.boolean(),
    head: fc.boolean(),
  }),
});

/** Replaces the value of the `date` line (the clock may tick between two serialisations). */
function withoutDate(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes).replace(/\r\ndate: [^\r]*\r\n/, "\r\ndate: -\r\n");
}

/** The engine's call: the head written into a staging buffer at an offset. */
const staging = new Uint8Array(64 * 1024);
function engineHead(
  status: number,
  fields: readonly (readonly [string, string])[],
  options: ResponseHeadOptions,
): Uint8Array {
  const end = writeResponseHead(staging, 7, status, fields, options);
  assert.ok(end > 7);
  return staging.slice(7, end);
}

Deno.test("http1 property: the head serialiser reads back, the same on the engine's path", () => {
  fc.assert(
    fc.property(responseCase, ({ status, fields, opts }) => {
      const options: ResponseHeadOptions = opts;
      const codec = serializeResponseHead(status, fields, options).slice();
      const engine = engineHead(status, fields, options);
      assert.equal(withoutDate(engine), withoutDate(codec));

      const parsed = parseResponseHead(codec);
      assert.equal(parsed.status, status);
      const appFields = fields.filter(([n]) => !FRAMING_NAMES.includes(n.toLowerCase()));
      const appHasDate = appFields.some(([n]) => n.toLowerCase() === "date");
      const framing = responseFraming(status, options);
      const added: [string, string][] = [];
      if (!opts.keepAlive || framing === "close") added.push(["connection", "close"]);
      else if (opts.versionMinor === 0) added.push(["connection", "keep-alive"]);
      if (opts.contentLength !== null && status >= 200 && status !== 204) {
        added.push(["content-length", String(opts.contentLength)]);
      } else if (framing === "chunked") added.push(["transfer-encoding", "chunked"]);
      const got = parsed.fields.filter(([n]) => n !== "date" || appHasDate);
      assert.deepEqual(got, [...appFields, ...added]);
      assert.equal(parsed.fields.length, got.length + (appHasDate ? 0 : 1), "one date field");
    }),
    { numRuns: 400 },
  );
});

/** Characters no field value may carry (RFC 9110 §5.5): controls but HTAB, DEL, beyond latin1. */
const INJECTED = [..."\r\n\0\x01\x1b\x7f", "\u0100", "\u2028"];

Deno.test("http1 property: CR/LF and other controls in response fields are rejected, not written", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(token(12), fieldValue), { minLength: 1, maxLength: 5 }),
      fc.nat(),
      fc.nat(),
      fc.boolean(),
      fc.constantFrom(...INJECTED, " ", ":", "\t"),
      (fields, which, offset, inName, bad) => {
        const i = which % fields.length;
        const [name, value] = fields[i];
        const field = inName ? name : value;
        const at = offset % (field.length + 1);
        const broken = field.slice(0, at) + bad + field.slice(at);
        if (!inName && !INJECTED.includes(bad)) return; // SP, HTAB and ":" are fine in values
        const list = fields.map((f, k): [string, string] =>
          k !== i ? f : inName ? [broken, value] : [name, broken]
        );
        const opts: ResponseHeadOptions = { keepAlive: true, versionMinor: 1, contentLength: 0 };
        assert.throws(() => serializeResponseHead(200, list, opts), TypeError);
        assert.throws(() => writeResponseHead(staging, 0, 200, list, opts), TypeError);
        // App responses reach the serializer through a `Headers`, whose constructor rejects
        // CR, LF and NUL (and names that are not tokens) by itself; the serializer checks again.
        // Fetch's Headers strips whitespace (CR, LF, HTAB, SP) at a value's ends instead.
        let headers: Headers | null = null;
        try {
          headers = new Headers(list);
        } catch (error) {
          assert.ok(error instanceof TypeError);
        }
        if (inName || (at > 0 && at < field.length && "\r\n\0".includes(bad))) {
          assert.equal(headers, null, "Headers rejects it");
        }
        headers?.forEach((v) => assert.doesNotMatch(v, /[\r\n\0]/));
      },
    ),
    { numRuns: 400 },
  );
});
