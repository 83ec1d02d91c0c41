/**
 * The engine's lazily materialised request (`src/server/engine/request.ts`) must look exactly
 * like the `Request` Deno.serve builds: the same header answers for `get`/`has` in any case,
 * repeated fields joined, iteration order, `instanceof`, and errors for invalid names.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { serve } from "../src/server/adapter.ts";
import { serveDeno } from "../src/server/deno_serve.ts";

function probeApp(): Hono {
  const app = new Hono();
  app.all("/probe", (c) => {
    const req = c.req.raw;
    const h = req.headers;
    let invalid = "no error";
    try {
      h.get("bad name");
    } catch (error) {
      invalid = (error as Error).name;
    }
    return c.json({
      isRequest: req instanceof Request,
      isHeaders: h instanceof Headers,
      method: req.method,
      path: new URL(req.url).pathname + new URL(req.url).search,
      range: h.get("Range"),
      rangeLower: h.get("range"),
      hasIfRange: h.has("IF-RANGE"),
      missing: h.get("x-missing"),
      hasMissing: h.has("x-missing"),
      joined: h.get("x-multi"),
      honoHeader: c.req.header("X-Multi"),
      userAgent: h.get("user-agent"),
      list: [...h].filter(([k]) => !["host", "content-length", "accept-encoding"].includes(k)),
      invalid,
    });
  });
  return app;
}

const RAW = "GET /probe?q=1 HTTP/1.1\r\nHost: example\r\nRange: bytes=0-1\r\n" +
  'If-Range: "abc"\r\nX-Multi: one\r\nUser-Agent: probe/1\r\nX-Multi: two\r\n' +
  "Connection: close\r\n\r\n";

async function exchange(port: number): Promise<Record<string, unknown>> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(RAW));
  const chunks: number[] = [];
  const buf = new Uint8Array(8192);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(...buf.subarray(0, n));
  }
  conn.close();
  const text = new TextDecoder().decode(new Uint8Array(chunks));
  return JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
}

Deno.test("engine request: headers answer exactly like Deno.serve's Request", async () => {
  const app = probeApp();
  const engine = serve(app, { hostname: "127.0.0.1", port: 0 });
  const stream = await serveDeno(app, { hostname: "127.0.0.1", port: 0 });
  try {
    const fromEngine = await exchange(engine.port);
    const fromStream = await exchange(stream.port);
    assert.deepEqual(fromEngine, fromStream);
    // and what both say is right
    assert.equal(fromEngine.range, "bytes=0-1");
    assert.equal(fromEngine.joined, "one, two");
    assert.equal(fromEngine.hasIfRange, true);
    assert.equal(fromEngine.missing, null);
    assert.equal(fromEngine.isHeaders, true);
    assert.equal(fromEngine.invalid, "TypeError");
  } finally {
    await engine.shutdown(0);
    await stream.shutdown(0);
  }
});
