/**
 * The stream server (`--engine stream`, and HTTPS always) over real sockets: Host rules of RFC
 * 9112 §3.2 and HTTP/1.0 keep-alive as on the zero-copy engine, a request answered after the
 * client half-closed, the access log's protocol and the body bytes really sent (aborted
 * downloads), HTTP/2 by ALPN, header timeouts against slowloris on TCP and TLS, and no file
 * descriptor left behind by aborted connections.
 */
import assert from "node:assert/strict";
import { AUTH, fdCount, readMetrics, TOKEN, waitUntil, writeAll } from "./support/ingest.ts";
import { randomBytes } from "./support/bytes.ts";
import { curl, have, type RunningServer, startServer } from "./support/server.ts";
import { makeTestCert, type TestCert } from "./support/tls.ts";
import type { AccessLogEntry } from "../src/log.ts";
import { serveDeno } from "../src/server/deno_serve.ts";
import { serveStream } from "../src/server/stream.ts";
import type { FetchApp } from "../src/server/types.ts";

const present = have("curl") && have("openssl");
if (!present) console.log("stream_server_test: skipped, curl or openssl not found");

const BIG = 16 * 1024 * 1024;
const latin1 = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const decode = (bytes: Uint8Array) => new TextDecoder("latin1").decode(bytes);

/** One running server with plain HTTP on the stream engine and HTTPS, and what it serves. */
interface Fixture {
  readonly server: RunningServer;
  readonly cert: TestCert;
  readonly root: string;
  readonly big: Uint8Array;
  /** Opens a connection to `which` listener. */
  connect(which: Which): Promise<Deno.Conn>;
  /** Base URL of `which` listener. */
  base(which: Which): string;
}

type Which = "http" | "https";
const LISTENERS: readonly Which[] = ["http", "https"];

async function withFixture(args: string[], fn: (fx: Fixture) => Promise<void>): Promise<void> {
  const cert = await makeTestCert();
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "zerocast-stream-" }));
  const big = randomBytes(BIG);
  await Deno.writeFile(`${root}/big.bin`, big);
  await Deno.writeTextFile(`${root}/small.txt`, "hello\n");
  const server = await startServer({
    root,
    engine: "stream",
    tls: { cert: cert.certFile, key: cert.keyFile },
    log: true,
    args,
  });
  const fx: Fixture = {
    server,
    cert,
    root,
    big,
    base: (which) => which === "http" ? server.url : server.httpsUrl!,
    connect(which) {
      const { hostname, port } = new URL(fx.base(which));
      return which === "http"
        ? Deno.connect({ hostname, port: Number(port) })
        : Deno.connectTls({ hostname, port: Number(port), caCerts: [cert.certPem] });
    },
  };
  try {
    await fn(fx);
  } finally {
    await server.close();
    await Deno.remove(root, { recursive: true });
    await cert.cleanup();
  }
}

/** Reads from `conn` until EOF, a reset, or `limitMs`; returns everything as latin1 text. */
async function readAll(conn: Deno.Conn, limitMs = 10_000): Promise<string> {
  const chunks: string[] = [];
  const buffer = new Uint8Array(65536);
  const timer = setTimeout(() => conn.close(), limitMs);
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(decode(buffer.subarray(0, n)));
    }
  } catch {
    // reset, or closed by the timer
  } finally {
    clearTimeout(timer);
  }
  return chunks.join("");
}

/** Sends `request` on a new connection and reads until the server closes it. */
async function exchange(fx: Fixture, which: Which, request: string): Promise<string> {
  const conn = await fx.connect(which);
  try {
    await writeAll(conn, latin1(request));
    return await readAll(conn);
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** Status codes of every response in `text`. */
function statuses(text: string): number[] {
  return [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));
}

/** The access-log lines whose request line contains `needle`. */
function logLines(server: RunningServer, needle: string): string[] {
  return server.stdout.filter((line) => line.includes(needle));
}

/** `"request" status bytes` of a combined-format line. */
function parseLog(line: string): { request: string; status: number; bytes: number } {
  const m = /"([^"]*)" (\d{3}) (\d+) /.exec(line);
  assert.ok(m, line);
  return { request: m[1], status: Number(m[2]), bytes: Number(m[3]) };
}

