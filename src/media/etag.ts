/**
 * Strong entity tags (RFC 9110 §8.8.3) from a file's identity.
 *
 * The tag changes whenever inode, size or mtime change, so it is a strong validator: byte-equal
 * tags mean byte-equal content, which `If-Range` and Chrome's resumed media requests rely on.
 *
 * @module
 */
import type { FileIdentity } from "../file_body.ts";

/** Returns the strong ETag (quoted) for `identity`: `"<ino>-<size>-<mtimeNs>"` in hex. */
export function strongEtag(identity: FileIdentity): string {
  // One-entry memo: a burst of requests for one file asks for the same tag (BigInt formatting
  // is the costly part).
  if (
    identity.ino !== lastIno || identity.size !== lastSize || identity.mtimeNs !== lastMtimeNs
  ) {
    lastTag = `"${identity.ino.toString(16)}-${identity.size.toString(16)}-${
      identity.mtimeNs.toString(16)
    }"`;
    lastIno = identity.ino;
    lastSize = identity.size;
    lastMtimeNs = identity.mtimeNs;
  }
  return lastTag;
}

let lastIno = -1;
let lastSize = -1;
let lastMtimeNs = -1n;
let lastTag = "";
