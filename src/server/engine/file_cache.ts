/**
 * Open file descriptors for file slices, cached by path (like nginx's `open_file_cache`).
 *
 * A cached fd is reused only while the identity the app computed its headers from (dev, ino,
 * size, mtime of the {@linkcode FileSlice}) matches what fstat(2) said when the fd was opened;
 * otherwise the path is opened again. mtime is compared at millisecond precision because the
 * app's identity may come from `Deno.statSync` (no FFI), whose `mtime` is a `Date`; with statx
 * it is in nanoseconds. A match at ms precision with the same inode is the same open file, so
 * the bytes read through the fd are current either way.
 *
 * @module
 */
import { errno, libc } from "../../../ffi/libc.ts";
import { O_CLOEXEC, O_RDONLY, S_IFMT, S_IFREG } from "../../../ffi/constants.ts";
import { decodeStat, STAT_SIZE, type StatFields } from "../../../ffi/structs.ts";
import { FileChangedError, type FileIdentity } from "../../file_body.ts";
import { SyscallError } from "./loop.ts";

/** An open file shared by the responses sending from it. */
export interface OpenFile {
  /** The fd (valid while acquired). */
  readonly fd: number;
  /** What fstat said when it was opened. */
  readonly stat: StatFields;
}

interface Entry extends OpenFile {
  readonly path: string;
  /** The identity object last found to match (identities are shared per file version). */
  matched: FileIdentity | null;
  refs: number;
  lastUsed: number;
  /** Still the map's entry for its path (else closed when the last user releases it). */
  cached: boolean;
}

const encoder = new TextEncoder();

/** Returns true when `stat` describes the same file version as `identity`. */
export function sameIdentity(stat: StatFields, identity: FileIdentity): boolean {
  return stat.ino === identity.ino && stat.dev === identity.dev && stat.size === identity.size &&
    stat.mtimeNs / 1_000_000n === BigInt(identity.mtimeNs) / 1_000_000n;
}

/** A bounded, LRU cache of open read-only fds keyed by path. */
export class FileCache {
  readonly #entries = new Map<string, Entry>();
  readonly #statBuf = new Uint8Array(STAT_SIZE);
  readonly #statView = new DataView(this.#statBuf.buffer);
  /** Files open now (cached or in use), for tests and metrics. */
  openCount = 0;

  /** Creates a cache holding at most `maxSize` idle fds for at most `ttlMs` each. */
  constructor(readonly maxSize: number, readonly ttlMs: number) {}

  /**
   * Returns an open fd for `path` whose fstat matches `identity`; throws SyscallError when it
   * cannot be opened and FileChangedError when the file on disk is another version.
   */
  acquire(path: string, identity: FileIdentity, now: number): OpenFile {
    const hit = this.#entries.get(path);
    if (hit !== undefined && (hit.matched === identity || sameIdentity(hit.stat, identity))) {
      hit.matched = identity;
      hit.refs++;
      // move to the back (Map iteration order is the LRU order), at most once per ms: a file
      // read by every request of a batch is moved once
      if (hit.lastUsed !== now) {
        hit.lastUsed = now;
        this.#entries.delete(path);
        this.#entries.set(path, hit);
      }
      return hit;
    }
    const entry = this.#open(path, now);
    if (this.maxSize > 0) {
      if (hit !== undefined) this.#uncache(hit);
      this.#entries.set(path, entry);
      entry.cached = true;
      this.#evict(this.maxSize);
    }
    if (!sameIdentity(entry.stat, identity)) {
      // Replaced between the app's stat and this open (a live playlist renamed into place): the
      // head was computed for the old version, so sending these bytes under it would mix
      // versions. The fresh fd stays cached for the requests that stat the new version.
      this.release(entry);
      throw new FileChangedError(path);
    }
    return entry;
  }

  /** Gives back a file from {@linkcode acquire}. */
  release(file: OpenFile): void {
    const entry = file as Entry;
    entry.refs--;
    if (entry.refs === 0 && !entry.cached) this.#close(entry);
  }

  /** Closes idle fds unused for longer than the TTL. */
  sweep(now: number): void {
    for (const entry of this.#entries.values()) {
      if (now - entry.lastUsed < this.ttlMs) break;
      this.#uncache(entry);
    }
  }

  /** Drops every cached fd (fds in use close on release). */
  clear(): void {
    for (const entry of [...this.#entries.values()]) this.#uncache(entry);
  }

  #open(path: string, now: number): Entry {
    const c = libc();
    const fd = c.open(encoder.encode(path + "\0"), O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) throw new SyscallError(`open ${path}`, errno());
    if (c.fstat(fd, this.#statBuf) < 0) {
      const code = errno();
      c.close(fd);
      throw new SyscallError(`fstat ${path}`, code);
    }
    const stat = decodeStat(this.#statView);
    if ((stat.mode & S_IFMT) !== S_IFREG) {
      c.close(fd);
      throw new Error(`not a regular file: ${path}`);
    }
    this.openCount++;
    return { fd, stat, path, matched: null, refs: 1, lastUsed: now, cached: false };
  }

  #uncache(entry: Entry): void {
    if (!entry.cached) return;
    entry.cached = false;
    if (this.#entries.get(entry.path) === entry) this.#entries.delete(entry.path);
    if (entry.refs === 0) this.#close(entry);
  }

  #evict(limit: number): void {
    if (this.#entries.size <= limit) return;
    for (const entry of this.#entries.values()) {
      if (this.#entries.size <= limit) break;
      this.#uncache(entry);
    }
  }

  #close(entry: Entry): void {
    libc().close(entry.fd);
    this.openCount--;
  }
}
