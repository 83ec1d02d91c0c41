/**
 * `/assets/*`: the static files of the web pages, served by this server (never a CDN, so the
 * pages make no external requests): `hls.min.js` from the npm package `hls.js` in Deno's npm
 * cache, `dash.all.min.js` from the npm package `dashjs`, and the pages' own `player.js`,
 * `library.js` and `style.css` from `src/web/`.
 *
 * Pages link `/assets/<name>?v=<content hash>` (see `asset_store.ts`): that URL is cached for a
 * year (`immutable`); other URLs of an asset revalidate (`no-cache`). Bodies are sent Brotli- or
 * gzip-compressed when `Accept-Encoding` allows, with `Vary: Accept-Encoding` and an ETag per
 * encoding; conditional requests (304), ranges and HEAD work as for media files.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { pathAgrees } from "./path_guard.ts";
import { type FileResponseOptions, virtualResponse } from "../file_response.ts";
import { AssetStore, chooseEncoding, IMMUTABLE } from "./asset_store.ts";

/** URL prefix of the page assets. */
export const ASSETS_PREFIX = "/assets/";

/**
 * Never executed: a literal dynamic import puts `hls.js` into the module graph, so `deno run`
 * installs the package into the npm cache where `import.meta.resolve` below points.
 */
export function loadHlsModule(): Promise<unknown> {
  return import("hls.js");
}

/** Never executed: puts `dashjs` into the module graph, like {@linkcode loadHlsModule}. */
export function loadDashModule(): Promise<unknown> {
  return import("dashjs");
}

/** Absolute paths of the served assets by file name. */
export function assetPaths(): ReadonlyMap<string, string> {
  const local = (name: string) => fileURLToPath(new URL(`../web/${name}`, import.meta.url));
  return new Map([
    ["hls.min.js", fileURLToPath(import.meta.resolve("hls.js/dist/hls.min.js"))],
    // the package's exports map names only its ESM build; the UMD build (a plain script) sits
    // next to it
    ["dash.all.min.js", fileURLToPath(import.meta.resolve("dashjs").replace("/esm/", "/umd/"))],
    ["player.js", local("player.js")],
    ["library.js", local("library.js")],
    ["style.css", local("style.css")],
  ]);
}

/** The assets of this process, shared by the asset routes and the pages that link them. */
export const pageAssets: AssetStore = new AssetStore(assetPaths());

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** Routes serving the page assets. */
export function assetRoutes(store: AssetStore = pageAssets): Hono {
  const app = new Hono();
  app.on(["GET", "HEAD"], `${ASSETS_PREFIX}:name`, async (c) => {
    if (!pathAgrees(c)) return c.notFound();
    const name = c.req.param("name");
    const asset = store.has(name) ? await store.get(name) : null;
    if (asset === null) return c.text("not found\n", 404);
    const request = c.req.raw;
    const accept = request.headers.get("accept-encoding");
    const encoding = chooseEncoding(accept, asset.identity, await asset.compressed);
    const headers: Record<string, string> = {
      "x-content-type-options": "nosniff",
      "vary": "Accept-Encoding",
    };
    if (encoding.coding !== undefined) headers["content-encoding"] = encoding.coding;
    const options: FileResponseOptions = {
      // The versioned URL names exactly this content; others revalidate (cheap with the ETag).
      cacheControl: c.req.query("v") === asset.version ? IMMUTABLE : "no-cache",
      headers,
    };
    return virtualResponse(request, {
      parts: [encoding.bytes],
      byteLength: encoding.bytes.byteLength,
      etag: encoding.etag,
      lastModifiedMs: asset.mtimeMs,
      contentType: CONTENT_TYPES[name.slice(name.lastIndexOf(".") + 1)],
    }, options);
  });
  return app;
}
