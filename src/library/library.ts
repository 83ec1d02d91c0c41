/**
 * The media library: directory listings and name search under the media root, each file with its
 * size, mtime, Content-Type, `/media/` URL, probe results (cached, see `probe_cache.ts`) and
 * sibling WebVTT subtitles. Used by `GET /api/library` and by the web pages.
 *
 * Paths are relative to the root, `/`-separated, without leading or trailing `/` (`""` is the
 * root). They follow the same rules as `/media/` (`src/media/path.ts`): every path is checked by
 * the media resolver, and an entry is listed only when its `/media/` URL would serve it, so
 * dotfiles, symlinks that leave the root, and names `/media/` refuses (containing `%`, `\` or
 * control characters) are left out.
 *
 * @module
 */
import { MediaPathResolver } from "../media/path.ts";
import { contentTypeFor } from "../media/mime.ts";
import { statFile } from "../media/stat.ts";
import { probeFormatFor } from "../probe/probe.ts";
import type { MediaInfo } from "../probe/types.ts";
import { playlistMembers } from "./hls_folder.ts";
import { ProbeCache } from "./probe_cache.ts";
import { MEDIA_MOUNT } from "../settings.ts";
import { DEFAULT_SORT, sortEntries, type SortSpec } from "./sort.ts";

/** Most entries a search returns. */
export const MAX_SEARCH_RESULTS = 200;
/** Most directory entries a search looks at before it stops (and reports `truncated`). */
export const MAX_SEARCH_VISITS = 20_000;
/** Probes run at once while listing a directory. */
export const PROBE_CONCURRENCY = 4;

/**
 * A subtitle file next to a media file (`movie.vtt`, or `movie.en.vtt` with language `en`; the
 * same for `.srt`, which `/media/` serves converted to WebVTT under the `.vtt` name).
 */
export interface SubtitleTrack {
  /** Library path of the subtitle file (`.vtt` or `.srt`). */
  readonly path: string;
  /** WebVTT URL under `/media/` (for a `.srt`: its name with `.vtt`, converted on the fly). */
  readonly url: string;
  /** Language tag from `name.<lang>.vtt`, if any. */
  readonly lang?: string;
  /** `srt` when the track is a SubRip file converted to WebVTT. */
  readonly from?: "srt";
}

/** A directory in a listing. */
export interface DirEntry {
  readonly kind: "dir";
  readonly name: string;
  readonly path: string;
  /** Modification time, ISO 8601. */
  readonly mtime: string;
  /**
   * Library path of the folder's playlist when the folder is one HLS stream (it holds a single
   * `.m3u8`, or a single multivariant one among several): the pages list it as one stream.
   */
  readonly stream?: string;
  /** Stream folders: duration of the playlist in seconds (complete playlists only). */
  duration?: number;
  /** Stream folders: true when the playlist is still being written (live). */
  live?: boolean;
}

/** A file in a listing: `stream` for HLS playlists, `file` otherwise. */
export interface FileEntry extends Partial<Omit<MediaInfo, "container">> {
  readonly kind: "file" | "stream";
  readonly name: string;
  readonly path: string;
  readonly size: number;
  /** Modification time, ISO 8601. */
  readonly mtime: string;
  readonly contentType: string;
  /** URL of the bytes under `/media/`. */
  readonly url: string;
  /** Container family when probed (`mp4` covers MOV/M4A/M4V; `webm`, `matroska`, `hls`). */
  container?: MediaInfo["container"];
  /** Why the file could not be probed (truncated, not the format its name says...). */
  error?: string;
  /** Sibling WebVTT subtitles. */
  subtitles?: SubtitleTrack[];
  /** Playlists: number of files of this folder it refers to (segments...), folded into it. */
  segments?: number;
}

/** One listing or search entry. */
export type LibraryEntry = DirEntry | FileEntry;

/** A directory listing (or search result when `query` is set). */
export interface Listing {
  /** Library path of the directory. */
  readonly path: string;
  /** Library path of the parent directory; null at the root. */
  readonly parent: string | null;
  /** The search term, when this is a search. */
  readonly query?: string;
  /** True when a search stopped early (too many results or entries visited). */
  readonly truncated?: boolean;
  /** How the entries are sorted. */
  readonly sort: SortSpec;
  /** Files left out because a playlist of this folder refers to them (0 with `all`). */
  readonly folded: number;
  readonly entries: LibraryEntry[];
}

