/**
 * The bridge to the app (src/server/engine/app_bridge.ts) with a fake connection: the file route
 * answers GET/HEAD without a body and `fetch` is not called; everything else goes to `fetch`;
 * synchronous, asynchronous, throwing and wrong answers; answers for an exchange that is no
 * longer current are dropped. No socket.
 */
import assert from "node:assert/strict";
import { textResponse } from "../src/entity.ts";
import type { FileRoute } from "../src/file_route.ts";
import { parseRequestHead } from "../src/http1/mod.ts";
import { type BridgeHost, dispatch } from "../src/server/engine/app_bridge.ts";
import type { EngineContext } from "../src/server/engine/context.ts";
import { Exchange } from "../src/server/engine/exchange.ts";
import type { ResponsePlan } from "../src/server/engine/response_plan.ts";

function exchange(text: string): Exchange {
  const bytes = new TextEncoder().encode(text);
  const parsed = parseRequestHead(bytes, 0, bytes.length);
  if (parsed.kind !== "head") throw new Error("bad test head");
  return new Exchange(parsed.head);
}

class Host implements BridgeHost {
  sent: [Exchange, ResponsePlan][] = [];
  failed: unknown[] = [];
  fetched: Request[] = [];
  current: Exchange | null = null;
  readonly env = { remoteAddr: { hostname: "127.0.0.1", port: 1, transport: "tcp" as const } };
  readonly clientGone = false;
  readonly ctx: EngineContext;
  constructor(route: FileRoute | undefined, fetch: (r: Request) => Response | Promise<Response>) {
    this.ctx = {
      fileRoute: route,
      app: {
        fetch: (r: Request) => {
          this.fetched.push(r);
          return fetch(r);
        },
      },
      loop: { afterEvents: (task: () => void) => task() },
      localHost: "127.0.0.1:1",
      draining: false,
      pendingJs: 0,
      onError: () => {},
    } as unknown as EngineContext;
  }
  isCurrent(ex: Exchange): boolean {
    return this.current === ex;
  }
  sendPlan(ex: Exchange, plan: ResponsePlan): void {
    this.sent.push([ex, plan]);
  }
  appFailed(_ex: Exchange, error: unknown): void {
    this.failed.push(error);
  }
  abortFor(): void {}
}

const route: FileRoute = {
  answer: (req) => req.target.startsWith("/files/") ? textResponse(200, "file\n", []) : null,
};

Deno.test("bridge: the file route answers without fetch; other requests go to fetch", async () => {
  const host = new Host(route, () => new Response("app"));
  const file = exchange("GET /files/a HTTP/1.1\r\nHost: x\r\n\r\n");
  host.current = file;
  dispatch(host, file);
  assert.equal(host.fetched.length, 0);
  assert.equal(host.sent.length, 1);
  assert.equal(host.sent[0][1].status, 200);
  assert.equal(host.sent[0][1].head.contentLength, 5);

  const other = exchange("GET /other?q=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n");
  host.current = other;
  dispatch(host, other);
  assert.equal(host.fetched.length, 1);
  const request = host.fetched[0];
  assert.equal(request.url, "http://x/other?q=1");
  assert.equal(request.headers.get("x-a"), "1");
  assert.equal(host.sent.length, 2);
  assert.equal(host.sent[1][1].bytes, "app");
  await Promise.resolve();
});

Deno.test("bridge: async, throwing and wrong answers; stale exchanges are dropped", async () => {
  let answer: () => Response | Promise<Response> = () => Promise.resolve(new Response("later"));
  const host = new Host(undefined, () => answer());
  const ex = exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  host.current = ex;
  dispatch(host, ex);
  assert.equal(host.sent.length, 0);
  assert.equal(host.ctx.pendingJs, 1, "the loop knows an app promise is pending");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(host.sent.length, 1);
  assert.equal(host.ctx.pendingJs, 0);

  answer = () => {
    throw new Error("handler broke");
  };
  dispatch(host, exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  assert.equal((host.failed[0] as Error).message, "handler broke");

  const wrong = exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  host.current = wrong;
  answer = () => ({ not: "a response" }) as unknown as Response;
  dispatch(host, wrong);
  await new Promise((r) => setTimeout(r, 0));
  assert.ok(host.failed[1] instanceof TypeError, "a non-Response answer is an app failure");

  let cancelled = false;
  answer = () => new Response(new ReadableStream({ cancel: () => void (cancelled = true) }));
  dispatch(host, exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  assert.equal(host.sent.length, 1, "an answer for a stale exchange is not sent");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(cancelled, true, "and its body is cancelled");
});
