/**
 * Media roots and their URL prefixes: `--root` under `/media/`, each `--mount /NAME=DIR` under
 * `/NAME/`. Every route finds its root here:
 *
 * - by URL ({@linkcode Mounts.resolveMount}): `/media/a.mp4`, `/movies/a.mp4` (files, ingest);
 * - by library path ({@linkcode Mounts.byLibraryPath}): the namespace of `/api/library?path=`,
 *   the pages and `/hls/<path>/…`, `/dash/<path>/…`. A path whose first segment is a mount name
 *   is in that mount (`movies/a.mp4`); any other is under `--root` (`a.mp4`), as without
 *   mounts. The mounts appear as top-level folders of the library; a `--root` folder with a
 *   mount's name is hidden by it.
 *
 * @module
 */
import { MediaPathResolver } from "./path.ts";
import { MEDIA_MOUNT } from "../settings.ts";

/** One root served under one URL prefix. */
export interface Mount {
  /** Library name: `""` for `--root`, else the mount's prefix without slashes (`movies`). */
  readonly name: string;
  /** URL prefix with both slashes (`/media/`, `/movies/`). */
  readonly prefix: string;
  /** Absolute real path of the directory. */
  readonly root: string;
  /** Resolves raw request paths under {@linkcode prefix}. */
  readonly resolver: MediaPathResolver;
}

/** A mount given to {@linkcode Mounts}: a name (one URL path segment) and a real directory. */
export interface MountSpec {
  /** Prefix without slashes, e.g. `movies` for `/movies/`. */
  readonly name: string;
  /** Absolute real path of the directory. */
  readonly root: string;
}

/** A URL path below a mount's prefix. */
export interface MountMatch {
  /** The mount. */
  readonly mount: Mount;
  /** The raw path after the prefix (`a%20b.mp4` for `/movies/a%20b.mp4`). */
  readonly rest: string;
}

/** `--root` and the `--mount`s of one app. */
export class Mounts {
  /** `--root` under `/media/`. */
  readonly media: Mount;
  /** The `--mount`s, in the order given. */
  readonly extra: readonly Mount[];
  /** `--root` first, then the `--mount`s. */
  readonly all: readonly Mount[];
  readonly #byName: ReadonlyMap<string, Mount>;

  /** `root` and every spec's root must be absolute real paths. Throws RangeError on a bad name. */
  constructor(root: string, specs: readonly MountSpec[] = []) {
    this.media = {
      name: "",
      prefix: MEDIA_MOUNT,
      root,
      resolver: new MediaPathResolver(root, MEDIA_MOUNT),
    };
    const byName = new Map<string, Mount>();
    for (const spec of specs) {
      if (!/^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/.test(spec.name) || spec.name === "media") {
        throw new RangeError(`mount name must be one URL path segment, got "${spec.name}"`);
      }
      if (byName.has(spec.name)) throw new RangeError(`mount /${spec.name}/ given twice`);
      const prefix = `/${spec.name}/`;
      byName.set(spec.name, {
        name: spec.name,
        prefix,
        root: spec.root,
        resolver: new MediaPathResolver(spec.root, prefix),
      });
    }
    this.#byName = byName;
    this.extra = [...byName.values()];
    this.all = [this.media, ...this.extra];
  }

  /** The mount whose URL prefix starts the raw URL path `rawPath` (no allocation), if any. */
  mountFor(rawPath: string): Mount | undefined {
    for (const mount of this.all) {
      if (rawPath.startsWith(mount.prefix)) return mount;
    }
    return undefined;
  }

  /** The mount whose URL prefix starts `rawPath`, and the raw rest; null when none does. */
  resolveMount(rawPath: string): MountMatch | null {
    for (const mount of this.all) {
      if (rawPath.startsWith(mount.prefix)) {
        return { mount, rest: rawPath.slice(mount.prefix.length) };
      }
    }
    return null;
  }

  /** The mount named `name` (`""`: `--root`). */
  byName(name: string): Mount | undefined {
    return name === "" ? this.media : this.#byName.get(name);
  }

  /**
   * The mount of a library path (`movies/a.mp4`, `a.mp4`; raw or decoded alike, since mount
   * names need no encoding) and the path inside it; the mount name alone gives rest `""`.
   */
  byLibraryPath(path: string): { readonly mount: Mount; readonly rest: string } {
    if (this.extra.length > 0) {
      const slash = path.indexOf("/");
      const first = slash < 0 ? path : path.slice(0, slash);
      const mount = this.#byName.get(first);
      if (mount !== undefined) return { mount, rest: slash < 0 ? "" : path.slice(slash + 1) };
    }
    return { mount: this.media, rest: path };
  }

  /** URL of a (decoded) library path: its mount's prefix and each segment percent-encoded. */
  urlOf(path: string): string {
    const { mount, rest } = this.byLibraryPath(path);
    return mount.prefix + rest.split("/").map(encodeURIComponent).join("/");
  }
}
