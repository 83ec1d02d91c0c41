/**
 * What an HLS playlist refers to inside its own folder (RFC 8216 §4.1: URI lines; §4.3.2.5
 * `EXT-X-MAP` and §4.3.4.1 `EXT-X-MEDIA` `URI` attributes), so a listing can show a folder of
 * playlist + segments as one stream instead of a row per segment. Only relative references
 * count: a plain name is a file of the folder, `a/b` names the subfolder `a`; absolute URLs,
 * `..` and anything with a scheme are ignored. A multivariant playlist's variant playlists in
 * the same folder are read too (one level), so their segments fold as well.
 *
 * Results are cached by file version (dev, inode, size, mtime) in a small bounded map.
 *
 * @module
 */
import { statFile } from "../media/stat.ts";
import { MAX_PLAYLIST_BYTES } from "../probe/m3u8.ts";
import { identityKey } from "./probe_cache.ts";

/** Most playlists whose references are remembered. */
export const PLAYLIST_REFERENCE_CACHE = 1000;

const cache = new Map<string, ReadonlySet<string>>();

/**
 * Names in the folder `dirReal` that the playlist `name` refers to (segments, init segments,
 * variant playlists and their segments, subfolders), never `name` itself.
 */
export async function playlistMembers(dirReal: string, name: string): Promise<Set<string>> {
  const members = new Set<string>();
  const direct = await references(`${dirReal}/${name}`);
  for (const ref of direct) members.add(ref);
  for (const ref of direct) {
    if (ref.toLowerCase().endsWith(".m3u8") && ref !== name) {
      for (const nested of await references(`${dirReal}/${ref}`)) members.add(nested);
    }
  }
  members.delete(name);
  return members;
}

/** First path segments of the relative references in the playlist file `real` (cached). */
async function references(real: string): Promise<ReadonlySet<string>> {
  const stat = statFile(real);
  if (stat === null || !stat.isFile || stat.identity.size > MAX_PLAYLIST_BYTES) return new Set();
  const key = identityKey(stat.identity);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let text: string;
  try {
    text = await Deno.readTextFile(real);
  } catch {
    return new Set();
  }
  const found = parseReferences(text);
  cache.set(key, found);
  if (cache.size > PLAYLIST_REFERENCE_CACHE) cache.delete(cache.keys().next().value!);
  return found;
}

/** The folder-local names referenced by playlist text (exported for tests). */
export function parseReferences(text: string): Set<string> {
  const found = new Set<string>();
  if (!text.replace(/^\uFEFF/, "").startsWith("#EXTM3U")) return found;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const uri = /^#EXT-X-(?:MAP|MEDIA|I-FRAME-STREAM-INF|PART|PRELOAD-HINT):.*?\bURI="([^"]*)"/
        .exec(line);
      if (uri) addReference(found, uri[1]);
      continue;
    }
    addReference(found, line);
  }
  return found;
}

function addReference(found: Set<string>, uri: string): void {
  const path = uri.split(/[?#]/)[0];
  if (path === "" || path.startsWith("/") || /^[a-z][a-z0-9+.-]*:/i.test(path)) return;
  const first = path.split("/")[0];
  let name: string;
  try {
    name = decodeURIComponent(first);
  } catch {
    return;
  }
  if (name === "" || name === "." || name === "..") return;
  found.add(name);
}
