/**
 * Generates the sample media in `media/` with ffmpeg (`deno task media:sample`).
 *
 * Everything is synthetic (testsrc2 video, sine audio) and small (well under 3 MB in total), and
 * the settings aim for byte-identical output on reruns with the same ffmpeg build: single-threaded
 * encoders, `bitexact` flags (no encoder version strings, fixed Matroska UIDs), no metadata copied.
 *
 * Outputs:
 * - `sample.mp4`: H.264 High + AAC-LC stereo, `moov` before `mdat` (`-movflags +faststart`).
 * - `sample.vtt`: WebVTT subtitles for `sample.mp4` (the player page picks up a sibling `.vtt`).
 * - `sample.webm`: VP9 + Opus stereo.
 * - `not-faststart.mp4`: the same streams as `sample.mp4`, `moov` after `mdat`.
 * - `hls/index.m3u8` + `hls/segment000.ts`...: H.264/AAC in MPEG-TS, 2 s segments, VOD playlist.
 *
 * @module
 */

/** Duration of every sample, in seconds. */
export const SAMPLE_SECONDS = 8;

const MEDIA = new URL("../../media/", import.meta.url).pathname;

/** Input: a 320x180 test pattern at 25 fps and a 440 Hz stereo sine, both exactly SAMPLE_SECONDS. */
const INPUTS = [
  "-f",
  "lavfi",
  "-i",
  `testsrc2=size=320x180:rate=25:duration=${SAMPLE_SECONDS}`,
  "-f",
  "lavfi",
  "-i",
  `sine=frequency=440:sample_rate=48000:duration=${SAMPLE_SECONDS}`,
];

/** Options that keep outputs reproducible and free of host/version details. */
const BITEXACT = [
  "-map_metadata",
  "-1",
  "-fflags",
  "+bitexact",
  "-flags:v",
  "+bitexact",
  "-flags:a",
  "+bitexact",
];

/** H.264 with a keyframe every 2 s exactly, so HLS segments are 2 s long. */
const H264 = [
  "-c:v",
  "libx264",
  "-threads",
  "1",
  "-profile:v",
  "high",
  "-level",
  "3.0",
  "-pix_fmt",
  "yuv420p",
  "-preset",
  "medium",
  "-crf",
  "30",
  "-g",
  "50",
  "-keyint_min",
  "50",
  "-sc_threshold",
  "0",
  "-x264-params",
  "threads=1:lookahead_threads=1",
];

/** AAC-LC stereo from the mono sine (upmixed so channel counts are visible in probes). */
const AAC = ["-c:a", "aac", "-b:a", "64k", "-ac", "2"];

const VTT = `WEBVTT

00:00:00.500 --> 00:00:03.000
Hello from <b>zerocast</b>

00:00:03.500 --> 00:00:06.000
A test pattern & a 440 Hz tone

00:00:06.500 --> 00:00:07.900
The end
`;

async function ffmpeg(args: string[]): Promise<void> {
  const out = await new Deno.Command("ffmpeg", {
    args: ["-hide_banner", "-loglevel", "error", "-y", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`ffmpeg ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Writes every sample file into `dir` (default: the repo's `media/`). */
export async function makeSampleMedia(dir: string = MEDIA): Promise<string[]> {
  const at = (name: string) => `${dir.replace(/\/$/, "")}/${name}`;
  await Deno.mkdir(at("hls"), { recursive: true });

  await ffmpeg([
    ...INPUTS,
    ...H264,
    ...AAC,
    ...BITEXACT,
    "-movflags",
    "+faststart",
    at("sample.mp4"),
  ]);
  // Same streams, remuxed without faststart: the muxer's default puts moov after mdat.
  await ffmpeg(["-i", at("sample.mp4"), "-c", "copy", ...BITEXACT, at("not-faststart.mp4")]);
  await Deno.writeTextFile(at("sample.vtt"), VTT);

  await ffmpeg([
    ...INPUTS,
    "-c:v",
    "libvpx-vp9",
    "-threads",
    "1",
    "-row-mt",
    "0",
    "-b:v",
    "0",
    "-crf",
    "40",
    "-deadline",
    "good",
    "-cpu-used",
    "4",
    "-g",
    "50",
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "libopus",
    "-b:a",
    "48k",
    "-ac",
    "2",
    ...BITEXACT,
    at("sample.webm"),
  ]);

  // Remove stale segments first so a rerun with fewer segments leaves none behind.
  for await (const entry of Deno.readDir(at("hls"))) {
    if (entry.isFile) await Deno.remove(at(`hls/${entry.name}`));
  }
  await ffmpeg([
    ...INPUTS,
    ...H264,
    ...AAC,
    ...BITEXACT,
    "-f",
    "hls",
    "-hls_time",
    "2",
    "-hls_playlist_type",
    "vod",
    "-hls_flags",
    "independent_segments",
    "-hls_segment_filename",
    at("hls/segment%03d.ts"),
    at("hls/index.m3u8"),
  ]);

  const written = ["sample.mp4", "not-faststart.mp4", "sample.vtt", "sample.webm"];
  for await (const entry of Deno.readDir(at("hls"))) written.push(`hls/${entry.name}`);
  return written.sort();
}

if (import.meta.main) {
  const written = await makeSampleMedia();
  let total = 0;
  for (const name of written) {
    const { size } = await Deno.stat(`${MEDIA}${name}`);
    total += size;
    console.log(`${String(size).padStart(9)}  media/${name}`);
  }
  console.log(`${String(total).padStart(9)}  total`);
}
