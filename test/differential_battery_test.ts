/**
 * Differential battery: a corpus of raw HTTP/1.x requests written byte for byte over TCP to
 * `main.ts` on both engines, each checked against RFC 9112/9110 and the behaviour of strict
 * reference parsers (nginx, haproxy, llhttp): accepted and answered, or refused with the right
 * status (400, 405, 413, 414, 416, 431, 501, 505) and a closed connection. Both engines serve the
 * same root, and must agree with each other byte for byte (status line, fields and body; the Date
 * field, multipart boundaries and the per-engine upload folder aside).
 *
 * Classes covered: message framing and smuggling (Content-Length and Transfer-Encoding, RFC 9112
 * §6), chunked framing (§7.1), line endings and field syntax (§2.2, §5), the request line and
 * version (§3, §2.3, RFC 9110 §2.5), Host and the target forms (§3.2), path safety against a
 * secret file just outside the root, limits (414/431), pipelining (§9.3), Expect (RFC 9110
 * §10.1.1) and ranges with If-Range (RFC 9110 §14, §13.1.5). A last test runs nginx, where it is
 * installed, on the same files as a reference: zerocast must be at least as strict on smuggling
 * and never serve what nginx keeps inside.
 */
import assert from "node:assert/strict";
import { ENGINES, have, type RunningServer, startServer } from "./support/server.ts";
import { collect, parseResponses, type RawResponse, writeAll } from "./engine_support.ts";
import { boundaryOf, parseMultipart } from "./support/multipart.ts";

const TOKEN = "differential-token-0123";
const SIZE = 1000;
/** The served file: a byte pattern where every small slice is distinctive. */
const FILE = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7 + 3) & 0xff);
const SECRET = `SECRET-${crypto.randomUUID()}`;

/** Latin-1 bytes of `text` (the corpus holds raw bytes 0x00-0xFF as chars). */
const bytesOf = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const textOf = (bytes: Uint8Array) => {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
};

/** A request: its line, its header lines, and the raw bytes after the empty line. */
function req(line: string, headers: string[], body = ""): string {
  return `${line}\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n${body}`;
}
/** A GET of the test file with extra header lines, closing after the answer. */
const get = (...headers: string[]) =>
  req("GET /media/f.bin HTTP/1.1", ["Host: a", ...headers, "Connection: close"]);
/** A chunked upload to `{live}name` with the given raw body bytes. */
const putChunked = (name: string, body: string, ...headers: string[]) =>
  req(`PUT {live}${name} HTTP/1.1`, [
    "Host: a",
    `Authorization: Bearer ${TOKEN}`,
    "Transfer-Encoding: chunked",
    ...headers,
  ], body);
/** A Content-Length upload to `{live}name`; `length` defaults to the body's length. */
const putLength = (name: string, body: string, length: string = String(body.length)) =>
  req(`PUT {live}${name} HTTP/1.1`, [
    "Host: a",
    `Authorization: Bearer ${TOKEN}`,
    `Content-Length: ${length}`,
    "Connection: close",
  ], body);

/** One corpus entry. */
interface Case {
  /** Class and what is sent. */
  readonly name: string;
  /** Raw request bytes as latin1; `{live}` is the engine's own upload folder. */
  readonly request: string;
  /** Status of every response, in order (a 100 Continue counts). */
  readonly statuses: readonly number[];
  /** Indexes of responses to HEAD requests (no body). */
  readonly head?: readonly number[];
  /** More checks on the parsed responses. */
  readonly check?: (responses: RawResponse[]) => void;
}

const slice = (a: number, b: number) => FILE.slice(a, b + 1);
function body(expected: Uint8Array, contentRange?: string): (r: RawResponse[]) => void {
  return (r) => {
    const last = r[r.length - 1];
    assert.deepEqual(last.body, expected);
    if (contentRange) assert.equal(last.headers.get("content-range"), contentRange);
    else assert.equal(last.headers.get("content-range"), undefined);
  };
}
const whole = body(FILE);
function parts(...ranges: [number, number][]): (r: RawResponse[]) => void {
  return (r) => {
    const last = r[r.length - 1];
    const got = parseMultipart(last.body, boundaryOf(last.headers.get("content-type") ?? null));
    assert.equal(got.length, ranges.length);
    ranges.forEach(([a, b], i) => {
      assert.equal(got[i].headers.get("content-range"), `bytes ${a}-${b}/${SIZE}`);
      assert.deepEqual(got[i].body, slice(a, b));
    });
  };
}

const BAD = [400];
/** A request hidden in a body: answered as a request it would be a 206. */
const HIDDEN = "GET /media/f.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-0\r\n\r\n";
const TRAVERSAL_TAIL = "secret.txt HTTP/1.1";

