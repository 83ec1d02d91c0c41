/**
 * Stats a file into the {@linkcode FileIdentity} that ETags, response headers and cached file
 * descriptors are keyed on.
 *
 * Two sources, chosen once per process:
 * - With FFI allowed on Linux x86_64 (as `deno task serve` runs): `statx(2)` through libc
 *   (`ffi/statx.ts`). It is the only source of the modification time in nanoseconds, so the
 *   ETag changes even for two same-size writes within one millisecond, and it costs ~1.7 µs here
 *   against ~2.7 µs for `Deno.statSync`.
 * - Otherwise `Deno.statSync` (~3 µs; the async `Deno.stat` costs ~110 µs, too much for every
 *   media request). Neither it nor `node:fs` (`bigint: true` included) gives more than
 *   millisecond mtime in Deno 2.9, so `mtimeNs = mtimeMs * 1e6` there.
 *
 * ETags therefore differ between a process with FFI and one without; within one process (both
 * engines run the same app) they are stable.
 *
 * A server may open a *stat window* ({@linkcode openStatWindow}) around a stretch of synchronous
 * work that answers requests it has already read: inside it, one stat per path is shared by
 * every request. The zero-copy engine reads all ready sockets of a batch first and answers their
 * file requests afterwards, in one window, so 32 clients reading the same file cost one `statx`
 * per batch instead of 32. It cannot serve a stale version to anyone who could know better: each
 * request in the window was received before the stat it is answered from was taken (the engine
 * calls {@linkcode statsMayHaveChanged} after every socket read that returns data), so any change
 * a client saw happen before it sent its request is visible, as with a stat per request. A
 * version mismatch found later (the open finds another file) also empties the window.
 *
 * @module
 */
import type { FileIdentity } from "../file_body.ts";
import { S_IFMT, S_IFREG, statx } from "../../ffi/statx.ts";
import { libcAvailable } from "../../ffi/libc.ts";

/** The stat facts a file response needs. */
export interface FileStat {
  /** dev, ino, size, mtimeNs. */
  readonly identity: FileIdentity;
  /** Modification time in milliseconds since the epoch. */
  readonly mtimeMs: number;
  /** True for a regular file (symlinks already followed). */
  readonly isFile: boolean;
}

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

/** Which stat source this process uses: `"statx"` (ns mtime) or `"deno"` (ms mtime). */
export const STAT_SOURCE: "statx" | "deno" = chooseSource();

function chooseSource(): "statx" | "deno" {
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return "deno";
    return libcAvailable() ? "statx" : "deno";
  } catch {
    return "deno";
  }
}

/** Stat results shared inside the open window, by path (null: missing or not stat-able). */
const shared = new Map<string, FileStat | null>();
let windowOpen = false;

/** Opens a stat window: until {@linkcode closeStatWindow}, each path is stat'ed once. */
export function openStatWindow(): void {
  windowOpen = true;
}

/** Closes the stat window and forgets what it shared. */
export function closeStatWindow(): void {
  windowOpen = false;
  if (shared.size > 0) shared.clear();
}

/** New requests were read, or a file was found changed: stats taken so far are not shared. */
export function statsMayHaveChanged(): void {
  if (shared.size > 0) shared.clear();
}

/** Stats `path` (following symlinks); returns null when it does not exist or cannot be stat'ed. */
export function statFile(path: string): FileStat | null {
  if (windowOpen) {
    const hit = shared.get(path);
    if (hit !== undefined) return hit;
    const stat = STAT_SOURCE === "statx" ? statWithStatx(path) : statWithDeno(path);
    shared.set(path, stat);
    return stat;
  }
  return STAT_SOURCE === "statx" ? statWithStatx(path) : statWithDeno(path);
}

function statWithStatx(path: string): FileStat | null {
  const st = statx(path);
  if (st === null) return null;
  return {
    identity: {
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      mtimeNs: BigInt(st.mtimeSec) * NS_PER_S + BigInt(st.mtimeNsec),
    },
    mtimeMs: st.mtimeSec * 1000 + Math.floor(st.mtimeNsec / 1_000_000),
    isFile: (st.mode & S_IFMT) === S_IFREG,
  };
}

function statWithDeno(path: string): FileStat | null {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return null;
  }
  const mtimeMs = info.mtime?.getTime() ?? 0;
  return {
    identity: {
      dev: info.dev,
      ino: info.ino ?? 0,
      size: info.size,
      mtimeNs: BigInt(mtimeMs) * NS_PER_MS,
    },
    mtimeMs,
    isFile: info.isFile,
  };
}
