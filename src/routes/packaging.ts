/**
 * `/hls/*` and `/dash/*`: every MP4/MOV/M4V/M4A under the media root packaged just in time as
 * CMAF (fMP4) renditions, one per track, sharing one segment map (`src/packaging/`).
 *
 * - `/hls/<file>/master.m3u8` multivariant playlist; `/hls/<file>/<r>.m3u8` media playlists
 * - `/dash/<file>/manifest.mpd` static MPD
 * - `/{hls,dash}/<file>/<r>/init.mp4` init segment; `/{hls,dash}/<file>/<r>/<n>.m4s` media
 *   segment `n` (from 1); `<r>` is `v<track_ID>` or `a<track_ID>`
 *
 * Path rules, CORS, ETag, conditional requests and ranges are those of `/media/`: the file path
 * goes through `MediaPathResolver` (src/media/path.ts), and every body is answered by
 * {@linkcode virtualResponse}. A media segment's body is its header bytes plus slices of the
 * source file, sent with sendfile by the zero-copy engine. 400/404 for bad or missing paths,
 * 415 with a one-line reason for files that cannot be packaged.
 *
 * @module
 */
import { Hono } from "hono";
import { virtualResponse } from "../file_response.ts";
import { strongEtag } from "../media/etag.ts";
import { decodeSegments, rawPathOf } from "../media/path.ts";
import type { ResolvedAppOptions } from "../options.ts";
import { SegmentMapCache } from "../packaging/cache.ts";
import { SegmentCache } from "../packaging/segment_cache.ts";
import { initSegment } from "../packaging/fmp4_init.ts";
import { gathered, isScattered, mediaSegment } from "../packaging/fmp4_segment.ts";
import { PackagingError } from "../packaging/mp4_index.ts";
import {
  dashManifest,
  masterPlaylist,
  mediaPlaylist,
  renditionId,
} from "../packaging/playlists.ts";
import type { SegmentMap, TrackSegments } from "../packaging/segment_map.ts";
import { CORS_ALLOW_HEADERS, CORS_MAX_AGE, mediaCorsHeaders, mediaFileOptions } from "./media.ts";

/** Methods the packaging routes answer. */
const ALLOW = "GET, HEAD, OPTIONS";
/** Source files that are packaged (by extension). */
export const PACKAGEABLE = /\.(mp4|m4v|m4a|mov)$/i;

/** What a request names below the file path. */
type Resource =
  | { kind: "master" }
  | { kind: "mpd" }
  | { kind: "playlist"; rendition: string }
  | { kind: "init"; rendition: string }
  | { kind: "segment"; rendition: string; number: number };

const RENDITION = /^[va][0-9]{1,9}$/;

/** Splits `rest` (below the mount) into the raw file path and the resource, or null. */
function splitResource(rest: string, dash: boolean): { file: string; resource: Resource } | null {
  const slash = rest.lastIndexOf("/");
  if (slash <= 0) return null;
  const last = rest.slice(slash + 1);
  const before = rest.slice(0, slash);
  if (!dash && last === "master.m3u8") return { file: before, resource: { kind: "master" } };
  if (dash && last === "manifest.mpd") return { file: before, resource: { kind: "mpd" } };
  const playlist = /^([va][0-9]{1,9})\.m3u8$/.exec(last);
  if (!dash && playlist) {
    return { file: before, resource: { kind: "playlist", rendition: playlist[1] } };
  }
  const segment = /^([1-9][0-9]{0,8})\.m4s$/.exec(last);
  if (last !== "init.mp4" && segment === null) return null;
  const slash2 = before.lastIndexOf("/");
  if (slash2 <= 0) return null;
  const rendition = before.slice(slash2 + 1);
  if (!RENDITION.test(rendition)) return null;
  const file = before.slice(0, slash2);
  return {
    file,
    resource: segment === null
      ? { kind: "init", rendition }
      : { kind: "segment", rendition, number: Number(segment[1]) },
  };
}

/**
 * Routes serving HLS under `/hls/` and DASH under `/dash/` for the files of `options.root` and
 * of every mount: `<file>` is a library path (`a.mp4` under `--root`, `movies/a.mp4` under the
 * `/movies/` mount; src/media/mounts.ts).
 */
