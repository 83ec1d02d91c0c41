/**
 * `/media/*`: files under the media root with full range semantics (see `src/file_response.ts`)
 * and CORS for browser players (hls.js, MSE) on other origins.
 *
 * - `GET|HEAD /media/<path>` → the file; 400/404 for unsafe or missing paths (`src/media/path.ts`).
 * - `OPTIONS /media/*` → 204 CORS preflight allowing `Range`, `If-Range` and the other
 *   conditional request headers, methods GET, HEAD, OPTIONS; cached by the browser for a day.
 * - Any other method → 405 with `Allow: GET, HEAD, OPTIONS`.
 *
 * Every response carries `Access-Control-Allow-Origin` (option `cors`, default `*`; with a
 * specific origin also `Vary: Origin`) and an explicit `Access-Control-Expose-Headers` list
 * (never `*`, which browsers ignore on credentialed requests).
 *
 * @module
 */
import { Hono } from "hono";
import {
  type EntityResponse,
  type HeaderPair,
  prepareFields,
  textResponse,
  toResponse,
} from "../entity.ts";
import { fileAnswer, type FileResponseOptions } from "../file_response.ts";
import { type FileRoute, withFileRoute } from "../file_route.ts";
import type { HeaderSource } from "../media/conditional.ts";
import { type FileResolution, rawPathOf } from "../media/path.ts";
import type { ResolvedAppOptions } from "../options.ts";
import { MEDIA_MOUNT } from "../settings.ts";

/** URL prefix the media root is served under (re-exported from src/settings.ts). */
export { MEDIA_MOUNT };
import { mayHaveExtra, mediaExtras } from "./media_extras.ts";

/**
 * Headers every media-like response carries (`/media/`, `/hls/`, `/dash/`): CORS for players on
 * other origins (with `Vary: Origin` when one origin is named) and `nosniff`.
 */
export function mediaCorsHeaders(cors: string): Record<string, string> {
  const headers: Record<string, string> = {
    "access-control-allow-origin": cors,
    "access-control-expose-headers": CORS_EXPOSE_HEADERS,
    "x-content-type-options": "nosniff",
  };
  if (cors !== "*") headers["vary"] = "Origin";
  return headers;
}

/** The file-response options of media-like routes, with `headers` on every response. */
export function mediaFileOptions(
  options: ResolvedAppOptions,
  headers: Record<string, string>,
): FileResponseOptions {
  return {
    cacheControl: options.cacheControl,
    maxRanges: options.maxRanges,
    chunkSize: options.streamChunkSize,
    headers,
  };
}

/** Methods `/media/*` answers. */
export const MEDIA_ALLOW = "GET, HEAD, OPTIONS";
/** Request headers a cross-origin player may send (preflight `Access-Control-Allow-Headers`). */
export const CORS_ALLOW_HEADERS =
  "Range, If-Range, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since";
/** Response headers exposed to cross-origin scripts. */
export const CORS_EXPOSE_HEADERS = "Content-Range, Content-Length, Accept-Ranges, ETag";
/** Seconds a browser may cache a preflight answer. */
export const CORS_MAX_AGE = "86400";

/** Body of the 405 answer. */
const NOT_ALLOWED = "method not allowed\n";

/** HLS and DASH playlists: served with `Cache-Control: no-cache`, segments keep the configured one. */
const PLAYLIST = /\.(m3u8|mpd)$/i;

/**
 * Routes serving `options.root` under `/media/` and each `--mount` under its prefix
 * (src/media/mounts.ts), with the prepared file path attached.
 */
export function mediaRoutes(options: ResolvedAppOptions): Hono {
  const mounts = options.mounts;
  // Built once: every media response carries these.
  const corsHeaders = mediaCorsHeaders(options.cors);
  const fileOptions = mediaFileOptions(options, corsHeaders);
  // Live playlists change in place (live ingest); players must revalidate them every time.
  const playlistOptions: FileResponseOptions = { ...fileOptions, cacheControl: "no-cache" };
  const preflightHeaders: Record<string, string> = {
    ...corsHeaders,
    "access-control-allow-methods": MEDIA_ALLOW,
    "access-control-allow-headers": CORS_ALLOW_HEADERS,
    "access-control-max-age": CORS_MAX_AGE,
  };
  const notAllowedHeaders: Record<string, string> = {
    ...corsHeaders,
    "allow": MEDIA_ALLOW,
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(NOT_ALLOWED.length),
  };
  let cors: readonly HeaderPair[] | null = null;

  /** GET/HEAD of a resolved `/media/` path: the one answer both paths give. */
  const answer = (
    method: string,
    resolved: FileResolution,
    headers: HeaderSource,
  ): EntityResponse => {
    if (resolved.kind !== "ok") {
      cors ??= prepareFields(fileOptions).base;
      return resolved.kind === "bad-request"
        ? textResponse(400, "bad request\n", cors)
        : textResponse(404, "not found\n", cors);
    }
    const path = resolved.path;
    // the regular expression only for names ending like .m3u8 / .mpd (most requests are not)
    const last = path.charCodeAt(path.length - 1);
    const playlist = (last === 0x38 || last === 0x64 || last === 0x44) && PLAYLIST.test(path);
    return fileAnswer(
      method,
      headers,
      path,
      resolved.stat,
      playlist ? playlistOptions : fileOptions,
    );
  };

  const app = new Hono();
  // One handler for every method: with a single matching handler Hono's fetch returns the
  // Response synchronously (several matches are composed into an async chain), which saves a
  // promise turn per request.
  for (const { prefix, root, resolver } of mounts.all) {
    const extra = mediaExtras(root, prefix, resolver, fileOptions, options.dirListing);
    app.all(`${prefix}*`, (c) => {
      const request = c.req.raw;
      const method = request.method;
      if (method === "GET" || method === "HEAD") {
        const resolved = resolver.resolveFile(rawPathOf(request.url));
        const extraResponse = mayHaveExtra(resolved, request.url) ? extra(request, resolved) : null;
        if (extraResponse !== null) return extraResponse; // folder listings, .srt as WebVTT
        return toResponse(answer(method, resolved, request.headers));
      }
      if (method === "OPTIONS") {
        return new Response(null, { status: 204, headers: preflightHeaders });
      }
      return new Response(NOT_ALLOWED, { status: 405, headers: notAllowedHeaders });
    });
  }
  const route: FileRoute = {
    answer(request) {
      const method = request.method;
      if (method !== "GET" && method !== "HEAD") return null;
      const target = request.target;
      const path = pathOfTarget(target);
      const mount = mounts.mountFor(path);
      if (mount === undefined) return null;
      const resolved = mount.resolver.resolveFile(path);
      // folder listings and .srt as WebVTT are answered by the app (rare: the file path stays)
      if (mayHaveExtra(resolved, target)) return null;
      return answer(method, resolved, request);
    },
  };
  return withFileRoute(app, route);
}

/** The path of an origin-form request-target: up to `?` or `#`, undecoded. */
function pathOfTarget(target: string): string {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x3f || c === 0x23) return target.slice(0, i);
  }
  return target;
}
