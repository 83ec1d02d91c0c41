/**
 * The Hono app. It never knows which server runs it: servers call `app.fetch(request)` and look
 * at the returned body (a {@linkcode FileBody} may be sent with sendfile).
 *
 * Each concern is a sub-app in `src/routes/`, mounted here.
 *
 * @module
 */
import { Hono } from "hono";
import { MediaLibrary } from "./library/library.ts";
import { rawPathOf } from "./media/path.ts";
import { type AppOptions, resolveAppOptions } from "./options.ts";
import { assetRoutes } from "./routes/assets.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { mediaRoutes } from "./routes/media.ts";
import { opsRoutes } from "./routes/ops.ts";
import { pageRoutes } from "./routes/pages.tsx";
import { libraryRoutes } from "./routes/library.ts";

const NOT_FOUND = "404 Not Found";
const NOT_FOUND_HEADERS = {
  "content-type": "text/plain; charset=UTF-8",
  "content-length": String(NOT_FOUND.length),
};

/** Creates the media app for `options.root` (an absolute real path). */
export function createApp(options: AppOptions): Hono {
  const resolved = resolveAppOptions(options);
  // Routing reads the path with the same function as the media, library and ingest routes
  // (Hono's default getPath reads another path from some URLs, e.g. an empty authority).
  const app = new Hono({ getPath: requestPath });
  app.route("/", opsRoutes(resolved));
  // Before media: its catch-all answers PUT/DELETE with 405 when ingest is off.
  if (resolved.ingest) app.route("/", ingestRoutes(resolved, resolved.ingest));
  app.route("/", mediaRoutes(resolved));
  // One library (and probe cache) shared by the JSON API and the web pages.
  const library = new MediaLibrary(resolved.root);
  app.route("/", libraryRoutes(resolved, library));
  app.route("/", pageRoutes(library));
  app.route("/", assetRoutes());
  // Hono answers HEAD with the GET response minus its body; an explicit Content-Length keeps
  // the length GET would get in that answer (RFC 9110 §9.3.2, §8.6) on every server.
  app.notFound(() => new Response(NOT_FOUND, { status: 404, headers: NOT_FOUND_HEADERS }));
  return app;
}

/**
 * The path Hono routes on: {@linkcode rawPathOf} of the URL, undecoded, the same path the routes
 * resolve. Pass it as `new Hono({ getPath: requestPath })` to an app that mounts `createApp`.
 */
export function requestPath(request: Request): string {
  return rawPathOf(request.url);
}
