/**
 * CMAF/fMP4 media segments (ISO/IEC 14496-12 §8.8, §8.16): the headers (`styp`, `moof` with
 * `mfhd`, `traf`(`tfhd`, `tfdt`, `trun`), the `mdat` header) are written in memory; the `mdat`
 * payload is a list of {@linkcode FileSlice}s of the source file (see {@linkcode planSegment}),
 * so a zero-copy server sends the sample bytes with sendfile and nothing reads them. Each run of
 * samples contiguous in the file gets its own `trun` with its own `data_offset`.
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

/** Largest gap between two runs of samples that is sent inside the `mdat` rather than skipped. */
export const MAX_BRIDGED_GAP = 4096;
/** Bridged gap bytes allowed per segment, as a fraction of its sample bytes. */
export const MAX_BRIDGED_SHARE = 1 / 8;

/** How a segment's samples map onto the file. */
export interface SegmentLayout {
  /** First sample of each contiguous run (one `trun` each), then the end sample. */
  readonly runStarts: number[];
  /** File ranges sent as the `mdat` payload: `[offset, length]`, runs and bridged gaps. */
  readonly slices: [offset: number, length: number][];
  /** Position in the `mdat` payload of each run's first sample. */
  readonly runPositions: number[];
  /** `mdat` payload bytes (samples plus bridged gaps). */
  readonly payload: number;
}

/**
 * Plans samples `[first, end)` of `track`: runs of samples that are contiguous in the file, and
 * the file slices that carry them. In an interleaved file each video frame may sit between audio
 * frames; a gap up to {@linkcode MAX_BRIDGED_GAP} bytes between two runs is sent along (the
 * `mdat` may hold bytes no `trun` points at), as long as the bridged bytes stay within
 * {@linkcode MAX_BRIDGED_SHARE} of the samples, so a video segment of such a file leaves in one
 * sendfile instead of one per frame. Larger gaps (video frames between audio runs) are skipped.
 */
export function planSegment(track: TrackIndex, first: number, end: number): SegmentLayout {
  const { offsets, sizes } = track;
  let samples = 0;
  for (let i = first; i < end; i++) samples += sizes[i];
  let bridgeBudget = samples * MAX_BRIDGED_SHARE;
  const runStarts: number[] = [];
  const runPositions: number[] = [];
  const slices: [number, number][] = [];
  let payload = 0;
  let sliceStart = -1;
  let sliceEnd = -1;
  for (let i = first; i < end; i++) {
    const offset = offsets[i];
    if (offset === sliceEnd && i > first) {
      sliceEnd += sizes[i];
      payload += sizes[i];
      continue;
    }
    // a new run
    const gap = offset - sliceEnd;
    if (i > first && gap > 0 && gap <= MAX_BRIDGED_GAP && gap <= bridgeBudget) {
      bridgeBudget -= gap;
      payload += gap;
      sliceEnd = offset;
    } else {
      if (sliceStart >= 0) slices.push([sliceStart, sliceEnd - sliceStart]);
      sliceStart = offset;
      sliceEnd = offset;
    }
    runStarts.push(i);
    runPositions.push(payload);
    sliceEnd += sizes[i];
    payload += sizes[i];
  }
  if (sliceStart >= 0) slices.push([sliceStart, sliceEnd - sliceStart]);
  runStarts.push(end);
  return { runStarts, slices, runPositions, payload };
}

/**
 * Segment `k` (0-based) of `segments`, whose samples live in the file at `path` (`identity`):
 * the moof sequence number is `k + 1`; one `trun` per run of contiguous samples.
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
  const layout = planSegment(track, first, end);
  const runs = layout.runStarts.length - 1;
  const video = track.kind === "video";
  const withFlags = video && track.sync !== null;
  const withCts = track.cts !== null;
  const perSample = 8 + (withFlags ? 4 : 0) + (withCts ? 4 : 0);
  const tfhdSize = withFlags ? 16 : 20;
  const trunsSize = 20 * runs + n * perSample;
  const trafSize = 8 + tfhdSize + 20 + trunsSize;
  const moofSize = 8 + 16 + trafSize;
  const payload = layout.payload;
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
  const flags = 0x000001 | 0x000100 | 0x000200 | (withFlags ? 0x000400 : 0) |
    (withCts ? 0x000800 : 0);
  const { dts, sizes, sync, cts } = track;
  for (let r = 0; r < runs; r++) {
    const from = layout.runStarts[r];
    const to = layout.runStarts[r + 1];
    v.setUint32(p, 20 + (to - from) * perSample);
    fourcc(v, p + 4, "trun");
    v.setUint32(p + 8, (0x01000000 | flags) >>> 0);
    v.setUint32(p + 12, to - from);
    v.setInt32(p + 16, moofSize + mdatHeader + layout.runPositions[r]);
    p += 20;
    for (let i = from; i < to; i++) {
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
  for (const [offset, length] of layout.slices) parts.push({ path, offset, length, identity });
  return { parts, byteLength: headerLength + payload, headerLength };
}

/** Slices averaging at most this many bytes make a segment "scattered" (see {@linkcode gathered}). */
export const SCATTERED_SLICE_BYTES = 8 * 1024;
/** Fewest slices for a segment to count as scattered. */
export const SCATTERED_MIN_SLICES = 16;

/**
 * True when `segment`'s samples lie in many small runs: the audio of a file interleaved frame by
 * frame, where each ~1 KB run would cost its own sendfile call and TCP segment.
 */
export function isScattered(segment: MediaSegment): boolean {
  const slices = segment.parts.length - 1;
  return slices >= SCATTERED_MIN_SLICES &&
    (segment.byteLength - segment.headerLength) / slices <= SCATTERED_SLICE_BYTES;
}

/**
 * `segment` with its file slices read into one buffer (`[header, payload]`), or null when the
 * file no longer is the version `identity` describes. Reads synchronously: a scattered segment
 * is small (its runs average ≤ 8 KiB), and it is done once per cached segment.
 */
export function gathered(segment: MediaSegment, identity: FileIdentity): MediaSegment | null {
  const payload = new Uint8Array(segment.byteLength - segment.headerLength);
  let file: Deno.FsFile | null = null;
  try {
    let at = 0;
    for (const part of segment.parts) {
      if (part instanceof Uint8Array) continue;
      if (file === null) {
        file = Deno.openSync(part.path, { read: true });
        const info = file.statSync();
        if (
          info.ino !== identity.ino || info.size !== identity.size ||
          BigInt(info.mtime?.getTime() ?? 0) !== identity.mtimeNs / 1_000_000n
        ) return null;
      }
      file.seekSync(part.offset, Deno.SeekMode.Start);
      let filled = 0;
      while (filled < part.length) {
        const n = file.readSync(payload.subarray(at + filled, at + part.length));
        if (n === null || n === 0) return null;
        filled += n;
      }
      at += part.length;
    }
  } catch {
    return null;
  } finally {
    file?.close();
  }
  return {
    parts: [segment.parts[0], payload],
    byteLength: segment.byteLength,
    headerLength: segment.headerLength,
  };
}
