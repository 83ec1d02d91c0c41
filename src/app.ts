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
import { fileRouteOf, withFileRoute } from "./file_route.ts";
import { type AppOptions, resolveAppOptions } from "./options.ts";
import { assetRoutes } from "./routes/assets.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { mediaRoutes } from "./routes/media.ts";
import { opsRoutes } from "./routes/ops.ts";
import { pageRoutes } from "./routes/pages.tsx";
import { libraryRoutes } from "./routes/library.ts";

/** Creates the media app for `options.root` (an absolute real path). */
export function createApp(options: AppOptions): Hono {
  const resolved = resolveAppOptions(options);
  const app = new Hono();
  app.route("/", opsRoutes(resolved));
  // Before media: its catch-all answers PUT/DELETE with 405 when ingest is off.
  if (resolved.ingest) app.route("/", ingestRoutes(resolved, resolved.ingest));
  const media = mediaRoutes(resolved);
  app.route("/", media);
  // the prepared file path for /media/ (GET/HEAD without Hono; see src/file_route.ts)
  const mediaFiles = fileRouteOf(media);
  if (mediaFiles !== undefined) withFileRoute(app, mediaFiles);
  // One library (and probe cache) shared by the JSON API and the web pages.
  const library = new MediaLibrary(resolved.root);
  app.route("/", libraryRoutes(resolved, library));
  app.route("/", pageRoutes(library));
  app.route("/", assetRoutes());
  return app;
}
