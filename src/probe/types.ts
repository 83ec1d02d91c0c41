/**
 * What a probe reports about a media file.
 *
 * Codec strings are the values of the RFC 6381 `codecs` MIME parameter where the container
 * carries what is needed (what `MediaSource.isTypeSupported` and `canPlayType` accept):
 * `avc1.64001e` (from avcC), `hvc1.1.6.L93.B0` (hvcC), `av01.0.04M.08` (av1C), `vp09.00.10.08`
 * (vpcC), `mp4a.40.2` (esds), and the WebM names `vp8`, `vp9`, `opus`, `vorbis`. Otherwise the
 * sample entry's four-character code (ISO-BMFF, e.g. `ac-3`) or the lower-cased Matroska CodecID.
 * HLS master playlists report their first variant's `CODECS` and `RESOLUTION` as written.
 *
 * @module
 */

/** Media facts of one file; fields the file does not carry are left out. */
export interface MediaInfo {
  /** Container family. */
  container: "mp4" | "webm" | "matroska" | "hls";
  /** Duration in seconds. */
  duration?: number;
  /** Width in pixels of the first video track (coded size from the sample entry). */
  width?: number;
  /** Height in pixels of the first video track. */
  height?: number;
  /** Codec of the first video track (see the module doc for the format). */
  videoCodec?: string;
  /** Codec of the first audio track. */
  audioCodec?: string;
  /** Channel count of the first audio track. */
  channels?: number;
  /** ISO-BMFF only: true when `moov` comes before the first `mdat`. */
  faststart?: boolean;
  /** HLS only: a media playlist without `#EXT-X-ENDLIST` (still being written). */
  live?: boolean;
  /** HLS only: number of variant streams of a master playlist. */
  variants?: number;
}

/** Thrown when a file is not the format it claims, is truncated, or is malformed. */
export class ProbeError extends Error {
  /** Creates the error with a one-line, user-facing reason. */
  constructor(message: string) {
    super(message);
    this.name = "ProbeError";
  }
}
