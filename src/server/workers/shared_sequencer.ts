/**
 * The per-folder commit order of uploads (src/ingest/folder_sequence.ts) across worker
 * processes. With `--workers N`, consecutive PUTs of one ffmpeg publisher (a segment, then the
 * playlist that lists it) can reach different workers, and the in-process order alone cannot
 * keep the playlist from becoming visible before its segment.
 *
 * Two rules, both bounded by the same limit as the in-process wait:
 *
 * 1. **Arrival order.** Each upload or DELETE leaves a marker file, named by the time its head was
 *    handled on the machine-wide monotonic clock (then a per-process counter, its kind and the
 *    pid), in a directory per target folder under a directory the supervisor owns (/dev/shm). A
 *    playlist PUT or a DELETE waits until no marker that sorts before its own remains; any other
 *    PUT (a segment) waits only for earlier segment PUTs, never for a playlist or a DELETE, so
 *    the waits of rule 2, which wait for segments, can never wait in a circle. Markers are
 *    removed when their upload settles; those of processes that died are ignored and removed, so
 *    a crash never blocks a folder. Markers order the uploads of this process too.
 * 2. **What a playlist lists.** Arrival order is measured when a worker reads the request head,
 *    and the worker that got the segment may read it later than another worker reads the
 *    playlist sent after it. So a playlist (`.m3u8`) is renamed into place only once every file
 *    it newly lists in its folder (segments, `#EXT-X-MAP` init segments, variant playlists; not
 *    those the version it replaces listed already) exists, and
 *    a DELETE waits while a visible playlist of the folder still lists the file (ffmpeg's
 *    `delete_segments` sends it right after the playlist that stops listing it). These waits end
 *    after {@linkcode CONTENT_WAIT_MS} at most: a playlist that lists a file nobody uploads is
 *    still published, a file a publisher deletes while listing it is still deleted.
 *
 * @module
 */
import {
  type FolderEntry,
  FolderSequencer,
  type FolderTicket,
} from "../../ingest/folder_sequence.ts";
import { monotonicNs } from "./shm.ts";

/** Poll interval while an earlier upload of another worker is still open. */
const POLL_MS = 2;
/** Longest wait for the files a playlist lists (or for a playlist to stop listing a file). */
export const CONTENT_WAIT_MS = 2_000;
/** Playlists larger than this are not inspected. */
const MAX_PLAYLIST_BYTES = 4 * 1024 * 1024;

/** A {@linkcode FolderSequencer} whose order holds across the processes sharing `root`. */
export class SharedFolderSequencer extends FolderSequencer {
  readonly #root: string;
  #counter = 0;

  /** Uses `root` (an existing directory every worker can write) for the markers. */
  constructor(root: string) {
    super();
    this.#root = root;
  }

  /** Takes the next ticket for `dir`, in this process and across the others. */
  override enter(dir: string, entry?: FolderEntry): FolderTicket {
    const kind = markerKind(entry);
    let marker: string | undefined;
    let folder: string | undefined;
    let mine = "";
    try {
      const info = Deno.statSync(dir);
      folder = `${this.#root}/${info.dev}-${info.ino}`;
      Deno.mkdirSync(folder, { recursive: true });
      mine = `${monotonicNs().toString().padStart(20, "0")}-` +
        `${(this.#counter++).toString().padStart(12, "0")}-${kind}-${Deno.pid}`;
      marker = `${folder}/${mine}`;
      Deno.writeFileSync(marker, new Uint8Array(0));
    } catch (error) {
      // without a marker this upload is ordered within its process only
      console.error(`zerocast: upload order marker for ${dir}: ${error}`);
      marker = undefined;
    }
    let settled = false;
    return {
      turn: async (limitMs, temp) => {
        const deadline = Date.now() + limitMs;
        if (marker !== undefined && folder !== undefined) {
          const waitFor = kind === "f" ? SEGMENT_ONLY : ALL_KINDS;
          if (!(await until(() => !hasEarlier(folder, mine, waitFor), deadline))) return false;
        }
        const contentDeadline = Math.min(deadline, Date.now() + CONTENT_WAIT_MS);
        if (entry?.op === "put" && temp !== undefined && entry.name.endsWith(".m3u8")) {
          // Only what this version adds: files the visible version lists were waited for then.
          const visible = new Set(listedFiles(readSmall(`${dir}/${entry.name}`) ?? "", dir));
          const added = listedFiles(readSmall(temp) ?? "", dir).filter((f) => !visible.has(f));
          return await until(() => added.every(exists), contentDeadline);
        }
        if (entry?.op === "delete" && !entry.name.endsWith(".m3u8")) {
          return await until(() => !listedByVisiblePlaylist(dir, entry.name), contentDeadline);
        }
        return true;
      },
      settle: () => {
        if (settled) return;
        settled = true;
        if (marker !== undefined) {
          try {
            Deno.removeSync(marker);
          } catch { /* already gone */ }
        }
      },
    };
  }
}