/** The corpus; every request ends in a closed connection (Connection: close or a refusal). */
const CORPUS: Case[] = [
  // ---- baseline
  { name: "plain GET", request: get(), statuses: [200], check: whole },
  {
    name: "HTTP/1.0 GET without Host",
    request: req("GET /media/f.bin HTTP/1.0", []),
    statuses: [200],
    check: whole,
  },

  // ---- Content-Length (RFC 9112 §6.3, RFC 9110 §8.6)
  ...([
    ["sign +", "+0"],
    ["sign -", "-0"],
    ["hex", "0x0"],
    ["inner space", "1 0"],
    ["empty", ""],
    ["letters", "1e3"],
    ["huge", "99999999999999999999999"],
    ["beyond 2^53", "9007199254740993"],
    ["list with different members", "0, 1"],
    ["list with an empty member", "0,"],
    ["vertical tab", "\x0b0"],
  ] as const).map(([what, value]): Case => ({
    name: `Content-Length ${what} → 400`,
    request: req("GET /media/f.bin HTTP/1.1", ["Host: a", `Content-Length: ${value}`]),
    statuses: BAD,
  })),
  {
    name: "Content-Length twice with different values → 400",
    request: putLength("cl-dup", "ab").replace(
      "Content-Length: 2",
      "Content-Length: 1\r\nContent-Length: 2",
    ),
    statuses: BAD,
  },
  {
    name: "Content-Length twice with one value is one length (RFC 9110 §8.6)",
    request: putLength("cl-same", "ab").replace(
      "Content-Length: 2",
      "Content-Length: 2\r\nContent-Length: 2",
    ),
    statuses: [201],
  },
  {
    name: "Content-Length list of identical values",
    request: putLength("cl-list", "ab", "2, 2"),
    statuses: [201],
  },
  {
    name: "Content-Length with leading zeros",
    request: get("Content-Length: 000"),
    statuses: [200],
    check: whole,
  },
  {
    name: "Content-Length larger than --max-body-bytes → 413 before the body",
    request: putLength("cl-big", "", "9007199254740991"),
    statuses: [413],
  },

  // ---- Transfer-Encoding (RFC 9112 §6.1, §6.3)
  {
    name: "Content-Length then Transfer-Encoding → 400",
    request: req("POST /media/f.bin HTTP/1.1", [
      "Host: a",
      "Content-Length: 5",
      "Transfer-Encoding: chunked",
    ], "0\r\n\r\n"),
    statuses: BAD,
  },
  {
    name: "Transfer-Encoding then Content-Length → 400",
    request: req("POST /media/f.bin HTTP/1.1", [
      "Host: a",
      "Transfer-Encoding: chunked",
      "Content-Length: 5",
    ], "0\r\n\r\n"),
    statuses: BAD,
  },
  ...([
    ["gzip alone", "gzip"],
    ["identity", "identity"],
    ["chunked, gzip (chunked not last)", "chunked, gzip"],
    ["chunked twice in one line", "chunked, chunked"],
    ["xchunked", "xchunked"],
    ["quoted", '"chunked"'],
    ["with a parameter", "chunked;q=1"],
    ["empty", ""],
    ["vertical tab before chunked", "\x0bchunked"],
  ] as const).map(([what, value]): Case => ({
    name: `Transfer-Encoding ${what} → 400`,
    request: req(
      "POST /media/f.bin HTTP/1.1",
      ["Host: a", `Transfer-Encoding: ${value}`],
      "0\r\n\r\n",
    ),
    statuses: BAD,
  })),
  {
    name: "Transfer-Encoding gzip, chunked → 501 (coding not implemented)",
    request: req(
      "POST /media/f.bin HTTP/1.1",
      ["Host: a", "Transfer-Encoding: gzip, chunked"],
      "0\r\n\r\n",
    ),
    statuses: [501],
  },
  {
    name: "Transfer-Encoding: chunked on two lines → 400",
    request: req("POST /media/f.bin HTTP/1.1", [
      "Host: a",
      "Transfer-Encoding: chunked",
      "Transfer-Encoding: chunked",
    ], "0\r\n\r\n"),
    statuses: BAD,
  },
  {
    name: "Transfer-Encoding in HTTP/1.0 → 400",
    request: req("POST /media/f.bin HTTP/1.0", ["Transfer-Encoding: chunked"], "0\r\n\r\n"),
    statuses: BAD,
  },
  {
    name: "Transfer-Encoding CHUNKED (codings are case-insensitive)",
    request: putChunked("te-upper", "2\r\nab\r\n0\r\n\r\n", "Connection: close").replace(
      "Transfer-Encoding: chunked",
      "Transfer-Encoding: CHUNKED",
    ),
    statuses: [201],
  },

  // ---- chunked framing (RFC 9112 §7.1)
  {
    name: "chunked: a good body with extension and trailer",
    request: putChunked("ch-ok", "3;a=b\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", "Connection: close"),
    statuses: [201],
  },
  {
    name: "chunked: sizes with leading zeros",
    request: putChunked("ch-zeros", "0003\r\nabc\r\n000\r\n\r\n", "Connection: close"),
    statuses: [201],
  },
  ...([
    ["size overflow", "fffffffffffffffff\r\nabc\r\n0\r\n\r\n"],
    ["negative size", "-3\r\nabc\r\n0\r\n\r\n"],
    ["0x prefix", "0x3\r\nabc\r\n0\r\n\r\n"],
    ["space before size", " 3\r\nabc\r\n0\r\n\r\n"],
    ["space after size without extension", "3 \r\nabc\r\n0\r\n\r\n"],
    ["control byte in extension", "3;a=\x01\r\nabc\r\n0\r\n\r\n"],
    ["bare LF in extension", "3;a\nabc\r\n0\r\n\r\n"],
    ["more data than the size", "3\r\nabcd\r\n0\r\n\r\n"],
    ["bare LF after size", "3\nabc\r\n0\r\n\r\n"],
    ["bare LF after data", "3\r\nabc\n0\r\n\r\n"],
    ["bare LF after last chunk", "3\r\nabc\r\n0\n\n"],
    ["obs-fold in a trailer", "3\r\nabc\r\n0\r\nX-T: 1\r\n y\r\n\r\n"],
    ["bare CR after data", "3\r\nabc\r0\r\n\r\n"],
  ] as const).map(([what, chunks]): Case => ({
    name: `chunked: ${what} → 400`,
    request: putChunked(`ch-${what.replaceAll(" ", "-")}`, chunks),
    statuses: BAD,
  })),

  // ---- line endings and field syntax (RFC 9112 §2.2, §5)
  {
    name: "bare LF line endings in the head are accepted (§2.2)",
    request: "GET /media/f.bin HTTP/1.1\nHost: a\nConnection: close\n\n",
    statuses: [200],
    check: whole,
  },
  {
    name: "leading empty lines before the request line are ignored (§2.2)",
    request: "\r\n\r\n" + get(),
    statuses: [200],
    check: whole,
  },
  ...([
    ["bare CR ending the request line", "GET /media/f.bin HTTP/1.1\rHost: a\r\n\r\n"],
    ["bare CR inside a value", get("X: a\rb")],
    ["obs-fold continuation", get("X: a", " b")],
    ["whitespace before the first field", "GET /media/f.bin HTTP/1.1\r\n Host: a\r\n\r\n"],
    ["space between name and colon", req("GET /media/f.bin HTTP/1.1", ["Host : a"])],
    [
      "tab between name and colon",
      req("GET /media/f.bin HTTP/1.1", ["Host: a", "Content-Length\t: 0"]),
    ],
    ["empty field name", get(": v")],
    ["NUL in a field name", get("X\x00Y: v")],
    ["NUL in a field value", get("X: a\x00b")],
    ["BEL in a field value", get("X: a\x07b")],
    ["DEL in a field value", get("X: a\x7fb")],
    ["high byte in a field name", get("X\xe9: v")],
    ["line without a colon", get("Xvalue")],
  ] as const).map(([what, request]): Case => ({
    name: `${what} → 400`,
    request,
    statuses: BAD,
  })),
  { name: "tab inside a value is allowed", request: get("X: a\tb"), statuses: [200], check: whole },
  { name: "obs-text in a value is allowed", request: get("X: caf\xe9"), statuses: [200] },

  // ---- request line and version (RFC 9112 §3, §2.3; RFC 9110 §2.5, §9.1)
  ...([
    ["non-token method", "G(ET /media/f.bin HTTP/1.1"],
    ["two spaces after the method", "GET  /media/f.bin HTTP/1.1"],
    ["space after the version", "GET /media/f.bin HTTP/1.1 "],
    ["tab as separator", "GET\t/media/f.bin HTTP/1.1"],
    ["no version", "GET /media/f.bin"],
    ["HTTP/01.1", "GET /media/f.bin HTTP/01.1"],
    ["HTTP/1.10", "GET /media/f.bin HTTP/1.10"],
    ["lower-case http/1.1", "GET /media/f.bin http/1.1"],
    ["HTTP/3 without minor", "GET /media/f.bin HTTP/3"],
    ["NUL in the target", "GET /media/f\x00.bin HTTP/1.1"],
    ["space inside the target", "GET /media/f .bin HTTP/1.1"],
  ] as const).map(([what, line]): Case => ({
    name: `${what} → 400`,
    request: req(line, ["Host: a"]),
    statuses: BAD,
  })),
  { name: "HTTP/0.9 simple request → 400", request: "GET /media/f.bin\r\n\r\n", statuses: BAD },
  {
    name: "HTTP/2.0 → 505",
    request: req("GET /media/f.bin HTTP/2.0", ["Host: a"]),
    statuses: [505],
  },
  {
    name: "HTTP/0.9 as a version → 505",
    request: req("GET /media/f.bin HTTP/0.9", ["Host: a"]),
    statuses: [505],
  },
  {
    name: "HTTP/1.2 is answered as HTTP/1.1",
    request: req("GET /media/f.bin HTTP/1.2", ["Host: a", "Connection: close"]),
    statuses: [200],
    check: (r) => {
      assert.match(r[0].head, /^HTTP\/1\.1 200 /);
      whole(r);
    },
  },
  {
    name: "lower-case method is another method (case-sensitive) → 405",
    request: req("get /media/f.bin HTTP/1.1", ["Host: a", "Connection: close"]),
    statuses: [405],
  },
  {
    name: "unknown method on media → 405 with Allow",
    request: req("FOO /media/f.bin HTTP/1.1", ["Host: a", "Connection: close"]),
    statuses: [405],
    check: (r) => assert.match(r[0].headers.get("allow") ?? "", /GET/),
  },

  // ---- Host and target forms (RFC 9112 §3.2)
  ...([
    ["missing Host in HTTP/1.1", []],
    ["two Host fields", ["Host: a", "Host: b"]],
    ["two identical Host fields", ["Host: a", "Host: a"]],
    ["Host with userinfo", ["Host: u@a"]],
    ["Host with a slash", ["Host: a/b"]],
    ["Host with a space", ["Host: a b"]],
    ["Host with a percent escape", ["Host: a%00"]],
    ["Host with a 6-digit port", ["Host: a:999999"]],
    ["Host as a list", ["Host: a, b"]],
    ["Host with a backslash", ["Host: a\\b"]],
  ] as const).map(([what, headers]): Case => ({
    name: `${what} → 400`,
    request: req("GET /media/f.bin HTTP/1.1", [...headers]),
    statuses: BAD,
  })),
  {
    name: "empty Host is allowed",
    request: req("GET /media/f.bin HTTP/1.1", ["Host:", "Connection: close"]),
    statuses: [200],
  },
  {
    name: "IPv6 literal Host",
    request: req("GET /media/f.bin HTTP/1.1", ["Host: [::1]:80", "Connection: close"]),
    statuses: [200],
  },
  {
    name: "absolute-form target",
    request: req("GET http://x/media/f.bin HTTP/1.1", ["Host: a", "Connection: close"]),
    statuses: [200],
    check: whole,
  },
  ...([
    ["absolute-form with userinfo", "GET http://u@x/media/f.bin HTTP/1.1"],
    ["absolute-form with ftp scheme", "GET ftp://x/media/f.bin HTTP/1.1"],
    ["absolute-form with empty host", "GET http:///media/f.bin HTTP/1.1"],
    ["asterisk-form with GET", "GET * HTTP/1.1"],
    ["authority-form with GET", "GET a:443 HTTP/1.1"],
    ["CONNECT with an origin-form target", "CONNECT /media/f.bin HTTP/1.1"],
    ["fragment in the target", "GET /media/f.bin#x HTTP/1.1"],
    ["relative target", "GET media/f.bin HTTP/1.1"],
  ] as const).map(([what, line]): Case => ({
    name: `${what} → 400`,
    request: req(line, ["Host: a"]),
    statuses: BAD,
  })),
  {
    name: "OPTIONS * reaches the app as /* (no such route: 404)",
    request: req("OPTIONS * HTTP/1.1", ["Host: a", "Connection: close"]),
    statuses: [404],
  },
  {
    name: "CONNECT host:port reaches the app as / (not a proxy: no 2xx)",
    request: req("CONNECT a:443 HTTP/1.1", ["Host: a:443", "Connection: close"]),
    statuses: [404],
  },

  // ---- path safety: a secret file sits next to the root (never served)
  ...([
    ["%00", "GET /media/f%00.bin HTTP/1.1"],
    ["%2f traversal", `GET /media/d%2f..%2f..%2f${TRAVERSAL_TAIL}`],
    ["../", `GET /media/../${TRAVERSAL_TAIL}`],
    ["d/../../", `GET /media/d/../../${TRAVERSAL_TAIL}`],
    ["backslashes", `GET /media/d\\..\\..\\${TRAVERSAL_TAIL}`],
    ["%5c", `GET /media/d%5c..%5c..%5c${TRAVERSAL_TAIL}`],
    ["%2e%2e", `GET /media/%2e%2e/${TRAVERSAL_TAIL}`],
    [".%2e", `GET /media/.%2e/${TRAVERSAL_TAIL}`],
    ["%2E%2E upper-case", `GET /media/%2E%2E/${TRAVERSAL_TAIL}`],
    ["double encoding", `GET /media/%252e%252e/${TRAVERSAL_TAIL}`],
    ["overlong UTF-8 dots", `GET /media/%c0%ae%c0%ae/${TRAVERSAL_TAIL}`],
    ["raw overlong UTF-8 dots", `GET /media/\xc0\xae\xc0\xae/${TRAVERSAL_TAIL}`],
    ["absolute-form with ..", `GET http://a/media/../${TRAVERSAL_TAIL}`],
    ["single dot segment", "GET /media/./f.bin HTTP/1.1"],
    ["malformed escape", "GET /media/f%zz.bin HTTP/1.1"],
  ] as const).map(([what, line]): Case => ({
    name: `path ${what} → 400`,
    request: req(line, ["Host: a", "Connection: close"]),
    statuses: BAD,
  })),
  ...([
    ["symlink out of the root", "GET /media/escape HTTP/1.1"],
    ["dotfile", "GET /media/.hidden HTTP/1.1"],
    ["//media/ is not /media/", "GET //media/f.bin HTTP/1.1"],
    ["..; segment (Tomcat style)", `GET /media/d/..;/${TRAVERSAL_TAIL}`],
    ["trailing slash after a file", "GET /media/f.bin/ HTTP/1.1"],
  ] as const).map(([what, line]): Case => ({
    name: `path ${what} → 404`,
    request: req(line, ["Host: a", "Connection: close"]),
    statuses: [404],
  })),
  {
    name: "path with an escaped ordinary letter is the same file (decoded once)",
    request: req("GET /media/%66.bin HTTP/1.1", ["Host: a", "Connection: close"]),
    statuses: [200],
    check: whole,
  },

  // ---- other protocols on the HTTP/1.1 port
  {
    name: "HTTP/2 prior-knowledge preface → 505",
    request: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    statuses: [505],
  },
  {
    name: "TLS ClientHello on the plain port → 400",
    request: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + "\x00".repeat(40),
    statuses: BAD,
  },
  {
    name: "Upgrade: h2c is ignored (RFC 9110 §7.8): a plain HTTP/1.1 answer",
    request: get("Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA").replace(
      "Connection: close",
      "Connection: Upgrade, HTTP2-Settings, close",
    ),
    statuses: [200],
    check: (r) => {
      assert.equal(r[0].headers.get("upgrade"), undefined);
      whole(r);
    },
  },
  {
    name: "Upgrade: websocket on a file is ignored",
    request: get(
      "Upgrade: websocket",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    )
      .replace("Connection: close", "Connection: Upgrade, close"),
    statuses: [200],
    check: whole,
  },

  // ---- limits
  {
    name: "request line over 8 KiB → 414",
    request: req(`GET /${"a".repeat(9000)} HTTP/1.1`, ["Host: a"]),
    statuses: [414],
  },
  {
    name: "head over 16 KiB → 431",
    request: req("GET / HTTP/1.1", ["Host: a", `X: ${"a".repeat(17000)}`]),
    statuses: [431],
  },
  {
    name: "more than 100 fields → 431",
    request: req("GET / HTTP/1.1", [
      "Host: a",
      ...Array.from({ length: 120 }, (_, i) => `X${i}: v`),
    ]),
    statuses: [431],
  },

  // ---- pipelining (RFC 9112 §9.3)
  {
    name: "pipeline: GET range, HEAD, GET range in one write, answered in order",
    request: req("GET /media/f.bin HTTP/1.1", ["Host: a", "Range: bytes=0-3"]) +
      req("HEAD /media/f.bin HTTP/1.1", ["Host: a"]) +
      req("GET /media/f.bin HTTP/1.1", ["Host: a", "Range: bytes=4-7", "Connection: close"]),
    statuses: [206, 200, 206],
    head: [1],
    check: (r) => {
      assert.deepEqual(r[0].body, slice(0, 3));
      assert.equal(r[1].headers.get("content-length"), String(SIZE));
      assert.deepEqual(r[1].body, new Uint8Array());
      assert.deepEqual(r[2].body, slice(4, 7));
    },
  },
  {
    name: "pipeline: an upload with a body between two GETs",
    request: req("GET /media/f.bin HTTP/1.1", ["Host: a", "Range: bytes=0-0"]) +
      req("PUT {live}pipe HTTP/1.1", [
        "Host: a",
        `Authorization: Bearer ${TOKEN}`,
        `Content-Length: ${HIDDEN.length}`,
      ], HIDDEN) +
      req("GET {live}pipe HTTP/1.1", ["Host: a", "Connection: close"]),
    statuses: [206, 201, 200],
    check: (r) => assert.equal(textOf(r[2].body), HIDDEN),
  },
  {
    name: "pipeline: a chunked upload with a trailer, then a GET of it",
    request: putChunked("pipe-chunked", "5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n") +
      req("GET {live}pipe-chunked HTTP/1.1", ["Host: a", "Connection: close"]),
    statuses: [201, 200],
    check: (r) => assert.equal(textOf(r[1].body), "hello"),
  },
  {
    name: "pipeline: a GET's Content-Length body is never a request",
    request:
      req("GET /media/f.bin HTTP/1.1", ["Host: a", `Content-Length: ${HIDDEN.length}`], HIDDEN) +
      req("GET /nope HTTP/1.1", ["Host: a", "Connection: close"]),
    // a body the app did not read is dropped and the connection goes on (RFC 9112 §6.3, §9.3);
    // answered as a request, the body would give a 206
    statuses: [200, 404],
    check: (r) => assert.deepEqual(r[0].body, FILE),
  },
  {
    name: "pipeline: an unread Content-Length body on a 405, then the next request",
    request:
      req("POST /media/f.bin HTTP/1.1", ["Host: a", `Content-Length: ${HIDDEN.length}`], HIDDEN) +
      get("Range: bytes=5-5"),
    statuses: [405, 206],
    check: body(slice(5, 5), `bytes 5-5/${SIZE}`),
  },
  {
    name: "pipeline: an unread Content-Length body on a 401 upload, then the next request",
    request:
      req("PUT {live}denied HTTP/1.1", ["Host: a", `Content-Length: ${HIDDEN.length}`], HIDDEN) +
      get("Range: bytes=5-5"),
    statuses: [401, 206],
  },
  {
    name: "pipeline: an unread chunked body ends the connection after the answer",
    request: req(
      "POST /media/f.bin HTTP/1.1",
      ["Host: a", "Transfer-Encoding: chunked"],
      "5\r\nhello\r\n0\r\n\r\n",
    ) +
      get("Range: bytes=5-5"),
    statuses: [405],
  },
  {
    name: "pipeline: after Expect: 100-continue an unread body is not waited for",
    request: req(
      "PUT {live}denied HTTP/1.1",
      ["Host: a", "Expect: 100-continue", "Content-Length: 5"],
      "hello",
    ) +
      get("Range: bytes=5-5"),
    statuses: [401],
  },
  {
    name: "smuggling: CL+TE first request → one 400, the hidden request never answered",
    request: req("POST /media/f.bin HTTP/1.1", [
      "Host: a",
      "Content-Length: 4",
      "Transfer-Encoding: chunked",
    ], "0\r\n\r\n") +
      req("GET /media/f.bin HTTP/1.1", ["Host: a"]),
    statuses: BAD,
  },
  {
    name: "smuggling: a bad second request after a good one",
    request: req("GET /media/f.bin HTTP/1.1", ["Host: a", "Range: bytes=0-0"]) +
      req("GET /media/f.bin HTTP/1.1", ["Host: a", "Content-Length: 1", "Content-Length: 2"]) +
      req("GET /media/f.bin HTTP/1.1", ["Host: a"]),
    statuses: [206, 400],
  },
  {
    name: "smuggling: a bad first request ends the connection before the next",
    request: req("GET / HTTP/1.1", ["Host: a", "X: a\x00"]) + get(),
    statuses: BAD,
  },
  {
    name: "smuggling: a chunk size that hides a request → 400, nothing else",
    request: putChunked("smuggle", "2\r\nab\r\nGET /media/f.bin HTTP/1.1\r\nHost: a\r\n\r\n"),
    statuses: BAD,
  },
  {
    name: "smuggling: Transfer-Encoding hidden by obs-fold → 400",
    request: req(
      "POST /media/f.bin HTTP/1.1",
      ["Host: a", "X: y", " Transfer-Encoding: chunked"],
      "0\r\n\r\n",
    ) + get(),
    statuses: BAD,
  },

  // ---- Expect (RFC 9110 §10.1.1)
  {
    name: "Expect: 100-continue on a GET without body: no 100, just the answer",
    request: get("Expect: 100-continue"),
    statuses: [200],
    check: whole,
  },
  { name: "unknown expectation is ignored", request: get("Expect: foo"), statuses: [200] },
  {
    name: "Expect: 100-continue on an upload: 100, then 201",
    request: req("PUT {live}expect HTTP/1.1", [
      "Host: a",
      `Authorization: Bearer ${TOKEN}`,
      "Content-Length: 3",
      "Expect: 100-continue",
      "Connection: close",
    ], "abc"),
    statuses: [100, 201],
  },
  {
    name: "Expect: 100-continue without the token: 401, no 100",
    request: req("PUT {live}expect-noauth HTTP/1.1", [
      "Host: a",
      "Content-Length: 3",
      "Expect: 100-continue",
      "Connection: close",
    ]),
    statuses: [401],
  },
  {
    name: "Expect: 100-continue with a body over the limit: 413, no 100",
    request: req("PUT {live}expect-big HTTP/1.1", [
      "Host: a",
      `Authorization: Bearer ${TOKEN}`,
      "Content-Length: 99999999999",
      "Expect: 100-continue",
      "Connection: close",
    ]),
    statuses: [413],
  },
  {
    name: "Expect in HTTP/1.0 is ignored (no 100)",
    request: req("PUT {live}expect-10 HTTP/1.0", [
      `Authorization: Bearer ${TOKEN}`,
      "Content-Length: 3",
      "Expect: 100-continue",
    ], "abc"),
    statuses: [201],
  },

  // ---- ranges (RFC 9110 §14) and If-Range (§13.1.5)
  {
    name: "range bytes=0-0",
    request: get("Range: bytes=0-0"),
    statuses: [206],
    check: body(slice(0, 0), `bytes 0-0/${SIZE}`),
  },
  {
    name: "range bytes=0-1 (Safari probe)",
    request: get("Range: bytes=0-1"),
    statuses: [206],
    check: body(slice(0, 1), `bytes 0-1/${SIZE}`),
  },
  {
    name: "range bytes=-1",
    request: get("Range: bytes=-1"),
    statuses: [206],
    check: body(slice(999, 999), `bytes 999-999/${SIZE}`),
  },
  {
    name: "range bytes=-0 → 416",
    request: get("Range: bytes=-0"),
    statuses: [416],
    check: (r) => assert.equal(r[0].headers.get("content-range"), `bytes */${SIZE}`),
  },
  {
    name: "range suffix longer than the file → whole as 206",
    request: get("Range: bytes=-2000"),
    statuses: [206],
    check: body(FILE, `bytes 0-999/${SIZE}`),
  },
  {
    name: "range end beyond the file is clamped",
    request: get("Range: bytes=990-5000"),
    statuses: [206],
    check: body(slice(990, 999), `bytes 990-999/${SIZE}`),
  },
  { name: "range starting at the size → 416", request: get("Range: bytes=1000-"), statuses: [416] },
  {
    name: "range last byte open-ended",
    request: get("Range: bytes=999-"),
    statuses: [206],
    check: body(slice(999, 999), `bytes 999-999/${SIZE}`),
  },
  {
    name: "range last < first is ignored → 200",
    request: get("Range: bytes=5-1"),
    statuses: [200],
    check: whole,
  },
  {
    name: "range unit is case-insensitive",
    request: get("Range: BYTES=0-1"),
    statuses: [206],
    check: body(slice(0, 1), `bytes 0-1/${SIZE}`),
  },
  {
    name: "range other unit is ignored → 200",
    request: get("Range: items=0-1"),
    statuses: [200],
    check: whole,
  },
  {
    name: "range spaces around = are invalid → 200",
    request: get("Range: bytes = 0-1"),
    statuses: [200],
    check: whole,
  },
  {
    name: "range OWS around list commas is fine",
    request: get("Range: bytes=0-1 , 3-4"),
    statuses: [206],
    check: parts([0, 1], [3, 4]),
  },
  {
    name: "range overlapping ranges served as asked",
    request: get("Range: bytes=0-10,5-15"),
    statuses: [206],
    check: parts([0, 10], [5, 15]),
  },
  {
    name: "range 16 ranges (the limit) → multipart",
    request: get(
      `Range: bytes=${Array.from({ length: 16 }, (_, i) => `${i * 2}-${i * 2}`).join(",")}`,
    ),
    statuses: [206],
    check: parts(...Array.from({ length: 16 }, (_, i): [number, number] => [i * 2, i * 2])),
  },
  {
    name: "range 17 ranges (over the limit) → 200 whole",
    request: get(
      `Range: bytes=${Array.from({ length: 17 }, (_, i) => `${i * 2}-${i * 2}`).join(",")}`,
    ),
    statuses: [200],
    check: whole,
  },
  {
    name: "range overflowing numbers are invalid → 200 (CVE-2017-7529)",
    request: get("Range: bytes=-9223372036854775808"),
    statuses: [200],
    check: whole,
  },
  {
    name: "range unsatisfiable next to satisfiable is dropped",
    request: get("Range: bytes=2000-3000,0-0"),
    statuses: [206],
    check: body(slice(0, 0), `bytes 0-0/${SIZE}`),
  },
  {
    name: "range on HEAD is ignored (GET only, §14.2)",
    request: req("HEAD /media/f.bin HTTP/1.1", [
      "Host: a",
      "Range: bytes=0-1",
      "Connection: close",
    ]),
    statuses: [200],
    head: [0],
  },
  {
    name: "If-Range with a weak ETag → 200 whole",
    request: get("Range: bytes=0-1", 'If-Range: W/"x"'),
    statuses: [200],
    check: whole,
  },
  {
    name: "If-Range with another date → 200 whole",
    request: get("Range: bytes=0-1", "If-Range: Thu, 01 Jan 1970 00:00:00 GMT"),
    statuses: [200],
    check: whole,
  },
  {
    name: "If-Range garbage → 200 whole",
    request: get("Range: bytes=0-1", "If-Range: garbage"),
    statuses: [200],
    check: whole,
  },
  {
    name: "If-Range with the strong ETag → 206",
    request: get("Range: bytes=0-1", "If-Range: {etag}"),
    statuses: [206],
    check: body(slice(0, 1), `bytes 0-1/${SIZE}`),
  },
  {
    name: "If-Range with the ETag made weak → 200",
    request: get("Range: bytes=0-1", "If-Range: W/{etag}"),
    statuses: [200],
    check: whole,
  },
  {
    name: "If-Range with the exact Last-Modified → 206",
    request: get("Range: bytes=0-1", "If-Range: {lastModified}"),
    statuses: [206],
    check: body(slice(0, 1), `bytes 0-1/${SIZE}`),
  },
];

