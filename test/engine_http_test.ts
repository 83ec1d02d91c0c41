/**
 * HTTP/1.1 behaviour of the zero-copy engine with a small Hono app, over real sockets: fetch,
 * curl and raw requests (keep-alive, pipelining, HEAD, HTTP/1.0, bodies, 100-continue, errors).
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { Metrics } from "../src/metrics.ts";
import { serve } from "../src/server/adapter.ts";
import type { AccessLogEntry } from "../src/log.ts";
import { curl, have } from "./support/server.ts";
import { collect, concat, rawExchange, startEngine, writeAll } from "./engine_support.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function testApp(): Hono {
  const app = new Hono();
  app.get("/", (c) => c.text("hello"));
  app.get("/json", async (c) => {
    await new Promise((r) => setTimeout(r, 2));
    return c.json({ ok: true, addr: (c.env as { remoteAddr: { hostname: string } }).remoteAddr });
  });
  app.get("/n/:n", (c) => c.text(`n=${c.req.param("n")}`));
  app.get("/slow/:ms", async (c) => {
    await new Promise((r) => setTimeout(r, Number(c.req.param("ms"))));
    return c.text(`slow ${c.req.param("ms")}`);
  });
  app.get("/stream", () =>
    new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(enc.encode("abc"));
          controller.enqueue(new Uint8Array(0));
          controller.enqueue(enc.encode("defgh"));
          controller.close();
        },
      }),
    ));
  app.get("/stream-length", () =>
    new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(enc.encode("12345"));
          controller.enqueue(enc.encode("67890"));
          controller.close();
        },
      }),
      { headers: { "content-length": "10" } },
    ));
  app.get("/bytes", () => new Response(new Uint8Array(300_000).fill(7)));
  app.get("/headers", (c) =>
    c.json({
      ua: c.req.header("user-agent") ?? null,
      custom: c.req.header("x-custom") ?? null,
      url: c.req.url,
    }));
  app.get("/status/:code", (c) => c.body(null, Number(c.req.param("code")) as 204));
  app.get("/throw", () => {
    throw new Error("boom (expected in this test)");
  });
  app.post("/echo", async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    return new Response(body, { headers: { "x-received": String(body.byteLength) } });
  });
  app.post("/ignore", (c) => c.text("ignored the body"));
  app.post("/echo-stream", (c) => new Response(c.req.raw.body));
  app.onError((error, c) => c.text(`error: ${error.message}`, 500));
  return app;
}

Deno.test("engine: fetch GET, async handler, remote address, request headers, bytes", async () => {
  await using server = startEngine(testApp());
  const r1 = await fetch(`${server.base}/`);
  assert.equal(r1.status, 200);
  assert.match(r1.headers.get("content-type") ?? "", /^text\/plain; ?charset=UTF-8$/);
  assert.equal(r1.headers.get("content-length"), "5");
  assert.match(r1.headers.get("date") ?? "", /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
  assert.equal(await r1.text(), "hello");
  const r2 = await fetch(`${server.base}/json`);
  const json = await r2.json();
  assert.equal(json.ok, true);
  assert.equal(json.addr.hostname, "127.0.0.1");
  assert.ok(json.addr.port > 0);
  const r3 = await fetch(`${server.base}/headers?q=1`, {
    headers: { "x-custom": "v1", "user-agent": "engine-test" },
  });
  assert.deepEqual(await r3.json(), {
    ua: "engine-test",
    custom: "v1",
    url: `${server.base}/headers?q=1`,
  });
  const r4 = await fetch(`${server.base}/bytes`);
  const bytes = new Uint8Array(await r4.arrayBuffer());
  assert.equal(bytes.byteLength, 300_000);
  assert.ok(bytes.every((b) => b === 7));
  const r5 = await fetch(`${server.base}/missing`);
  assert.equal(r5.status, 404);
  await r5.body?.cancel();
});

Deno.test("engine: streamed bodies are chunked, or length-framed when the app says so", async () => {
  await using server = startEngine(testApp());
  const r1 = await rawExchange(server.port, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", {
    responses: 1,
  });
  const res = r1.responses[0];
  assert.equal(res.headers.get("transfer-encoding"), "chunked");
  assert.equal(res.headers.has("content-length"), false);
  assert.equal(dec.decode(res.body), "abcdefgh");
  // the raw bytes show exact chunk framing (the empty chunk is not written: it would end the body)
  assert.ok(dec.decode(r1.bytes).endsWith("\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n"));
  const r2 = await fetch(`${server.base}/stream-length`);
  assert.equal(r2.headers.get("content-length"), "10");
  assert.equal(await r2.text(), "1234567890");
  // HTTP/1.0 has no chunked coding: the body ends with the connection
  const r3 = await rawExchange(server.port, "GET /stream HTTP/1.0\r\n\r\n");
  assert.equal(r3.closed, true);
  assert.equal(r3.responses[0].status, 200);
  assert.equal(r3.responses[0].headers.get("connection"), "close");
  assert.equal(dec.decode(r3.responses[0].body), "abcdefgh");
});

Deno.test("engine: keep-alive and pipelined requests are answered in order", async () => {
  await using server = startEngine(testApp());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    // slow first, fast later: answers must still come in request order (RFC 9112 §9.3.2)
    let pipeline = "GET /slow/30 HTTP/1.1\r\nHost: x\r\n\r\n";
    for (let i = 0; i < 50; i++) pipeline += `GET /n/${i} HTTP/1.1\r\nHost: x\r\n\r\n`;
    pipeline += "HEAD /stream-length HTTP/1.1\r\nHost: x\r\n\r\n";
    pipeline += "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n";
    await writeAll(conn, enc.encode(pipeline));
    const result = await collect(conn, { responses: 53, headOnly: new Set([51]) });
    assert.equal(result.responses.length, 53);
    assert.equal(dec.decode(result.responses[0].body), "slow 30");
    for (let i = 0; i < 50; i++) assert.equal(dec.decode(result.responses[i + 1].body), `n=${i}`);
    const head = result.responses[51];
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "10");
    assert.equal(dec.decode(result.responses[52].body), "abcdefgh");
    // and the connection is still usable afterwards
    await writeAll(conn, enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const again = await collect(conn, { responses: 1 });
    assert.equal(dec.decode(again.responses[0].body), "hello");
  } finally {
    conn.close();
  }
});

Deno.test("engine: a request split across many writes is parsed", async () => {
  await using server = startEngine(testApp());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const text = "GET /n/split HTTP/1.1\r\nHost: x\r\nUser-Agent: slow-writer\r\n\r\n";
    for (const ch of text) {
      await writeAll(conn, enc.encode(ch));
      await new Promise((r) => setTimeout(r, 1));
    }
    const result = await collect(conn, { responses: 1 });
    assert.equal(dec.decode(result.responses[0].body), "n=split");
  } finally {
    conn.close();
  }
});

Deno.test("engine: HTTP/1.0 closes unless keep-alive is asked; Connection: close closes", async () => {
  await using server = startEngine(testApp());
  const a = await rawExchange(server.port, "GET / HTTP/1.0\r\n\r\n");
  assert.equal(a.closed, true);
  assert.equal(a.responses[0].headers.get("connection"), "close");
  assert.equal(dec.decode(a.responses[0].body), "hello");
  const b = await rawExchange(
    server.port,
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /n/2 HTTP/1.0\r\n\r\n",
  );
  assert.equal(b.responses.length, 2);
  assert.equal(b.responses[0].headers.get("connection"), "keep-alive");
  assert.equal(dec.decode(b.responses[1].body), "n=2");
  assert.equal(b.closed, true);
  const c = await rawExchange(
    server.port,
    "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /n/3 HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.equal(c.responses.length, 1, "nothing after Connection: close is answered");
  assert.equal(c.closed, true);
});

Deno.test("engine: HEAD, 204 and 304 carry no body", async () => {
  await using server = startEngine(testApp());
  const r = await rawExchange(
    server.port,
    "HEAD /stream-length HTTP/1.1\r\nHost: x\r\n\r\n" +
      "GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n" +
      "GET /status/304 HTTP/1.1\r\nHost: x\r\n\r\n" +
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    { responses: 4, headOnly: new Set([0]) },
  );
  assert.equal(r.responses[0].headers.get("content-length"), "10");
  assert.equal(r.responses[1].status, 204);
  assert.equal(r.responses[1].headers.has("content-length"), false);
  assert.equal(r.responses[2].status, 304);
  assert.equal(dec.decode(r.responses[3].body), "hello", "framing stayed in sync");
});

Deno.test("engine: request bodies — Content-Length, chunked, streamed echo, ignored", async () => {
  await using server = startEngine(testApp());
  const big = new Uint8Array(3_000_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  const r1 = await fetch(`${server.base}/echo`, { method: "POST", body: big });
  assert.equal(r1.headers.get("x-received"), "3000000");
  assert.deepEqual(new Uint8Array(await r1.arrayBuffer()), big);
  // fetch sends a ReadableStream body chunked
  const r2 = await fetch(`${server.base}/echo`, {
    method: "POST",
    body: new ReadableStream({
      start(controller) {
        controller.enqueue(big.subarray(0, 1000));
        controller.enqueue(big.subarray(1000, 70_000));
        controller.close();
      },
    }),
    // @ts-ignore: duplex is needed for stream bodies
    duplex: "half",
  });
  assert.deepEqual(new Uint8Array(await r2.arrayBuffer()), big.subarray(0, 70_000));
  const r3 = await fetch(`${server.base}/echo-stream`, { method: "POST", body: big });
  assert.deepEqual(new Uint8Array(await r3.arrayBuffer()), big);
  // raw chunked with extensions and a trailer, then a pipelined request on the same connection
  const raw = await rawExchange(
    server.port,
    "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n" +
      "GET /n/after HTTP/1.1\r\nHost: x\r\n\r\n",
    { responses: 2 },
  );
  assert.equal(dec.decode(raw.responses[0].body), "hello world");
  assert.equal(dec.decode(raw.responses[1].body), "n=after");
  // an ignored small body is drained and the connection stays in sync
  const ignored = await rawExchange(
    server.port,
    "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789" +
      "GET /n/next HTTP/1.1\r\nHost: x\r\n\r\n",
    { responses: 2 },
  );
  assert.equal(dec.decode(ignored.responses[0].body), "ignored the body");
  assert.equal(dec.decode(ignored.responses[1].body), "n=next");
});

Deno.test("engine: Expect: 100-continue is answered when the app reads the body", async () => {
  await using server = startEngine(testApp());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await writeAll(
      conn,
      enc.encode(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
      ),
    );
    const interim = await collect(conn, { responses: 1 });
    assert.equal(interim.responses[0].status, 100);
    await writeAll(conn, enc.encode("ping"));
    const rest = await collect(conn, { responses: 1 });
    assert.equal(rest.responses[0].status, 200);
    assert.equal(dec.decode(rest.responses[0].body), "ping");
  } finally {
    conn.close();
  }
  // an app that answers without reading gets no 100 and the connection closes after the answer
  const r = await rawExchange(
    server.port,
    "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
  );
  assert.equal(r.responses.length, 1);
  assert.equal(r.responses[0].status, 200);
  assert.equal(r.responses[0].headers.get("connection"), "close");
  assert.equal(r.closed, true);
});

Deno.test("engine: a throwing handler gives 500; the engine keeps serving", async () => {
  const app = new Hono();
  app.get("/throw", () => {
    throw new Error("expected test failure");
  });
  app.get("/", (c) => c.text("ok"));
  // without onError Hono answers 500 itself; a raw fetch app that throws reaches the engine
  const raw = {
    fetch(request: Request) {
      if (new URL(request.url).pathname === "/raw-throw") throw new Error("raw throw (expected)");
      if (new URL(request.url).pathname === "/raw-reject") {
        return Promise.reject(new Error("raw reject (expected)"));
      }
      return app.fetch(request);
    },
  };
  const errors: unknown[] = [];
  const originalError = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    await using server = startEngine(raw);
    assert.equal(
      (await rawExchange(server.port, "GET /raw-throw HTTP/1.1\r\nHost: x\r\n\r\n"))
        .responses[0].status,
      500,
    );
    assert.equal(
      (await rawExchange(server.port, "GET /raw-reject HTTP/1.1\r\nHost: x\r\n\r\n"))
        .responses[0].status,
      500,
    );
    const ok = await fetch(`${server.base}/`);
    assert.equal(await ok.text(), "ok");
  } finally {
    console.error = originalError;
  }
  assert.equal(errors.length, 2);
});

Deno.test("engine: metrics and the access-log hook see every response", async () => {
  const metrics = new Metrics();
  const log: AccessLogEntry[] = [];
  {
    await using server = startEngine(testApp(), { metrics, onResponse: (e) => log.push(e) });
    await (await fetch(`${server.base}/`, {
      headers: { referer: "http://ref/", "user-agent": "ua/1" },
    })).text();
    await (await fetch(`${server.base}/missing`)).text();
    await (await fetch(`${server.base}/stream`)).text();
    assert.equal(metrics.activeConnections, 1);
  }
  assert.equal(metrics.requestsByStatus.get(200), 2);
  assert.equal(metrics.requestsByStatus.get(404), 1);
  assert.equal(metrics.bytesSent.stream, 8);
  assert.ok(metrics.bytesSent.copy >= 5);
  assert.equal(metrics.activeConnections, 0);
  assert.equal(metrics.acceptedConnections, metrics.closedConnections);
  assert.equal(log.length, 3);
  assert.ok(typeof log[0].durationMs === "number" && log[0].durationMs >= 0);
  assert.deepEqual(
    { ...log[0], time: undefined, durationMs: undefined },
    {
      remoteAddr: "127.0.0.1",
      method: "GET",
      target: "/",
      protocol: "HTTP/1.1",
      status: 200,
      bytes: 5,
      referer: "http://ref/",
      userAgent: "ua/1",
      time: undefined,
      durationMs: undefined,
      engine: "zero-copy",
      range: null,
      forwardedFor: null,
    },
  );
  assert.equal(log[2].bytes, 8);
});

Deno.test(
  "engine: curl over keep-alive, HTTP/1.0 and HEAD",
  { ignore: !have("curl") },
  async () => {
    await using server = startEngine(testApp());
    const r = await curl(["-i", `${server.base}/`, `${server.base}/n/7`]);
    assert.equal(r.code, 0, r.stderr);
    const text = dec.decode(r.stdout);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(text.includes("\r\n\r\nhello"));
    assert.ok(text.endsWith("n=7"));
    const r10 = await curl(["-0", "-s", `${server.base}/stream`]);
    assert.equal(dec.decode(r10.stdout), "abcdefgh");
    const head = await curl(["-I", `${server.base}/stream-length`]);
    assert.match(dec.decode(head.stdout), /content-length: 10\r\n/i);
    void concat;
  },
);

Deno.test("engine: serves on IPv6 loopback and reports the client's IPv6 address", async () => {
  let handle;
  try {
    handle = serve({
      fetch: (request: Request, env?: { remoteAddr: { hostname: string } }) =>
        new Response(`${env?.remoteAddr.hostname} ${new URL(request.url).host}`),
    }, { hostname: "::1", port: 0 });
  } catch {
    return; // no IPv6 loopback here
  }
  try {
    assert.equal(handle.hostname, "::1");
    const res = await fetch(`http://[::1]:${handle.port}/`);
    assert.equal(await res.text(), `::1 [::1]:${handle.port}`);
  } finally {
    await handle.shutdown();
  }
});