/** Polls `done` until it is true (→ true) or `deadline` passes (→ false). */
async function until(done: () => boolean, deadline: number): Promise<boolean> {
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}

/** Marker kinds: `p` playlist PUT, `f` other PUT, `d` DELETE (or a rewrite by the sweeper). */
type MarkerKind = "p" | "f" | "d";
const ALL_KINDS: ReadonlySet<string> = new Set(["p", "f", "d"]);
const SEGMENT_ONLY: ReadonlySet<string> = new Set(["f"]);

function markerKind(entry: FolderEntry | undefined): MarkerKind {
  if (entry === undefined) return "d"; // the stale-stream sweeper: ordered like a DELETE
  if (entry.op === "delete") return "d";
  return entry.name.endsWith(".m3u8") ? "p" : "f";
}

/** True when a live process's marker of one of `kinds` in `folder` sorts before `mine`. */
function hasEarlier(folder: string, mine: string, kinds: ReadonlySet<string>): boolean {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(folder)];
  } catch {
    return false;
  }
  for (const entry of entries) {
    if (entry.name >= mine) continue;
    const [, , kind, pidText] = entry.name.split("-");
    const pid = Number(pidText);
    if (pid !== Deno.pid && !processAlive(pid)) {
      try {
        Deno.removeSync(`${folder}/${entry.name}`); // left by a worker that died
      } catch { /* removed by another worker */ }
      continue;
    }
    if (kinds.has(kind)) return true;
  }
  return false;
}

/**
 * Paths (under `dir`) of the files an HLS playlist lists by relative URI: URI lines and the
 * `URI="…"` of `#EXT-X-MAP` (RFC 8216 §4.3.2.5). Absolute URLs, absolute paths, `..` and
 * query strings are left out: only plain relative names in and below the folder are waited for.
 */
export function listedFiles(text: string, dir: string): string[] {
  const uris: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#EXT-X-MAP:")) {
      const m = /URI="([^"]*)"/.exec(line);
      if (m) uris.push(m[1]);
    } else if (!line.startsWith("#")) uris.push(line);
  }
  const out: string[] = [];
  for (const uri of uris) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith("/") || /[?#%\\]/.test(uri)) continue;
    const parts = uri.split("/");
    if (parts.some((p) => p === "" || p === "." || p === ".." || p.startsWith("."))) continue;
    out.push(`${dir}/${uri}`);
  }
  return out;
}

/** True when a playlist in `dir` (as readers see it now) lists `name`. */
function listedByVisiblePlaylist(dir: string, name: string): boolean {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return false;
  }
  const target = `${dir}/${name}`;
  for (const entry of entries) {
    if (!entry.isFile || !entry.name.endsWith(".m3u8") || entry.name.startsWith(".")) continue;
    const text = readSmall(`${dir}/${entry.name}`);
    if (text !== undefined && listedFiles(text, dir).includes(target)) return true;
  }
  return false;
}

/** A file's text, or undefined when it is missing or too large. */
function readSmall(path: string): string | undefined {
  try {
    if (Deno.statSync(path).size > MAX_PLAYLIST_BYTES) return undefined;
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** True while process `pid` exists. */
function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
