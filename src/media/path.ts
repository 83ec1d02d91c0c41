/**
 * Safe mapping of a request path to a file under the media root.
 *
 * The raw request-target path (as sent, before any decoding) is split on `/` first and each
 * segment is percent-decoded exactly once, so an encoded `/` can never create a new segment.
 * Then:
 *
 * - 400 Bad Request — not a name this server could ever serve: malformed percent-encoding or
 *   invalid UTF-8; an encoded `/` (`%2F`); a backslash (raw or `%5C`); NUL or any other control
 *   character; a `%` left after the one decode (double encoding such as `%252e%252e`, which is
 *   how "route one path, serve another" bugs work, so file names containing `%` are not
 *   servable); `.` or `..` segments (raw or encoded, e.g. `%2e%2e`); empty segments (`//`).
 * - 404 Not Found — a valid name that is not served: a dotfile or dot-directory segment; a
 *   trailing `/` or the root itself (directories; listing belongs elsewhere); a missing file; a
 *   path whose real path (`Deno.realPathSync`, symlinks resolved) leaves the real root or passes
 *   through a dot segment.
 *
 * {@linkcode MediaPathResolver.resolve} resolves the real path afresh on every call (one
 * `realpath(3)`, ~6-9 µs here: the largest single cost of a media request).
 * {@linkcode MediaPathResolver.resolveFile}, used on the hot path, caches the real path of each
 * lexical path together with the (dev, ino) it resolved to, and trusts the cache only while a
 * fresh `stat` of the lexical path (which it needs anyway, and which follows symlinks) still finds
 * that same inode. A symlink re-pointed anywhere else therefore misses the cache and is checked
 * again on the very next request; only the same inode, already proven to be inside the root, is
 * served without a new `realpath`. Remaining race, with or without the cache: a symlink swapped
 * between this check and the later open is not detected (Deno.open has no O_NOFOLLOW); it only
 * matters if untrusted users can create symlinks inside the root.
 *
 * @module
 */

import { type FileStat, statFile } from "./stat.ts";

/** Outcome of {@linkcode MediaPathResolver.resolve}. */
export type PathResolution = { readonly kind: "ok"; readonly path: string } | PathError;

/** Why a path is not served: 400 or 404. */
export type PathError = { readonly kind: "bad-request" } | { readonly kind: "not-found" };

/** Outcome of {@linkcode MediaPathResolver.resolveFile}: the real path and its stat. */
export type FileResolution =
  | { readonly kind: "ok"; readonly path: string; readonly stat: FileStat }
  | PathError;

/** Most lexical paths whose real path is remembered; the cache is emptied when it is full. */
export const REAL_PATH_CACHE_ENTRIES = 10_000;

const BAD_REQUEST: PathError = { kind: "bad-request" };
const NOT_FOUND: PathError = { kind: "not-found" };

/** Characters never allowed in a decoded segment: C0 controls, DEL, `\`, `/` and `%`. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const FORBIDDEN_IN_SEGMENT = /[\x00-\x1f\x7f\\/%]/;

/**
 * Returns the raw path of a request URL (RFC 3986 §3): after `scheme:`, skips the authority of
 * `//authority` (which ends at the first `/`, `?` or `#`), then reads up to `?` or `#`; an empty
 * path is `/` (RFC 9110 §4.2.3). Nothing is decoded. The app's router (`getPath` in
 * `src/app.ts`) and the media, library and ingest routes all read the path with this one
 * function, so a URL with an empty authority (`http:///a/metrics`) or a `/` only in its query
 * (`http://h?x=/media/f`) routes and resolves one and the same path, whichever server built it.
 */
export function rawPathOf(url: string): string {
  const n = url.length;
  let p = url.indexOf(":") + 1;
  if (url.charCodeAt(p) === 0x2f && url.charCodeAt(p + 1) === 0x2f) {
    p += 2;
    while (p < n) {
      const c = url.charCodeAt(p);
      if (c === 0x2f || c === 0x3f || c === 0x23) break; // / ? #
      p++;
    }
  }
  let end = p;
  while (end < n) {
    const c = url.charCodeAt(end);
    if (c === 0x3f || c === 0x23) break; // ? or #
    end++;
  }
  return end === p ? "/" : url.slice(p, end);
}

/** Outcome of {@linkcode decodeSegments}. */
export type SegmentDecoding =
  | { readonly kind: "ok"; readonly segments: readonly string[] }
  | { readonly kind: "bad-request" };

const SEGMENTS_BAD_REQUEST: SegmentDecoding = { kind: "bad-request" };

/**
 * Splits a raw path below a mount (e.g. `live/a%20b.ts`) on `/` and percent-decodes each segment
 * once, with the same 400 rules as {@linkcode MediaPathResolver.resolve}. For writers (ingest)
 * whose target may not exist yet, so no real path is resolved. A trailing `/` gives a last
 * segment `""`; dotfile segments are returned and left to the caller.
 */
