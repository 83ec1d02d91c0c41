/**
 * Stale live streams (like nginx-rtmp's `hls_cleanup`): a publisher that disappears must not
 * leave a stream that looks live forever, nor segments that pile up.
 *
 * A timer sweeps the directories that received uploads since the start (and, at start, every
 * directory under the ingest prefix holding a playlist):
 *
 * 1. A media playlist (`.m3u8` with `#EXTINF`; multivariant playlists are left alone) without
 *    `#EXT-X-ENDLIST` whose file was not replaced for `staleAfterMs` gets `#EXT-X-ENDLIST`
 *    appended (RFC 8216 §4.3.3.4): players stop polling and treat it as a finished event. It is
 *    written like an upload (temp file, fsync, rename) and takes its turn in the directory's
 *    commit order, so a publisher that comes back wins: its newer playlist is never overwritten.
 * 2. In a directory whose media playlists have all ended and not changed for `staleAfterMs`
 *    (so at the earliest `staleAfterMs` after step 1: players still reading get that much
 *    grace), segment files (by extension) older than `staleAfterMs` that no playlist of any
 *    swept directory references are removed. Files a playlist lists are never removed, nor
 *    dotfiles, playlists, other file types, or anything in a directory holding a DASH `.mpd`
 *    (its SegmentTemplate references are not parsed).
 *
 * @module
 */
import { replaceFileAtomically } from "./atomic_write.ts";
import type { FolderSequencer } from "./folder_sequence.ts";
import { parsePlaylist, type PlaylistInfo, resolveUri, withEndList } from "./playlist.ts";
import { UPLOAD_FILE_MODE } from "./stream_to_file.ts";

/** Extensions of files that may be removed as segments no playlist lists any more. */
const SEGMENT_EXTENSIONS = new Set([
  "ts",
  "m4s",
  "mp4",
  "m4a",
  "m4v",
  "aac",
  "ac3",
  "ec3",
  "mp3",
  "vtt",
  "webvtt",
  "cmfv",
  "cmfa",
]);
/** Playlists larger than this are not parsed (and block removals while present). */
const MAX_PLAYLIST_BYTES = 4 * 1024 * 1024;
/** Deepest level searched by {@linkcode StaleStreams.noteTree}. */
const MAX_DEPTH = 16;
/** Most directory entries looked at by {@linkcode StaleStreams.noteTree}. */
const MAX_ENTRIES = 200_000;

/** Options of {@linkcode StaleStreams}. */
export interface StaleStreamOptions {
  /** Media root (real path). */
  readonly root: string;
  /** URL prefix of the media root (`/media/`), to resolve absolute playlist URIs. */
  readonly mount: string;
  /** Idle time after which a live playlist is ended, in ms (> 0). */
  readonly staleAfterMs: number;
  /** fsync rewritten playlists. */
  readonly fsync: boolean;
  /** The commit order shared with uploads. */
  readonly sequencer: FolderSequencer;
}

interface Playlist {
  readonly path: string;
  readonly name: string;
  readonly mtime: number;
  readonly key: string;
  readonly info: PlaylistInfo | null;
}

interface Folder {
  readonly dir: string;
  readonly playlists: Playlist[];
  /** Names of segment files (not stat'ed until the folder is finished). */
  readonly segments: string[];
  hasMpd: boolean;
}

/** Ends idle live playlists and removes segments nobody lists, on a timer. */
export class StaleStreams {
  readonly #options: StaleStreamOptions;
  readonly #dirs = new Set<string>();
  readonly #parsed = new Map<string, { key: string; info: PlaylistInfo | null }>();

  /** Creates the sweeper; nothing runs until {@linkcode StaleStreams.start}. */
  constructor(options: StaleStreamOptions) {
    if (!(options.staleAfterMs > 0)) throw new RangeError("staleAfterMs must be > 0");
    this.#options = options;
  }

  /** Adds `dir` (a real path that just received an upload) to the swept directories. */
  noteUpload(dir: string): void {
    this.#dirs.add(dir);
  }

  /** Adds every directory under `dir` holding a playlist (bounded walk, at start). */
  noteTree(dir: string): void {
    let budget = MAX_ENTRIES;
    const walk = (path: string, depth: number) => {
      let entries: Deno.DirEntry[];
      try {
        entries = [...Deno.readDirSync(path)];
      } catch {
        return;
      }
      for (const entry of entries) {
        if (--budget < 0) return;
        if (entry.name.startsWith(".")) continue;
        if (entry.isFile && entry.name.endsWith(".m3u8")) this.#dirs.add(path);
        else if (entry.isDirectory && depth < MAX_DEPTH) walk(`${path}/${entry.name}`, depth + 1);
      }
    };
    walk(dir, 0);
  }

