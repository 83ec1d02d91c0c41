/** Operational routes: `/healthz` and `/metrics`. @module */
import { Hono } from "hono";
import type { ResolvedAppOptions } from "../options.ts";
import { pathAgrees } from "./path_guard.ts";

/** Routes for health checks and Prometheus metrics. */
export function opsRoutes(options: ResolvedAppOptions): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => pathAgrees(c) ? c.text("ok\n") : c.notFound());
  app.get(
    "/metrics",
    (c) =>
      pathAgrees(c)
        ? c.body(options.metrics.render(), 200, {
          "content-type": "text/plain; version=0.0.4; charset=utf-8",
          "cache-control": "no-store",
        })
        : c.notFound(),
  );
  return app;
}