export function decodeSegments(rest: string): SegmentDecoding {
  const segments = rest.split("/");
  const last = segments.length - 1;
  for (let i = 0; i < segments.length; i++) {
    let segment = segments[i];
    if (segment === "") {
      if (i !== last) return SEGMENTS_BAD_REQUEST; // `//`
      continue;
    }
    if (segment.includes("%")) {
      try {
        segment = decodeURIComponent(segment);
      } catch {
        return SEGMENTS_BAD_REQUEST;
      }
      segments[i] = segment;
    }
    if (FORBIDDEN_IN_SEGMENT.test(segment)) return SEGMENTS_BAD_REQUEST;
    if (segment === "." || segment === "..") return SEGMENTS_BAD_REQUEST;
  }
  return { kind: "ok", segments };
}

/** Resolves raw request paths under one mount prefix to real file paths inside a real root. */
export class MediaPathResolver {
  readonly #root: string;
  readonly #rootPrefix: string;
  readonly #mount: string;
  readonly #realPaths = new Map<string, { real: string; dev: number; ino: number }>();
  readonly #lexicalPaths = new Map<string, string | PathError>();

  /**
   * `root` must be an absolute real path (symlink-free). `mount` is the raw URL prefix that maps
   * to the root, with both slashes, e.g. `/media/`.
   */
  constructor(root: string, mount: string) {
    this.#root = root.length > 1 && root.endsWith("/") ? root.slice(0, -1) : root;
    this.#rootPrefix = this.#root === "/" ? "/" : this.#root + "/";
    this.#mount = mount;
  }

  /** Maps the raw request path `rawPath` (e.g. `/media/a%20b.mp4`) to a real path or an error. */
  resolve(rawPath: string): PathResolution {
    const lexical = this.#lexical(rawPath);
    if (typeof lexical !== "string") return lexical;
    return this.#real(lexical);
  }

  /**
   * Like {@linkcode resolve}, and stats the file too (following symlinks); the real path comes
   * from a cache that is trusted only while the stat finds the same (dev, ino) as when the real
   * path was resolved. Missing files and non-regular files are 404.
   */
  resolveFile(rawPath: string): FileResolution {
    const lexical = this.#lexical(rawPath);
    if (typeof lexical !== "string") return lexical;
    const stat = statFile(lexical);
    if (stat === null || !stat.isFile) return NOT_FOUND;
    const cached = this.#realPaths.get(lexical);
    if (
      cached !== undefined && cached.dev === stat.identity.dev && cached.ino === stat.identity.ino
    ) {
      return { kind: "ok", path: cached.real, stat };
    }
    const real = this.#real(lexical);
    if (real.kind !== "ok") return real;
    // The stat above may describe another file than the real path now names (a rename in
    // between); stat the real path so headers and the cache entry describe what will be sent.
    const realStat = statFile(real.path);
    if (realStat === null || !realStat.isFile) return NOT_FOUND;
    if (this.#realPaths.size >= REAL_PATH_CACHE_ENTRIES) this.#realPaths.clear();
    this.#realPaths.set(lexical, {
      real: real.path,
      dev: realStat.identity.dev,
      ino: realStat.identity.ino,
    });
    return { kind: "ok", path: real.path, stat: realStat };
  }

  /**
   * The validated lexical path under the root, or the error it earns; remembered per raw path
   * (a pure function of it: decoding and checks cost more than the lookup).
   */
  #lexical(rawPath: string): string | PathError {
    let lexical = this.#lexicalPaths.get(rawPath);
    if (lexical === undefined) {
      lexical = this.#lexicalOf(rawPath);
      if (this.#lexicalPaths.size >= REAL_PATH_CACHE_ENTRIES) this.#lexicalPaths.clear();
      this.#lexicalPaths.set(rawPath, lexical);
    }
    return lexical;
  }

  #lexicalOf(rawPath: string): string | PathError {
    if (!rawPath.startsWith(this.#mount)) return NOT_FOUND;
    const rest = rawPath.slice(this.#mount.length);
    if (rest === "") return NOT_FOUND; // the root directory itself
    const decoded = decodeSegments(rest);
    if (decoded.kind === "bad-request") return BAD_REQUEST;
    const segments = decoded.segments;
    // 404s only after every segment passed the 400 checks, so `/media/../` is still a 400.
    if (segments[segments.length - 1] === "") return NOT_FOUND; // trailing slash: a directory
    for (const segment of segments) {
      if (segment.charCodeAt(0) === 0x2e) return NOT_FOUND; // dotfile or dot-directory
    }
    return this.#rootPrefix + segments.join("/");
  }

  /** Resolves symlinks in `lexical` and keeps the result inside the root and off dot segments. */
  #real(lexical: string): PathResolution {
    let real: string;
    try {
      real = Deno.realPathSync(lexical);
    } catch {
      return NOT_FOUND;
    }
    if (!real.startsWith(this.#rootPrefix) || real.length === this.#rootPrefix.length) {
      return NOT_FOUND; // escaped the root through a symlink, or resolved to the root itself
    }
    const relative = real.slice(this.#rootPrefix.length);
    if (relative.charCodeAt(0) === 0x2e || relative.includes("/.")) return NOT_FOUND;
    return { kind: "ok", path: real };
  }
}
