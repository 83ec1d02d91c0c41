/** Operational routes: `/healthz` and `/metrics`. @module */
import { Hono } from "hono";
import type { ResolvedAppOptions } from "../options.ts";

/** Routes for health checks and Prometheus metrics. */
export function opsRoutes(options: ResolvedAppOptions): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.text("ok\n"));
  app.get(
    "/metrics",
    (c) =>
      c.body(options.metrics.render(), 200, {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
        "cache-control": "no-store",
      }),
  );
  return app;
}
