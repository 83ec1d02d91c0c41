/**
 * The prepared file path (src/file_route.ts) on the zero-copy engine: `/media/` GET and HEAD of
 * files are answered without calling the app's `fetch`, with the same bytes as the `fetch` path of the same
 * app (which the stream engine uses); other methods and routes still go through `fetch`; a route
 * answer with an injected line break or a throwing route becomes a 500, never a broken head.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { createApp } from "../src/app.ts";
import { type FileRoute, fileRouteOf, withFileRoute } from "../src/file_route.ts";
import type { FetchApp } from "../src/server/types.ts";
import { Metrics } from "../src/metrics.ts";
import { randomBytes, rawExchange, startEngine } from "./engine_support.ts";

async function tempRoot(): Promise<string> {
  return Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-prepared-" }));
}

/** `app` with a counter of its `fetch` calls and the same file route. */
function counting(app: FetchApp & object): { app: FetchApp; calls: () => number } {
  let calls = 0;
  const wrapped = {
    fetch(request: Request, env?: unknown) {
      calls++;
      return app.fetch(request, env as never);
    },
  };
  const route = fileRouteOf(app);
  return { app: route ? withFileRoute(wrapped, route) : wrapped, calls: () => calls };
}

/**
 * The head without the Date line (it changes every second). Hono answers HEAD through `fetch`
 * with a copy of the GET response's headers, which sorts them; the prepared path keeps GET's
 * order, so HEAD heads are compared as sorted lines.
 */
function withoutDate(head: string, sorted: boolean): string {
  const lines = head.split("\r\n").filter((l) => !l.toLowerCase().startsWith("date:"));
  return (sorted ? [lines[0], ...lines.slice(1).sort()] : lines).join("\r\n");
}

Deno.test("prepared path: /media GET/HEAD skip fetch and equal the fetch path byte for byte", async () => {
  const root = await tempRoot();
  try {
    const data = randomBytes(200_000);
    await Deno.writeFile(`${root}/a.mp4`, data);
    await Deno.writeTextFile(`${root}/live.m3u8`, "#EXTM3U\n");
    const metrics = new Metrics();
    const app = createApp({ root, metrics });
    const prepared = counting(app);
    // the same app without its file route: everything through fetch
    const plain = counting({ fetch: (r: Request, e?: unknown) => app.fetch(r, e as never) });
    await using fast = startEngine(prepared.app, { metrics });
    await using slow = startEngine(plain.app);
    const requests = [
      "GET /media/a.mp4 HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /media/a.mp4 HTTP/1.1\r\nHost: x\r\nRange: bytes=100-70000\r\n\r\n",
      "GET /media/a.mp4 HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n",
      "GET /media/a.mp4 HTTP/1.1\r\nHost: x\r\nRange: bytes=999999-\r\n\r\n",
      "HEAD /media/a.mp4 HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /media/a.mp4?x=1 HTTP/1.0\r\n\r\n",
      "GET /media/live.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /media/missing.mp4 HTTP/1.1\r\nHost: x\r\n\r\n",
      "HEAD /media/missing.mp4 HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /media/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /media/a.mp4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ];
    for (const request of requests) {
      const head = request.startsWith("HEAD") ? new Set([0]) : new Set<number>();
      const a = await rawExchange(fast.port, request, { responses: 1, headOnly: head });
      const b = await rawExchange(slow.port, request, { responses: 1, headOnly: head });
      assert.equal(a.responses.length, 1, request);
      const sorted = request.startsWith("HEAD");
      assert.equal(
        withoutDate(a.responses[0].head, sorted),
        withoutDate(b.responses[0].head, sorted),
        request,
      );
      assert.deepEqual(a.responses[0].body, b.responses[0].body, request);
    }
    // conditional requests: the ETag of the prepared answer revalidates on both paths
    const first = await rawExchange(fast.port, requests[0], { responses: 1 });
    const etag = first.responses[0].headers.get("etag")!;
    assert.deepEqual(first.responses[0].body, data);
    for (const server of [fast, slow]) {
      const r = await rawExchange(
        server.port,
        `GET /media/a.mp4 HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\n\r\n`,
        { responses: 1 },
      );
      assert.equal(r.responses[0].status, 304);
    }
    // only the two requests for a missing file went to fetch: a path that is not a file may be
    // a folder listing, which the app answers (src/routes/media_extras.ts)
    assert.equal(prepared.calls(), 2, "the prepared path answered every file request");
    assert.ok(plain.calls() >= requests.length);
    // other methods and routes still go through fetch
    const options = await rawExchange(
      fast.port,
      "OPTIONS /media/a.mp4 HTTP/1.1\r\nHost: x\r\n\r\n",
      { responses: 1 },
    );
    assert.equal(options.responses[0].status, 204);
    const health = await rawExchange(fast.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", {
      responses: 1,
    });
    assert.equal(new TextDecoder().decode(health.responses[0].body), "ok\n");
    assert.equal(prepared.calls(), 4);
    // the metrics count prepared answers like any other
    const text = metrics.render();
    assert.match(text, /status="206"} [1-9]/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("prepared path: a route answer with a line break in a field is a 500, not injected", async () => {
  const route: FileRoute = {
    answer(request) {
      if (request.target === "/throw") throw new Error("route failed");
      if (request.target !== "/inject") return null;
      return {
        status: 200,
        fields: [["x-a", "1\r\nx-injected: yes"]],
        contentLength: null,
        body: new TextEncoder().encode("hi"),
      };
    },
  };
  const app = withFileRoute(new Hono().get("/", (c) => c.text("fetch")), route);
  const errors: unknown[] = [];
  const originalError = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    await using server = startEngine(app);
    for (const target of ["/inject", "/throw"]) {
      const r = await rawExchange(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`, {
        responses: 1,
      });
      assert.equal(r.responses[0].status, 500, target);
      assert.ok(!r.responses[0].head.toLowerCase().includes("x-injected"), target);
    }
    // a route that answers null leaves the request to fetch
    const r = await rawExchange(server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", {
      responses: 1,
    });
    assert.equal(new TextDecoder().decode(r.responses[0].body), "fetch");
  } finally {
    console.error = originalError;
  }
  assert.equal(errors.length, 2);
});

Deno.test("prepared path: an app behind the access gate offers none (every request meets the gate)", async () => {
  const root = await tempRoot();
  try {
    assert.notEqual(fileRouteOf(createApp({ root })), undefined);
    assert.equal(
      fileRouteOf(createApp({ root, signKey: "0123456789abcdef0123456789abcdef" })),
      undefined,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