Deno.test({
  name: "stream server: Host rules, HTTP/1.0 keep-alive, half-closed clients, protocol in the log",
  ignore: !present,
  async fn(t) {
    await withFixture(["--ingest-token", TOKEN], async (fx) => {
      for (const which of LISTENERS) {
        await t.step(
          `${which}: missing, invalid or repeated Host → 400 (RFC 9112 §3.2)`,
          async () => {
            const cases = [
              "GET /healthz HTTP/1.1\r\n\r\n",
              "GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n",
              "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
              "GET /healthz HTTP/1.1\r\nHost: x@y\r\n\r\n",
            ];
            for (const request of cases) {
              const text = await exchange(fx, which, request);
              assert.deepEqual(statuses(text), [400], JSON.stringify(request));
              assert.match(text, /\r\nconnection: close\r\n/i);
            }
            // HTTP/1.0 needs no Host
            const text = await exchange(fx, which, "GET /healthz HTTP/1.0\r\n\r\n");
            assert.deepEqual(statuses(text), [200]);
            assert.ok(text.endsWith("\r\n\r\nok\n"), text);
          },
        );

        await t.step(`${which}: HTTP/1.0 keep-alive is honoured, plain 1.0 closes`, async () => {
          const text = await exchange(
            fx,
            which,
            "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
              "GET /media/small.txt HTTP/1.0\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n",
          );
          // the second request has no keep-alive: the server closes after it, the third is unread
          assert.deepEqual(statuses(text), [200, 200]);
          const [first, second] = text.split(/(?=HTTP\/1\.1 )/);
          assert.match(first, /\r\nconnection: keep-alive\r\n/i);
          assert.match(second, /\r\nconnection: close\r\n/i);
          assert.ok(second.endsWith("hello\n"));
        });

        await t.step(
          `${which}: a PUT whose client half-closes is still stored and answered`,
          async () => {
            const conn = await fx.connect(which);
            const body = "#EXTM3U\n";
            await writeAll(
              conn,
              latin1(
                `PUT /media/live/${which}/half.m3u8 HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n` +
                  `Transfer-Encoding: chunked\r\n\r\n${
                    body.length.toString(16)
                  }\r\n${body}\r\n0\r\n\r\n`,
              ),
            );
            // ffmpeg's way: the request is out, the sending side closes at once
            await conn.closeWrite();
            const text = await readAll(conn);
            conn.close();
            assert.deepEqual(statuses(text), [201]);
            assert.equal(await Deno.readTextFile(`${fx.root}/live/${which}/half.m3u8`), body);
          },
        );

        await t.step(`${which}: the log names the protocol as spoken`, async () => {
          const base = fx.base(which);
          const ua = `proto-${which}`;
          for (const flag of ["--http1.0", "--http1.1"]) {
            const out = await curl(["-k", flag, "-A", ua, "-o", "/dev/null", `${base}/healthz`]);
            assert.equal(out.code, 0, out.stderr);
          }
          const wanted = ["HTTP/1.0", "HTTP/1.1"];
          if (which === "https") {
            // ALPN offers h2: curl negotiates it, and the line says HTTP/2.0
            const out = await curl([
              ...["-k", "--http2", "-A", ua, "-o", "/dev/null", "-w", "%{http_version}"],
              `${base}/healthz`,
            ]);
            assert.equal(new TextDecoder().decode(out.stdout), "2", out.stderr);
            wanted.push("HTTP/2.0");
          }
          await waitUntil(() => logLines(fx.server, ua).length === wanted.length, "log lines");
          const got = logLines(fx.server, ua).map((line) => parseLog(line));
          assert.deepEqual(
            got.map((e) => [e.request, e.status, e.bytes]),
            wanted.map((p) => [`GET /healthz ${p}`, 200, 3]),
          );
        });
      }
    });
  },
});

