/**
 * The Hono app. It never knows which server runs it: servers call `app.fetch(request)` and look
 * at the returned body (a {@linkcode FileBody} may be sent with sendfile).
 *
 * Each concern is a sub-app in `src/routes/`, mounted here.
 *
 * @module
 */
import { Hono } from "hono";
import type { AccessDecision, AccessGate } from "./auth/gate.ts";
import { MediaLibrary } from "./library/library.ts";
import { fileRouteOf, withFileRoute } from "./file_route.ts";
import { rawPathOf } from "./media/path.ts";
import { type AppOptions, resolveAppOptions, type ResolvedAppOptions } from "./options.ts";
import { assetRoutes } from "./routes/assets.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { mediaRoutes } from "./routes/media.ts";
import { opsRoutes } from "./routes/ops.ts";
import { packagingRoutes } from "./routes/packaging.ts";
import { pageRoutes } from "./routes/pages.tsx";
import { libraryRoutes } from "./routes/library.ts";
import { PosterStore } from "./library/posters.ts";
import { posterRoutes } from "./routes/posters.ts";

const NOT_FOUND = "404 Not Found";
const NOT_FOUND_HEADERS = {
  "content-type": "text/plain; charset=UTF-8",
  "content-length": String(NOT_FOUND.length),
};

/**
 * Creates the media app for `options.root` (an absolute real path). With `signKey` or
 * `basicAuth` the routes sit behind the access gate ({@linkcode gatedApp}).
 */
export function createApp(options: AppOptions): Hono {
  const resolved = resolveAppOptions(options);
  const app = routes(resolved);
  return resolved.access === undefined ? app : gatedApp(app, resolved.access);
}

/** Every route of the app, ungated. */
function routes(resolved: ResolvedAppOptions): Hono {
  // Routing reads the path with the same function as the media, library and ingest routes
  // (Hono's default getPath reads another path from some URLs, e.g. an empty authority).
  const app = new Hono({ getPath: requestPath });
  app.route("/", opsRoutes(resolved));
  // Before media: its catch-all answers PUT/DELETE with 405 when ingest is off.
  if (resolved.ingest) app.route("/", ingestRoutes(resolved, resolved.ingest));
  const media = mediaRoutes(resolved);
  app.route("/", media);
  // the prepared file path for /media/ (GET/HEAD without Hono; see src/file_route.ts); only on
  // the ungated app: behind the access gate every request goes through the gate's fetch
  const mediaFiles = fileRouteOf(media);
  if (mediaFiles !== undefined) withFileRoute(app, mediaFiles);
  app.route("/", packagingRoutes(resolved));
  // One library (and probe cache) shared by the JSON API and the web pages.
  const library = new MediaLibrary(resolved.root);
  app.route("/", libraryRoutes(resolved, library));
  const posters = new PosterStore({ cacheDir: resolved.posterCache });
  app.route("/", posterRoutes(library, posters));
  app.route("/", pageRoutes(library, posters));
  app.route("/", assetRoutes());
  // Hono answers HEAD with the GET response minus its body; an explicit Content-Length keeps
  // the length GET would get in that answer (RFC 9110 §9.3.2, §8.6) on every server.
  app.notFound(() => new Response(NOT_FOUND, { status: 404, headers: NOT_FOUND_HEADERS }));
  return app;
}

/**
 * The one place the access gate is wired (src/auth/gate.ts): an outer app whose single handler
 * asks the gate about every request before `inner` routes it. A refusal is answered here; a
 * signed path (`/s/<token>/media/…`) reaches `inner` as a request for the path without the token,
 * so routing and file resolution see `/media/…`. A single catch-all handler also keeps the gate
 * in place when a library user mounts the app with `app.route("/", createApp(...))`.
 */
function gatedApp(inner: Hono, gate: AccessGate): Hono {
  const outer = new Hono({ getPath: requestPath });
  outer.all("*", (c): Response | Promise<Response> => {
    const request = c.req.raw;
    const rawPath = rawPathOf(request.url);
    const answer = (decision: AccessDecision): Response | Promise<Response> => {
      if (decision.kind !== "pass") return gate.deny(decision, request.method);
      if (decision.path === rawPath) return inner.fetch(request, c.env);
      return inner.fetch(retarget(request, decision.path), c.env);
    };
    const method = request.method;
    const decision = gate.decide(
      method,
      rawPath,
      request.headers.get("authorization"),
      nowSeconds(),
    );
    return decision instanceof Promise ? decision.then(answer) : answer(decision);
  });
  return outer;
}

function nowSeconds(): number {
  return Date.now() / 1000;
}

/**
 * `request` as seen with its raw path replaced by `path`. A view rather than `new Request(url)`:
 * URL parsing would normalise the path (`..`, `\\`, percent-encoding) after the gate checked it;
 * the view answers `url` with exactly the checked path and everything else from `request`.
 */
function retarget(request: Request, path: string): Request {
  const url = request.url;
  const start = rawPathStart(url);
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 0x3f || c === 0x23) break; // ? or #
    end++;
  }
  const target = url.slice(0, start) + path + url.slice(end);
  return new Proxy(request, {
    get(base, property) {
      if (property === "url") return target;
      const value = Reflect.get(base, property, base);
      return typeof value === "function" ? value.bind(base) : value;
    },
  });
}

/** Index where {@linkcode rawPathOf} starts reading the path of `url`. */
function rawPathStart(url: string): number {
  let p = url.indexOf(":") + 1;
  if (url.charCodeAt(p) === 0x2f && url.charCodeAt(p + 1) === 0x2f) {
    p += 2;
    while (p < url.length) {
      const c = url.charCodeAt(p);
      if (c === 0x2f || c === 0x3f || c === 0x23) break; // / ? #
      p++;
    }
  }
  return p;
}

/**
 * The path Hono routes on: {@linkcode rawPathOf} of the URL, undecoded, the same path the routes
 * resolve. Pass it as `new Hono({ getPath: requestPath })` to an app that mounts `createApp`.
 */
export function requestPath(request: Request): string {
  return rawPathOf(request.url);
}
