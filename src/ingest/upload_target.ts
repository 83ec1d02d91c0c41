/**
 * Where an upload goes: the request path is checked with the media path rules
 * (`src/media/path.ts`), restricted to the ingest prefix, and its directory is created inside
 * the media root as needed.
 *
 * Directories are walked one segment at a time from the (real) root: a missing segment is
 * created (mode 0755, umask applies); a symlinked segment is followed only when its real path
 * stays inside the root and does not pass through a dot directory (the GET rules); a segment
 * that is a file is a conflict. Remaining race, as for GET: a directory swapped for a symlink
 * between this walk and the file's creation is not detected; it matters only if untrusted local
 * users can write inside the root.
 *
 * @module
 */
import { decodeSegments } from "../media/path.ts";

/** Outcome of {@linkcode UploadPaths.parse}. */
export type UploadPath =
  /** `segments` are decoded and relative to the media root; the last one names the file (may be `""` for a trailing `/`). */
  | { readonly kind: "ok"; readonly segments: readonly string[] }
  /** Not under the ingest prefix (403). */
  | { readonly kind: "outside" }
  /** Malformed or unsafe path (400). */
  | { readonly kind: "bad-request" };

/** Outcome of {@linkcode openDirectory}. */
export type DirectoryLookup =
  /** `dir` is the real path of the directory. */
  | { readonly kind: "ok"; readonly dir: string }
  /** A segment is missing (only when not creating). */
  | { readonly kind: "not-found" }
  /** A segment is a file, or a symlink to something that is not a directory (409). */
  | { readonly kind: "conflict" }
  /** A symlinked segment leads outside the root or through a dot directory (403). */
  | { readonly kind: "forbidden" };

/** Maps raw request paths under a media mount to upload paths under an ingest prefix. */
export class UploadPaths {
  readonly #mount: string;
  readonly #prefix: readonly string[];

  /**
   * `mount` is the raw URL prefix of the media root (`/media/`); `prefix` the ingest prefix
   * (`/media/live/`), which must start with `mount` and end with `/`.
   */
  constructor(mount: string, prefix: string) {
    if (!prefix.startsWith(mount) || !prefix.endsWith("/")) {
      throw new TypeError(`ingest prefix must start with ${mount} and end with /: ${prefix}`);
    }
    this.#mount = mount;
    // The prefix is compared after decoding, so `/media/%6Cive/x` is inside `/media/live/`.
    this.#prefix = prefix.slice(mount.length).split("/").slice(0, -1);
  }

  /** Decoded path segments of the ingest prefix below the media root (`["live"]`). */
  get prefixSegments(): readonly string[] {
    return this.#prefix;
  }

  /** Checks the raw request path (as sent, before decoding) of an upload. */
  parse(rawPath: string): UploadPath {
    if (!rawPath.startsWith(this.#mount)) return { kind: "outside" };
    const decoded = decodeSegments(rawPath.slice(this.#mount.length));
    if (decoded.kind === "bad-request") return decoded;
    const { segments } = decoded;
    if (segments.length <= this.#prefix.length) return { kind: "outside" };
    for (let i = 0; i < this.#prefix.length; i++) {
      if (segments[i] !== this.#prefix[i]) return { kind: "outside" };
    }
    return { kind: "ok", segments };
  }
}

/** True when a decoded segment is hidden (dotfile or dot directory): GET never serves those. */
export function isHiddenSegment(segment: string): boolean {
  return segment.startsWith(".");
}

/**
 * Finds (with `create`, makes) the directory `root/segments...`, refusing symlinks that leave
 * `root`. `root` must be an absolute real path. Synchronous (a few metadata syscalls) so an
 * upload starts reading its body in the same tick it arrives (see `stream_to_file.ts`).
 */
export function openDirectory(
  root: string,
  segments: readonly string[],
  create: boolean,
): DirectoryLookup {
  const rootPrefix = root === "/" ? "/" : `${root}/`;
  let current = root;
  for (const segment of segments) {
    const next = current === "/" ? `/${segment}` : `${current}/${segment}`;
    let info = lstatOrNull(next);
    if (info === null) {
      if (!create) return { kind: "not-found" };
      try {
        Deno.mkdirSync(next, { mode: 0o755 });
      } catch (error) {
        // A concurrent upload made it first: fine, look at what is there now.
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
      info = lstatOrNull(next);
      if (info === null) return { kind: "not-found" };
    }
    if (info.isSymlink) {
      let real: string;
      try {
        real = Deno.realPathSync(next);
      } catch {
        return { kind: "not-found" }; // dangling link
      }
      if (!real.startsWith(rootPrefix)) return { kind: "forbidden" };
      const relative = real.slice(rootPrefix.length);
      if (relative.startsWith(".") || relative.includes("/.")) return { kind: "forbidden" };
      if (!Deno.statSync(real).isDirectory) return { kind: "conflict" };
      current = real;
    } else if (info.isDirectory) {
      current = next;
    } else {
      return { kind: "conflict" };
    }
  }
  return { kind: "ok", dir: current };
}

/** lstat that answers null for a missing path. */
export function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
