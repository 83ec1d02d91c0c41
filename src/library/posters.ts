/**
 * Video posters: one JPEG frame grab per file version, made by ffmpeg in the background and kept
 * on disk.
 *
 * - Key: the file's identity (dev, inode, size, mtime in ns), so a replaced or rewritten file
 *   gets a new poster and an old one is never shown for new bytes. Cache file
 *   `<cacheDir>/<dev>-<ino>-<size>-<mtimeNs>.jpg`, written to a temporary name and renamed.
 * - Never on the request path: {@linkcode PosterStore.lookup} answers at once (`ready`,
 *   `pending` or `unavailable`) and queues a missing poster. One ffmpeg runs at a time; at most
 *   {@linkcode MAX_QUEUED_POSTERS} wait (more are refused until the queue drains and asked again
 *   on a later request); each run is killed after {@linkcode POSTER_TIMEOUT_MS}.
 * - The frame is taken at 10% of the duration when it is known (1 s otherwise; 0 for clips
 *   shorter than 1 s), scaled to {@linkcode POSTER_WIDTH} pixels wide. A file ffmpeg cannot read
 *   (audio only, broken) is remembered as failed for that version and gets the placeholder.
 * - Without ffmpeg on PATH every poster is `unavailable` (the placeholder); nothing is logged
 *   per request.
 * - ffmpeg may open local files only (`-protocol_whitelist file,crypto`): an HLS playlist naming
 *   remote segments gets no poster rather than making the server fetch them.
 * - Bounded: at most `maxEntries` posters (default {@linkcode DEFAULT_POSTER_ENTRIES}) stay in
 *   the folder; the least recently used are deleted (posters found in the folder at start count,
 *   oldest mtime first).
 *
 * @module
 */
import { tmpdir } from "node:os";
import type { FileIdentity } from "../file_body.ts";

/** Width of a poster in pixels (height keeps the aspect ratio, rounded to even). */
export const POSTER_WIDTH = 320;
/** Default most posters kept in the cache folder. */
export const DEFAULT_POSTER_ENTRIES = 2000;
/** Most posters waiting for ffmpeg. */
export const MAX_QUEUED_POSTERS = 64;
/** An ffmpeg run is killed after this long. */
export const POSTER_TIMEOUT_MS = 30_000;

/** The default cache folder: `zerocast-posters` in the OS temp dir. */
export function defaultPosterCache(): string {
  return `${tmpdir()}/zerocast-posters`;
}

/** Options of {@linkcode PosterStore}. */
export interface PosterStoreOptions {
  /** Cache folder (default {@linkcode defaultPosterCache}); created when missing. */
  readonly cacheDir?: string;
  /** Most posters kept (default {@linkcode DEFAULT_POSTER_ENTRIES}). */
  readonly maxEntries?: number;
  /** ffmpeg executable (default `ffmpeg` on PATH). */
  readonly ffmpeg?: string;
}

/** What {@linkcode PosterStore.lookup} knows about a poster. */
export type PosterState =
  | { readonly kind: "ready"; readonly path: string }
  | { readonly kind: "pending" }
  | { readonly kind: "unavailable" };

interface Job {
  readonly key: string;
  readonly source: string;
  readonly duration: number | undefined;
}

/** Poster cache and ffmpeg queue; one per app. */
export class PosterStore {
  /** Cache folder. */
  readonly cacheDir: string;
  readonly #maxEntries: number;
  readonly #ffmpeg: string;
  /** Poster file names in the folder, least recently used first. */
  readonly #entries = new Map<string, true>();
  readonly #failed = new Set<string>();
  readonly #queue: Job[] = [];
  readonly #queued = new Set<string>();
  #running = false;
  #ffmpegMissing = false;
  #scanned: Promise<void> | undefined;
  /** ffmpeg runs so far (tests read it). */
  runs = 0;

  /** Creates the store; nothing is read or run until the first lookup. */
  constructor(options: PosterStoreOptions = {}) {
    this.cacheDir = options.cacheDir ?? defaultPosterCache();
    this.#maxEntries = options.maxEntries ?? DEFAULT_POSTER_ENTRIES;
    this.#ffmpeg = options.ffmpeg ?? "ffmpeg";
  }

  /** True once ffmpeg was found missing (every poster is then the placeholder). */
  get ffmpegMissing(): boolean {
    return this.#ffmpegMissing;
  }

