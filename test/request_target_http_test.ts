/**
 * Every request-target form (RFC 9112 §3.2), Host handling, HEAD error responses and the
 * HTTP-version rule, over raw sockets through the whole app (`main.ts` as a subprocess) on both
 * engines. The point is that the router and the media resolver see one path whatever the client
 * writes: `/anything/metrics` is never the metrics route and a `/media/...` only in the query (or
 * after an empty authority) never serves that file.
 *
 * Both engines parse HTTP/1.x with the project's codec (the stream server owns its listener), so
 * every expectation holds on both; `Deno.serve` itself is only reached by HTTP/2 over TLS.
 */
import assert from "node:assert/strict";
import { ENGINES, type RunningServer, startServer } from "./support/server.ts";
import { rawExchange, startEngine } from "./engine_support.ts";
import type { AccessLogEntry } from "../src/log.ts";

/** A raw response: status line, headers, the bytes after the head. */
interface RawGot {
  statusLine: string;
  status: number;
  headers: Headers;
  body: Uint8Array;
}

const enc = new TextEncoder();
const latin1 = (b: Uint8Array) => new TextDecoder("latin1").decode(b);

/** Writes `request` as is and reads until the server closes; parses one response. */
async function raw(base: string, request: string): Promise<RawGot> {
  const port = Number(new URL(base).port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const chunks: Uint8Array[] = [];
  try {
    await conn.write(enc.encode(request));
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } finally {
    conn.close();
  }
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  const text = latin1(all);
  const end = text.indexOf("\r\n\r\n");
  assert.ok(end > 0, `no complete response to ${JSON.stringify(request)}: ${JSON.stringify(text)}`);
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return {
    statusLine,
    status: Number(statusLine.split(" ")[1]),
    headers,
    body: all.slice(end + 4),
  };
}

/** `METHOD target version` with the given header lines and `Connection: close`. */
function req(line: string, ...headers: string[]): string {
  return [line, ...headers, "Connection: close"].join("\r\n") + "\r\n\r\n";
}

interface Fixture {
  root: string;
  content: string;
  cleanup(): Promise<void>;
}

async function makeFixture(): Promise<Fixture> {
  const base = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-target-" }));
  const root = `${base}/root`;
  await Deno.mkdir(root);
  const content = `FILE-${crypto.randomUUID()}\n`;
  await Deno.writeTextFile(`${root}/f.txt`, content);
  return { root, content, cleanup: () => Deno.remove(base, { recursive: true }) };
}

/** Waits (bounded) until some stdout line matches `pattern`; the log is flushed per loop turn. */
async function waitForLog(server: RunningServer, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const line = server.stdout.find((l) => pattern.test(l));
    if (line !== undefined) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no log line matches ${pattern}:\n${server.stdout.join("\n")}`);
}

/** Asserts that `got` is not the file and not the metrics text. */
function assertNoLeak(got: RawGot, fx: Fixture, what: string): void {
  const body = latin1(got.body);
  assert.ok(!body.includes(fx.content.trim()), `${what} served the file`);
  assert.ok(!body.includes("zerocast_"), `${what} served metrics`);
}

for (const engine of ENGINES) {
  const zeroCopy = engine === "zero-copy";

  Deno.test(`request target: one path for router and resolver (${engine} engine)`, async (t) => {
    const fx = await makeFixture();
    const server = await startServer({ root: fx.root, engine, log: true });
    const base = server.url;
    try {
      await t.step("origin-form and absolute-form serve the file", async () => {
        for (
          const request of [
            req("GET /media/f.txt HTTP/1.1", "Host: a"),
            req("GET http://other/media/f.txt HTTP/1.1", "Host: a"),
            req("GET HTTP://other:81/media/f.txt?x HTTP/1.1", "Host: a"),
            req("GET /media/f.txt HTTP/1.0"),
          ]
        ) {
          const got = await raw(base, request);
          assert.equal(got.status, 200, request);
          assert.equal(latin1(got.body), fx.content, request);
        }
      });

      await t.step("a path only in the query or after an empty Host is never routed", async () => {
        for (
          const [request, what] of [
            [req("GET http://other?x=/media/f.txt HTTP/1.1", "Host: a"), "query-smuggled file"],
            [req("GET http://other?/metrics HTTP/1.1", "Host: a"), "query-smuggled metrics"],
            [req("GET http://other?x=/media/f.txt HTTP/1.1", "Host: "), "same, empty Host"],
          ] as const
        ) {
          const got = await raw(base, request);
          assertNoLeak(got, fx, what);
          // the path is "/" (RFC 9112 §3.2.2 / RFC 9110 §4.2.3): the browser page
          assert.equal(got.status, 200, what);
          assert.match(got.headers.get("content-type") ?? "", /^text\/html/, what);
        }
        for (const host of ["Host: ", "Host: a"]) {
          const got = await raw(base, req("GET /anything/metrics HTTP/1.1", host));
          assert.equal(got.status, 404, `/anything/metrics with ${host}`);
          assertNoLeak(got, fx, `/anything/metrics with ${host}`);
        }
        const metrics = await raw(base, req("GET /metrics HTTP/1.1", "Host: a"));
        assert.equal(metrics.status, 200);
        assert.match(latin1(metrics.body), /zerocast_/);
      });

      await t.step("an empty Host is allowed: the listener address stands in", async () => {
        const got = await raw(base, req("GET /media/f.txt HTTP/1.1", "Host: "));
        assert.equal(got.status, 200);
        assert.equal(latin1(got.body), fx.content);
      });

      await t.step("Host: missing, duplicated, invalid", async () => {
        const cases = [
          req("GET /media/f.txt HTTP/1.1"),
          req("GET /media/f.txt HTTP/1.1", "Host: a", "Host: b"),
          req("GET /media/f.txt HTTP/1.1", "Host: a b"),
          req("GET /media/f.txt HTTP/1.1", "Host: a/metrics"),
          req("GET /media/f.txt HTTP/1.1", "Host: u@a"),
        ];
        for (const request of cases) {
          const got = await raw(base, request);
          assert.equal(got.status, 400, request);
          assertNoLeak(got, fx, request);
        }
        const dup = await raw(base, req("GET /media/f.txt HTTP/1.1", "Host: a", "Host: b"));
        assert.equal(dup.status, 400);
      });

      await t.step(
        "authority-form only with CONNECT, asterisk-form only with OPTIONS",
        async () => {
          const authority = await raw(base, req("GET example.com:443 HTTP/1.1", "Host: a"));
          assert.equal(authority.status, 400);
          const star = await raw(base, req("GET * HTTP/1.1", "Host: a"));
          assert.equal(star.status, 400);
          // OPTIONS * reaches the app as "/*" on both engines; the app has no such route
          const options = await raw(base, req("OPTIONS * HTTP/1.1", "Host: a"));
          assert.equal(options.status, 404);
          const connect = await raw(base, req("CONNECT a:443 HTTP/1.1", "Host: a:443"));
          assert.ok(connect.status >= 400 && connect.status < 500, connect.statusLine);
          assertNoLeak(connect, fx, "CONNECT");
          for (const bad of ["ftp://other/media/f.txt", "http://u@other/media/f.txt"]) {
            const got = await raw(base, req(`GET ${bad} HTTP/1.1`, "Host: a"));
            assert.equal(got.status, 400, bad);
          }
          for (const bad of ["http:///media/f.txt", "/media/f.txt#x"]) {
            const got = await raw(base, req(`GET ${bad} HTTP/1.1`, "Host: a"));
            assert.equal(got.status, 400, bad);
          }
        },
      );

      await t.step("HEAD error responses carry no body (RFC 9110 §9.3.2)", async () => {
        const pairs: [string, number][] = [
          ["/nope", 404], // app 404
          ["/media/%2e%2e/f.txt", 400], // app 400 (path safety)
        ];
        for (const [path, status] of pairs) {
          const get = await raw(base, req(`GET ${path} HTTP/1.1`, "Host: a"));
          const head = await raw(base, req(`HEAD ${path} HTTP/1.1`, "Host: a"));
          assert.equal(get.status, status, path);
          assert.equal(head.status, status, path);
          assert.ok(get.body.byteLength > 0, path);
          assert.equal(head.body.byteLength, 0, `HEAD ${path} has a body`);
          assert.equal(head.headers.get("content-length"), String(get.body.byteLength), path);
        }
        // errors the server itself answers: a target only OPTIONS may use, a request body
        // the app refuses (405 with HEAD is impossible: HEAD is GET's twin everywhere)
        const star = await raw(base, req("HEAD * HTTP/1.1", "Host: a"));
        assert.equal(star.status, 400);
        assert.equal(star.body.byteLength, 0);
        const version = await raw(base, req("HEAD / HTTP/2.0", "Host: a"));
        assert.equal(version.status, 505);
        assert.equal(version.body.byteLength, 0);
        assert.equal(Number(version.headers.get("content-length")) > 0, true);
        const getVersion = await raw(base, req("GET / HTTP/2.0", "Host: a"));
        assert.equal(
          version.headers.get("content-length"),
          String(getVersion.body.byteLength),
        );
        const put = await raw(base, req("PUT /media/f.txt HTTP/1.1", "Host: a"));
        assert.equal(put.status, 405);
        assert.ok(put.body.byteLength > 0);
      });

      await t.step("HTTP/1.2-1.9 are answered as HTTP/1.1 (RFC 9110 §2.5)", async () => {
        const got = await raw(base, req("GET /media/f.txt HTTP/1.5", "Host: a"));
        assert.equal(got.statusLine, "HTTP/1.1 200 OK");
        assert.equal(latin1(got.body), fx.content);
        const missingHost = await raw(base, req("GET /media/f.txt HTTP/1.9"));
        assert.equal(missingHost.status, 400); // Host is required as in 1.1
      });

      if (zeroCopy) {
        await t.step("rejected requests are logged with their request line", async () => {
          await raw(base, "GET /v2 HTTP/2.0\r\nHost: a\r\n\r\n");
          await waitForLog(server, /"GET \/v2 HTTP\/2\.0" 505 [1-9]/);
          await raw(base, "HEAD /v3 HTTP/3.0\r\nHost: a\r\n\r\n");
          await waitForLog(server, /"HEAD \/v3 HTTP\/3\.0" 505 0 /);
          await raw(base, "GET /bad-host HTTP/1.1\r\nHost: a b\r\n\r\n");
          await waitForLog(server, /"GET \/bad-host HTTP\/1\.1" 400 /);
          await raw(base, 'BREW /x"y HTTP/1.1\r\nHost: a\r\nBad Name: 1\r\n\r\n');
          await waitForLog(server, /"BREW \/x\\x22y HTTP\/1\.1" 400 /);
          assert.ok(!server.stdout.some((l) => l.includes('"- - ')), server.stdout.join("\n"));
        });
      }
    } finally {
      await server.close();
      await fx.cleanup();
    }
  });
}

Deno.test("engine: errors the engine answers itself leave HEAD without a body, and are logged", async () => {
  const log: AccessLogEntry[] = [];
  const app = {
    fetch(request: Request): Response {
      if (request.url.endsWith("/throw")) throw new Error("expected test failure");
      // a plain fetch app (no Hono HEAD handling): the engine itself must drop the body
      if (request.url.endsWith("/405")) {
        return new Response("method not allowed\n", { status: 405, headers: { allow: "GET" } });
      }
      return new Response("ok");
    },
  };
  const originalError = console.error;
  console.error = () => {};
  try {
    await using server = startEngine(app, { maxBodyBytes: 10, onResponse: (e) => log.push(e) });
    const cases: [string, number][] = [
      ["HEAD /throw HTTP/1.1\r\nHost: a\r\n\r\n", 500], // the app failed
      ["HEAD /405 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 405], // the app's own
      ["HEAD /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", 413],
      ["HEAD /x HTTP/2.0\r\nHost: a\r\n\r\n", 505], // rejected by the codec
      ["HEAD http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ];
    for (const [request, status] of cases) {
      const head = await rawExchange(server.port, request);
      const get = await rawExchange(server.port, request.replace("HEAD", "GET"));
      const headText = latin1(head.bytes);
      const getText = latin1(get.bytes);
      assert.ok(headText.startsWith(`HTTP/1.1 ${status} `), headText);
      assert.ok(head.closed && get.closed);
      // the HEAD answer is exactly the GET answer's head (Date aside), no body after it
      const strip = (t: string) => t.replace(/date: [^\r]*\r\n/, "");
      const getHead = getText.slice(0, getText.indexOf("\r\n\r\n") + 4);
      assert.ok(getText.length > getHead.length, "GET has a body");
      assert.equal(strip(headText), strip(getHead), request);
    }
  } finally {
    console.error = originalError;
  }
  const lines = log.map((e) => `${e.method} ${e.target} ${e.protocol} ${e.status}`);
  assert.ok(lines.includes("HEAD /x HTTP/2.0 505"), lines.join("\n"));
  assert.ok(lines.includes("GET /x HTTP/2.0 505"), lines.join("\n"));
  assert.ok(lines.includes("HEAD http:///x HTTP/1.1 400"), lines.join("\n"));
  assert.ok(lines.includes("HEAD /throw HTTP/1.1 500"), lines.join("\n"));
});

Deno.test("engine: a head cut short by the header timeout is logged as far as it came", async () => {
  const log: AccessLogEntry[] = [];
  const app = { fetch: () => new Response("ok") };
  {
    await using server = startEngine(app, {
      headerTimeoutMs: 200,
      onResponse: (e) => log.push(e),
    });
    // HEAD: the 408 leaves without a body
    const r = await rawExchange(server.port, "HEAD /slow?q HTTP/1.1\r\nHost: a\r\n");
    const text = latin1(r.bytes);
    assert.ok(text.startsWith("HTTP/1.1 408 "), text);
    assert.ok(text.endsWith("\r\n\r\n"), text);
    assert.equal(r.closed, true);
    // a request line that never ended: everything after the method is the target
    const cut = await rawExchange(server.port, "GET /half-a-line");
    assert.ok(latin1(cut.bytes).startsWith("HTTP/1.1 408 "));
  }
  const lines = log.map((e) => `${e.method} ${e.target} ${e.protocol} ${e.status} ${e.bytes}`);
  assert.ok(lines.includes("HEAD /slow?q HTTP/1.1 408 0"), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("GET /half-a-line - 408 ")), lines.join("\n"));
});
