/**
 * Request bodies spliced socket → pipe → file by the zero-copy engine (the SpliceableBody seam
 * of src/request_body.ts): Content-Length and chunked bodies byte-exact, 100-continue with curl,
 * size limit, client disconnect without fd leaks, and the connection staying usable after.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { Metrics } from "../src/metrics.ts";
import { BodyAbortedError, BodyTooLargeError, isSpliceableBody } from "../src/request_body.ts";
import { curl, have } from "./support/server.ts";
import {
  collect,
  openFdCount,
  randomBytes,
  rawExchange,
  startEngine,
  waitFor,
  writeAll,
} from "./engine_support.ts";

const MiB = 1024 * 1024;
const enc = new TextEncoder();
const dec = new TextDecoder();

interface UploadLog {
  errors: unknown[];
  /** Requests whose handler has started (their head has been parsed). */
  started?: number;
}

/** PUT /up/:name splices the body into `${dir}/:name` and answers with the byte count. */
function uploadApp(dir: string, log: UploadLog, maxBytes = 64 * MiB): Hono {
  const app = new Hono();
  app.put("/up/:name", async (c) => {
    log.started = (log.started ?? 0) + 1;
    const body = c.req.raw.body;
    if (!isSpliceableBody(body)) return c.text("not spliceable", 500);
    const path = `${dir}/${c.req.param("name")}`;
    try {
      const n = await body.spliceToFile(path, { maxBytes, idleTimeoutMs: 5000 });
      return c.text(`stored ${n}`, 201);
    } catch (error) {
      log.errors.push(error);
      await Deno.remove(path).catch(() => {});
      if (error instanceof BodyTooLargeError) {
        return c.text("too large", 413, { connection: "close" });
      }
      return c.text("failed", 400);
    }
  });
  app.get("/", (c) => c.text("still here"));
  return app;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-splice-" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("splice: Content-Length uploads land byte-exact in the file via splice(2)", async () => {
  await withDir(async (dir) => {
    const metrics = new Metrics();
    const log: UploadLog = { errors: [] };
    await using server = startEngine(uploadApp(dir, log), { metrics });
    for (const size of [1, 1000, 10 * MiB]) {
      const data = randomBytes(size);
      const res = await fetch(`${server.base}/up/f${size}.bin`, { method: "PUT", body: data });
      assert.equal(res.status, 201);
      assert.equal(await res.text(), `stored ${size}`);
      assert.deepEqual(await Deno.readFile(`${dir}/f${size}.bin`), data);
    }
    assert.ok(metrics.spliceCalls > 2, `splice calls: ${metrics.spliceCalls}`);
    assert.deepEqual(log.errors, []);
  });
});

Deno.test("splice: chunked uploads splice payload and parse framing, then keep alive", async () => {
  await withDir(async (dir) => {
    const metrics = new Metrics();
    const log: UploadLog = { errors: [] };
    await using server = startEngine(uploadApp(dir, log), { metrics });
    const data = randomBytes(10 * MiB + 17);
    // fetch sends a ReadableStream body with chunked encoding
    let at = 0;
    const res = await fetch(`${server.base}/up/chunked.bin`, {
      method: "PUT",
      body: new ReadableStream({
        pull(controller) {
          if (at >= data.byteLength) return controller.close();
          const n = Math.min(300_000 + (at % 7) * 1000, data.byteLength - at);
          controller.enqueue(data.slice(at, at + n));
          at += n;
        },
      }),
      // @ts-ignore: duplex is required for stream bodies
      duplex: "half",
    });
    assert.equal(await res.text(), `stored ${data.byteLength}`);
    assert.deepEqual(await Deno.readFile(`${dir}/chunked.bin`), data);
    assert.ok(metrics.spliceCalls > 0);
    // raw: small chunks with extensions and a trailer, then a pipelined GET on the same socket
    const raw = await rawExchange(
      server.port,
      "PUT /up/raw.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;a=b\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n" +
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      { responses: 2 },
    );
    assert.equal(dec.decode(raw.responses[0].body), "stored 11");
    assert.equal(dec.decode(raw.responses[1].body), "still here");
    assert.equal(await Deno.readTextFile(`${dir}/raw.txt`), "hello world");
  });
});

Deno.test("splice: curl -T with Expect: 100-continue", { ignore: !have("curl") }, async () => {
  await withDir(async (dir) => {
    const log: UploadLog = { errors: [] };
    await using server = startEngine(uploadApp(dir, log));
    const data = randomBytes(3 * MiB);
    await Deno.writeFile(`${dir}/src.bin`, data);
    const r = await curl([
      "-T",
      `${dir}/src.bin`,
      "-H",
      "Expect: 100-continue",
      `${server.base}/up/curl.bin`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(dec.decode(r.stdout), `stored ${data.byteLength}`);
    assert.deepEqual(await Deno.readFile(`${dir}/curl.bin`), data);
  });
});

Deno.test("splice: over the limit → BodyTooLargeError, 413, connection closed", async () => {
  await withDir(async (dir) => {
    const log: UploadLog = { errors: [] };
    await using server = startEngine(uploadApp(dir, log, 1000));
    const r = await rawExchange(
      server.port,
      "PUT /up/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        `800\r\n${"a".repeat(2048)}\r\n0\r\n\r\n`,
    );
    assert.equal(r.responses[0].status, 413);
    assert.equal(r.closed, true);
    assert.ok(log.errors[0] instanceof BodyTooLargeError);
    await assert.rejects(Deno.stat(`${dir}/big`));
  });
});

Deno.test("splice: a client that disconnects mid-upload leaks no fd or pipe", async () => {
  await withDir(async (dir) => {
    const log: UploadLog = { errors: [] };
    await using server = startEngine(uploadApp(dir, log));
    // warm up so the shared splice pipe exists before counting
    // (the body must arrive after the head: bytes read with the head are written, not spliced)
    const warmConn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await writeAll(
      warmConn,
      enc.encode(
        "PUT /up/warm HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\n",
      ),
    );
    // wait until the head has been parsed (a timed pause could be too short on a busy machine)
    await waitFor(() => log.started === 1, 5000, "the upload handler to start");
    await writeAll(warmConn, enc.encode("x"));
    const warm = await collect(warmConn);
    warmConn.close();
    assert.equal(warm.responses[0].status, 201);
    await waitFor(() => server.handle.connections === 0, 5000);
    const before = openFdCount();
    for (let i = 0; i < 20; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await writeAll(
        conn,
        enc.encode(`PUT /up/cut${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * MiB}\r\n\r\n`),
      );
      await writeAll(conn, randomBytes(256 * 1024));
      conn.close();
    }
    await waitFor(() => log.errors.length === 20, 5000, "every upload failed");
    assert.ok(log.errors.every((e) => e instanceof BodyAbortedError));
    await waitFor(() => server.handle.connections === 0, 5000, "connections closed");
    assert.equal(openFdCount(), before);
    for (let i = 0; i < 20; i++) await assert.rejects(Deno.stat(`${dir}/cut${i}`));
    const ok = await fetch(`${server.base}/`);
    assert.equal(await ok.text(), "still here");
  });
});