/** Options of {@linkcode MediaLibrary.list}. */
export interface ListOptions {
  /** Order of the entries (default by name, ascending; folders first). */
  readonly sort?: SortSpec;
  /** List every file, also the segments a playlist of the folder refers to. */
  readonly all?: boolean;
}

/** Why a path could not be listed: `bad-request` (unsafe name) or `not-found`. */
export type LibraryFailure = {
  readonly failure: "bad-request" | "not-found";
  readonly reason: string;
};

/** Resolution of a library path to a real path. */
type Resolved = { readonly real: string; readonly path: string } | LibraryFailure;

/** `/media/` URL of a library path (each segment percent-encoded). */
export function mediaUrl(path: string): string {
  return MEDIA_MOUNT + path.split("/").map(encodeURIComponent).join("/");
}

/** The parent library path of `path` (null for the root). */
export function parentPath(path: string): string | null {
  if (path === "") return null;
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/** Kind of a file entry by name: HLS playlists are streams. */
export function fileKind(name: string): "file" | "stream" {
  return name.toLowerCase().endsWith(".m3u8") ? "stream" : "file";
}

/** Lists and searches the media root; one instance per app holds the probe cache. */
export class MediaLibrary {
  readonly #resolver: MediaPathResolver;
  /** The probe cache (exposed for tests and metrics). */
  readonly cache: ProbeCache;

  /** `root` must be an absolute real path. */
  constructor(readonly root: string, cache: ProbeCache = new ProbeCache()) {
    this.#resolver = new MediaPathResolver(root, MEDIA_MOUNT);
    this.cache = cache;
  }

  /**
   * Maps a library path as given by a user (query parameter, already decoded once) to a real
   * path, with the `/media/` rules. A single leading or trailing `/` is tolerated.
   */
  resolve(input: string): Resolved {
    let path = input;
    if (path.startsWith("/")) path = path.slice(1);
    if (path.endsWith("/")) path = path.slice(0, -1);
    if (path === "") return { real: this.root, path: "" };
    // Re-encode each segment so the resolver's single decode gives back exactly `path`; a `%`
    // in the input stays a literal `%` and is refused there, as in /media/ URLs.
    const resolved = this.#resolver.resolve(mediaUrl(path));
    if (resolved.kind === "bad-request") return { failure: "bad-request", reason: "bad path" };
    if (resolved.kind === "not-found") return { failure: "not-found", reason: "not found" };
    return { real: resolved.path, path };
  }

  /**
   * Lists the directory at library path `input`. Files (and subfolders) that a playlist of the
   * folder refers to are folded into that playlist's entry (`segments`) unless `options.all`.
   */
  async list(input: string, options: ListOptions = {}): Promise<Listing | LibraryFailure> {
    const resolved = this.resolve(input);
    if ("failure" in resolved) return resolved;
    const names = await readNames(resolved.real);
    if (names === null) return { failure: "not-found", reason: "not a directory" };
    const sort = options.sort ?? DEFAULT_SORT;
    const members = new Map<string, number>();
    const folded = new Set<string>();
    const present = new Set(names);
    for (const name of names) {
      if (name.startsWith(".") || !name.toLowerCase().endsWith(".m3u8")) continue;
      const refs = await playlistMembers(resolved.real, name);
      let count = 0;
      for (const ref of refs) {
        if (present.has(ref) && !ref.startsWith(".")) {
          count++;
          folded.add(ref);
        }
      }
      members.set(name, count);
    }
    // A variant playlist referred to by its master is in `folded` too: the master stands for both.
    const shown = options.all ? names : names.filter((name) => !folded.has(name));
    const entries = await this.#entries(resolved.path, names, new Set(shown));
    for (const entry of entries) {
      const count = members.get(entry.name);
      if (entry.kind === "stream" && count) entry.segments = count;
    }
    return {
      path: resolved.path,
      parent: parentPath(resolved.path),
      sort,
      folded: options.all ? 0 : names.length - shown.length,
      entries: sortEntries(entries, sort),
    };
  }

  /**
   * Finds entries whose name contains `query` (case-insensitive) in the directory at `input`
   * and below, breadth first. Symlinked directories are listed but not descended into (no
   * cycles). Bounded by {@linkcode MAX_SEARCH_RESULTS} and {@linkcode MAX_SEARCH_VISITS}.
   */
  async search(
    input: string,
    query: string,
    sort: SortSpec = DEFAULT_SORT,
  ): Promise<Listing | LibraryFailure> {
    const resolved = this.resolve(input);
    if ("failure" in resolved) return resolved;
    const needle = query.toLowerCase();
    const queue: string[] = [resolved.path];
    const found: LibraryEntry[] = [];
    let visits = 0;
    let truncated = false;
    while (queue.length > 0 && !truncated) {
      const dir = queue.shift()!;
      const names = await this.#names(dir);
      if (names === null) continue;
      const matching: string[] = [];
      for (const name of names) {
        if (++visits > MAX_SEARCH_VISITS) {
          truncated = true;
          break;
        }
        if (name.toLowerCase().includes(needle)) matching.push(name);
        const child = joinPath(dir, name);
        if (!name.startsWith(".") && isRealDirectory(this.root, child)) queue.push(child);
      }
      for (const entry of await this.#entries(dir, names, new Set(matching))) {
        if (found.length >= MAX_SEARCH_RESULTS) {
          truncated = true;
          break;
        }
        found.push(entry);
      }
    }
    return {
      path: resolved.path,
      parent: parentPath(resolved.path),
      query,
      truncated,
      sort,
      folded: 0,
      entries: sortEntries(found, sort),
    };
  }

  /** Describes the file at library path `input` (for the player page). */
  async file(input: string): Promise<FileEntry | LibraryFailure> {
    const resolved = this.resolve(input);
    if ("failure" in resolved) return resolved;
    const parent = parentPath(resolved.path);
    if (parent === null) return { failure: "not-found", reason: "not a file" };
    const names = await this.#names(parent) ?? [];
    const name = resolved.path.slice(resolved.path.lastIndexOf("/") + 1);
    const entry = await this.#entry(parent, name, resolved.real, names);
    if (entry === null || entry.kind === "dir") {
      return { failure: "not-found", reason: "not a file" };
    }
    return entry;
  }

  /** Names in the directory at library path `dir`, or null when that is not one. */
  async #names(dir: string): Promise<string[] | null> {
    const resolved = this.resolve(dir);
    return "failure" in resolved ? null : await readNames(resolved.real);
  }

  /** Entries of `names` in directory `dir` (only those in `only`, when given), sorted. */
  async #entries(dir: string, names: string[], only?: Set<string>): Promise<LibraryEntry[]> {
    const wanted = names.filter((name) => only === undefined || only.has(name));
    const entries: (LibraryEntry | null)[] = new Array(wanted.length).fill(null);
    let next = 0;
    const worker = async () => {
      while (next < wanted.length) {
        const index = next++;
        const name = wanted[index];
        const resolved = this.resolve(joinPath(dir, name));
        if ("failure" in resolved) continue; // dotfile, escaping symlink, unservable name
        entries[index] = await this.#entry(dir, name, resolved.real, names);
      }
    };
    await Promise.all(Array.from({ length: PROBE_CONCURRENCY }, worker));
    return (entries.filter((e) => e !== null) as LibraryEntry[]).sort(compareEntries);
  }

  /** One entry; `siblings` are the names in the same directory (for subtitles). */
  async #entry(
    dir: string,
    name: string,
    real: string,
    siblings: string[],
  ): Promise<LibraryEntry | null> {
    const stat = statFile(real);
    if (stat === null) return null;
    const path = joinPath(dir, name);
    const mtime = new Date(stat.mtimeMs).toISOString();
    if (!stat.isFile) {
      if (!isDirectory(real)) return null;
      const playlist = await streamPlaylist(real);
      if (playlist === null) return { kind: "dir", name, path, mtime };
      const dir: DirEntry = { kind: "dir", name, path, mtime, stream: joinPath(path, playlist) };
      const playlistStat = statFile(`${real}/${playlist}`);
      if (playlistStat !== null && playlistStat.isFile) {
        const outcome = await this.cache.get(`${real}/${playlist}`, playlistStat.identity, "hls");
        if ("info" in outcome) {
          if (outcome.info.duration !== undefined) dir.duration = outcome.info.duration;
          if (outcome.info.live) dir.live = true;
        }
      }
      return dir;
    }
    const entry: FileEntry = {
      kind: fileKind(name),
      name,
      path,
      size: stat.identity.size,
      mtime,
      contentType: contentTypeFor(name),
      url: mediaUrl(path),
    };
    const format = probeFormatFor(name);
    if (format !== undefined) {
      const outcome = await this.cache.get(real, stat.identity, format);
      if ("info" in outcome) Object.assign(entry, outcome.info);
      else entry.error = outcome.error;
    }
    if (format !== undefined) {
      const subtitles = this.#subtitles(dir, name, siblings);
      if (subtitles.length > 0) entry.subtitles = subtitles;
    }
    return entry;
  }

  /**
   * Sibling `base.vtt` and `base.<lang>.vtt` files of `name` that `/media/` would serve, and
   * `.srt` files of the same names where no `.vtt` exists (offered as their converted `.vtt` URL).
   */
  #subtitles(dir: string, name: string, siblings: string[]): SubtitleTrack[] {
    const dot = name.lastIndexOf(".");
    const base = dot > 0 ? name.slice(0, dot) : name;
    const tracks: SubtitleTrack[] = [];
    const present = new Set(siblings);
    for (const sibling of siblings) {
      const extension = sibling.slice(-4).toLowerCase();
      if ((extension !== ".vtt" && extension !== ".srt") || !sibling.startsWith(base + ".")) {
        continue;
      }
      const middle = sibling.slice(base.length + 1, -4);
      if (middle.includes(".")) continue;
      const path = joinPath(dir, sibling);
      if ("failure" in this.resolve(path)) continue;
      let url = mediaUrl(path);
      if (extension === ".srt") {
        const vtt = sibling.slice(0, -4) + ".vtt";
        if (present.has(vtt)) continue; // the WebVTT file of the same name wins
        url = mediaUrl(joinPath(dir, vtt));
      }
      const track: SubtitleTrack = {
        path,
        url,
        ...(middle === "" ? {} : { lang: middle }),
        ...(extension === ".srt" ? { from: "srt" as const } : {}),
      };
      tracks.push(track);
    }
    return tracks.sort((a, b) => (a.lang ?? "").localeCompare(b.lang ?? ""));
  }
}

