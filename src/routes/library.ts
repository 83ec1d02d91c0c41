/**
 * `GET /api/library?path=<dir>[&q=<term>][&sort=name|date|duration|size][&order=asc|desc][&all=1]`:
 * the media library as JSON (see `src/library/library.ts` for the entry fields). Without `path`
 * the root is listed; with `q` the directory and its subdirectories are searched by name.
 * Folders first, then by `sort` (default `name`; `order` defaults to `asc` for names and `desc`
 * for the others). Files a playlist of the folder refers to are folded into its entry unless
 * `all=1`.
 *
 * - 200 `{ path, parent, sort, folded, entries }` (plus `query` and `truncated` for a search).
 *   A file that cannot be probed is an entry with an `error` field, never a failed request.
 * - 400 `{ error }` for a path `/media/` would refuse (`..`, `\`, control characters...) or an
 *   unknown `sort`/`order`.
 * - 404 `{ error }` for a missing path, a dotfile, a symlink out of the root, or a non-directory.
 *
 * @module
 */
import { Hono } from "hono";
import type { MediaLibrary } from "../library/library.ts";
import { parseSort } from "../library/sort.ts";
import type { ResolvedAppOptions } from "../options.ts";
import { pathAgrees } from "./path_guard.ts";

/** Routes of the library API over `library`. */
export function libraryRoutes(options: ResolvedAppOptions, library: MediaLibrary): Hono {
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    // Listings change whenever files do; let clients revalidate every time.
    "cache-control": "no-cache",
    "access-control-allow-origin": options.cors,
    "x-content-type-options": "nosniff",
  };
  if (options.cors !== "*") headers["vary"] = "Origin";
  const app = new Hono();
  app.get("/api/library", async (c) => {
    if (!pathAgrees(c)) return c.notFound();
    const path = c.req.query("path") ?? "";
    const query = c.req.query("q")?.trim();
    const sort = parseSort(c.req.query("sort"), c.req.query("order"));
    if (sort === null) {
      const body = JSON.stringify({
        error: "sort must be name, date, duration or size; order asc or desc",
      });
      return new Response(body + "\n", { status: 400, headers });
    }
    const all = c.req.query("all") === "1";
    const result = query
      ? await library.search(path, query, sort)
      : await library.list(path, { sort, all });
    if ("failure" in result) {
      const status = result.failure === "bad-request" ? 400 : 404;
      return new Response(JSON.stringify({ error: result.reason }) + "\n", { status, headers });
    }
    return new Response(JSON.stringify(result) + "\n", { status: 200, headers });
  });
  return app;
}
