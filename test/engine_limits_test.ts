/**
 * Limits and failures of the zero-copy engine over raw sockets: 431, 414, 413, 408 (slowloris),
 * 400 for malformed and smuggling-shaped requests, idle keep-alive timeout, the connection cap,
 * EMFILE, and graceful shutdown.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { Metrics } from "../src/metrics.ts";
import { have } from "./support/server.ts";
import { collect, rawExchange, startEngine, waitFor, writeAll } from "./engine_support.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Requests to /slow whose handler has started. */
let slowStarted = 0;

function app(): Hono {
  const a = new Hono();
  a.get("/", (c) => c.text("ok"));
  a.get("/slow", async (c) => {
    slowStarted++;
    await new Promise((r) => setTimeout(r, 300));
    return c.text("slow done");
  });
  a.post("/upload", async (c) => c.text(`got ${(await c.req.arrayBuffer()).byteLength}`));
  return a;
}

/** Asserts `request` is answered with `status` and the connection is then closed. */
async function expectRejected(port: number, request: string | Uint8Array, status: number) {
  const r = await rawExchange(port, request);
  assert.equal(r.responses.length, 1, `one response for ${JSON.stringify(String(request))}`);
  assert.equal(r.responses[0].status, status, JSON.stringify(String(request).slice(0, 80)));
  assert.equal(r.responses[0].headers.get("connection"), "close");
  assert.equal(r.closed, true, "connection closed after the error");
}

Deno.test("limits: request line → 414, header block → 431, too many fields → 431", async () => {
  await using server = startEngine(app(), {
    maxRequestLineBytes: 1024,
    maxHeaderBytes: 4096,
    maxHeaderCount: 20,
  });
  await expectRejected(server.port, `GET /${"a".repeat(2000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414);
  // a long line is refused before it ends (no waiting for the CRLF)
  await expectRejected(server.port, `GET /${"a".repeat(2000)}`, 414);
  await expectRejected(
    server.port,
    `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(5000)}\r\n\r\n`,
    431,
  );
  let many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (let i = 0; i < 30; i++) many += `X-H${i}: v\r\n`;
  await expectRejected(server.port, many + "\r\n", 431);
  // just under the limits is fine
  const ok = await rawExchange(
    server.port,
    `GET /?${"a".repeat(900)} HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(2500)}\r\n\r\n`,
    { responses: 1 },
  );
  assert.equal(ok.responses[0].status, 200);
});

Deno.test("limits: body size → 413 (Content-Length up front, chunked when exceeded)", async () => {
  await using server = startEngine(app(), { maxBodyBytes: 1000 });
  await expectRejected(
    server.port,
    "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n",
    413,
  );
  const chunk = "a".repeat(600);
  await expectRejected(
    server.port,
    `POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n` +
      `258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`,
    413,
  );
  const ok = await rawExchange(
    server.port,
    `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${"z".repeat(1000)}`,
    { responses: 1 },
  );
  assert.equal(dec.decode(ok.responses[0].body), "got 1000");
});

Deno.test("limits: malformed and smuggling-shaped requests → 400 and close", async () => {
  await using server = startEngine(app());
  const bad = [
    "GARBAGE\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",
    // RFC 9112 §3.2: Host is required in HTTP/1.1, once, and must be a valid authority
    "GET / HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: evil/../x\r\n\r\n",
    "GET relative HTTP/1.1\r\nHost: x\r\n\r\n",
    // request smuggling: CL with TE, differing duplicate CL, bad CL, TE not ending in chunked
    "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n",
    "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    // bad chunked framing
    "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY",
  ];
  for (const request of bad) await expectRejected(server.port, request, 400);
  // unknown versions and codings: 505 and 501 (RFC 9110 §15.6.6, RFC 9112 §6.1)
  await expectRejected(server.port, "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
  await expectRejected(
    server.port,
    "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    501,
  );
  // a bare LF ends lines in a head (RFC 9112 §2.2 allows accepting it)
  const lf = await rawExchange(server.port, "GET / HTTP/1.1\nHost: x\n\n", { responses: 1 });
  assert.equal(lf.responses[0].status, 200);
  // identical duplicate Content-Length values are one value (RFC 9110 §8.6)
  const dup = await rawExchange(
    server.port,
    "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab",
    { responses: 1 },
  );
  assert.equal(dec.decode(dup.responses[0].body), "got 2");
});

Deno.test("limits: header timeout → 408 and close; slowloris closed while others are served", async () => {
  const metrics = new Metrics();
  await using server = startEngine(app(), { headerTimeoutMs: 400, metrics });
  // one connection that sent part of a head
  const partial = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await writeAll(partial, enc.encode("GET / HTTP/1.1\r\nHost: x\r\n"));
  // 40 slowloris connections trickling header bytes
  const lorises = await Promise.all(
    Array.from({ length: 40 }, () => Deno.connect({ hostname: "127.0.0.1", port: server.port })),
  );
  const closed = new Set<number>();
  let stop = false;
  const trickle = (async () => {
    await Promise.all(lorises.map((c) => writeAll(c, enc.encode("GET / HTTP/1.1\r\n"))));
    for (let i = 0; !stop && closed.size < lorises.length; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await Promise.all(lorises.map(async (c, k) => {
        if (closed.has(k)) return;
        try {
          await writeAll(c, enc.encode(`X-${i}: ${i}\r\n`));
        } catch {
          closed.add(k);
        }
      }));
    }
  })();
  const readers = lorises.map(async (c, k) => {
    const r = await collect(c, { timeoutMs: 10_000 });
    if (r.closed) closed.add(k);
    return r;
  });
  // normal clients are served while the lorises hold their connections
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${server.base}/`);
    assert.equal(await res.text(), "ok");
  }
  const partialResult = await collect(partial, { timeoutMs: 10_000 });
  assert.equal(partialResult.responses[0]?.status, 408);
  assert.equal(partialResult.closed, true);
  partial.close();
  const results = await Promise.all(readers);
  stop = true;
  await trickle;
  for (const r of results) {
    assert.equal(r.closed, true, "slowloris connection closed by the server");
    assert.equal(r.responses[0]?.status, 408);
  }
  for (const c of lorises) c.close();
  assert.ok((metrics.requestsByStatus.get(408) ?? 0) >= 41);
  // a connection that never sends a byte is closed silently
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const s = await collect(silent, { timeoutMs: 10_000 });
  silent.close();
  assert.equal(s.closed, true);
  assert.equal(s.bytes.byteLength, 0);
});

