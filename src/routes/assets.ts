/**
 * `/assets/*`: the static files of the web pages, served by this server (never a CDN, so the
 * pages make no external requests): `hls.min.js` from the npm package `hls.js` in Deno's npm
 * cache, and the page's own `player.js` and `style.css` from `src/web/`. Answered with
 * `fileResponse` (ETag, ranges, 304; sendfile on the zero-copy engine).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { pathAgrees } from "./path_guard.ts";
import { fileResponse, type FileResponseOptions } from "../file_response.ts";

/** URL prefix of the page assets. */
export const ASSETS_PREFIX = "/assets/";

/**
 * Never executed: a literal dynamic import puts `hls.js` into the module graph, so `deno run`
 * installs the package into the npm cache where `import.meta.resolve` below points.
 */
export function loadHlsModule(): Promise<unknown> {
  return import("hls.js");
}

/** Absolute paths of the served assets by file name. */
export function assetPaths(): ReadonlyMap<string, string> {
  const local = (name: string) => fileURLToPath(new URL(`../web/${name}`, import.meta.url));
  return new Map([
    ["hls.min.js", fileURLToPath(import.meta.resolve("hls.js/dist/hls.min.js"))],
    ["player.js", local("player.js")],
    ["style.css", local("style.css")],
  ]);
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** Routes serving the page assets. */
export function assetRoutes(): Hono {
  const paths = assetPaths();
  const app = new Hono();
  app.on(["GET", "HEAD"], `${ASSETS_PREFIX}:name`, (c) => {
    if (!pathAgrees(c)) return c.notFound();
    const name = c.req.param("name");
    const path = paths.get(name);
    if (path === undefined) return c.text("not found\n", 404);
    const options: FileResponseOptions = {
      contentType: CONTENT_TYPES[name.slice(name.lastIndexOf(".") + 1)],
      // Revalidate each time (cheap with the strong ETag), so an upgrade is picked up at once.
      cacheControl: "no-cache",
      headers: { "x-content-type-options": "nosniff" },
    };
    return fileResponse(c, path, options);
  });
  return app;
}
