/**
 * Recently generated media segments (header bytes and the list of file slices), so a segment
 * asked for again (players, CDNs and benchmarks do) costs a map lookup instead of writing its
 * `moof` again. Least recently used entries go once the held bytes pass the budget. Entries are
 * keyed by the segment map's serial number (a new file version gets a new map, hence new keys).
 *
 * @module
 */
import type { MediaSegment } from "./fmp4_segment.ts";

/**
 * Default budget of the segment cache: header bytes, ~48 bytes per file slice, and the payload
 * of the scattered segments held in memory (see `gathered` in fmp4_segment.ts).
 */
export const DEFAULT_SEGMENT_CACHE_BYTES = 64 * 1024 * 1024;

/** An LRU of generated media segments with a byte budget. */
export class SegmentCache {
  readonly #entries = new Map<string, MediaSegment>();
  #bytes = 0;

  /** Keeps at most about `budgetBytes` of segments. */
  constructor(readonly budgetBytes: number = DEFAULT_SEGMENT_CACHE_BYTES) {}

  /** The cached segment for `key`, or what `make()` returns (then cached). */
  get(key: string, make: () => MediaSegment): MediaSegment {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const segment = make();
    const cost = SegmentCache.cost(segment);
    if (cost > this.budgetBytes) return segment;
    this.#entries.set(key, segment);
    this.#bytes += cost;
    for (const [oldKey, old] of this.#entries) {
      if (this.#bytes <= this.budgetBytes) break;
      this.#entries.delete(oldKey);
      this.#bytes -= SegmentCache.cost(old);
    }
    return segment;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** What one entry is charged. */
  static cost(segment: MediaSegment): number {
    let cost = 64;
    for (const part of segment.parts) cost += part instanceof Uint8Array ? part.byteLength : 48;
    return cost;
  }
}
