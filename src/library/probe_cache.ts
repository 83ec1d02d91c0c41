/**
 * Probe results cached by file version: (dev, inode, size, mtime). A file replaced or rewritten
 * gets a new key, so entries never go stale; old keys simply age out of the bounded LRU.
 * Concurrent requests for the same version share one probe.
 *
 * @module
 */
import type { FileIdentity } from "../file_body.ts";
import { type MediaInfo, ProbeError, probeFile, type ProbeFormat } from "../probe/probe.ts";

/** A probe outcome: the media facts, or a one-line reason the file could not be read. */
export type ProbeOutcome =
  | { readonly info: MediaInfo }
  /** `transient`: an I/O failure rather than a verdict on the bytes; not kept in the cache. */
  | { readonly error: string; readonly transient?: boolean };

/** Default number of probe results kept. */
export const DEFAULT_PROBE_CACHE_SIZE = 10_000;

/** Cache key of a file version. */
export function identityKey(identity: FileIdentity): string {
  return `${identity.dev}:${identity.ino}:${identity.size}:${identity.mtimeNs}`;
}

/** A bounded LRU of probe outcomes keyed by file identity. */
export class ProbeCache {
  readonly #entries = new Map<string, Promise<ProbeOutcome>>();
  /** Number of probes actually run (cache misses); tests read it. */
  probes = 0;

  /** Creates a cache holding at most `capacity` outcomes. */
  constructor(readonly capacity: number = DEFAULT_PROBE_CACHE_SIZE) {}

  /** Number of cached outcomes. */
  get size(): number {
    return this.#entries.size;
  }

  /** The outcome for `path` at version `identity`, probing it on a miss. Never rejects. */
  get(path: string, identity: FileIdentity, format: ProbeFormat): Promise<ProbeOutcome> {
    const key = identityKey(identity);
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      // Map iteration order is insertion order: re-inserting marks it most recently used.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    this.probes++;
    const outcome = probe(path, format);
    this.#entries.set(key, outcome);
    // Only verdicts about the bytes are kept; an I/O failure may pass, so it is retried.
    outcome.then((result) => {
      if ("error" in result && result.transient && this.#entries.get(key) === outcome) {
        this.#entries.delete(key);
      }
    });
    while (this.#entries.size > this.capacity) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    return outcome;
  }
}

async function probe(path: string, format: ProbeFormat): Promise<ProbeOutcome> {
  try {
    return { info: await probeFile(path, format) };
  } catch (error) {
    if (error instanceof ProbeError) return { error: error.message };
    // Deno's messages name the absolute path; the API must not reveal where the root is.
    const name = error instanceof Error ? error.name : "Error";
    return { error: `cannot read file (${name})`, transient: true };
  }
}