export function packagingRoutes(options: ResolvedAppOptions): Hono {
  const mounts = options.mounts;
  const cache = new SegmentMapCache(options.segmentDurationS);
  const segments = new SegmentCache();
  const corsHeaders = mediaCorsHeaders(options.cors);
  const bodyOptions = mediaFileOptions(options, corsHeaders);
  const preflightHeaders: Record<string, string> = {
    ...corsHeaders,
    "access-control-allow-methods": ALLOW,
    "access-control-allow-headers": CORS_ALLOW_HEADERS,
    "access-control-max-age": CORS_MAX_AGE,
  };
  const text = (status: number, body: string, extra: Record<string, string> = {}) =>
    new Response(body, {
      status,
      headers: { ...corsHeaders, ...extra, "content-type": "text/plain; charset=utf-8" },
    });
  // A short fingerprint of the options that shape the output, part of every ETag.
  const variant = `s${options.segmentDurationS}`;

  const handle = (request: Request, dash: boolean): Response | Promise<Response> => {
    const method = request.method;
    if (method === "OPTIONS") return new Response(null, { status: 204, headers: preflightHeaders });
    if (method !== "GET" && method !== "HEAD") {
      return text(405, "method not allowed\n", { allow: ALLOW });
    }
    const mount = dash ? "/dash/" : "/hls/";
    const raw = rawPathOf(request.url);
    const rest = raw.slice(mount.length);
    // 400 rules first, on the whole path, like /media/
    if (decodeSegments(rest).kind === "bad-request") return text(400, "bad request\n");
    const split = splitResource(rest, dash);
    if (split === null) return text(404, "not found\n");
    const inMount = mounts.byLibraryPath(split.file);
    const resolved = inMount.mount.resolver.resolveFile(inMount.mount.prefix + inMount.rest);
    if (resolved.kind === "bad-request") return text(400, "bad request\n");
    if (resolved.kind === "not-found") return text(404, "not found\n");
    if (!PACKAGEABLE.test(resolved.path)) {
      return text(415, "cannot package: not an MP4, MOV, M4V or M4A file\n");
    }
    const { path, stat } = resolved;
    const answer = (map: SegmentMap): Response => {
      const tag = (suffix: string) =>
        strongEtag(stat.identity).slice(0, -1) + `-${variant}-${suffix}"`;
      const bytesBody = (bytes: Uint8Array, contentType: string, suffix: string) =>
        virtualResponse(request, {
          parts: [bytes],
          byteLength: bytes.byteLength,
          etag: tag(suffix),
          lastModifiedMs: stat.mtimeMs,
          contentType,
        }, bodyOptions);
      const resource = split.resource;
      if (resource.kind === "master") {
        return bytesBody(encoder.encode(masterPlaylist(map)), M3U8, "m");
      }
      if (resource.kind === "mpd") {
        return bytesBody(encoder.encode(dashManifest(map)), MPD, "d");
      }
      const rendition = findRendition(map, resource.rendition);
      if (rendition === undefined) return text(404, "not found\n");
      const id = resource.rendition;
      if (resource.kind === "playlist") {
        return bytesBody(encoder.encode(mediaPlaylist(rendition)), M3U8, id);
      }
      const video = rendition.track.kind === "video";
      if (resource.kind === "init") {
        return bytesBody(
          initSegment(rendition.track, map.index.movieTimescale),
          video ? "video/mp4" : "audio/mp4",
          `${id}-i`,
        );
      }
      const k = resource.number - 1;
      if (k >= rendition.starts.length - 1) return text(404, "not found\n");
      const segment = segments.get(
        `${map.serial}/${id}/${k}/${path}`,
        () => {
          const made = mediaSegment(rendition, k, path, stat.identity);
          // many ~1 KB runs (the audio of a frame-interleaved file): copy them once into memory
          // rather than send each with its own sendfile
          return isScattered(made) ? gathered(made, stat.identity) ?? made : made;
        },
      );
      return virtualResponse(request, {
        parts: segment.parts,
        byteLength: segment.byteLength,
        etag: tag(`${id}-${resource.number}`),
        lastModifiedMs: stat.mtimeMs,
        contentType: SEGMENT,
      }, bodyOptions);
    };
    const failed = (error: unknown): Response => {
      if (error instanceof PackagingError) return text(415, `cannot package: ${error.message}\n`);
      if (error instanceof Deno.errors.NotFound) return text(404, "not found\n");
      throw error;
    };
    let map: SegmentMap | Promise<SegmentMap>;
    try {
      map = cache.get(path, stat.identity);
    } catch (error) {
      return failed(error);
    }
    return map instanceof Promise ? map.then(answer, failed) : answer(map);
  };

  const app = new Hono();
  app.all("/hls/*", (c) => handle(c.req.raw, false));
  app.all("/dash/*", (c) => handle(c.req.raw, true));
  return app;
}

const encoder = new TextEncoder();
const M3U8 = "application/vnd.apple.mpegurl";
const MPD = "application/dash+xml";
const SEGMENT = "video/iso.segment";

/** The rendition named `id` (`v<track>` or `a<track>`) of `map`. */
function findRendition(map: SegmentMap, id: string): TrackSegments | undefined {
  const all = map.video === null ? map.audio : [map.video, ...map.audio];
  return all.find((s) => renditionId(s) === id);
}