/** What one exchange gave. */
interface Got {
  responses: RawResponse[];
  bytes: Uint8Array;
  closed: boolean;
}

/**
 * Sends `request` and reads until the server closes (10 s at most); `halfClose` shuts down the
 * sending side after the request (for a peer that would keep the connection open).
 */
async function exchange(port: number, request: Uint8Array, halfClose = false): Promise<Got> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    // a refused request may be closed before all of it is written (EPIPE/reset is fine)
    await writeAll(conn, request).catch(() => {});
    if (halfClose) await conn.closeWrite().catch(() => {});
    const got = await collect(conn, { timeoutMs: 10_000 });
    return { responses: got.responses, bytes: got.bytes, closed: got.closed };
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** The file's root, the secret next to it, a symlink to it, and one upload folder per engine. */
interface Fixture {
  readonly base: string;
  readonly root: string;
  cleanup(): Promise<void>;
}

async function makeFixture(): Promise<Fixture> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "zerocast-diff-" }));
  const root = `${base}/root`;
  await Deno.mkdir(`${root}/d`, { recursive: true });
  await Deno.mkdir(`${root}/live`, { recursive: true });
  await Deno.writeFile(`${root}/f.bin`, FILE);
  await Deno.writeTextFile(`${root}/.hidden`, SECRET);
  await Deno.writeTextFile(`${base}/secret.txt`, SECRET);
  await Deno.symlink(`${base}/secret.txt`, `${root}/escape`);
  return { base, root, cleanup: () => Deno.remove(base, { recursive: true }) };
}

