/**
 * `multipart/byteranges` bodies (RFC 9110 §14.6) as {@linkcode FileBody} parts: the part
 * headers and boundaries are small in-memory byte arrays and each range is a
 * {@linkcode FileSlice}, so a zero-copy server still sends the file bytes with sendfile and the
 * exact Content-Length is known before the first byte is sent.
 *
 * Layout (RFC 2046 §5.1.1; the CRLF before each delimiter belongs to the delimiter):
 *
 * ```
 * --B CRLF Content-Type: T CRLF Content-Range: bytes a-b/size CRLF CRLF <bytes>
 * CRLF --B CRLF ... <bytes>
 * CRLF --B-- CRLF
 * ```
 *
 * @module
 */
import { type BodyPart, type FileIdentity, sliceParts } from "../file_body.ts";
import type { ByteRange } from "./range.ts";

/** A multipart/byteranges body ready to wrap in a FileBody. */
export interface MultipartBody {
  /** `multipart/byteranges; boundary=...` */
  readonly contentType: string;
  /** Part headers, file slices and the closing delimiter, in order. */
  readonly parts: readonly BodyPart[];
  /** Exact total length in bytes (the response's Content-Length). */
  readonly byteLength: number;
}

const encoder = new TextEncoder();

/** Returns a fresh random boundary (24 hex chars; never found by chance in the file). */
export function randomBoundary(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let hex = "";
  for (const b of bytes) hex += (b < 16 ? "0" : "") + b.toString(16);
  return `zerocast-${hex}`;
}

/** What {@linkcode multipartParts} needs of the entity: its size and its bytes as parts. */
export interface RangeSource {
  /** Size in bytes (the `/size` of each part's Content-Range). */
  readonly size: number;
  /** The bytes `[offset, offset + length)` as body parts. */
  parts(offset: number, length: number): readonly BodyPart[];
}

/**
 * Builds the body for `ranges` of `source`. `partType` is the Content-Type of each part (the
 * entity's own type).
 */
export function multipartParts(
  source: RangeSource,
  ranges: readonly ByteRange[],
  partType: string,
  boundary: string = randomBoundary(),
): MultipartBody {
  const parts: BodyPart[] = [];
  let byteLength = 0;
  for (let i = 0; i < ranges.length; i++) {
    const { start, end } = ranges[i];
    const head = encoder.encode(
      `${i === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${partType}\r\n` +
        `Content-Range: bytes ${start}-${end}/${source.size}\r\n\r\n`,
    );
    const length = end - start + 1;
    parts.push(head, ...source.parts(start, length));
    byteLength += head.byteLength + length;
  }
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  parts.push(tail);
  byteLength += tail.byteLength;
  return { contentType: `multipart/byteranges; boundary=${boundary}`, parts, byteLength };
}

/**
 * Builds the body for `ranges` of the file at `path` (a real path) described by `identity`.
 * `partType` is the Content-Type of each part (the file's own type).
 */
export function multipartByteranges(
  path: string,
  identity: FileIdentity,
  ranges: readonly ByteRange[],
  partType: string,
  boundary: string = randomBoundary(),
): MultipartBody {
  const source: RangeSource = {
    size: identity.size,
    parts: (offset, length) => [{ path, offset, length, identity }],
  };
  return multipartParts(source, ranges, partType, boundary);
}

/**
 * Builds the body for `ranges` of a virtual body of `size` bytes made of `source` parts (file
 * slices and bytes, e.g. a generated fMP4 segment); file bytes stay file slices.
 */
export function multipartFromParts(
  source: readonly BodyPart[],
  size: number,
  ranges: readonly ByteRange[],
  partType: string,
  boundary: string = randomBoundary(),
): MultipartBody {
  const whole: RangeSource = {
    size,
    parts: (offset, length) => sliceParts(source, offset, length),
  };
  return multipartParts(whole, ranges, partType, boundary);
}
