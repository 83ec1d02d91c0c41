/**
 * Output planning (src/server/engine/response_plan.ts + output_plan.ts) with fake files: the
 * head through the one serializer, the pread rule (small file bodies leave with the head in one
 * segment), sendfile segments above it, multipart parts, and the failures that close. No socket.
 */
import assert from "node:assert/strict";
import { FileChangedError, type FileIdentity } from "../src/file_body.ts";
import { answerEntity, type Entity, prepareFields } from "../src/entity.ts";
import type { OpenFile } from "../src/server/engine/file_cache.ts";
import { type OutputDeps, queueBody, writeHead } from "../src/server/engine/output_plan.ts";
import { planAnswer, planResponse } from "../src/server/engine/response_plan.ts";
import { Seg, type Segment } from "../src/server/engine/segments.ts";

const identity: FileIdentity = { dev: 1, ino: 2, size: 1000, mtimeNs: 3n };
const latin1 = (b: Uint8Array) => String.fromCharCode(...b);

/** A file of 1000 bytes: byte i is i % 251. */
class Deps implements OutputDeps {
  readonly staging = new Uint8Array(4096);
  readonly encoder = new TextEncoder();
  acquired: string[] = [];
  errors: unknown[] = [];
  fail: Error | null = null;
  short = false;
  constructor(readonly preadThreshold: number) {}
  acquire(part: { path: string }): OpenFile {
    if (this.fail !== null) throw this.fail;
    this.acquired.push(part.path);
    return { fd: 42, stat: {} } as unknown as OpenFile;
  }
  pread(_fd: number, buf: Uint8Array, offset: number): number {
    const n = this.short ? buf.byteLength - 1 : buf.byteLength;
    for (let i = 0; i < n; i++) buf[i] = (offset + i) % 251;
    return n;
  }
  onError(error: unknown): void {
    this.errors.push(error);
  }
}

const entity: Entity = {
  size: 1000,
  etag: '"e"',
  lastModifiedMs: 0,
  lastModified: "Thu, 01 Jan 1970 00:00:00 GMT",
  contentType: "video/mp4",
  parts: (offset, length) => [{ path: "/f.mp4", offset, length, identity }],
};
const fields = prepareFields({ headers: { "access-control-allow-origin": "*" } });
const request = { method: "GET", versionMinor: 1 as const, keepAlive: true };
const header = (range?: string) => ({
  get: (name: string) => (name === "range" ? range ?? null : null),
});

function plan(deps: Deps, range?: string) {
  const p = planAnswer(answerEntity("GET", header(range), entity, fields), request);
  const head = writeHead(deps, p);
  assert.equal(typeof head, "number");
  const out: Segment[] = [];
  const files: OpenFile[] = [];
  const ok = queueBody(deps, p, head as number, out, files);
  return { ok, out, files, head: head as number };
}