/** The test file's validators. */
interface Validators {
  readonly etag: string;
  readonly lastModified: string;
}

/** Fields that may differ between two correct answers to one request. */
function normalise(
  got: Got,
  head: readonly number[],
  live: string,
  port: number,
  validators: Validators,
): string {
  let text = textOf(got.bytes);
  const responses = parseResponses(got.bytes, new Set(head)).responses;
  // the order of fields with different names carries no meaning (RFC 9110 §5.3)
  for (const r of responses) {
    const [status, ...fields] = r.head.split("\r\n");
    text = text.replace(r.head, [status, ...fields.sort()].join("\r\n"));
  }
  // uploaded files differ in inode and maybe mtime second per engine; the test file does not
  text = text.replace(
    /\r\netag: ([^\r]*)/g,
    (line, value) => value === validators.etag ? line : "\r\netag: {upload}",
  ).replace(
    /\r\nlast-modified: ([^\r]*)/g,
    (line, value) => value === validators.lastModified ? line : "\r\nlast-modified: {upload}",
  );
  text = text.replace(/\r\ndate: [^\r]*/gi, "\r\ndate: -")
    .replaceAll(live, "{live}")
    .replaceAll(`127.0.0.1:${port}`, "{authority}");
  for (const r of responses) {
    const type = r.headers.get("content-type") ?? "";
    if (type.startsWith("multipart/")) text = text.replaceAll(boundaryOf(type), "{boundary}");
  }
  return text;
}

