/**
 * Sorting of library listings by name, date (mtime), duration or size, ascending or
 * descending. Folders always come first (they have no duration or size); entries without the
 * sort key (a file that could not be probed has no duration) come last in either order; ties
 * fall back to the name, so the order is total and stable across requests.
 *
 * @module
 */
import type { LibraryEntry } from "./library.ts";

/** Sort keys of a listing. */
export const SORT_KEYS = ["name", "date", "duration", "size"] as const;
/** A sort key. */
export type SortKey = typeof SORT_KEYS[number];
/** Sort direction. */
export type SortOrder = "asc" | "desc";

/** A sort key and direction. */
export interface SortSpec {
  readonly key: SortKey;
  readonly order: SortOrder;
}

/** The default: by name, ascending. */
export const DEFAULT_SORT: SortSpec = { key: "name", order: "asc" };

/** The natural first direction of a key: names A→Z, newest / longest / largest first. */
export function defaultOrder(key: SortKey): SortOrder {
  return key === "name" ? "asc" : "desc";
}

/**
 * Reads `sort` and `order` query values; unknown or missing values give the defaults (the
 * key's natural order when only `sort` is given). Returns null for a value that is present but
 * not one of the allowed ones, so the API can answer 400.
 */
export function parseSort(sort: string | undefined, order: string | undefined): SortSpec | null {
  const key = sort === undefined || sort === "" ? "name" : sort;
  if (!(SORT_KEYS as readonly string[]).includes(key)) return null;
  if (order !== undefined && order !== "" && order !== "asc" && order !== "desc") return null;
  const direction = order === "asc" || order === "desc" ? order : defaultOrder(key as SortKey);
  return { key: key as SortKey, order: direction };
}

/** The value `entry` sorts by under `key`, or undefined when it has none. */
function keyOf(entry: LibraryEntry, key: SortKey): number | undefined {
  switch (key) {
    case "name":
      return undefined;
    case "date": {
      const time = Date.parse(entry.mtime);
      return Number.isNaN(time) ? undefined : time;
    }
    case "duration":
      return entry.duration;
    case "size":
      return entry.kind === "dir" ? undefined : entry.size;
  }
}

/** Case-insensitive path order, ties by code unit. */
function byName(a: LibraryEntry, b: LibraryEntry): number {
  const x = a.path.toLowerCase();
  const y = b.path.toLowerCase();
  if (x !== y) return x < y ? -1 : 1;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** A new array of `entries` in the order of `spec`. */
export function sortEntries(entries: readonly LibraryEntry[], spec: SortSpec): LibraryEntry[] {
  const sign = spec.order === "asc" ? 1 : -1;
  return [...entries].sort((a, b) => {
    if ((a.kind === "dir") !== (b.kind === "dir")) return a.kind === "dir" ? -1 : 1;
    if (spec.key === "name") return sign * byName(a, b);
    const x = keyOf(a, spec.key);
    const y = keyOf(b, spec.key);
    if (x === undefined || y === undefined) {
      if (x !== y) return x === undefined ? 1 : -1;
      return byName(a, b);
    }
    if (x !== y) return sign * (x - y);
    return byName(a, b);
  });
}
