/**
 * The zero-copy engine under load: 1,000 concurrent keep-alive connections, and the JS event
 * loop staying responsive (a 10 ms timer keeps ticking, async handlers and Deno.stat complete)
 * while wrk saturates the server.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { createApp } from "../src/app.ts";
import { Metrics } from "../src/metrics.ts";
import { have } from "./support/server.ts";
import { collect, randomBytes, startEngine, writeAll } from "./engine_support.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("load: 1,000 concurrent keep-alive connections, three requests each", async () => {
  const app = new Hono();
  app.get("/c/:id/:n", async (c) => {
    if (Number(c.req.param("n")) === 1) await new Promise((r) => setTimeout(r, 1));
    return c.text(`${c.req.param("id")}:${c.req.param("n")}`);
  });
  const metrics = new Metrics();
  await using server = startEngine(app, { metrics });
  const conns = await Promise.all(
    Array.from({ length: 1000 }, () => Deno.connect({ hostname: "127.0.0.1", port: server.port })),
  );
  try {
    for (let n = 0; n < 3; n++) {
      await Promise.all(conns.map(async (conn, id) => {
        await writeAll(conn, enc.encode(`GET /c/${id}/${n} HTTP/1.1\r\nHost: x\r\n\r\n`));
        const r = await collect(conn, { responses: 1 });
        assert.equal(r.responses.length, 1);
        assert.equal(dec.decode(r.responses[0].body), `${id}:${n}`);
      }));
      assert.equal(server.handle.connections, 1000);
    }
    assert.equal(metrics.acceptedConnections, 1000, "every request reused its connection");
    assert.equal(metrics.requestsByStatus.get(200), 3000);
  } finally {
    for (const conn of conns) conn.close();
  }
});

for (const [label, tuning] of [["default", {}], ["blockMs 1", { blockMs: 1 }]] as const) {
  Deno.test({
    name: `load: a 10 ms timer keeps ticking while wrk saturates the server (${label})`,
    ignore: !have("wrk"),
    async fn() {
      const root = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-load-" }));
      try {
        await Deno.writeFile(`${root}/chunk.bin`, randomBytes(64 * 1024));
        const metrics = new Metrics();
        await using server = startEngine(createApp({ root, metrics }), { metrics, ...tuning });
        const ticks: number[] = [];
        const timer = setInterval(() => ticks.push(performance.now()), 10);
        let stats = 0;
        let statting = true;
        const statLoop = (async () => {
          while (statting) {
            await Deno.stat(root);
            stats++;
            await new Promise((r) => setTimeout(r, 10));
          }
        })();
        const wrk = await new Deno.Command("wrk", {
          args: ["-t1", "-c32", "-d2s", `${server.base}/media/chunk.bin`],
          stdout: "piped",
          stderr: "piped",
        }).output();
        clearInterval(timer);
        statting = false;
        await statLoop;
        const out = dec.decode(wrk.stdout);
        assert.ok(wrk.success, out + dec.decode(wrk.stderr));
        const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
        assert.ok(requests > 1000, `the server was busy: ${requests} requests\n${out}`);
        // wrk stops mid-flight: the server answered at least what wrk counted
        assert.ok((metrics.requestsByStatus.get(200) ?? 0) >= requests);
        // nominally ~200 ticks in 2 s; a starved event loop would give a handful
        assert.ok(ticks.length >= 50, `timer ticks while saturated: ${ticks.length}`);
        let maxGap = 0;
        for (let i = 1; i < ticks.length; i++) maxGap = Math.max(maxGap, ticks[i] - ticks[i - 1]);
        assert.ok(maxGap < 500, `longest gap between 10 ms ticks: ${maxGap.toFixed(1)} ms`);
        assert.ok(stats >= 20, `Deno.stat calls completed while saturated: ${stats}`);
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
  });
}
