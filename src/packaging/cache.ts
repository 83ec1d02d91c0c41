/**
 * Segment maps cached by file identity (dev, inode, size, mtime): a file changed in place gets a
 * new identity and so a fresh parse; the old entry ages out. Least recently used entries are
 * dropped once the maps together hold more than the byte budget. Concurrent first requests for
 * one file share one parse; a file that cannot be packaged is remembered (as its error) too. At most two parses run at
 * once.
 *
 * @module
 */
import type { FileIdentity } from "../file_body.ts";
import { indexMp4, PackagingError } from "./mp4_index.ts";
import { buildSegmentMap, type SegmentMap } from "./segment_map.ts";

/** Default memory budget of the cached maps. */
export const DEFAULT_CACHE_BYTES = 128 * 1024 * 1024;
/** Most `moov` parses running at once (each holds its `moov` in memory while it runs). */
export const MAX_CONCURRENT_PARSES = 2;
/** Bytes charged for a remembered failure. */
const FAILURE_BYTES = 256;

type Entry =
  | { state: "ready"; map: SegmentMap; bytes: number }
  | { state: "failed"; error: PackagingError; bytes: number }
  | { state: "pending"; promise: Promise<SegmentMap>; bytes: number };

/** An LRU of segment maps with a byte budget. */
export class SegmentMapCache {
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #parsing = 0;
  readonly #waiting: (() => void)[] = [];

  /** `targetS` is the segment duration every map is built with. */
  constructor(readonly targetS: number, readonly budgetBytes: number = DEFAULT_CACHE_BYTES) {}

  /** Bytes the cached maps hold now. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The map of the file at `path` with `identity`: synchronously when cached, else a promise
   * of the parse. Throws (or rejects with) {@linkcode PackagingError} for files that cannot be
   * packaged.
   */
  get(path: string, identity: FileIdentity): SegmentMap | Promise<SegmentMap> {
    const key = `${identity.dev}:${identity.ino}:${identity.size}:${identity.mtimeNs}`;
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      // most recently used last
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      if (entry.state === "ready") return entry.map;
      if (entry.state === "failed") throw entry.error;
      return entry.promise;
    }
    const promise = this.#parse(path, identity.size);
    const pending: Entry = { state: "pending", promise, bytes: 0 };
    this.#entries.set(key, pending);
    promise.then((map) => {
      if (this.#entries.get(key) !== pending) return;
      this.#entries.set(key, { state: "ready", map, bytes: map.memoryBytes });
      this.#bytes += map.memoryBytes;
      this.#evict();
    }, (error) => {
      if (this.#entries.get(key) !== pending) return;
      if (error instanceof PackagingError) {
        this.#entries.set(key, { state: "failed", error, bytes: FAILURE_BYTES });
        this.#bytes += FAILURE_BYTES;
        this.#evict();
      } else this.#entries.delete(key); // I/O errors are not remembered
    });
    return promise;
  }

  /** Parses one file, at most {@linkcode MAX_CONCURRENT_PARSES} at a time (the rest queue). */
  async #parse(path: string, size: number): Promise<SegmentMap> {
    if (this.#parsing >= MAX_CONCURRENT_PARSES) {
      // a finishing parse hands its slot over
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else this.#parsing++;
    try {
      return await buildSegmentMap(await indexMp4(path, size), this.targetS);
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#parsing--;
    }
  }

  /** Drops least recently used entries until the budget holds (the newest always stays). */
  #evict(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= this.budgetBytes || this.#entries.size <= 1) break;
      if (entry.state === "pending") continue;
      this.#entries.delete(key);
      this.#bytes -= entry.bytes;
    }
  }
}
