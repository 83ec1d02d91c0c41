/**
 * The zero-copy engine reads a Response the app returned fresh without making Deno build its
 * Headers and body (`peekResponse` in src/server/engine/response_internals.ts). On the wire that
 * must be exactly what the public API of the same Response says: same fields in the same order
 * and case, same body bytes, the framing of RFC 9112 §6.3 (Content-Length) and HEAD without a
 * body (RFC 9110 §9.3.2) — also for responses whose headers or body the app touched after
 * creating them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { rawExchange, startEngine } from "./engine_support.ts";

/** Responses by path; each call builds a new one. */
const SHAPES: Record<string, () => Response | Promise<Response>> = {
  "/text": () => new Response("ok\n"),
  "/empty": () => new Response(""),
  "/json": () => Response.json({ a: "é" }),
  "/json-init": () => Response.json([1], { status: 201, headers: { "X-B": "2" } }),
  "/typed": () => new Response("<p>", { headers: { "Content-Type": "text/html" } }),
  "/bytes": () => new Response(new Uint8Array([0, 1, 2, 255])),
  "/bytes-typed": () => new Response(new Uint8Array([7]), { headers: [["content-type", "a/b"]] }),
  "/not-found": () => new Response("nope", { status: 404, headers: { "X-A": "1" } }),
  "/no-content": () => new Response(null, { status: 204, headers: [["Set-Cookie", "a=1"]] }),
  "/null": () => new Response(null),
  "/late-header": () => {
    const response = new Response("late");
    response.headers.set("X-Late", "1");
    return response;
  },
  "/body-taken": () => {
    const response = new Response("taken");
    void response.body;
    return response;
  },
  "/cloned": () => new Response("orig").clone(),
};

function shapesApp(): { fetch(request: Request): Response | Promise<Response> } {
  const app = new Hono();
  app.get("/hono-text", (c) => c.text("hono\n"));
  app.get("/hono-json", (c) => c.json({ ok: true }));
  app.get("/hono-header", (c) => {
    c.header("X-H", "1");
    return c.text("with header");
  });
  return {
    fetch(request) {
      const path = new URL(request.url).pathname;
      const shape = SHAPES[path];
      return shape !== undefined ? shape() : app.fetch(request);
    },
  };
}

/** The head without its Date line (the only field that changes between runs). */
function withoutDate(head: string): string {
  return head.split("\r\n").filter((line) => !/^date:/i.test(line)).join("\r\n");
}

Deno.test("engine: fresh app responses go out with the exact head and body", async () => {
  await using server = startEngine(shapesApp());
  const paths = ["/text", "/json", "/hono-text", "/hono-json", "/late-header"];
  const request = paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join("");
  const r = await rawExchange(server.port, request, { responses: paths.length });
  assert.deepEqual(r.responses.map((x) => withoutDate(x.head)), [
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain;charset=UTF-8\r\ncontent-length: 3",
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 10",
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain;charset=UTF-8\r\ncontent-length: 5",
    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11",
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain;charset=UTF-8\r\nX-Late: 1\r\ncontent-length: 4",
  ]);
  const text = r.responses.map((x) => new TextDecoder().decode(x.body));
  assert.deepEqual(text, ["ok\n", '{"a":"é"}', "hono\n", '{"ok":true}', "late"]);
});

Deno.test("engine: every response shape is sent as its public API describes it", async () => {
  await using server = startEngine(shapesApp());
  const app = shapesApp();
  const paths = [...Object.keys(SHAPES), "/hono-text", "/hono-json", "/hono-header"];
  for (const method of ["GET", "HEAD"]) {
    const request = paths.map((p) => `${method} ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join("");
    const headOnly = new Set(method === "HEAD" ? paths.map((_, i) => i) : []);
    const r = await rawExchange(server.port, request, { responses: paths.length, headOnly });
    assert.equal(r.responses.length, paths.length);
    for (let i = 0; i < paths.length; i++) {
      const got = r.responses[i];
      const expected = await app.fetch(new Request(`http://x${paths[i]}`));
      const label = `${method} ${paths[i]}`;
      assert.equal(got.status, expected.status, label);
      const body = new Uint8Array(await expected.arrayBuffer());
      // every field the app set, with its value (the engine adds Date and the framing)
      for (const [name, value] of expected.headers) {
        if (name === "set-cookie") continue;
        assert.equal(got.headers.get(name), value, label);
      }
      assert.equal(got.headers.get("set-cookie"), expected.headers.get("set-cookie") ?? undefined);
      if (expected.status === 204) {
        assert.equal(got.headers.has("content-length"), false, label);
        assert.equal(got.body.byteLength, 0, label);
      } else if (method === "GET") {
        // a body the app turned into a stream goes out chunked (RFC 9112 §7.1)
        if (paths[i] === "/body-taken") {
          assert.equal(got.headers.get("transfer-encoding"), "chunked");
        } else assert.equal(got.headers.get("content-length"), String(body.byteLength), label);
        assert.deepEqual(got.body, body, label);
      } else {
        assert.equal(got.body.byteLength, 0, label);
      }
    }
  }
});
