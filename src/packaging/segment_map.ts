/**
 * Cut points of the packaged renditions. The reference track (the first video track, else the
 * first audio track) is cut on sync samples nearest to every `target` seconds of presentation
 * time (an audio-only file at the first sample at or after each multiple of `target`); every
 * other track is cut at the samples nearest to the reference cut times, so the segments of all
 * renditions cover the same time ranges (what HLS players and DASH `segmentAlignment` expect).
 *
 * Times are presentation times in track ticks with the edit list applied: sample `i` is shown
 * at `dts[i] + cts[i] - editMediaTime + editDelay`.
 *
 * @module
 */
import { planSegment } from "./fmp4_segment.ts";
import { type Mp4Index, type TrackIndex, yieldToLoop } from "./mp4_index.ts";

/** The segments of one track. */
export interface TrackSegments {
  /** The track. */
  readonly track: TrackIndex;
  /** First sample of each segment, then `track.count` (length = segment count + 1). */
  readonly starts: Uint32Array;
  /** Presentation start of each segment in track ticks, then the end (length = count + 1). */
  readonly times: Float64Array;
  /** Highest segment bitrate, bits per second. */
  readonly peakBitrate: number;
  /** Average bitrate over the track, bits per second. */
  readonly averageBitrate: number;
  /** Frames per second (video). */
  readonly frameRate: number;
}

/** The packaging plan of one file: its index and the segments of every packaged track. */
export interface SegmentMap {
  /** Unique per map built in this process (keys of the segment cache). */
  readonly serial: number;
  /** The sample index. */
  readonly index: Mp4Index;
  /** The video rendition (first video track) or null for audio-only files. */
  readonly video: TrackSegments | null;
  /** One rendition per audio track. */
  readonly audio: readonly TrackSegments[];
  /** Presentation duration in seconds (longest rendition). */
  readonly durationS: number;
  /** Memory held by the index and the map, bytes. */
  readonly memoryBytes: number;
}

let serials = 0;

/** Presentation time of sample `i` in track ticks. */
export function presentationTime(track: TrackIndex, i: number): number {
  return track.dts[i] + (track.cts === null ? 0 : track.cts[i]) - track.editMediaTime +
    track.editDelay;
}

/**
 * Builds the map for `index` with segments of about `targetS` seconds; yields to the event loop
 * between tracks (each is one pass over its samples).
 */
export async function buildSegmentMap(index: Mp4Index, targetS: number): Promise<SegmentMap> {
  const videoTrack = index.tracks.find((t) => t.kind === "video");
  const audioTracks = index.tracks.filter((t) => t.kind === "audio");
  let cuts: number[];
  let video: TrackSegments | null = null;
  if (videoTrack !== undefined) {
    const starts = videoCuts(videoTrack, targetS * videoTrack.timescale);
    await yieldToLoop();
    video = finish(videoTrack, starts);
    cuts = Array.from(
      video.times.subarray(1, video.times.length - 1),
      (t) => t / videoTrack.timescale,
    );
  } else {
    cuts = [];
    const first = audioTracks[0];
    for (let t = targetS; t < first.duration / first.timescale - 1e-9; t += targetS) cuts.push(t);
  }
  const audio: TrackSegments[] = [];
  for (const track of audioTracks) {
    await yieldToLoop();
    audio.push(finish(track, alignedCuts(track, cuts)));
  }
  let durationS = 0;
  let memoryBytes = index.memoryBytes;
  for (const s of video === null ? audio : [video, ...audio]) {
    durationS = Math.max(durationS, s.times[s.times.length - 1] / s.track.timescale);
    memoryBytes += s.starts.byteLength + s.times.byteLength + 64;
  }
  return { serial: ++serials, index, video, audio, durationS, memoryBytes };
}

/** First samples of the video segments: sync samples nearest to each `target` ticks. */
function videoCuts(track: TrackIndex, target: number): number[] {
  const syncs: number[] = [];
  for (let i = 0; i < track.count; i++) {
    if (track.sync === null || track.sync[i] === 1) syncs.push(i);
  }
  const starts = [0];
  let startTime = Math.max(0, presentationTime(track, 0));
  let j = 1;
  while (j < syncs.length) {
    // the first sync sample at least `target` after the segment start
    while (j < syncs.length && presentationTime(track, syncs[j]) - startTime < target) j++;
    if (j >= syncs.length) break; // the rest is shorter than a target: one last segment
    let pick = j;
    const before = j - 1;
    if (before >= 1 && syncs[before] > starts[starts.length - 1]) {
      const early = target - (presentationTime(track, syncs[before]) - startTime);
      const late = presentationTime(track, syncs[pick]) - startTime - target;
      // prefer the earlier key frame when it is nearer, but not for a very short segment
      if (early < late && early < target / 2) pick = before;
    }
    const time = presentationTime(track, syncs[pick]);
    if (time <= startTime) {
      j = pick + 1;
      continue;
    }
    starts.push(syncs[pick]);
    startTime = time;
    j = pick + 1;
  }
  return starts;
}

/** First samples of the segments of `track` cut nearest to `cuts` (seconds). */
function alignedCuts(track: TrackIndex, cuts: readonly number[]): number[] {
  const starts = [0];
  let i = 0;
  for (const cut of cuts) {
    const ticks = cut * track.timescale;
    // samples are in presentation order for audio; advance to the nearest boundary
    while (i < track.count && presentationTime(track, i) < ticks) i++;
    if (i >= track.count) break;
    let pick = i;
    if (i > 0 && ticks - presentationTime(track, i - 1) < presentationTime(track, i) - ticks) {
      pick = i - 1;
    }
    if (pick > starts[starts.length - 1]) starts.push(pick);
  }
  return starts;
}

/** Completes the segments of `track` from their first samples. */
function finish(track: TrackIndex, firstSamples: number[]): TrackSegments {
  const n = firstSamples.length;
  const starts = new Uint32Array(n + 1);
  starts.set(firstSamples);
  starts[n] = track.count;
  const times = new Float64Array(n + 1);
  for (let k = 1; k < n; k++) times[k] = presentationTime(track, firstSamples[k]);
  times[0] = 0;
  times[n] = Math.max(track.duration, times[n - 1] + 1);
  let peakBitrate = 0;
  let total = 0;
  for (let k = 0; k < n; k++) {
    // what the segment's mdat carries (samples and bridged gaps, see planSegment)
    const bytes = planSegment(track, starts[k], starts[k + 1]).payload;
    total += bytes;
    const seconds = (times[k + 1] - times[k]) / track.timescale;
    if (seconds > 0) peakBitrate = Math.max(peakBitrate, bytes * 8 / seconds);
  }
  const durationS = times[n] / track.timescale;
  const averageBitrate = durationS > 0 ? total * 8 / durationS : 0;
  const frameRate = track.kind === "video" && durationS > 0 ? track.count / durationS : 0;
  return {
    track,
    starts,
    times,
    peakBitrate: Math.ceil(peakBitrate),
    averageBitrate: Math.ceil(averageBitrate),
    frameRate,
  };
}