/** Asserts the corpus expectations for one case on one engine. */
function checkCase(c: Case, got: Got, engine: string): void {
  const what = `[${engine}] ${c.name}`;
  const text = textOf(got.bytes);
  assert.ok(!text.includes(SECRET), `${what}: served the secret`);
  assert.ok(got.closed, `${what}: connection not closed:\n${text.slice(0, 400)}`);
  const parsed = parseResponses(got.bytes, new Set(c.head ?? []));
  assert.deepEqual(
    parsed.responses.map((r) => r.status),
    c.statuses,
    `${what}: statuses\n${text.slice(0, 600)}`,
  );
  assert.equal(parsed.used, got.bytes.length, `${what}: bytes after the last response`);
  const last = parsed.responses[parsed.responses.length - 1];
  if (last.status >= 400) {
    assert.match(last.head, /\r\nconnection: close/i, `${what}: error without Connection: close`);
  }
  for (const r of parsed.responses) {
    // every framed response says its length (RFC 9112 §6.3); a 1xx has no content
    if (r.status >= 200 && r.status !== 204 && r.status !== 304) {
      assert.ok(
        r.headers.has("content-length") || r.headers.get("transfer-encoding") === "chunked",
        `${what}: unframed response`,
      );
    }
  }
  c.check?.(parsed.responses);
}

