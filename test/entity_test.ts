/**
 * Entities other than a whole file (src/entity.ts, `virtualResponse`): a body made of bytes and
 * file slices gets the same RFC 9110 answers as a file — ranges across part boundaries, several
 * ranges as multipart/byteranges, If-Range, 304, 416, HEAD — through `fetch` (a real `Response`)
 * and through a file route on the zero-copy engine, byte for byte.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { virtualAnswer, type VirtualBody, virtualResponse } from "../src/file_response.ts";
import { withFileRoute } from "../src/file_route.ts";
import { statFile } from "../src/media/stat.ts";
import { concat, rawExchange, startEngine } from "./engine_support.ts";
import { boundaryOf, parseMultipart } from "./support/multipart.ts";

const enc = new TextEncoder();

async function virtualBody(): Promise<{ body: VirtualBody; bytes: Uint8Array; dir: string }> {
  const dir = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-entity-" }));
  const file = new Uint8Array(5000).map((_, i) => i % 253);
  await Deno.writeFile(`${dir}/src.bin`, file);
  const identity = statFile(`${dir}/src.bin`)!.identity;
  const head = enc.encode("HEAD-BYTES:");
  const tail = enc.encode(":TAIL");
  const parts = [
    head,
    { path: `${dir}/src.bin`, offset: 100, length: 1000, identity },
    tail,
    { path: `${dir}/src.bin`, offset: 4000, length: 500, identity },
  ];
  const bytes = concat([head, file.subarray(100, 1100), tail, file.subarray(4000, 4500)]);
  return {
    body: {
      parts,
      byteLength: bytes.byteLength,
      etag: '"v1"',
      lastModifiedMs: 1_700_000_000_000,
      contentType: "video/iso.segment",
    },
    bytes,
    dir,
  };
}

Deno.test("entity: a virtual body answers ranges, multipart, 304, 416 and HEAD like a file", async () => {
  const { body, bytes, dir } = await virtualBody();
  try {
    const app = new Hono().get("/seg.m4s", (c) => virtualResponse(c.req.raw, body));
    const get = (headers: Record<string, string> = {}, method = "GET") =>
      app.request("/seg.m4s", { method, headers });
    const whole = await get();
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get("content-type"), "video/iso.segment");
    assert.deepEqual(new Uint8Array(await whole.arrayBuffer()), bytes);
    // a range across the bytes/file and file/bytes boundaries
    const r = await get({ range: "bytes=5-1020" });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get("content-range"), `bytes 5-1020/${bytes.byteLength}`);
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), bytes.subarray(5, 1021));
    const multi = await get({ range: "bytes=0-3,1010-1015,-4" });
    assert.equal(multi.status, 206);
    const parts = parseMultipart(
      new Uint8Array(await multi.arrayBuffer()),
      boundaryOf(multi.headers.get("content-type")),
    );
    assert.deepEqual(parts.map((p) => [...p.body]), [
      [...bytes.subarray(0, 4)],
      [...bytes.subarray(1010, 1016)],
      [...bytes.subarray(bytes.byteLength - 4)],
    ]);
    assert.equal((await get({ "if-none-match": '"v1"' })).status, 304);
    assert.equal((await get({ range: `bytes=${bytes.byteLength}-` })).status, 416);
    const ifRange = await get({ range: "bytes=0-1", "if-range": '"other"' });
    assert.equal(ifRange.status, 200);
    await ifRange.body?.cancel();
    const head = await get({}, "HEAD");
    assert.equal(head.headers.get("content-length"), String(bytes.byteLength));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("entity: a file route serving a virtual body on the engine sends the same bytes", async () => {
  const { body, bytes, dir } = await virtualBody();
  try {
    const app = withFileRoute(new Hono(), {
      answer: (req) => req.target === "/seg.m4s" ? virtualAnswer(req.method, req, body) : null,
    });
    await using server = startEngine(app, { preadThreshold: 0 });
    const whole = await rawExchange(server.port, "GET /seg.m4s HTTP/1.1\r\nHost: x\r\n\r\n", {
      responses: 1,
    });
    assert.equal(whole.responses[0].status, 200);
    assert.deepEqual(whole.responses[0].body, bytes);
    const ranged = await rawExchange(
      server.port,
      "GET /seg.m4s HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-1200\r\n\r\n",
      { responses: 1 },
    );
    assert.equal(ranged.responses[0].status, 206);
    assert.deepEqual(ranged.responses[0].body, bytes.subarray(1000, 1201));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
