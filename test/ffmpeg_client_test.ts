/**
 * ffmpeg and ffprobe as HTTP clients of the server, on every engine: ffprobe reads the samples'
 * duration and streams over HTTP; `ffmpeg -ss <mid> -i URL -frames:v 1` extracts a frame (which
 * makes ffmpeg seek with range requests, to the end of the file for the non-faststart MP4); and
 * the library API's probe results agree with ffprobe for the samples and for files in other
 * codecs and containers made here (HEVC, AV1, VP9 in MP4, MOV, M4A, Matroska, 5.1 audio).
 *
 * Skips with a message when ffmpeg/ffprobe are absent.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { FileEntry, Listing } from "../src/library/library.ts";
import { ENGINES, have, startServer } from "./support/server.ts";

const MEDIA = fileURLToPath(new URL("../media/", import.meta.url));
const present = have("ffmpeg") && have("ffprobe");
if (!present) console.log("ffmpeg_client_test: skipped, ffmpeg/ffprobe not found");

interface ProbeStream {
  codec_type: string;
  codec_name: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  channels?: number;
}

interface ProbeResult {
  format: { duration?: string };
  streams: ProbeStream[];
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${stderr}`);
  return new TextDecoder().decode(out.stdout);
}

async function ffprobe(input: string): Promise<ProbeResult> {
  return JSON.parse(
    await run("ffprobe", [
      ...["-v", "error", "-of", "json", "-show_entries"],
      "format=duration:stream=codec_type,codec_name,profile,level,width,height,channels",
      input,
    ]),
  );
}

const firstOf = (probe: ProbeResult, type: string) =>
  probe.streams.find((s) => s.codec_type === type);

for (const engine of ENGINES) {
  Deno.test({
    name: `ffprobe and ffmpeg over HTTP read the samples and seek with ranges (${engine})`,
    ignore: !present,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "zerocast-ffmpeg-" });
      const server = await startServer({ engine, log: true });
      try {
        const mp4 = await ffprobe(`${server.url}/media/sample.mp4`);
        assert.equal(Number(mp4.format.duration), 8);
        assert.deepEqual(
          mp4.streams.map((s) => [s.codec_type, s.codec_name]),
          [["video", "h264"], ["audio", "aac"]],
        );
        assert.equal(firstOf(mp4, "video")!.width, 320);
        const webm = await ffprobe(`${server.url}/media/sample.webm`);
        assert.ok(Math.abs(Number(webm.format.duration) - 8) < 0.05, webm.format.duration);
        assert.deepEqual(webm.streams.map((s) => s.codec_name), ["vp9", "opus"]);
        const hls = await ffprobe(`${server.url}/media/hls/index.m3u8`);
        assert.equal(Number(hls.format.duration), 8);
        assert.deepEqual(hls.streams.map((s) => s.codec_name).sort(), ["aac", "h264"]);

        for (const name of ["sample.mp4", "not-faststart.mp4", "sample.webm"]) {
          const from = server.stdout.length;
          const png = `${dir}/${name}.png`;
          await run("ffmpeg", [
            ...["-hide_banner", "-loglevel", "error", "-y", "-ss", "4"],
            ...["-i", `${server.url}/media/${name}`, "-frames:v", "1", png],
          ]);
          const frame = await ffprobe(png);
          assert.equal(frame.streams[0].codec_name, "png");
          assert.equal(frame.streams[0].width, 320);
          assert.equal(frame.streams[0].height, 180);
          const lines = server.stdout.slice(from).filter((l) => l.includes(`/media/${name} `));
          assert.ok(lines.length >= 1, server.stdout.join("\n"));
          // ffmpeg always asks with a Range header; each answer is 206 (or 416 past the end).
          assert.ok(lines.every((l) => / (206|416) /.test(l)), lines.join("\n"));
          if (name === "not-faststart.mp4") {
            // moov at the end: ffmpeg had to jump there with a second range request.
            assert.ok(lines.filter((l) => / 206 /.test(l)).length >= 2, lines.join("\n"));
          }
        }
      } finally {
        await server.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

/** Extra files in other codecs/containers: name → ffmpeg output args (inputs are shared). */
const VARIANTS: Record<string, string[]> = {
  "hevc.mp4": [
    "-c:v",
    "libx265",
    "-x265-params",
    "log-level=error",
    "-tag:v",
    "hvc1",
    "-c:a",
    "aac",
  ],
  "av1.mp4": ["-c:v", "libaom-av1", "-cpu-used", "8", "-c:a", "libopus"],
  "vp9.mp4": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus"],
  "h264.mov": ["-c:v", "libx264", "-profile:v", "main", "-c:a", "aac"],
  "surround.m4a": ["-vn", "-c:a", "aac", "-ac", "6"],
  "h264.mkv": ["-c:v", "libx264", "-profile:v", "baseline", "-c:a", "aac"],
  "vp8.webm": ["-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libvorbis"],
  "flac.mkv": ["-vn", "-c:a", "flac"],
};

