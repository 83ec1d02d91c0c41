/**
 * The engine reads (never writes) the header list and static body of `Response`s the app built,
 * through Deno internals probed at load. A Deno upgrade that changes them must fail here rather
 * than silently slow the engine down; the bytes stay those of the public API either way.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  headerList,
  RESPONSE_INTERNALS_SUPPORTED,
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
