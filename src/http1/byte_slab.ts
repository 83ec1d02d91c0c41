/**
 * Small byte arrays carved out of shared slabs. Allocating a fresh `Uint8Array` costs close to a
 * microsecond here (an ArrayBuffer with its own backing store) while a view into a slab costs a
 * small fraction of that. A slab is never written again after its bytes were handed out, so the
 * returned views stay valid for as long as their holder keeps them (e.g. while a write waits for
 * EPOLLOUT); a full slab is simply left to the garbage collector with its last view.
 *
 * @module
 */

const SLAB_SIZE = 64 * 1024;
/** Requests larger than this get their own buffer. */
const MAX_SLAB_REQUEST = 8 * 1024;

let slab = new Uint8Array(SLAB_SIZE);
let used = 0;

/**
 * Returns a fresh view of `n` bytes (contents undefined until written). The view shares its
 * buffer with others: do not transfer or detach `view.buffer`.
 */
export function allocBytes(n: number): Uint8Array {
  if (n > MAX_SLAB_REQUEST) return new Uint8Array(n);
  if (used + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    used = 0;
  }
  const out = slab.subarray(used, used + n);
  used += n;
  return out;
}

/** Returns `str` encoded as latin1 (one byte per char; chars must be below 256). */
export function latin1Bytes(str: string): Uint8Array {
  const n = str.length;
  const out = allocBytes(n);
  for (let i = 0; i < n; i++) out[i] = str.charCodeAt(i);
  return out;
}