/** Fills `{live}`, `{etag}` and `{lastModified}` in a request. */
function fill(request: string, live: string, validators: Validators) {
  return request.replaceAll("{live}", live).replaceAll("{etag}", validators.etag)
    .replaceAll("{lastModified}", validators.lastModified);
}

async function validatorsOf(
  server: RunningServer,
): Promise<{ etag: string; lastModified: string }> {
  const res = await fetch(`${server.url}/media/f.bin`, { method: "HEAD" });
  await res.body?.cancel();
  return { etag: res.headers.get("etag")!, lastModified: res.headers.get("last-modified")! };
}

Deno.test("differential battery: every case on both engines, engines agree", async (t) => {
  assert.ok(CORPUS.length >= 60, `corpus has ${CORPUS.length} cases`);
  const fx = await makeFixture();
  const servers: { engine: string; server: RunningServer; port: number; live: string }[] = [];
  try {
    for (const [i, engine] of ENGINES.entries()) {
      const live = `/media/live/e${i}/`;
      const server = await startServer({
        root: fx.root,
        engine,
        args: ["--workers", "1", "--ingest-token", TOKEN, "--no-ingest-fsync"],
      });
      servers.push({ engine, server, port: Number(new URL(server.url).port), live });
    }
    // same files, same inode: the validators are the same for both servers
    const validators = await validatorsOf(servers[0].server);
    assert.deepEqual(await validatorsOf(servers[1].server), validators);

    for (const c of CORPUS) {
      await t.step(c.name, async () => {
        const results = await Promise.all(servers.map(async (s) => {
          const got = await exchange(s.port, bytesOf(fill(c.request, s.live, validators)));
          return { s, got };
        }));
        for (const { s, got } of results) {
          checkCase(c, got, s.engine);
        }
        const [a, b] = results.map(({ s, got }) =>
          normalise(got, c.head ?? [], s.live, s.port, validators)
        );
        assert.equal(a, b, `engines disagree on ${c.name}`);
      });
    }

    await t.step("Expect: 100-continue: the 100 comes before the body is sent", async () => {
      for (const s of servers) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
        try {
          const head = req(`PUT ${s.live}waited HTTP/1.1`, [
            "Host: a",
            `Authorization: Bearer ${TOKEN}`,
            "Content-Length: 5",
            "Expect: 100-continue",
            "Connection: close",
          ]);
          await writeAll(conn, bytesOf(head));
          // nothing more is sent until the interim answer is in (RFC 9110 §10.1.1)
          const interim = "HTTP/1.1 100 Continue\r\n\r\n";
          let got = "";
          const buf = new Uint8Array(256);
          while (got.length < interim.length) {
            const n = await conn.read(buf);
            assert.ok(n !== null, `[${s.engine}] closed before 100 Continue`);
            got += textOf(buf.subarray(0, n));
          }
          assert.equal(got, interim, s.engine);
          await writeAll(conn, bytesOf("hello"));
          const rest = await collect(conn, { timeoutMs: 10_000 });
          assert.deepEqual(parseResponses(rest.bytes).responses.map((r) => r.status), [201]);
        } finally {
          conn.close();
        }
      }
    });

    await t.step("uploads that were refused wrote nothing; accepted ones are whole", () => {
      for (const s of servers) {
        const dir = `${fx.root}${s.live.slice("/media".length)}`;
        const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
        assert.deepEqual(names, [
          "ch-ok",
          "ch-zeros",
          "cl-list",
          "cl-same",
          "expect",
          "expect-10",
          "pipe",
          "pipe-chunked",
          "te-upper",
          "waited",
        ], s.engine);
        assert.equal(Deno.readTextFileSync(`${dir}ch-ok`), "abc");
        assert.equal(Deno.readTextFileSync(`${dir}cl-same`), "ab");
      }
      assert.equal(Deno.readTextFileSync(`${fx.base}/secret.txt`), SECRET);
    });
  } finally {
    for (const s of servers) await s.server.close();
    await fx.cleanup();
  }
});