Deno.test("output plan: a small range leaves with its head in one segment (pread rule)", () => {
  const deps = new Deps(32 * 1024);
  const { ok, out, files, head } = plan(deps, "bytes=10-19");
  assert.ok(ok);
  assert.equal(out.length, 1);
  const seg = out[0];
  assert.equal(seg.kind, Seg.Bytes);
  if (seg.kind !== Seg.Bytes) return;
  const text = latin1(seg.buf.subarray(0, head));
  assert.match(text, /^HTTP\/1\.1 206 Partial Content\r\naccess-control-allow-origin: \*\r\n/);
  assert.match(text, /\r\ncontent-range: bytes 10-19\/1000\r\n/);
  assert.match(text, /\r\ncontent-length: 10\r\n\r\n$/);
  assert.deepEqual([...seg.buf.subarray(head)], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.equal(seg.bodyStart, head, "head bytes are not counted as body");
  assert.equal(files.length, 1);
});

Deno.test("output plan: above the threshold the head goes alone and the body by sendfile", () => {
  const deps = new Deps(0);
  const { ok, out, head } = plan(deps, "bytes=100-");
  assert.ok(ok);
  assert.equal(out.length, 2);
  assert.equal(out[0].kind, Seg.Bytes);
  if (out[0].kind === Seg.Bytes) assert.equal(out[0].buf.byteLength, head);
  assert.deepEqual(
    out[1].kind === Seg.File ? [out[1].file.fd, out[1].pos, out[1].end] : null,
    [42, 100, 1000],
  );
});

Deno.test("output plan: multipart ranges interleave part heads and slices", () => {
  const deps = new Deps(0);
  const { ok, out } = plan(deps, "bytes=0-1,5-6");
  assert.ok(ok);
  const kinds = out.map((s) => s.kind);
  assert.deepEqual(kinds, [Seg.Bytes, Seg.File, Seg.Bytes, Seg.File, Seg.Bytes]);
  // with pread, everything is one segment
  const small = plan(new Deps(1 << 20), "bytes=0-1,5-6");
  assert.equal(small.out.length, 1);
  if (small.out[0].kind === Seg.Bytes) {
    const body = latin1(small.out[0].buf.subarray(small.head));
    assert.ok(body.includes("Content-Range: bytes 0-1/1000\r\n\r\n\x00\x01\r\n--"));
    assert.ok(body.includes("Content-Range: bytes 5-6/1000\r\n\r\n\x05\x06\r\n--zerocast-"));
    assert.ok(body.endsWith("--\r\n"));
  }
});

Deno.test("output plan: a replaced, missing or truncated file makes the response fail", () => {
  const changed = new Deps(1 << 20);
  changed.fail = new FileChangedError("/f.mp4");
  assert.equal(plan(changed).ok, false);
  assert.equal(changed.errors.length, 0, "a replacement is an expected race, not an error");
  const missing = new Deps(1 << 20);
  missing.fail = new Error("ENOENT");
  assert.equal(plan(missing).ok, false);
  assert.equal(missing.errors.length, 1);
  const short = new Deps(1 << 20);
  short.short = true;
  assert.equal(plan(short).ok, false);
});

Deno.test("output plan: an app Response's text body joins its head; HEAD has no body", async () => {
  const deps = new Deps(0);
  const response = new Response("héllo", { headers: { "X-A": "1" } });
  const p = planResponse(response, request);
  const head = writeHead(deps, p) as number;
  const out: Segment[] = [];
  assert.ok(queueBody(deps, p, head, out, []));
  assert.equal(out.length, 1);
  if (out[0].kind === Seg.Bytes) {
    const text = new TextDecoder().decode(out[0].buf);
    assert.match(
      text,
      /^HTTP\/1\.1 200 OK\r\nX-A: 1\r\nContent-Type: text\/plain;charset=UTF-8\r\n/,
    );
    assert.ok(text.endsWith("content-length: 6\r\n\r\nhéllo"));
  }
  const headPlan = planAnswer(answerEntity("HEAD", header(), entity, fields), {
    ...request,
    method: "HEAD",
  });
  assert.equal(headPlan.parts, null);
  assert.equal(headPlan.head.contentLength, 1000);
  await response.body?.cancel();
});

Deno.test("output plan: a field with a line break cannot be written (header injection)", () => {
  const deps = new Deps(0);
  const p = planAnswer({
    status: 200,
    fields: [["x-a", "1\r\nx-injected: 1"]],
    contentLength: null,
    body: null,
  }, request);
  assert.throws(() => writeHead(deps, p), TypeError);
  const name = planAnswer(
    { status: 200, fields: [["x a", "1"]], contentLength: null, body: null },
    request,
  );
  assert.throws(() => writeHead(deps, name), TypeError);
});

Deno.test("output plan: entity values are checked unless the entity vouches for them", () => {
  const deps = new Deps(0);
  const decoder = new TextDecoder();
  // heads compared with the Date line masked (a second may tick between two writes)
  const text = (n: number | Uint8Array) =>
    decoder.decode(deps.staging.subarray(0, n as number)).replace(/date: [^\r]*/, "date: -");
  // an entity whose Content-Type came from elsewhere (e.g. a packaged file) and is not vouched
  // for: the serializer checks it, and a line break in it cannot reach the wire
  const bad: Entity = { ...entity, contentType: "video/mp4\r\nx-injected: 1" };
  const badAnswer = answerEntity("GET", header(), bad, fields);
  assert.equal(badAnswer.fieldsChecked, false);
  assert.throws(() => writeHead(deps, planAnswer(badAnswer, request)), TypeError);
  // a file entity vouches for its values (numbers, a date, the MIME table): checks are skipped,
  // and the head is byte for byte the one the checked path writes
  const good = answerEntity("GET", header("bytes=0-9"), { ...entity, fieldsChecked: true }, fields);
  assert.equal(good.fieldsChecked, true);
  const fast = writeHead(deps, planAnswer(good, request));
  assert.equal(typeof fast, "number");
  const fastText = text(fast);
  const slow = writeHead(deps, planAnswer({ ...good, fieldsChecked: false }, request));
  assert.equal(text(slow), fastText);
  assert.match(fastText, /^HTTP\/1\.1 206 Partial Content\r\n/);
  // framing fields are still the serializer's own even for vouched-for fields
  const framing = writeHead(
    deps,
    planAnswer({ ...good, fields: [...good.fields, ["content-length", "1"]] }, request),
  );
  assert.equal(text(framing), fastText);
});
