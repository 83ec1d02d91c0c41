/**
 * Live ingest: `PUT` and `DELETE` under the ingest prefix (default `/media/live/`), so an encoder
 * (ffmpeg's HLS muxer with `-method PUT`) can publish a live stream that players read with GET
 * while it is written. Mounted only when a token is configured.
 *
 * - Outside the prefix → 403; a malformed path → 400 (the GET rules, `src/media/path.ts`).
 * - Missing or wrong `Authorization: Bearer TOKEN` → 401 with `WWW-Authenticate: Bearer`.
 * - `PUT` writes the body (Content-Length or chunked) to a dotfile temp file next to the target,
 *   then renames it over the target (`src/ingest/atomic_write.ts`): 201 Created for a new file,
 *   204 No Content for a replaced one (RFC 9110 §9.3.4). A body the server can splice
 *   ({@linkcode isSpliceableBody}) moves socket → pipe → file without entering JavaScript;
 *   any other body is streamed chunk by chunk. Larger than `maxBytes` → 413 (up front when
 *   Content-Length says so); no body byte for `idleTimeoutMs` → 408; a dotfile or
 *   dot-directory target → 403; `Content-Range` → 400 (no partial PUT, RFC 9110 §14.4); a
 *   directory where a file or parent directory should be → 409. A failed upload leaves neither
 *   a partial target nor a temp file.
 * - `DELETE` removes a file: 204, or 404 when there is none (directories → 409).
 * - Renames and removals in one directory happen in the order the requests arrived
 *   (`src/ingest/folder_sequence.ts`), so a playlist is never visible before its segments.
 * - Idle live playlists get `#EXT-X-ENDLIST` and their unlisted segments go
 *   (`src/ingest/stale_streams.ts`); temp files a crash left are removed at start.
 *
 * @module
 */
import { Hono } from "hono";
import { replaceFileAtomically } from "../ingest/atomic_write.ts";
import { BearerAuth, bearerChallenge } from "../ingest/auth.ts";
import { FolderSequencer } from "../ingest/folder_sequence.ts";
import { StaleStreams } from "../ingest/stale_streams.ts";
import { streamBodyToFile } from "../ingest/stream_to_file.ts";
import { removeTempFiles } from "../ingest/temp_cleanup.ts";
import {
  isHiddenSegment,
  lstatOrNull,
  openDirectory,
  UploadPaths,
} from "../ingest/upload_target.ts";
import { rawPathOf } from "../media/path.ts";
import type { IngestPath } from "../metrics.ts";
import type { IngestOptions, ResolvedAppOptions } from "../options.ts";
import {
  BodyAbortedError,
  BodyTimeoutError,
  type BodyToFileOptions,
  BodyTooLargeError,
  isSpliceableBody,
} from "../request_body.ts";
import { MEDIA_MOUNT, SETTINGS } from "../settings.ts";

/** Default {@linkcode IngestOptions.prefix}. */
export const DEFAULT_INGEST_PREFIX: string = SETTINGS.ingestPrefix.default;
/** Default {@linkcode IngestOptions.maxBytes}: 1 GiB. */
export const DEFAULT_INGEST_MAX_BYTES: number = SETTINGS.ingestMaxBytes.default;
/** Default {@linkcode IngestOptions.idleTimeoutMs}. */
export const DEFAULT_INGEST_IDLE_TIMEOUT_MS: number = SETTINGS.ingestIdleTimeoutMs.default;
/** Default {@linkcode IngestOptions.staleAfterMs}. */
export const DEFAULT_INGEST_STALE_AFTER_MS: number = SETTINGS.ingestStaleAfterMs.default;

/** The stale-stream sweep interval for `staleAfterMs` (as in StaleStreams.start). */
function staleSweepMs(staleAfterMs: number): number {
  return Math.min(5000, Math.max(50, Math.floor(staleAfterMs / 4)));
}

