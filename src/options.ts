/**
 * Options of the Hono app. The CLI builds them from flags; a library user passes them to
 * {@linkcode createApp}. Defaults come from the settings table (src/settings.ts).
 *
 * @module
 */
import { Metrics } from "./metrics.ts";
import type { FolderSequencer } from "./ingest/folder_sequence.ts";
import { SETTINGS } from "./settings.ts";
import { AccessGate, SIGNED_FAMILIES } from "./auth/gate.ts";
import { BasicAuth, parseBasicAuth } from "./auth/basic_auth.ts";
import { signKeyBytes } from "./auth/signed_url.ts";
import { Mounts, type MountSpec } from "./media/mounts.ts";

/** Options of {@linkcode createApp}. */
export interface AppOptions {
  /** Media root directory; served under `/media/`. */
  readonly root: string;
  /**
   * More roots, each served like `root` under `/<name>/` (`--mount`); names are one URL path
   * segment and must not be a built-in route's (default: none).
   */
  readonly mounts?: readonly MountSpec[];
  /** `Access-Control-Allow-Origin` value for media responses (default `*`). */
  readonly cors?: string;
  /** `Cache-Control` value for media responses (default: none sent). */
  readonly cacheControl?: string;
  /** Most ranges served as multipart/byteranges before answering 200 with the whole file (default 16). */
  readonly maxRanges?: number;
  /** Bytes read per pull when a file body is streamed (default 65536). */
  readonly streamChunkSize?: number;
  /** Counters rendered at `/metrics` (default: a new, private instance). */
  readonly metrics?: Metrics;
  /** Target HLS/DASH segment duration in seconds (default 6). */
  readonly segmentDurationS?: number;
  /** Live ingest (PUT/DELETE); off unless a token is set. */
  readonly ingest?: IngestOptions;
  /**
   * Key of signed paths (`/s/<exp>.<depth>.<sig>/…`, at least 16 bytes): media, `/hls/` and
   * `/dash/` then need a signature, and the pages and API a login (default: off).
   */
  readonly signKey?: string | Uint8Array;
  /** `USER:pbkdf2-sha256$…` (from `deno task passwd`): a login for everything but the open routes. */
  readonly basicAuth?: string;
  /** Folder listings at `/media/<dir>/` (default true; `--no-dir-listing`). */
  readonly dirListing?: boolean;
  /** Folder of the poster (frame grab) cache (default: `zerocast-posters` in the OS temp dir). */
  readonly posterCache?: string;
}

/** Options of live ingest (issue: live ingest). */
export interface IngestOptions {
  /** Bearer token that authorises PUT and DELETE. Ingest is off without one. */
  readonly token: string;
  /** URL prefix under which uploads are allowed (default `/media/live/`). */
  readonly prefix?: string;
  /** Largest upload in bytes (default 1 GiB). */
  readonly maxBytes?: number;
  /** Idle time after which an upload is aborted, in ms (default 30000). */
  readonly idleTimeoutMs?: number;
  /** fsync each upload before renaming it into place (default true). */
  readonly fsync?: boolean;
  /**
   * A live playlist with no upload for this long gets `#EXT-X-ENDLIST`, and later its unlisted
   * segments are removed, in ms (default 60000; 0 = off). See `src/ingest/stale_streams.ts`.
   */
  readonly staleAfterMs?: number;
  /** Stops the stale-stream timer when aborted (pass one to shut the app down cleanly). */
  readonly signal?: AbortSignal;
  /** Commit order of uploads (default: one per app; workers share one across processes). */
  readonly sequencer?: FolderSequencer;
  /** Uploads also arrive through other processes: the sweeper re-scans the tree (default false). */
  readonly rescanTree?: boolean;
  /** Remove upload temp files left by a crash when the app starts (default true). */
  readonly removeLeftovers?: boolean;
}

/** Options with every default filled in. */
export interface ResolvedAppOptions {
  readonly root: string;
  /** `root` under `/media/` and the other mounts; every route resolves its root here. */
  readonly mounts: Mounts;
  readonly cors: string;
  readonly cacheControl: string | undefined;
  readonly maxRanges: number;
  readonly streamChunkSize: number;
  readonly metrics: Metrics;
  readonly segmentDurationS: number;
  readonly ingest: IngestOptions | undefined;
  /** Who may watch (signed paths, login); undefined when neither is set. */
  readonly access: AccessGate | undefined;
  readonly dirListing: boolean;
  readonly posterCache: string | undefined;
}

/** Fills in defaults from the settings table; `root` must already be an absolute real path. Throws RangeError on a bad key or login. */
export function resolveAppOptions(options: AppOptions): ResolvedAppOptions {
  const cors = options.cors ?? SETTINGS.cors.default;
  const mounts = new Mounts(options.root, options.mounts);
  return {
    root: options.root,
    mounts,
    cors,
    cacheControl: options.cacheControl,
    maxRanges: options.maxRanges ?? SETTINGS.maxRanges.default,
    streamChunkSize: options.streamChunkSize ?? SETTINGS.streamChunkSize.default,
    metrics: options.metrics ?? new Metrics(),
    segmentDurationS: options.segmentDurationS ?? SETTINGS.segmentDuration.default,
    ingest: options.ingest,
    access: accessGate(options, cors, mounts),
    dirListing: options.dirListing ?? SETTINGS.dirListing.default,
    posterCache: options.posterCache,
  };
}

/** The gate for `signKey`/`basicAuth`, or undefined when neither is set. */
function accessGate(options: AppOptions, cors: string, mounts: Mounts): AccessGate | undefined {
  if (options.signKey === undefined && options.basicAuth === undefined) return undefined;
  let basicAuth: BasicAuth | undefined;
  if (options.basicAuth !== undefined) {
    const credential = parseBasicAuth(options.basicAuth);
    if (typeof credential === "string") throw new RangeError(`basicAuth: ${credential}`);
    basicAuth = new BasicAuth(credential);
  }
  const signKey = options.signKey === undefined ? undefined : signKeyBytes(options.signKey);
  const families = [...SIGNED_FAMILIES, ...mounts.extra.map((m) => m.prefix)];
  return new AccessGate({ signKey, basicAuth, cors, families });
}