Deno.test({
  name: "stream server: aborted downloads log and count the bytes really sent",
  ignore: !present,
  async fn(t) {
    await withFixture([], async (fx) => {
      for (const which of LISTENERS) {
        await t.step(`${which}: 16 MiB response cut after 1 MiB`, async () => {
          const before = await readMetrics(fx.server.url);
          const ua = `abort-${which}`;
          const conn = await fx.connect(which);
          await writeAll(
            conn,
            latin1(
              `GET /media/big.bin HTTP/1.1\r\nHost: x\r\nUser-Agent: ${ua}\r\n\r\n`,
            ),
          );
          let got = 0;
          const buffer = new Uint8Array(65536);
          while (got < 1024 * 1024) {
            const n = await conn.read(buffer);
            assert.ok(n !== null, "the download ended early");
            got += n;
          }
          conn.close();
          await waitUntil(() => logLines(fx.server, ua).length === 1, "the log line");
          const entry = parseLog(logLines(fx.server, ua)[0]);
          assert.equal(entry.status, 200);
          assert.ok(entry.bytes > 0 && entry.bytes < BIG, `${entry.bytes} bytes logged`);
          const after = await readMetrics(fx.server.url);
          const key = 'zerocast_bytes_sent_total{path="stream"}';
          const sent = after.get(key)! - before.get(key)!;
          // the metrics request's own body is counted after it is rendered, so not in `after`
          assert.ok(sent >= entry.bytes && sent < BIG, `${sent} bytes counted`);
        });
      }

      await t.step("https: a whole HTTP/2 download logs its size", async () => {
        const out = await curl([
          ...["-k", "--http2", "-A", "h2-whole", "-o", "/dev/null", "-w", "%{size_download}"],
          `${fx.base("https")}/media/big.bin`,
        ]);
        assert.equal(new TextDecoder().decode(out.stdout), String(BIG), out.stderr);
        await waitUntil(() => logLines(fx.server, "h2-whole").length === 1, "the log line");
        const entry = parseLog(logLines(fx.server, "h2-whole")[0]);
        assert.deepEqual(entry, {
          request: "GET /media/big.bin HTTP/2.0",
          status: 200,
          bytes: BIG,
        });
      });

      await t.step("range, HEAD and conditional requests keep working over HTTPS", async () => {
        const base = fx.base("https");
        for (const flag of ["--http1.1", "--http2"]) {
          const range = await curl(["-k", flag, "-r", "100-199", `${base}/media/big.bin`]);
          assert.deepEqual(range.stdout, fx.big.subarray(100, 200));
          const head = await curl(["-k", flag, "-I", `${base}/media/big.bin`]);
          const headText = new TextDecoder().decode(head.stdout);
          assert.match(headText, new RegExp(`content-length: ${BIG}\r\n`, "i"));
          const etag = /etag: (\S+)\r\n/i.exec(headText)![1];
          const cond = await curl([
            ...["-k", flag, "-o", "/dev/null", "-w", "%{http_code}"],
            ...["-H", `If-None-Match: ${etag}`, `${base}/media/big.bin`],
          ]);
          assert.equal(new TextDecoder().decode(cond.stdout), "304");
        }
      });
    });
  },
});

