/**
 * The Hono app. It never knows which server runs it: servers call `app.fetch(request)` and look
 * at the returned body (a {@linkcode FileBody} may be sent with sendfile).
 *
 * Each concern is a sub-app in `src/routes/`, mounted here.
 *
 * @module
 */
import { Hono } from "hono";
import { type AppOptions, resolveAppOptions } from "./options.ts";
import { opsRoutes } from "./routes/ops.ts";

/** Creates the media app for `options.root` (an absolute real path). */
export function createApp(options: AppOptions): Hono {
  const resolved = resolveAppOptions(options);
  const app = new Hono();
  app.route("/", opsRoutes(resolved));
  return app;
}