/** Routes for PUT/DELETE under `ingest.prefix`, authorised by `ingest.token` (non-empty). */
export function ingestRoutes(options: ResolvedAppOptions, ingest: IngestOptions): Hono {
  if (ingest.token === "") throw new TypeError("ingest needs a non-empty token");
  const prefix = ingest.prefix ?? DEFAULT_INGEST_PREFIX;
  // The prefix lies under `/media/` or a `--mount`: uploads go to that mount's directory.
  const mount = options.mounts.resolveMount(prefix)?.mount;
  if (mount === undefined) {
    throw new RangeError(`ingest prefix ${prefix} is under no mount (${MEDIA_MOUNT} or --mount)`);
  }
  const root = mount.root;
  const metrics = options.metrics;
  const auth = new BearerAuth(ingest.token);
  const paths = new UploadPaths(mount.prefix, prefix);
  const limits: BodyToFileOptions = {
    maxBytes: ingest.maxBytes ?? DEFAULT_INGEST_MAX_BYTES,
    idleTimeoutMs: ingest.idleTimeoutMs ?? DEFAULT_INGEST_IDLE_TIMEOUT_MS,
  };
  const fsync = ingest.fsync ?? SETTINGS.ingestFsync.default;
  const sequencer = ingest.sequencer ?? new FolderSequencer();
  const prefixDir = openDirectory(root, paths.prefixSegments, false);
  if (prefixDir.kind === "ok" && ingest.removeLeftovers !== false) removeTempFiles(prefixDir.dir);
  const staleAfterMs = ingest.staleAfterMs ?? DEFAULT_INGEST_STALE_AFTER_MS;
  const stale = staleAfterMs > 0 && ingest.signal?.aborted !== true
    ? new StaleStreams({ root, mount: mount.prefix, staleAfterMs, fsync, sequencer })
    : undefined;
  if (stale !== undefined) {
    if (prefixDir.kind === "ok") stale.noteTree(prefixDir.dir);
    stale.start(ingest.signal);
    if (ingest.rescanTree && prefixDir.kind === "ok") {
      // other processes' uploads are not seen by noteUpload: look for their playlists too
      const rescan = setInterval(() => stale.noteTree(prefixDir.dir), staleSweepMs(staleAfterMs));
      Deno.unrefTimer(rescan);
      ingest.signal?.addEventListener("abort", () => clearInterval(rescan), { once: true });
    }
  }

  /** Path and authorisation checks shared by PUT and DELETE; a Response means "stop here". */
  const admit = (request: Request): readonly string[] | Response => {
    const path = paths.parse(rawPathOf(request.url));
    if (path.kind === "outside") return text(403, "forbidden: outside the ingest prefix\n");
    if (path.kind === "bad-request") return text(400, "bad request\n");
    const check = auth.check(request.headers.get("authorization"));
    if (check !== "ok") {
      return text(401, "unauthorized\n", { "www-authenticate": bearerChallenge(check) });
    }
    return path.segments;
  };

  const app = new Hono();

  app.put(`${mount.prefix}*`, async (c) => {
    const request = c.req.raw;
    const segments = admit(request);
    if (segments instanceof Response) return segments;
    const name = segments[segments.length - 1];
    if (name === "") return text(400, "bad request: upload target must name a file\n");
    if (segments.some(isHiddenSegment)) return text(403, "forbidden: hidden file name\n");
    if (request.headers.has("content-range")) {
      return text(400, "bad request: partial PUT (Content-Range) is not supported\n");
    }
    const declared = request.headers.get("content-length");
    const contentLength = declared === null ? undefined : Number(declared);
    if (contentLength !== undefined && contentLength > limits.maxBytes) {
      return tooLarge(limits.maxBytes);
    }

    // No await before the body is read: see src/ingest/stream_to_file.ts.
    const lookup = openDirectory(root, segments.slice(0, -1), true);
    if (lookup.kind === "forbidden") return text(403, "forbidden: directory leaves the root\n");
    if (lookup.kind !== "ok") return text(409, "conflict: a parent is not a directory\n");
    const existing = lstatOrNull(`${lookup.dir}/${name}`);
    if (existing?.isDirectory) return text(409, "conflict: target is a directory\n");
    // Taken in arrival order, before any await: see src/ingest/folder_sequence.ts.
    const ticket = sequencer.enter(lookup.dir, { name, op: "put" });

    const body = request.body;
    const spliceable = isSpliceableBody(body);
    const via: IngestPath = spliceable ? "splice" : "stream";
    const write = spliceable
      ? (temp: string) => body.spliceToFile(temp, limits)
      : (temp: string) => streamBodyToFile(body, temp, { ...limits, contentLength });
    try {
      const result = await replaceFileAtomically(lookup.dir, name, write, {
        fsync,
        beforeRename: (temp) => ticket.turn(limits.idleTimeoutMs, temp),
        settled: ticket.settle,
      });
      stale?.noteUpload(lookup.dir);
      metrics.uploadsCompleted++;
      metrics.bytesIngested[via] += result.bytes;
      return new Response(null, { status: result.replaced ? 204 : 201 });
    } catch (error) {
      metrics.uploadsAborted++;
      return uploadFailed(error);
    }
  });

  app.delete(`${mount.prefix}*`, async (c) => {
    const segments = admit(c.req.raw);
    if (segments instanceof Response) return segments;
    const name = segments[segments.length - 1];
    // Hidden names and directories are never served by GET, so for DELETE they do not exist.
    if (name === "" || segments.some(isHiddenSegment)) return text(404, "not found\n");
    const lookup = openDirectory(root, segments.slice(0, -1), false);
    if (lookup.kind !== "ok") return text(404, "not found\n");
    const target = `${lookup.dir}/${name}`;
    // A DELETE waits its turn too: ffmpeg deletes a segment after PUTting the playlist that
    // stops listing it, and that playlist must be visible first (src/ingest/folder_sequence.ts).
    const ticket = sequencer.enter(lookup.dir, { name, op: "delete" });
    try {
      await ticket.turn(limits.idleTimeoutMs);
      const existing = lstatOrNull(target);
      if (existing === null) return text(404, "not found\n");
      if (existing.isDirectory) return text(409, "conflict: target is a directory\n");
      await Deno.remove(target);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return text(404, "not found\n");
      throw error;
    } finally {
      ticket.settle();
    }
    return new Response(null, { status: 204 });
  });

  return app;
}

/** Maps a failed upload to its response. */
function uploadFailed(error: unknown): Response {
  if (error instanceof BodyTooLargeError) return tooLarge(error.limit);
  if (error instanceof BodyTimeoutError) {
    // RFC 9110 §15.5.9: a 408 SHOULD carry the `close` option; the body is not read further.
    return text(408, "request timeout: upload idle\n", { connection: "close" });
  }
  // The client went away or sent a broken body: the answer most likely reaches nobody.
  if (error instanceof BodyAbortedError) return text(400, "bad request: upload interrupted\n");
  console.error(`zerocast: upload failed: ${error instanceof Error ? error.stack : error}`);
  return text(500, "internal server error: upload failed\n");
}

/** 413 with `Connection: close`: the rest of the body is not read (RFC 9110 §15.5.14). */
function tooLarge(limit: number): Response {
  return text(413, `content too large: the limit is ${limit} bytes\n`, { connection: "close" });
}

/** A short plain-text response. */
function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { ...headers, "content-type": "text/plain; charset=utf-8" },
  });
}
