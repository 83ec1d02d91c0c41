/**
 * `GET|HEAD /poster?path=<file>[&v=<version>]`: the poster (a JPEG frame grab) of a video in the
 * library, made in the background by `src/library/posters.ts`.
 *
 * - Ready: the JPEG (`image/jpeg`, strong ETag, 304, ranges). With `v` equal to the file's
 *   current {@linkcode posterVersion} (what the pages link) it is cached for a year
 *   (`immutable`): a changed file gets a new `v`. Without `v`, `no-cache`.
 * - Not made yet: a neutral SVG placeholder with `Cache-Control: no-store`, so the next page
 *   load (or the library page's script, which polls with HEAD) gets the real one.
 * - No poster possible (no ffmpeg on PATH, not a video, ffmpeg failed): the placeholder,
 *   `no-cache` with an ETag.
 *
 * The `X-Poster` header says which (`ready`, `pending`, `unavailable`). The path follows the
 * library's rules (`MediaPathResolver`): 400 for a bad path, 404 for a missing file.
 *
 * @module
 */
import { Hono } from "hono";
import { fileResponse, virtualResponse } from "../file_response.ts";
import type { FileEntry, MediaLibrary } from "../library/library.ts";
import type { PosterStore } from "../library/posters.ts";
import { statFile } from "../media/stat.ts";
import { IMMUTABLE } from "./asset_store.ts";
import { pathAgrees } from "./path_guard.ts";

/** The placeholder: a grey 16:9 frame with a play mark. */
export const PLACEHOLDER_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180" viewBox="0 0 320 180">` +
  `<rect width="320" height="180" fill="#8a9099" fill-opacity="0.25"/>` +
  `<path d="M140 65v50l42-25z" fill="#8a9099" fill-opacity="0.8"/></svg>\n`;

const PLACEHOLDER = new TextEncoder().encode(PLACEHOLDER_SVG);
const PLACEHOLDER_ETAG = `"placeholder-${PLACEHOLDER.byteLength.toString(16)}"`;

/** True for entries that get a poster: video files (not segments) and HLS playlists. */
export function hasPoster(entry: FileEntry): boolean {
  if (entry.kind === "stream") return true;
  if (entry.contentType === "video/mp2t" || entry.contentType === "video/iso.segment") return false;
  return entry.contentType.startsWith("video/");
}

/** Version of a file's poster as the pages link it: size and mtime in base 36. */
export function posterVersion(entry: Pick<FileEntry, "size" | "mtime">): string {
  return `${entry.size.toString(36)}-${Date.parse(entry.mtime).toString(36)}`;
}

/** The URL of the poster of `entry`. */
export function posterHref(entry: Pick<FileEntry, "path" | "size" | "mtime">): string {
  return `/poster?${new URLSearchParams({ path: entry.path, v: posterVersion(entry) })}`;
}

/** Routes serving posters of `library`'s files from `posters`. */
export function posterRoutes(library: MediaLibrary, posters: PosterStore): Hono {
  const app = new Hono();
  app.on(["GET", "HEAD"], "/poster", async (c) => {
    if (!pathAgrees(c)) return c.notFound();
    const request = c.req.raw;
    const path = c.req.query("path") ?? "";
    const entry = await library.file(path);
    if ("failure" in entry) {
      const status = entry.failure === "bad-request" ? 400 : 404;
      return c.text(status === 400 ? "bad request\n" : "not found\n", status);
    }
    if (!hasPoster(entry)) return placeholder(request, "unavailable");
    const resolved = library.resolve(entry.path);
    const stat = "failure" in resolved ? null : statFile(resolved.real);
    if ("failure" in resolved || stat === null || !stat.isFile) {
      return c.text("not found\n", 404);
    }
    const state = await posters.lookup(resolved.real, stat.identity, entry.duration);
    if (state.kind !== "ready") return placeholder(request, state.kind);
    return fileResponse(request, state.path, {
      contentType: "image/jpeg",
      cacheControl: c.req.query("v") === posterVersion(entry) ? IMMUTABLE : "no-cache",
      headers: { "x-poster": "ready", "x-content-type-options": "nosniff" },
    });
  });
  return app;
}

function placeholder(request: Request, state: "pending" | "unavailable"): Response {
  return virtualResponse(request, {
    parts: [PLACEHOLDER],
    byteLength: PLACEHOLDER.byteLength,
    etag: PLACEHOLDER_ETAG,
    lastModifiedMs: 0,
    contentType: "image/svg+xml",
  }, {
    cacheControl: state === "pending" ? "no-store" : "no-cache",
    headers: { "x-poster": state, "x-content-type-options": "nosniff" },
  });
}