const AVC_PROFILES: Record<string, number> = {
  "Constrained Baseline": 66,
  Baseline: 66,
  Main: 77,
  High: 100,
};

/** Checks the library's entry against ffprobe's view of the same file. */
function assertAgrees(entry: FileEntry, probe: ProbeResult): void {
  const label = entry.name;
  assert.equal(entry.error, undefined, `${label}: ${entry.error}`);
  assert.ok(
    Math.abs(entry.duration! - Number(probe.format.duration)) < 0.05,
    `${label}: duration ${entry.duration} vs ${probe.format.duration}`,
  );
  const video = firstOf(probe, "video");
  if (video) {
    assert.equal(entry.width, video.width, label);
    assert.equal(entry.height, video.height, label);
    const codec = entry.videoCodec!;
    const family: Record<string, RegExp> = {
      h264: /^avc1\.[0-9a-f]{6}$/,
      hevc: /^(hvc1|hev1)\.\d+\.[0-9A-F]+\.[LH]\d+(\.[0-9A-F]+)*$/,
      av1: /^av01\.\d\.\d\d[MH]\.\d\d$/,
      vp9: /^(vp9|vp09\.\d\d\.\d\d\.\d\d)$/,
      vp8: /^vp8$/,
    };
    assert.match(codec, family[video.codec_name], `${label}: ${video.codec_name}`);
    if (video.codec_name === "h264") {
      assert.equal(parseInt(codec.slice(5, 7), 16), AVC_PROFILES[video.profile!], label);
      assert.equal(parseInt(codec.slice(9, 11), 16), video.level, label);
    }
  } else {
    assert.equal(entry.videoCodec, undefined, label);
  }
  const audio = firstOf(probe, "audio");
  if (audio) {
    assert.equal(entry.channels, audio.channels, label);
    const expected: Record<string, RegExp> = {
      aac: audio.profile === "LC" ? /^mp4a\.40\.2$/ : /^mp4a\.40\.\d+$/,
      opus: /^opus$/,
      vorbis: /^vorbis$/,
      flac: /^flac$/,
    };
    assert.match(entry.audioCodec!, expected[audio.codec_name], `${label}: ${audio.codec_name}`);
  }
}

Deno.test({
  name: "the library API's probe results match ffprobe's",
  ignore: !present,
  async fn() {
    const root = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-variants-" }));
    const server = await startServer({ root });
    try {
      for (const name of ["sample.mp4", "not-faststart.mp4", "sample.webm"]) {
        await Deno.copyFile(`${MEDIA}${name}`, `${root}/${name}`);
      }
      for (const [name, args] of Object.entries(VARIANTS)) {
        await run("ffmpeg", [
          ...["-hide_banner", "-loglevel", "error", "-y"],
          ...["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10:duration=2"],
          ...["-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=2"],
          ...args,
          `${root}/${name}`,
        ]);
      }
      const listing: Listing = await (await fetch(`${server.url}/api/library`)).json();
      const entries = listing.entries as FileEntry[];
      assert.equal(entries.length, 3 + Object.keys(VARIANTS).length);
      for (const entry of entries) assertAgrees(entry, await ffprobe(`${root}/${entry.name}`));
    } finally {
      await server.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});
