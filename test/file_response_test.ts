/**
 * In-process tests of `fileResponse()` and the multipart builder: the Response each request
 * gets (status, headers, the FileBody parts a zero-copy server would send, and the streamed
 * bytes). The same behaviour over real sockets is in `media_http_test.ts`.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { FileBody, isFileSlice } from "../src/file_body.ts";
import { fileResponse } from "../src/file_response.ts";
import { strongEtag } from "../src/media/etag.ts";
import { formatHttpDate } from "../src/media/http_date.ts";
import { multipartByteranges, randomBoundary } from "../src/media/multipart.ts";
import { statFile } from "../src/media/stat.ts";
import { boundaryOf, parseMultipart } from "./support/multipart.ts";

const SIZE = 1000;

interface Fixture {
  dir: string;
  file: string;
  bytes: Uint8Array;
  cleanup(): Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const dir = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-fr-" }));
  const bytes = crypto.getRandomValues(new Uint8Array(SIZE));
  const file = `${dir}/clip.mp4`;
  await Deno.writeFile(file, bytes);
  // A past mtime so Last-Modified dates are stable and whole seconds.
  await Deno.utime(file, 1_700_000_000, 1_700_000_000);
  return { dir, file, bytes, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

const get = (headers: Record<string, string> = {}, method = "GET") =>
  new Request("http://test/clip.mp4", { method, headers });

async function bodyBytes(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

Deno.test("fileResponse: 200 with validators, type, length; the body is a FileBody slice", async () => {
  const f = await fixture();
  try {
    const res = fileResponse(get(), f.file, { cacheControl: "max-age=60" });
    assert.equal(res.status, 200);
    const stat = statFile(f.file)!;
    assert.equal(res.headers.get("etag"), strongEtag(stat.identity));
    assert.equal(res.headers.get("last-modified"), "Tue, 14 Nov 2023 22:13:20 GMT");
    assert.equal(res.headers.get("accept-ranges"), "bytes");
    assert.equal(res.headers.get("content-type"), "video/mp4");
    assert.equal(res.headers.get("content-length"), String(SIZE));
    assert.equal(res.headers.get("cache-control"), "max-age=60");
    assert.ok(res.body instanceof FileBody);
    const body = res.body as FileBody;
    assert.equal(body.byteLength, SIZE);
    assert.deepEqual(body.parts, [{
      path: f.file,
      offset: 0,
      length: SIZE,
      identity: stat.identity,
    }]);
    assert.deepEqual(await bodyBytes(res), f.bytes);
  } finally {
    await f.cleanup();
  }
});

Deno.test("fileResponse: 206 single range, 416, If-Range, HEAD", async () => {
  const f = await fixture();
  try {
    let res = fileResponse(get({ range: "bytes=10-19" }), f.file);
    assert.equal(res.status, 206);
    assert.equal(res.headers.get("content-range"), `bytes 10-19/${SIZE}`);
    assert.equal(res.headers.get("content-length"), "10");
    assert.deepEqual(await bodyBytes(res), f.bytes.subarray(10, 20));

    res = fileResponse(get({ range: "bytes=1000-" }), f.file);
    assert.equal(res.status, 416);
    assert.equal(res.headers.get("content-range"), `bytes */${SIZE}`);
    assert.equal(res.body, null);

    const etag = strongEtag(statFile(f.file)!.identity);
    res = fileResponse(get({ range: "bytes=0-1", "if-range": etag }), f.file);
    assert.equal(res.status, 206);
    await res.body?.cancel();
    res = fileResponse(get({ range: "bytes=0-1", "if-range": `W/${etag}` }), f.file);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), String(SIZE));
    await res.body?.cancel();
    // If-Range that fails also disables a would-be 416.
    res = fileResponse(get({ range: "bytes=5000-", "if-range": '"old"' }), f.file);
    assert.equal(res.status, 200);
    await res.body?.cancel();

    res = fileResponse(get({}, "HEAD"), f.file);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), String(SIZE));
    assert.equal(res.body, null);
    // RFC 9110 §14.2: Range is defined for GET only, so HEAD describes the 200.
    res = fileResponse(get({ range: "bytes=0-1" }, "HEAD"), f.file);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), String(SIZE));
  } finally {
    await f.cleanup();
  }
});

Deno.test("fileResponse: multipart/byteranges parts are exact and Content-Length is exact", async () => {
  const f = await fixture();
  try {
    const res = fileResponse(get({ range: "bytes=0-9, 500-509, -5" }), f.file);
    assert.equal(res.status, 206);
    const boundary = boundaryOf(res.headers.get("content-type"));
    assert.equal(res.headers.get("content-range"), null);
    const body = await bodyBytes(res);
    assert.equal(res.headers.get("content-length"), String(body.byteLength));
    const parts = parseMultipart(body, boundary);
    assert.deepEqual(parts.map((p) => p.headers.get("content-range")), [
      `bytes 0-9/${SIZE}`,
      `bytes 500-509/${SIZE}`,
      `bytes 995-999/${SIZE}`,
    ]);
    for (const p of parts) assert.equal(p.headers.get("content-type"), "video/mp4");
    assert.deepEqual(parts[0].body, f.bytes.subarray(0, 10));
    assert.deepEqual(parts[1].body, f.bytes.subarray(500, 510));
    assert.deepEqual(parts[2].body, f.bytes.subarray(995, 1000));
    // Each response gets its own boundary.
    const again = fileResponse(get({ range: "bytes=0-1,3-4" }), f.file);
    assert.notEqual(boundaryOf(again.headers.get("content-type")), boundary);
    await again.body?.cancel();
  } finally {
    await f.cleanup();
  }
});

Deno.test("multipart: layout is byte-exact and file bytes stay slices", () => {
  const identity = { dev: 1, ino: 2, size: 100, mtimeNs: 3n };
  const m = multipartByteranges(
    "/f",
    identity,
    [{ start: 0, end: 1 }, { start: 98, end: 99 }],
    "t/x",
    "B",
  );
  assert.equal(m.contentType, "multipart/byteranges; boundary=B");
  const text = (p: unknown) => new TextDecoder().decode(p as Uint8Array);
  assert.equal(m.parts.length, 5);
  assert.equal(
    text(m.parts[0]),
    "--B\r\nContent-Type: t/x\r\nContent-Range: bytes 0-1/100\r\n\r\n",
  );
  assert.deepEqual(m.parts[1], { path: "/f", offset: 0, length: 2, identity });
  assert.equal(
    text(m.parts[2]),
    "\r\n--B\r\nContent-Type: t/x\r\nContent-Range: bytes 98-99/100\r\n\r\n",
  );
  assert.deepEqual(m.parts[3], { path: "/f", offset: 98, length: 2, identity });
  assert.equal(text(m.parts[4]), "\r\n--B--\r\n");
  const total = m.parts.reduce((n, p) => n + (isFileSlice(p) ? p.length : p.byteLength), 0);
  assert.equal(m.byteLength, total);
  assert.match(randomBoundary(), /^zerocast-[0-9a-f]{24}$/);
});

Deno.test("fileResponse: 304 carries validators and no body; 412 has no body", async () => {
  const f = await fixture();
  try {
    const etag = strongEtag(statFile(f.file)!.identity);
    let res = fileResponse(get({ "if-none-match": etag }), f.file, {
      cacheControl: "no-cache",
      headers: { "access-control-allow-origin": "*" },
    });
    assert.equal(res.status, 304);
    assert.equal(res.headers.get("etag"), etag);
    assert.equal(res.headers.get("last-modified"), "Tue, 14 Nov 2023 22:13:20 GMT");
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(res.headers.get("content-type"), null);
    assert.equal(res.headers.get("content-length"), null);
    assert.equal(res.body, null);

    res = fileResponse(get({ "if-modified-since": "Tue, 14 Nov 2023 22:13:20 GMT" }), f.file);
    assert.equal(res.status, 304);

    res = fileResponse(get({ "if-match": '"nope"' }), f.file);
    assert.equal(res.status, 412);
    assert.equal(res.body, null);
    res = fileResponse(get({ "if-unmodified-since": "Tue, 14 Nov 2023 22:13:19 GMT" }), f.file);
    assert.equal(res.status, 412);
  } finally {
    await f.cleanup();
  }
});

Deno.test("fileResponse: ETag and Last-Modified follow the file", async () => {
  const f = await fixture();
  try {
    const first = fileResponse(get({}, "HEAD"), f.file).headers.get("etag");
    assert.equal(fileResponse(get({}, "HEAD"), f.file).headers.get("etag"), first);
    await Deno.utime(f.file, 1_700_000_000, 1_700_000_001);
    const touched = fileResponse(get({}, "HEAD"), f.file);
    assert.notEqual(touched.headers.get("etag"), first);
    assert.equal(touched.headers.get("last-modified"), formatHttpDate(1_700_000_001_000));
    await Deno.writeFile(f.file, new Uint8Array(3));
    await Deno.utime(f.file, 1_700_000_000, 1_700_000_001);
    assert.notEqual(
      fileResponse(get({}, "HEAD"), f.file).headers.get("etag"),
      touched.headers.get("etag"),
    );
  } finally {
    await f.cleanup();
  }
});

Deno.test("fileResponse: empty file — 200 with length 0, every byte range 416", async () => {
  const f = await fixture();
  try {
    const empty = `${f.dir}/empty.txt`;
    await Deno.writeFile(empty, new Uint8Array(0));
    let res = fileResponse(get(), empty);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), "0");
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal((await bodyBytes(res)).byteLength, 0);
    for (const range of ["bytes=0-0", "bytes=0-", "bytes=-1"]) {
      res = fileResponse(get({ range }), empty);
      assert.equal(res.status, 416, range);
      assert.equal(res.headers.get("content-range"), "bytes */0");
    }
  } finally {
    await f.cleanup();
  }
});

Deno.test("fileResponse: missing files, directories → 404; symlinks resolve to their target", async () => {
  const f = await fixture();
  try {
    let res = fileResponse(get(), `${f.dir}/missing.mp4`);
    assert.equal(res.status, 404);
    assert.equal(await res.text(), "not found\n");
    res = fileResponse(get(), f.dir);
    assert.equal(res.status, 404);
    await res.body?.cancel();
    await Deno.symlink(f.file, `${f.dir}/link.webm`);
    res = fileResponse(get({ range: "bytes=0-3" }), `${f.dir}/link.webm`);
    assert.equal(res.status, 206);
    assert.equal(res.headers.get("content-type"), "video/mp4"); // the target's extension
    assert.equal((res.body as FileBody).byteLength, 4);
    assert.deepEqual(await bodyBytes(res), f.bytes.subarray(0, 4));
  } finally {
    await f.cleanup();
  }
});

Deno.test("fileResponse: works as a Hono handler with a Context", async () => {
  const f = await fixture();
  try {
    const app = new Hono();
    app.get("/poster", (c) => fileResponse(c, f.file, { contentType: "image/jpeg" }));
    const res = await app.request("/poster", { headers: { range: "bytes=-3" } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get("content-type"), "image/jpeg");
    assert.deepEqual(await bodyBytes(res), f.bytes.subarray(SIZE - 3));
    const head = await app.request("/poster", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(SIZE));
    assert.equal(head.body, null);
  } finally {
    await f.cleanup();
  }
});

Deno.test("fileResponse: a sparse 5 GiB file — offsets beyond 2^32 are exact", async () => {
  const f = await fixture();
  try {
    const big = `${f.dir}/big.bin`;
    const size = 5 * 2 ** 30;
    const offset = 2 ** 32 + 12345;
    const marker = crypto.getRandomValues(new Uint8Array(64));
    await Deno.writeFile(big, new Uint8Array(0));
    await Deno.truncate(big, size);
    using file = await Deno.open(big, { write: true });
    await file.seek(offset, Deno.SeekMode.Start);
    await file.write(marker);

    let res = fileResponse(get({ range: `bytes=${offset}-${offset + 63}` }), big);
    assert.equal(res.status, 206);
    assert.equal(res.headers.get("content-range"), `bytes ${offset}-${offset + 63}/${size}`);
    assert.equal((res.body as FileBody).byteLength, 64);
    const slice = (res.body as FileBody).parts[0];
    assert.ok(isFileSlice(slice) && slice.offset === offset && slice.length === 64);
    assert.deepEqual(await bodyBytes(res), marker);

    res = fileResponse(get({ range: `bytes=0-1,${offset}-${offset + 1}` }), big);
    const parts = parseMultipart(await bodyBytes(res), boundaryOf(res.headers.get("content-type")));
    assert.deepEqual(parts[0].body, new Uint8Array(2));
    assert.deepEqual(parts[1].body, marker.subarray(0, 2));
    assert.equal(parts[1].headers.get("content-range"), `bytes ${offset}-${offset + 1}/${size}`);

    res = fileResponse(get({}, "HEAD"), big);
    assert.equal(res.headers.get("content-length"), String(size));
  } finally {
    await f.cleanup();
  }
});