// ---- nginx as a reference where RFC 9112 leaves room

/** Cases where accepting what nginx refuses would be a security problem. */
const REFERENCE_CLASSES =
  /^(Content-Length|Transfer-Encoding|chunked|smuggling|path|pipeline: an upload)|obs-fold|colon|NUL|bare CR|two spaces/;
/**
 * Where nginx refuses what RFC 9110 §8.6 allows and no framing ambiguity exists: the same
 * length repeated is one length for every parser that reads it.
 */
const LENIENT_BY_RFC = [
  "Content-Length twice with one value is one length (RFC 9110 §8.6)",
  "Content-Length list of identical values",
];

function nginxConfig(dir: string, port: number, root: string): string {
  return `daemon off;
master_process off;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  lingering_timeout 50ms;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /media/ { alias ${root}/; }
  }
}
`;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitForPort(port: number, child: Deno.ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error("nginx did not start");
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

Deno.test("differential battery: at least as strict as nginx on smuggling and paths", async () => {
  if (!have("nginx")) {
    console.log("nginx is not installed: reference comparison skipped");
    return;
  }
  const fx = await makeFixture();
  const dir = `${fx.base}/nginx`;
  await Deno.mkdir(dir);
  const port = freePort();
  await Deno.writeTextFile(`${dir}/nginx.conf`, nginxConfig(dir, port, fx.root));
  const nginx = new Deno.Command("nginx", {
    args: ["-c", `${dir}/nginx.conf`, "-p", dir],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const zerocast = await startServer({
    root: fx.root,
    engine: "zero-copy",
    args: ["--workers", "1", "--ingest-token", TOKEN, "--no-ingest-fsync"],
  });
  const zport = Number(new URL(zerocast.url).port);
  try {
    await waitForPort(port, nginx);
    const validators = await validatorsOf(zerocast);
    const compared: string[] = [];
    const selected = CORPUS.filter((c) =>
      REFERENCE_CLASSES.test(c.name) && !LENIENT_BY_RFC.includes(c.name)
    );
    for (const c of selected) {
      // nginx has no upload route: its answers to PUT are 405; compare framing verdicts only
      const [ref, ours] = await Promise.all([
        exchange(port, bytesOf(fill(c.request, "/media/live/", validators)), true),
        exchange(zport, bytesOf(fill(c.request, "/media/live/ref/", validators))),
      ]);
      const ourText = textOf(ours.bytes);
      assert.ok(!ourText.includes(SECRET), `${c.name}: zerocast served the secret`);
      const refStatuses = parseResponses(ref.bytes).responses.map((r) => r.status);
      const ourStatuses = parseResponses(ours.bytes).responses.map((r) => r.status);
      const refRejects = refStatuses[0] === 400 || refStatuses[0] === 501;
      if (refRejects) {
        assert.ok(
          ourStatuses[0] >= 400 && ours.closed,
          `${c.name}: nginx says 400, zerocast ${ourStatuses}`,
        );
        compared.push(c.name);
      }
      // never more answers than nginx to one write: nothing smuggled through
      assert.ok(
        ourStatuses.length <= Math.max(refStatuses.length, 1) || c.statuses.length > 1,
        `${c.name}: zerocast answered ${ourStatuses}, nginx ${refStatuses}`,
      );
      // a path nginx does not serve (404/400) is not served by zerocast either
      if (c.name.startsWith("path") && refStatuses[0] !== 200) {
        assert.notEqual(ourStatuses[0], 200, `${c.name}: nginx ${refStatuses}, zerocast 200`);
      }
    }
    assert.ok(compared.length >= 20, `only ${compared.length} cases refused by nginx`);
  } finally {
    nginx.kill("SIGTERM");
    await nginx.status;
    await nginx.stderr.cancel();
    await zerocast.close();
    await fx.cleanup();
  }
});
