/**
 * The engine reads (never writes) the header list and static body of `Response`s the app built,
 * through Deno internals probed at load; a fresh one it reads without making Deno build them
 * (`peekResponse`). A Deno upgrade that changes them must fail here rather
 * than silently slow the engine down; the bytes stay those of the public API either way.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  headerList,
  peekResponse,
  RESPONSE_INTERNALS_SUPPORTED,
  RESPONSE_PEEK_SUPPORTED,
  staticBody,
} from "../src/server/engine/response_internals.ts";

Deno.test("response internals: the probe works on this Deno (else the engine is slower)", () => {
  assert.equal(RESPONSE_INTERNALS_SUPPORTED, true, `Deno ${Deno.version.deno}`);
});

Deno.test("response internals: header list and static body equal the public API's", async () => {
  const cases = [
    new Response("héllo", { headers: { "X-A": "1", "content-type": "text/plain" } }),
    new Response(new Uint8Array([1, 2, 3]), { status: 201 }),
    Response.json({ a: 1 }),
    new Response(null, { status: 204, headers: [["Set-Cookie", "a=1"], ["set-cookie", "b=2"]] }),
  ];
  for (const response of cases) {
    const list = headerList(response)!;
    const fromList = new Headers(list);
    assert.deepEqual([...fromList], [...response.headers]);
    const body = staticBody(response);
    const bytes = new Uint8Array(await response.clone().arrayBuffer());
    if (body === null) assert.equal(bytes.byteLength, 0);
    else if (typeof body === "string") assert.deepEqual(new TextEncoder().encode(body), bytes);
    else assert.deepEqual(body, bytes);
  }
  const streamed = new Response(new ReadableStream({ start: (c) => c.close() }));
  assert.equal(staticBody(streamed), undefined);
});

Deno.test("response internals: the peek works on this Deno (else the engine is slower)", () => {
  assert.equal(RESPONSE_PEEK_SUPPORTED, true, `Deno ${Deno.version.deno}`);
});

Deno.test("response internals: a peeked response is what its getters then build", async () => {
  const shapes: (() => Response)[] = [
    () => new Response("ok\n"),
    () => new Response(""),
    () => new Response("héllo", { headers: { "content-type": "text/html; charset=UTF-8" } }),
    () => new Response("x", { status: 404, headers: { "X-A": "1", "Content-Type": "a/b" } }),
    () => new Response(new Uint8Array([1, 2, 3])),
    () => new Response(new Uint8Array([1, 2, 3]), { headers: [["Content-Type", "a/b"]] }),
    () => new Response(new URLSearchParams("a=1&b=2")),
    () => Response.json({ a: 1 }),
    () => Response.json([1], { status: 201, headers: { "X-B": "2" } }),
    () =>
      new Response(null, { status: 204, headers: [["Set-Cookie", "a=1"], ["set-cookie", "b=2"]] }),
    () => new Response(null),
    () => Response.redirect("http://example.com/a", 301),
  ];
  for (const shape of shapes) {
    const peeked = peekResponse(shape());
    assert.ok(peeked !== undefined, String(shape));
    // what the engine would have read from the same response through the getters
    const response = shape();
    const list = headerList(response)!;
    assert.deepEqual(peeked.fields, list, String(shape));
    assert.deepEqual(peeked.body, staticBody(response), String(shape));
    // and the public API's bytes
    const bytes = new Uint8Array(await response.arrayBuffer());
    const peekedBytes = typeof peeked.body === "string"
      ? new TextEncoder().encode(peeked.body)
      : peeked.body ?? new Uint8Array();
    assert.deepEqual(peekedBytes, bytes, String(shape));
    assert.deepEqual([...new Headers(peeked.fields)], [...response.headers], String(shape));
  }
});

Deno.test("response internals: a response whose headers or body were used is not peeked", async () => {
  const headersRead = new Response("ok");
  headersRead.headers.set("x-late", "1");
  assert.equal(peekResponse(headersRead), undefined);
  const bodyTaken = new Response("ok");
  void bodyTaken.body;
  assert.equal(peekResponse(bodyTaken), undefined);
  const consumed = new Response("ok");
  await consumed.text();
  assert.equal(peekResponse(consumed), undefined);
  const consumedBytes = new Response(new Uint8Array([1]), { headers: { "X-A": "1" } });
  await consumedBytes.arrayBuffer();
  assert.equal(peekResponse(consumedBytes), undefined);
  const streamed = new Response(new ReadableStream({ start: (c) => c.close() }));
  assert.equal(peekResponse(streamed), undefined);
});