  /**
   * The poster of file `source` at version `identity`: ready (its path), pending (queued now or
   * before), or unavailable (no ffmpeg, the grab failed, or the queue is full).
   */
  async lookup(
    source: string,
    identity: FileIdentity,
    duration: number | undefined,
  ): Promise<PosterState> {
    await this.#scan();
    const key = posterKey(identity);
    const path = `${this.cacheDir}/${key}.jpg`;
    if (this.#entries.has(key)) {
      if (exists(path)) {
        this.#entries.delete(key);
        this.#entries.set(key, true);
        return { kind: "ready", path };
      }
      this.#entries.delete(key); // removed behind our back (another process evicted it)
    } else if (exists(path)) {
      this.#remember(key); // made by another process sharing the folder
      return { kind: "ready", path };
    }
    if (this.#ffmpegMissing || this.#failed.has(key)) return { kind: "unavailable" };
    if (this.#queued.has(key)) return { kind: "pending" };
    if (this.#queue.length >= MAX_QUEUED_POSTERS) return { kind: "unavailable" };
    this.#queue.push({ key, source, duration });
    this.#queued.add(key);
    this.#pump();
    return { kind: "pending" };
  }

  /** Resolves when the queue is empty and nothing runs (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#running || this.#queue.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Reads the folder once: existing posters join the LRU, oldest first. */
  #scan(): Promise<void> {
    this.#scanned ??= (async () => {
      try {
        await Deno.mkdir(this.cacheDir, { recursive: true });
        const found: { key: string; mtime: number }[] = [];
        for await (const item of Deno.readDir(this.cacheDir)) {
          if (
            item.isFile &&
            (/^\.[0-9a-z-]+\.[0-9a-f-]{36}\.jpg$/.test(item.name) ||
              /^\.[0-9a-z-]+\.claim$/.test(item.name))
          ) {
            // a grab's temporary or claim file left by a crash: gone once older than any grab
            const path = `${this.cacheDir}/${item.name}`;
            const stat = await Deno.stat(path).catch(() => null);
            const age = Date.now() - (stat?.mtime?.getTime() ?? Date.now());
            if (age > 2 * POSTER_TIMEOUT_MS) await Deno.remove(path).catch(() => {});
            continue;
          }
          if (!item.isFile || !/^[0-9a-z-]+\.jpg$/.test(item.name)) continue;
          const stat = await Deno.stat(`${this.cacheDir}/${item.name}`).catch(() => null);
          if (stat !== null) {
            found.push({ key: item.name.slice(0, -4), mtime: stat.mtime?.getTime() ?? 0 });
          }
        }
        found.sort((a, b) => a.mtime - b.mtime);
        for (const { key } of found) this.#remember(key);
      } catch {
        // an unusable folder: every grab will fail and be remembered as failed
      }
    })();
    return this.#scanned;
  }

  #remember(key: string): void {
    this.#entries.delete(key);
    this.#entries.set(key, true);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value!;
      this.#entries.delete(oldest);
      try {
        Deno.removeSync(`${this.cacheDir}/${oldest}.jpg`);
      } catch { /* already gone */ }
    }
  }

  #pump(): void {
    if (this.#running) return;
    const job = this.#queue.shift();
    if (job === undefined) return;
    this.#running = true;
    this.#claimAndGrab(job)
      .then((outcome) => {
        if (outcome === "made") this.#remember(job.key);
        else if (outcome === "failed") this.#failed.add(job.key);
        // "elsewhere": another process (worker) is making it; lookups see it when it lands
      })
      .finally(() => {
        this.#queued.delete(job.key);
        this.#running = false;
        this.#pump();
      });
  }

  /**
   * Grabs `job`'s poster unless another process sharing the folder (another worker, another
   * node on the same storage) already does: a claim file created with O_EXCL makes sure one
   * ffmpeg runs per poster. A claim older than any grab was left by a crash and is taken over.
   */
  async #claimAndGrab(job: Job): Promise<"made" | "failed" | "elsewhere"> {
    const claim = `${this.cacheDir}/.${job.key}.claim`;
    if (!this.#claim(claim)) return "elsewhere";
    try {
      // made by another process between the lookup and the claim
      if (exists(`${this.cacheDir}/${job.key}.jpg`)) return "made";
      return await this.#grab(job) ? "made" : "failed";
    } finally {
      await Deno.remove(claim).catch(() => {});
    }
  }

  /** Creates the claim file `path`; false while another process holds a fresh one. */
  #claim(path: string): boolean {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        Deno.openSync(path, { createNew: true, write: true }).close();
        return true;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) return true; // unusable folder: grab
        let mtime: number;
        try {
          mtime = Deno.statSync(path).mtime?.getTime() ?? Date.now();
        } catch {
          continue; // released meanwhile: try again
        }
        if (Date.now() - mtime <= 2 * POSTER_TIMEOUT_MS) return false;
        try {
          Deno.removeSync(path); // stale: its process died mid-grab
        } catch { /* taken over by someone else meanwhile */ }
      }
    }
    return false;
  }

  /** Runs ffmpeg for `job`; true when the poster file now exists. */
  async #grab(job: Job): Promise<boolean> {
    if (this.#ffmpegMissing) return false;
    const at = job.duration === undefined ? 1 : job.duration < 1 ? 0 : job.duration * 0.1;
    if (await this.#run(job, at)) return true;
    // a seek past the end of a file with a wrong duration: try the first frame
    return at > 0 && !this.#ffmpegMissing ? await this.#run(job, 0) : false;
  }

  async #run(job: Job, at: number): Promise<boolean> {
    const target = `${this.cacheDir}/${job.key}.jpg`;
    const temp = `${this.cacheDir}/.${job.key}.${crypto.randomUUID()}.jpg`;
    this.runs++;
    try {
      const output = await new Deno.Command(this.#ffmpeg, {
        args: [
          ...["-hide_banner", "-loglevel", "error", "-nostdin", "-y"],
          // local files only: a playlist naming http(s) segments must not make the server fetch
          ...["-protocol_whitelist", "file,crypto"],
          ...["-ss", at.toFixed(3), "-i", job.source],
          ...["-frames:v", "1", "-an", "-sn", "-vf", `scale=${POSTER_WIDTH}:-2`],
          ...["-q:v", "5", "-f", "image2", "-c:v", "mjpeg", temp],
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
        signal: AbortSignal.timeout(POSTER_TIMEOUT_MS),
      }).output();
      const stat = await Deno.stat(temp).catch(() => null);
      if (!output.success || stat === null || stat.size === 0) {
        await Deno.remove(temp).catch(() => {});
        return false;
      }
      await Deno.rename(temp, target);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) this.#ffmpegMissing = true;
      await Deno.remove(temp).catch(() => {});
      return false;
    }
  }
}

/** File name stem of the poster of a file version. */
export function posterKey(identity: FileIdentity): string {
  return `${identity.dev.toString(36)}-${identity.ino.toString(36)}-${identity.size.toString(36)}-${
    identity.mtimeNs.toString(36)
  }`;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
