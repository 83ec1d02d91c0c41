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
  return `"${identity.ino.toString(16)}-${identity.size.toString(16)}-${
    identity.mtimeNs.toString(16)
  }"`;
}
