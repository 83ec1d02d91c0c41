/**
 * Just enough of HLS playlists (RFC 8216) for stale-stream handling: is it a media playlist
 * (§4.3.2.1 `#EXTINF`) or a multivariant one, has it ended (§4.3.3.4 `#EXT-X-ENDLIST`), and which
 * URIs it references (§4.1 URI lines, and the `URI=` attributes of tags such as `#EXT-X-MAP`,
 * `#EXT-X-MEDIA`, `#EXT-X-PART`), resolved to file paths under the media root.
 *
 * @module
 */

/** What a playlist says about itself. */
export interface PlaylistInfo {
  /** True for a media playlist (has `#EXTINF`), false for a multivariant one. */
  readonly media: boolean;
  /** True when it has `#EXT-X-ENDLIST`. */
  readonly ended: boolean;
  /** Every URI it references, as written. */
  readonly uris: readonly string[];
}

/** Parses playlist text (lines end with LF or CRLF, §4.1). */
export function parsePlaylist(text: string): PlaylistInfo {
  let media = false;
  let ended = false;
  const uris: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "") continue;
    if (!line.startsWith("#")) {
      uris.push(line.trim());
      continue;
    }
    if (line.startsWith("#EXTINF:")) media = true;
    else if (line.trim() === "#EXT-X-ENDLIST") ended = true;
    for (const m of line.matchAll(/URI="([^"]*)"/g)) uris.push(m[1]);
  }
  return { media, ended, uris };
}

/** `text` with `#EXT-X-ENDLIST` appended on a line of its own. */
export function withEndList(text: string): string {
  return `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}#EXT-X-ENDLIST\n`;
}

/**
 * Resolves a playlist URI to a file path: relative URIs against `dir` (the playlist's directory,
 * a real path), absolute paths and `http(s)` URLs through `mount` (`/media/`) to `root`. Returns
 * null for anything else (other schemes, paths outside the mount, bad percent-encoding).
 */
export function resolveUri(uri: string, dir: string, root: string, mount: string): string | null {
  try {
    let path: string;
    if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith("//")) {
      const url = new URL(uri.startsWith("//") ? `http:${uri}` : uri);
      if (url.protocol !== "http:" && url.protocol !== "https:") return null;
      path = url.pathname;
    } else if (uri.startsWith("/")) {
      path = new URL(uri, "http://x").pathname;
    } else {
      const base = `file://${dir.split("/").map(encodeURIComponent).join("/")}/`;
      return decodeURIComponent(new URL(uri, base).pathname);
    }
    if (!path.startsWith(mount)) return null;
    const rest = decodeURIComponent(path.slice(mount.length));
    return root === "/" ? `/${rest}` : `${root}/${rest}`;
  } catch {
    return null;
  }
}