Deno.test("limits: idle keep-alive connections are closed after the keep-alive timeout", async () => {
  await using server = startEngine(app(), { keepAliveTimeoutMs: 300 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await writeAll(conn, enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const first = await collect(conn, { responses: 1 });
    assert.equal(first.responses[0].status, 200);
    const rest = await collect(conn, { timeoutMs: 10_000 });
    assert.equal(rest.closed, true);
    assert.equal(rest.bytes.byteLength, 0, "closed without a response");
  } finally {
    conn.close();
  }
});

Deno.test("limits: at maxConnections accept pauses; queued clients are served later", async () => {
  await using server = startEngine(app(), { maxConnections: 4 });
  const held = await Promise.all(
    Array.from({ length: 4 }, () => Deno.connect({ hostname: "127.0.0.1", port: server.port })),
  );
  for (const c of held) await writeAll(c, enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (const c of held) assert.equal((await collect(c, { responses: 1 })).responses[0].status, 200);
  assert.equal(server.handle.connections, 4);
  // the fifth connects (kernel backlog) but is not accepted while four are open
  const queued = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await writeAll(queued, enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const early = await collect(queued, { responses: 1, timeoutMs: 300 });
  assert.equal(early.responses.length, 0);
  assert.equal(server.handle.connections, 4);
  held[0].close();
  const late = await collect(queued, { responses: 1 });
  assert.equal(late.responses[0].status, 200);
  queued.close();
  for (const c of held.slice(1)) c.close();
});

Deno.test({
  name: "limits: EMFILE — a server short of fds keeps running and serves again",
  ignore: !have("prlimit"),
  async fn() {
    const script = `
      import { serve } from "${new URL("../src/server/adapter.ts", import.meta.url).href}";
      const s = serve({ fetch: () => new Response("ok") }, { hostname: "127.0.0.1", port: 0 });
      console.log("port " + s.port);
      await new Promise(() => {});
    `;
    const child = new Deno.Command("prlimit", {
      args: ["--nofile=40:40", Deno.execPath(), "run", "--allow-all", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(enc.encode(script));
    await writer.close();
    const reader = child.stdout.getReader();
    let out = "";
    while (!/port \d+/.test(out)) {
      const { value, done } = await reader.read();
      if (done) break;
      out += dec.decode(value);
    }
    const port = Number(/port (\d+)/.exec(out)![1]);
    try {
      // far more connections than the child has fds for
      const conns = await Promise.all(
        Array.from({ length: 80 }, () => Deno.connect({ hostname: "127.0.0.1", port })),
      );
      await new Promise((r) => setTimeout(r, 300));
      for (const c of conns) c.close();
      // once they are gone the server accepts and answers again
      let served = false;
      for (let i = 0; i < 50 && !served; i++) {
        try {
          const r = await rawExchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", {
            responses: 1,
            timeoutMs: 1000,
          });
          served = r.responses[0]?.status === 200;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.ok(served, "served after EMFILE");
    } finally {
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel();
      await child.stderr.cancel();
    }
  },
});

Deno.test("limits: graceful shutdown finishes in-flight responses, closes idle ones", async () => {
  const server = startEngine(app());
  const idle = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await writeAll(idle, enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  assert.equal((await collect(idle, { responses: 1 })).responses[0].status, 200);
  const busy = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const slowBefore = slowStarted;
  await writeAll(busy, enc.encode("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  // in flight means its handler runs: two connections alone could still be an unread request
  await waitFor(() => slowStarted === slowBefore + 1, 5000, "the slow request in flight");
  assert.equal(server.handle.connections, 2);
  const stopping = server.handle.shutdown(5000);
  const idleEnd = await collect(idle, { timeoutMs: 5000 });
  assert.equal(idleEnd.closed, true);
  const busyEnd = await collect(busy, { timeoutMs: 5000 });
  assert.equal(busyEnd.responses[0].status, 200);
  assert.equal(dec.decode(busyEnd.responses[0].body), "slow done");
  assert.equal(busyEnd.responses[0].headers.get("connection"), "close");
  assert.equal(busyEnd.closed, true);
  idle.close();
  busy.close();
  await stopping;
  await server.handle.finished;
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.port }));
});