  /** Sweeps every `staleAfterMs / 4` (50 ms to 5 s) until `signal` aborts; the timer is unref'd. */
  start(signal?: AbortSignal): void {
    const interval = Math.min(5000, Math.max(50, Math.floor(this.#options.staleAfterMs / 4)));
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const schedule = () => {
      const id = setTimeout(tick, interval);
      Deno.unrefTimer(id);
      timer = id;
    };
    const tick = async () => {
      try {
        await this.sweep(Date.now());
      } catch (error) {
        console.error(`zerocast: stale-stream sweep failed: ${error}`);
      }
      if (!stopped) schedule();
    };
    signal?.addEventListener("abort", () => {
      stopped = true;
      clearTimeout(timer);
    }, { once: true });
    schedule();
  }

  /** One pass over the swept directories as of `now` (ms since the epoch). */
  async sweep(now: number): Promise<void> {
    const cutoff = now - this.#options.staleAfterMs;
    const folders: Folder[] = [];
    for (const dir of [...this.#dirs]) {
      const folder = await this.#readFolder(dir);
      if (folder === null) this.#dirs.delete(dir);
      else folders.push(folder);
    }
    // Forget parsed playlists that are gone.
    const present = new Set(folders.flatMap((f) => f.playlists.map((p) => p.path)));
    for (const path of this.#parsed.keys()) if (!present.has(path)) this.#parsed.delete(path);
    // Everything any playlist references; null when a playlist could not be read.
    let referenced: Set<string> | null = new Set();
    for (const folder of folders) {
      for (const playlist of folder.playlists) {
        if (playlist.info === null) {
          referenced = null;
          continue;
        }
        for (const uri of playlist.info.uris) {
          const path = resolveUri(uri, folder.dir, this.#options.root, this.#options.mount);
          if (path !== null) referenced?.add(path);
        }
      }
    }
    for (const folder of folders) {
      const media = folder.playlists.filter((p) => p.info?.media === true);
      for (const playlist of media) {
        if (!playlist.info!.ended && playlist.mtime <= cutoff) await this.#end(folder, playlist);
      }
      const finished = media.length > 0 &&
        media.every((p) => p.info!.ended && p.mtime <= cutoff);
      if (finished && !folder.hasMpd && referenced !== null) {
        await this.#removeUnlisted(folder, referenced, cutoff);
      }
    }
  }

  /** Lists `dir`'s playlists (parsed, cached by identity) and segment files; null if gone. */
  async #readFolder(dir: string): Promise<Folder | null> {
    const folder: Folder = { dir, playlists: [], segments: [], hasMpd: false };
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.isFile || entry.name.startsWith(".")) continue;
        const dot = entry.name.lastIndexOf(".");
        const ext = dot < 0 ? "" : entry.name.slice(dot + 1).toLowerCase();
        if (ext === "mpd") folder.hasMpd = true;
        if (SEGMENT_EXTENSIONS.has(ext)) folder.segments.push(entry.name);
        if (ext !== "m3u8") continue;
        const path = `${dir}/${entry.name}`;
        let info: Deno.FileInfo;
        try {
          info = await Deno.lstat(path);
        } catch {
          continue; // removed meanwhile
        }
        const mtime = info.mtime?.getTime() ?? Date.now();
        const key = `${info.ino}-${info.size}-${mtime}`;
        let parsed = this.#parsed.get(path);
        if (parsed?.key !== key) {
          parsed = { key, info: await readPlaylist(path, info.size) };
          this.#parsed.set(path, parsed);
        }
        folder.playlists.push({ path, name: entry.name, mtime, key, info: parsed.info });
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
    return folder;
  }

  /** Appends `#EXT-X-ENDLIST` to `playlist` unless it changed meanwhile. */
  async #end(folder: Folder, playlist: Playlist): Promise<void> {
    const ticket = this.#options.sequencer.enter(folder.dir);
    try {
      await ticket.turn(this.#options.staleAfterMs);
      const info = await Deno.lstat(playlist.path).catch(() => null);
      const mtime = info?.mtime?.getTime() ?? 0;
      if (info === null || `${info.ino}-${info.size}-${mtime}` !== playlist.key) return;
      const text = await Deno.readTextFile(playlist.path);
      const ended = new TextEncoder().encode(withEndList(text));
      await replaceFileAtomically(folder.dir, playlist.name, async (temp) => {
        await Deno.writeFile(temp, ended, { createNew: true, mode: UPLOAD_FILE_MODE });
        return ended.byteLength;
      }, { fsync: this.#options.fsync });
      const idle = Math.round((Date.now() - playlist.mtime) / 1000);
      console.log(`zerocast: ${playlist.path}: no upload for ${idle} s, appended #EXT-X-ENDLIST`);
    } finally {
      ticket.settle();
    }
  }

  /** Removes `folder`'s segments older than `cutoff` that no playlist references. */
  async #removeUnlisted(folder: Folder, referenced: Set<string>, cutoff: number): Promise<void> {
    const unlisted = folder.segments.filter((name) => !referenced.has(`${folder.dir}/${name}`));
    if (unlisted.length === 0) return;
    const ticket = this.#options.sequencer.enter(folder.dir);
    let removed = 0;
    try {
      await ticket.turn(this.#options.staleAfterMs);
      for (const name of unlisted) {
        const path = `${folder.dir}/${name}`;
        // Checked after waiting for the turn: an upload may just have replaced it.
        const info = await Deno.lstat(path).catch(() => null);
        if (info === null || !info.isFile || (info.mtime?.getTime() ?? 0) > cutoff) continue;
        try {
          await Deno.remove(path);
          removed++;
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
    } finally {
      ticket.settle();
    }
    if (removed > 0) {
      console.log(`zerocast: ${folder.dir}: removed ${removed} segment(s) no playlist lists`);
    }
  }
}

/** Reads and parses a playlist; null when it is too large or unreadable. */
async function readPlaylist(path: string, size: number): Promise<PlaylistInfo | null> {
  if (size > MAX_PLAYLIST_BYTES) return null;
  try {
    return parsePlaylist(await Deno.readTextFile(path));
  } catch {
    return null;
  }
}
