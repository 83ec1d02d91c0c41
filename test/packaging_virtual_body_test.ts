/**
 * `virtualResponse` (the range/conditional rules of files applied to a body made of byte parts
 * and file slices, as the packaging routes use it) and `sliceParts`, in process: every range of
 * a mixed body, streamed, equals the same range of the bytes it describes (property test), and
 * multipart, 304, 412, If-Range and HEAD behave as for files.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type BodyPart, FileBody, isFileSlice, sliceParts } from "../src/file_body.ts";
import { virtualResponse } from "../src/file_response.ts";
import { statFile } from "../src/media/stat.ts";
import { concat } from "./support/bytes.ts";
import { boundaryOf, parseMultipart } from "./support/multipart.ts";

async function fixture() {
  const dir = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-vbody-" }));
  const bytes = crypto.getRandomValues(new Uint8Array(4000));
  const path = `${dir}/source.mp4`;
  await Deno.writeFile(path, bytes);
  const identity = statFile(path)!.identity;
  // header bytes, two slices with a gap, trailer bytes, an empty slice, one more slice
  const head = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
  const tail = new Uint8Array([9, 9, 9]);
  const parts: BodyPart[] = [
    head,
    { path, offset: 100, length: 500, identity },
    { path, offset: 1000, length: 1200, identity },
    tail,
    { path, offset: 0, length: 0, identity },
    { path, offset: 3900, length: 100, identity },
  ];
  const expected = concat([
    head,
    bytes.subarray(100, 600),
    bytes.subarray(1000, 2200),
    tail,
    bytes.subarray(3900, 4000),
  ]);
  return { dir, parts, expected, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

async function streamed(parts: readonly BodyPart[]): Promise<Uint8Array> {
  return new Uint8Array(await new Response(new FileBody(parts)).arrayBuffer());
}

Deno.test("sliceParts: every range of a mixed body is the same range of its bytes", async () => {
  const f = await fixture();
  try {
    const total = f.expected.byteLength;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: total - 1 }),
        fc.integer({ min: 1, max: total }),
        async (offset, want) => {
          const length = Math.min(want, total - offset);
          const slice = sliceParts(f.parts, offset, length);
          const sum = slice.reduce((n, p) => n + (isFileSlice(p) ? p.length : p.byteLength), 0);
          assert.equal(sum, length);
          assert.ok(slice.every((p) => (isFileSlice(p) ? p.length : p.byteLength) > 0));
          assert.deepEqual(await streamed(slice), f.expected.subarray(offset, offset + length));
        },
      ),
      { numRuns: 200 },
    );
  } finally {
    await f.cleanup();
  }
});

Deno.test("virtualResponse: 200, ranges, multipart, 304, 412, If-Range, HEAD", async () => {
  const f = await fixture();
  try {
    const size = f.expected.byteLength;
    const body = {
      parts: f.parts,
      byteLength: size,
      etag: '"v-1"',
      lastModifiedMs: 1_700_000_000_000,
      contentType: "video/iso.segment",
    };
    const ask = (headers: Record<string, string> = {}, method = "GET") =>
      virtualResponse(new Request("http://x/s.m4s", { method, headers }), body, {
        headers: { "access-control-allow-origin": "*" },
      });
    let res = ask();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), String(size));
    assert.equal(res.headers.get("content-type"), "video/iso.segment");
    assert.equal(res.headers.get("etag"), '"v-1"');
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(res.headers.get("last-modified"), "Tue, 14 Nov 2023 22:13:20 GMT");
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), f.expected);

    res = ask({ range: "bytes=5-1700" });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get("content-range"), `bytes 5-1700/${size}`);
    // the file bytes stay file slices (sendfile on the zero-copy engine)
    assert.ok((res.body as FileBody).parts.some(isFileSlice));
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), f.expected.subarray(5, 1701));

    res = ask({ range: "bytes=0-3,-50" });
    assert.equal(res.status, 206);
    const parts = parseMultipart(
      new Uint8Array(await res.arrayBuffer()),
      boundaryOf(res.headers.get("content-type")),
    );
    assert.deepEqual(parts.map((p) => p.body), [
      f.expected.subarray(0, 4),
      f.expected.subarray(size - 50),
    ]);
    assert.equal(parts[1].headers.get("content-range"), `bytes ${size - 50}-${size - 1}/${size}`);
    assert.equal(parts[1].headers.get("content-type"), "video/iso.segment");

    res = ask({ "if-none-match": '"v-1"' });
    assert.equal(res.status, 304);
    assert.equal(res.body, null);
    res = ask({ "if-match": '"other"' });
    assert.equal(res.status, 412);
    res = ask({ range: "bytes=0-9", "if-range": '"other"' });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    res = ask({ range: "bytes=0-9", "if-range": '"v-1"' });
    assert.equal(res.status, 206);
    await res.body?.cancel();
    res = ask({ range: `bytes=${size}-` });
    assert.equal(res.status, 416);
    assert.equal(res.headers.get("content-range"), `bytes */${size}`);
    res = ask({}, "HEAD");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), String(size));
    assert.equal(res.body, null);
  } finally {
    await f.cleanup();
  }
});
