/**
 * CMAF/fMP4 media segments (ISO/IEC 14496-12 §8.8, §8.16): the headers (`styp`, `moof` with
 * `mfhd`, `traf`(`tfhd`, `tfdt`, `trun`), the `mdat` header) are written in memory; the `mdat`
 * payload is a list of {@linkcode FileSlice}s of the source file, one per run of contiguous
 * samples, so a zero-copy server sends the sample bytes with sendfile and nothing reads them.
 *
 * @module
 */
import type { BodyPart, FileIdentity } from "../file_body.ts";
import type { TrackIndex } from "./mp4_index.ts";
import type { TrackSegments } from "./segment_map.ts";

/** A generated media segment: header bytes then file slices. */
export interface MediaSegment {
  /** Header bytes followed by the sample slices. */
  readonly parts: BodyPart[];
  /** Total length. */
  readonly byteLength: number;
  /** Length of the header part (styp + moof + mdat header). */
  readonly headerLength: number;
}

/** `sample_flags` of a sync sample: sample_depends_on = 2 (depends on no other sample). */
export const SYNC_FLAGS = 0x02000000;
/** `sample_flags` of another sample: depends_on = 1, sample_is_non_sync_sample = 1. */
export const NON_SYNC_FLAGS = 0x01010000;

const STYP = (() => {
  const out = new Uint8Array(24);
  const view = new DataView(out.buffer);
  view.setUint32(0, 24);
  out.set([0x73, 0x74, 0x79, 0x70], 4); // styp
  out.set([0x6d, 0x73, 0x64, 0x68], 8); // msdh
  out.set([0x6d, 0x73, 0x64, 0x68, 0x6d, 0x73, 0x69, 0x78], 16); // msdh msix
  return out;
})();

function fourcc(view: DataView, at: number, type: string): void {
  for (let i = 0; i < 4; i++) view.setUint8(at + i, type.charCodeAt(i));
}

/**
 * Segment `k` (0-based) of `segments`, whose samples live in the file at `path` (`identity`):
 * the moof sequence number is `k + 1`.
 */
export function mediaSegment(
  segments: TrackSegments,
  k: number,
  path: string,
  identity: FileIdentity,
): MediaSegment {
  const track: TrackIndex = segments.track;
  const first = segments.starts[k];
  const end = segments.starts[k + 1];
  const n = end - first;
  const video = track.kind === "video";
  const withFlags = video && track.sync !== null;
  const withCts = track.cts !== null;
  const perSample = 8 + (withFlags ? 4 : 0) + (withCts ? 4 : 0);
  const tfhdSize = withFlags ? 16 : 20;
  const trunSize = 20 + n * perSample;
  const trafSize = 8 + tfhdSize + 20 + trunSize;
  const moofSize = 8 + 16 + trafSize;
  let payload = 0;
  for (let i = first; i < end; i++) payload += track.sizes[i];
  const large = payload + 8 > 0xffffffff;
  const mdatHeader = large ? 16 : 8;
  const headerLength = STYP.byteLength + moofSize + mdatHeader;
  const head = new Uint8Array(headerLength);
  head.set(STYP);
  const v = new DataView(head.buffer);
  let p = STYP.byteLength;
  v.setUint32(p, moofSize);
  fourcc(v, p + 4, "moof");
  p += 8;
  v.setUint32(p, 16);
  fourcc(v, p + 4, "mfhd");
  v.setUint32(p + 12, k + 1);
  p += 16;
  v.setUint32(p, trafSize);
  fourcc(v, p + 4, "traf");
  p += 8;
  // tfhd: default-base-is-moof (0x020000); audio: default-sample-flags (0x20) = sync
  v.setUint32(p, tfhdSize);
  fourcc(v, p + 4, "tfhd");
  v.setUint32(p + 8, withFlags ? 0x020000 : 0x020020);
  v.setUint32(p + 12, track.id);
  if (!withFlags) v.setUint32(p + 16, SYNC_FLAGS);
  p += tfhdSize;
  // tfdt version 1: 64-bit baseMediaDecodeTime
  v.setUint32(p, 20);
  fourcc(v, p + 4, "tfdt");
  v.setUint32(p + 8, 0x01000000);
  v.setBigUint64(p + 12, BigInt(track.dts[first]));
  p += 20;
  // trun version 1 (signed composition offsets): data-offset, duration, size, [flags], [cto]
  v.setUint32(p, trunSize);
  fourcc(v, p + 4, "trun");
  const flags = 0x000001 | 0x000100 | 0x000200 | (withFlags ? 0x000400 : 0) |
    (withCts ? 0x000800 : 0);
  v.setUint32(p + 8, (0x01000000 | flags) >>> 0);
  v.setUint32(p + 12, n);
  v.setInt32(p + 16, moofSize + mdatHeader);
  p += 20;
  const { dts, sizes, sync, cts } = track;
  for (let i = first; i < end; i++) {
    v.setUint32(p, dts[i + 1] - dts[i]);
    v.setUint32(p + 4, sizes[i]);
    p += 8;
    if (withFlags) {
      v.setUint32(p, sync![i] === 1 ? SYNC_FLAGS : NON_SYNC_FLAGS);
      p += 4;
    }
    if (withCts) {
      v.setInt32(p, cts![i]);
      p += 4;
    }
  }
  if (large) {
    v.setUint32(p, 1);
    fourcc(v, p + 4, "mdat");
    v.setBigUint64(p + 8, BigInt(payload + 16));
  } else {
    v.setUint32(p, payload + 8);
    fourcc(v, p + 4, "mdat");
  }
  const parts: BodyPart[] = [head];
  const { offsets } = track;
  let runStart = -1;
  let runEnd = -1;
  for (let i = first; i < end; i++) {
    const offset = offsets[i];
    if (offset === runEnd) {
      runEnd += sizes[i];
      continue;
    }
    if (runStart >= 0 && runEnd > runStart) {
      parts.push({ path, offset: runStart, length: runEnd - runStart, identity });
    }
    runStart = offset;
    runEnd = offset + sizes[i];
  }
  if (runStart >= 0 && runEnd > runStart) {
    parts.push({ path, offset: runStart, length: runEnd - runStart, identity });
  }
  return { parts, byteLength: headerLength + payload, headerLength };
}