function joinPath(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

/** Directories first, then names case-insensitively (ties by code unit, so order is total). */
function compareEntries(a: LibraryEntry, b: LibraryEntry): number {
  if ((a.kind === "dir") !== (b.kind === "dir")) return a.kind === "dir" ? -1 : 1;
  const x = a.path.toLowerCase();
  const y = b.path.toLowerCase();
  if (x !== y) return x < y ? -1 : 1;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** Names in directory `real`, or null when it is not a readable directory. */
/**
 * The playlist that makes the folder at `real` one HLS stream: its only `.m3u8`, or the only
 * multivariant playlist (`#EXT-X-STREAM-INF`) among several; null otherwise.
 */
async function streamPlaylist(real: string): Promise<string | null> {
  const names =
    (await readNames(real))?.filter((n) =>
      !n.startsWith(".") && n.toLowerCase().endsWith(".m3u8")
    ) ?? [];
  if (names.length === 1) return names[0];
  if (names.length === 0 || names.length > 16) return null;
  const masters: string[] = [];
  for (const name of names) {
    try {
      const text = await Deno.readTextFile(`${real}/${name}`);
      if (text.includes("#EXT-X-STREAM-INF")) masters.push(name);
    } catch { /* unreadable: not a candidate */ }
  }
  return masters.length === 1 ? masters[0] : null;
}

async function readNames(real: string): Promise<string[] | null> {
  try {
    const names: string[] = [];
    for await (const entry of Deno.readDir(real)) names.push(entry.name);
    return names;
  } catch {
    return null;
  }
}

function isDirectory(real: string): boolean {
  try {
    return Deno.statSync(real).isDirectory;
  } catch {
    return false;
  }
}

/** True when library path `path` is a directory itself, not a symlink to one. */
function isRealDirectory(root: string, path: string): boolean {
  try {
    return Deno.lstatSync(`${root}/${path}`).isDirectory;
  } catch {
    return false;
  }
}