Deno.test({
  name: "stream server: header timeouts on TCP and TLS; aborted connections leak no fd",
  ignore: !present,
  async fn(t) {
    await withFixture(["--header-timeout", "400", "--ingest-token", TOKEN], async (fx) => {
      const pid = fx.server.process.pid;
      const active = async () =>
        (await readMetrics(fx.server.url)).get("zerocast_active_connections")!;
      // settle: the metrics connection of `active` itself is the only one open
      await waitUntil(async () => (await active()) === 1, "no open connection");
      const baseline = fdCount(pid);

      for (const which of LISTENERS) {
        await t.step(`${which}: a head that never ends → 408 and close`, async () => {
          const conn = await fx.connect(which);
          await writeAll(conn, latin1("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
          const text = await readAll(conn);
          conn.close();
          assert.deepEqual(statuses(text), [408]);
        });
        await t.step(`${which}: a connection that sends no request is closed`, async () => {
          // on TLS: after the handshake
          const conn = await fx.connect(which);
          if (which === "https") await (conn as Deno.TlsConn).handshake();
          assert.equal(await readAll(conn), "");
          conn.close();
        });
        await t.step({
          name: `${which}: a connection that sends nothing at all is closed`,
          // TLS: Deno cannot cancel a handshake; the reaper (Linux, FFI) shuts the socket down
          ignore: which === "https" && !(Deno.build.os === "linux" && Deno.build.arch === "x86_64"),
          fn: async () => {
            const { hostname, port } = new URL(fx.base(which));
            const conn = await Deno.connect({ hostname, port: Number(port) });
            assert.equal(await readAll(conn), "");
            conn.close();
          },
        });
      }

      await t.step("aborted downloads, uploads, heads and handshakes close their fds", async () => {
        const aborts: Promise<void>[] = [];
        for (const which of LISTENERS) {
          for (let i = 0; i < 4; i++) {
            aborts.push((async () => {
              const conn = await fx.connect(which);
              await writeAll(conn, latin1("GET /media/big.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
              await conn.read(new Uint8Array(65536));
              conn.close();
            })());
            aborts.push((async () => {
              const conn = await fx.connect(which);
              await writeAll(
                conn,
                latin1(
                  `PUT /media/live/cut${i}.bin HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n` +
                    "Content-Length: 1000000\r\n\r\n" + "x".repeat(5000),
                ),
              );
              conn.close();
            })());
            aborts.push((async () => {
              const conn = await fx.connect(which);
              await writeAll(conn, latin1("GET /heal"));
              conn.close();
            })());
          }
        }
        const { hostname, port } = new URL(fx.base("https"));
        for (let i = 0; i < 4; i++) {
          // a TLS ClientHello cut short
          aborts.push((async () => {
            const conn = await Deno.connect({ hostname, port: Number(port) });
            await conn.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
            conn.close();
          })());
        }
        await Promise.all(aborts);
        await waitUntil(async () => (await active()) === 1, "every aborted connection closed");
        await waitUntil(() => fdCount(pid) <= baseline, `fds back to ${baseline}`);
        // nothing half-uploaded is left behind
        const live = [...Deno.readDirSync(fx.root)].map((e) => e.name);
        if (live.includes("live")) {
          live.push(...[...Deno.readDirSync(`${fx.root}/live`)].map((e) => e.name));
        }
        assert.deepEqual(live.filter((n) => n.startsWith("cut") || n.includes(".upload-")), []);
      });
    });
  },
});

/** An app serving `size` bytes at `/big` as a stream, `ok` at `/healthz`. */
function bigApp(size: number): FetchApp {
  const piece = new Uint8Array(64 * 1024).fill(0x61);
  return {
    fetch(request) {
      if (new URL(request.url).pathname === "/healthz") return new Response("ok\n");
      let left = size;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const n = Math.min(left, piece.byteLength);
          controller.enqueue(piece.slice(0, n));
          left -= n;
          if (left === 0) controller.close();
        },
      }, { highWaterMark: 0 });
      return new Response(body, { headers: { "content-length": String(size) } });
    },
  };
}

Deno.test("serveDeno: Host rules the app can see, bytes of an aborted download", async () => {
  const entries: AccessLogEntry[] = [];
  const server = await serveDeno(bigApp(BIG), {
    hostname: "127.0.0.1",
    port: 0,
    onResponse: (entry) => entries.push(entry),
  });
  const send = async (request: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await writeAll(conn, latin1(request));
    const text = await readAll(conn, 3000);
    conn.close();
    return text;
  };
  try {
    for (
      const request of [
        "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
      ]
    ) {
      // Deno answers with the request's version: 1.1 here
      assert.match(await send(request), /^HTTP\/1\.1 400 /, JSON.stringify(request));
    }
    assert.match(
      await send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
      /^HTTP\/1\.1 200 /,
    );
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await writeAll(conn, latin1("GET /big HTTP/1.1\r\nHost: x\r\nUser-Agent: cut\r\n\r\n"));
    let got = 0;
    const buffer = new Uint8Array(65536);
    while (got < 1024 * 1024) got += (await conn.read(buffer)) ?? BIG;
    conn.close();
    await waitUntil(() => entries.some((e) => e.userAgent === "cut"), "the log entry");
    const entry = entries.find((e) => e.userAgent === "cut")!;
    assert.ok(entry.bytes > 0 && entry.bytes < BIG, `${entry.bytes} bytes logged`);
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test({
  name: "stream server over TLS: shutdown lets a download finish and closes idle connections",
  ignore: !have("openssl"),
  async fn() {
    const cert = await makeTestCert();
    const size = 8 * 1024 * 1024;
    const server = await serveStream(bigApp(size), {
      hostname: "127.0.0.1",
      port: 0,
      tls: {
        cert: await Deno.readTextFile(cert.certFile),
        key: await Deno.readTextFile(cert.keyFile),
      },
    });
    const open = () =>
      Deno.connectTls({ hostname: "127.0.0.1", port: server.port, caCerts: [cert.certPem] });
    try {
      const idle = await open();
      await idle.write(latin1("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
      const first = new Uint8Array(4096);
      assert.ok((await idle.read(first))! > 0); // answered; the connection stays open
      const busy = await open();
      await busy.write(latin1("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
      const buffer = new Uint8Array(65536);
      let got = (await busy.read(buffer))!;
      const stopped = server.shutdown(60_000);
      // the idle keep-alive connection is closed at once
      assert.equal(await readAll(idle), "");
      idle.close();
      // the download in flight runs to its end, then its connection closes
      const rest = await readAll(busy, 30_000);
      busy.close();
      got += rest.length;
      const headEnd = decode(buffer).indexOf("\r\n\r\n") + 4;
      assert.equal(got - headEnd, size);
      await stopped;
      assert.equal(server.connections, 0);
      await assert.rejects(open());
    } finally {
      await server.shutdown(0);
      await cert.cleanup();
    }
  },
});

/** An app for framing checks: a chunked stream, an echo of the body length, `ok`. */
const framingApp: FetchApp = {
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/chunked") {
      const parts = ["alpha ", "beta ", "gamma\n"];
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const part = parts.shift();
          if (part === undefined) controller.close();
          else controller.enqueue(new TextEncoder().encode(part));
        },
      });
      return new Response(body);
    }
    if (path === "/echo") {
      const bytes = new Uint8Array(await request.arrayBuffer());
      return new Response(`${request.method} ${bytes.byteLength} ${bytes.at(-1)}\n`);
    }
    return new Response("ok\n");
  },
};

Deno.test({
  name: "stream server over TLS: chunked responses, pipelining, request bodies, 100-continue",
  ignore: !have("openssl"),
  async fn(t) {
    const cert = await makeTestCert();
    const server = await serveStream(framingApp, {
      hostname: "127.0.0.1",
      port: 0,
      maxBodyBytes: 100_000,
      tls: {
        cert: await Deno.readTextFile(cert.certFile),
        key: await Deno.readTextFile(cert.keyFile),
      },
    });
    const send = async (request: string | Uint8Array, closeWrite = false) => {
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port: server.port,
        caCerts: [cert.certPem],
      });
      await writeAll(conn, typeof request === "string" ? latin1(request) : request);
      if (closeWrite) await conn.closeWrite();
      const text = await readAll(conn, 5000);
      conn.close();
      return text;
    };
    try {
      await t.step(
        "HTTP/1.1: a stream of unknown length is chunked; pipelined in order",
        async () => {
          const text = await send(
            "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n" +
              "Connection: close\r\n\r\n",
          );
          const [first, second] = text.split(/(?=HTTP\/1\.1 )/);
          assert.match(first, /\r\ntransfer-encoding: chunked\r\n/i);
          assert.ok(
            first.endsWith("\r\n\r\n6\r\nalpha \r\n5\r\nbeta \r\n6\r\ngamma\n\r\n0\r\n\r\n"),
            first,
          );
          assert.ok(second.startsWith("HTTP/1.1 200 ") && second.endsWith("\r\n\r\nok\n"), second);
        },
      );

      await t.step("HTTP/1.0: the same stream ends with the connection", async () => {
        const text = await send("GET /chunked HTTP/1.0\r\n\r\n");
        assert.doesNotMatch(text, /transfer-encoding/i);
        assert.match(text, /\r\nconnection: close\r\n/i);
        assert.ok(text.endsWith("\r\n\r\nalpha beta gamma\n"), text);
      });

      await t.step("request bodies are read to their end; the connection is reused", async () => {
        const body = "x".repeat(70_000) + "y";
        const text = await send(
          `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
            "PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
            "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n" +
            "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert.deepEqual(statuses(text), [200, 200, 200]);
        const bodies = text.split(/HTTP\/1\.1 200 OK\r\n/).slice(1)
          .map((response) => response.slice(response.indexOf("\r\n\r\n") + 4));
        assert.deepEqual(bodies, ["POST 70001 121\n", "PUT 5 101\n", "ok\n"]);
      });

      await t.step("Expect: 100-continue is answered before the body is sent", async () => {
        const conn = await Deno.connectTls({
          hostname: "127.0.0.1",
          port: server.port,
          caCerts: [cert.certPem],
        });
        await writeAll(
          conn,
          latin1(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n" +
              "Connection: close\r\n\r\n",
          ),
        );
        const interim = new Uint8Array(256);
        const n = (await conn.read(interim))!;
        assert.equal(decode(interim.subarray(0, n)), "HTTP/1.1 100 Continue\r\n\r\n");
        await writeAll(conn, latin1("abc"));
        const text = await readAll(conn);
        conn.close();
        assert.ok(text.startsWith("HTTP/1.1 200 ") && text.endsWith("\r\n\r\nPOST 3 99\n"), text);
      });

      await t.step("a malformed chunked body or a smuggling attempt closes with 400", async () => {
        const smuggle = await send(
          "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        assert.deepEqual(statuses(smuggle), [400]);
        const broken = await send(
          "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
          true,
        );
        // the app's body read fails, and it throws: still a 400, as on the zero-copy engine
        assert.match(broken, /^HTTP\/1\.1 400 /);
        assert.match(broken, /\r\nconnection: close\r\n/i);
      });

      await t.step(
        "413 reaches a client that is still sending its body (lingering close)",
        async () => {
          const conn = await Deno.connectTls({
            hostname: "127.0.0.1",
            port: server.port,
            caCerts: [cert.certPem],
          });
          await writeAll(
            conn,
            latin1("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n"),
          );
          const reading = readAll(conn, 10_000);
          // keep sending until the server stops reading (the write fails after it closes)
          const piece = new Uint8Array(64 * 1024);
          try {
            for (let i = 0; i < 32; i++) await writeAll(conn, piece);
          } catch {
            // closed by the server after lingering
          }
          const text = await reading;
          try {
            conn.close();
          } catch { /* closed */ }
          assert.deepEqual(statuses(text), [413]);
        },
      );
    } finally {
      await server.shutdown(0);
      await cert.cleanup();
    }
  },
});
