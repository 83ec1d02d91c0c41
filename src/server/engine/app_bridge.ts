/**
 * The bridge to the app: an exchange whose head is parsed (and whose body, if any, is set up)
 * goes to the app's file route when it has one and the request is a GET/HEAD without a body
 * (src/file_route.ts: no `Request`, router, `Response` or stream), else to `app.fetch` with a
 * lazily materialised `Request`; the answer becomes a {@linkcode ResponsePlan} the connection
 * writes. Continuations check that the exchange is still current: fd numbers and connections
 * are reused.
 *
 * @module
 */
import type { EntityResponse } from "../../entity.ts";
import { BodyAbortedError } from "../../request_body.ts";
import type { EngineContext } from "./context.ts";
import type { Exchange } from "./exchange.ts";
import { createRequest } from "./request.ts";
import { requestUrl } from "../../http1/mod.ts";
import { planAnswer, planResponse, type ResponsePlan } from "./response_plan.ts";

/** Bytes of an unread request body the engine reads and drops to keep a connection alive. */
export const MAX_DRAIN_BYTES = 256 * 1024;

/** What the bridge needs from its connection. */
export interface BridgeHost {
  /** The server's shared state. */
  readonly ctx: EngineContext;
  /** `env` for `app.fetch` (Hono's `c.env`). */
  readonly env: { remoteAddr: { hostname: string; port: number; transport: "tcp" } };
  /** True while `ex` is the connection's current exchange and the socket is open. */
  isCurrent(ex: Exchange): boolean;
  /** Writes `plan` for `ex` (head, body, flush); a head that cannot be written is a 500. */
  sendPlan(ex: Exchange, plan: ResponsePlan): void;
  /** The app failed for `ex`: a 500 when nothing was sent yet, else close. */
  appFailed(ex: Exchange, error: unknown): void;
  /** An unexpected error while answering `ex`: close if it is still current. */
  abortFor(ex: Exchange): void;
  /** True when the client is gone or half-closed (the request's signal starts aborted). */
  readonly clientGone: boolean;
}

/** Hands `ex` to the file route or the app. */
export function dispatch(host: BridgeHost, ex: Exchange): void {
  const ctx = host.ctx;
  const head = ex.head!;
  if (ctx.fileRoute !== undefined && ex.body === null && head.target.charCodeAt(0) === 0x2f) {
    // answered once the batch's reads are done, with its writes: the batch's requests for one
    // file share one stat (EpollLoop.afterEvents; src/media/stat.ts, stat windows)
    ctx.loop.afterEvents(() => answerFromRoute(host, ex));
    return;
  }
  fetchFromApp(host, ex);
}

/** Asks the file route for `ex`; what it does not answer goes to the app. */
function answerFromRoute(host: BridgeHost, ex: Exchange): void {
  if (!host.isCurrent(ex) || ex.responded) return;
  let answer: EntityResponse | null;
  try {
    answer = host.ctx.fileRoute!.answer(ex);
  } catch (error) {
    host.appFailed(ex, error);
    return;
  }
  if (answer === null) fetchFromApp(host, ex);
  else answerSafely(host, ex, answer);
}

/** Hands `ex` to `app.fetch` with a lazily materialised `Request`. */
function fetchFromApp(host: BridgeHost, ex: Exchange): void {
  const ctx = host.ctx;
  const head = ex.head!;
  // one URL for every consumer: never an empty authority, path as sent (RFC 9112 §3.2-§3.3);
  // made only here, the file route reads the raw target
  const url = ex.url ||= requestUrl(head.requestTarget, head.host, ctx.localHost);
  const request = createRequest({
    method: head.method,
    url,
    headers: head.headers,
    body: ex.body === null ? null : ex.body.stream,
    signal: () => (ex.signal ??= newSignal(host)).signal,
  });
  let result: Response | Promise<Response>;
  try {
    result = ctx.app.fetch(request, host.env);
  } catch (error) {
    host.appFailed(ex, error);
    return;
  }
  if (result instanceof Response) {
    // without a request body nothing can happen to the exchange before the batch ends, so
    // the response joins the batch's writes (see EpollLoop.afterEvents); with one it goes
    // now, before more body bytes are read, as the keep-alive decision expects
    const response = result;
    if (ex.body === null) ctx.loop.afterEvents(() => respondSafely(host, ex, response));
    else respondSafely(host, ex, response);
  } else {
    ctx.pendingJs++;
    Promise.resolve(result).then(
      (response) => {
        ctx.pendingJs--;
        respondSafely(host, ex, response);
      },
      (error) => {
        ctx.pendingJs--;
        host.appFailed(ex, error);
      },
    );
  }
}

/** The request's abort signal, already aborted when the client has gone. */
function newSignal(host: BridgeHost): AbortController {
  const controller = new AbortController();
  if (host.clientGone) {
    controller.abort(new BodyAbortedError(new Error("client closed the connection")));
  }
  return controller;
}

/** Writes the file route's `answer` for `ex` (if still current), never throwing. */
function answerSafely(host: BridgeHost, ex: Exchange, answer: EntityResponse): void {
  if (!host.isCurrent(ex) || ex.responded) return;
  try {
    if (host.ctx.draining) ex.keepAlive = false;
    const plan = planAnswer(answer, {
      method: ex.head!.method,
      versionMinor: ex.head!.versionMinor,
      keepAlive: ex.keepAlive,
    });
    host.sendPlan(ex, plan);
  } catch (error) {
    host.ctx.onError(error);
    host.abortFor(ex);
  }
}

/**
 * {@linkcode respond}, never throwing: it runs in promise callbacks, where an exception would be
 * an unhandled rejection and end the process.
 */
function respondSafely(host: BridgeHost, ex: Exchange, response: Response): void {
  try {
    respond(host, ex, response);
  } catch (error) {
    host.ctx.onError(error);
    host.abortFor(ex);
  }
}

/** Writes the app's `response` for `ex` (if `ex` is still current). */
function respond(host: BridgeHost, ex: Exchange, response: Response): void {
  if (!host.isCurrent(ex) || ex.responded) {
    if (response instanceof Response && response.body !== null && !response.body.locked) {
      response.body.cancel().catch(() => {});
    }
    return;
  }
  if (!(response instanceof Response)) {
    host.appFailed(ex, new TypeError("the app did not return a Response"));
    return;
  }
  const body = ex.body;
  if (body !== null && !body.complete) {
    // the app answered before the whole request body arrived (RFC 9110 §10.1.1, RFC 9112
    // §9.3): keep the connection only if the rest is small enough to read and drop
    const rest = body.remaining;
    if (body.done || body.continuePending || rest < 0 || rest > MAX_DRAIN_BYTES) {
      ex.keepAlive = false;
    }
  }
  if (host.ctx.draining) ex.keepAlive = false;
  let plan: ResponsePlan;
  try {
    plan = planResponse(response, {
      method: ex.head!.method,
      versionMinor: ex.head!.versionMinor,
      keepAlive: ex.keepAlive,
    });
  } catch (error) {
    host.appFailed(ex, error);
    return;
  }
  host.sendPlan(ex, plan);
}
