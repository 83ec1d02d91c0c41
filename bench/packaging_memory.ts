/**
 * `deno run --allow-all bench/packaging_memory.ts [FILE.mp4]`: memory and time of the
 * just-in-time packager's segment map for one MP4 (default: a 2-hour 64x48 H.264 + mono AAC
 * file generated with ffmpeg into a temp dir, removed afterwards). Prints the bytes the map holds
 * (what the cache budgets), the growth of the process's ArrayBuffer memory while it is held,
 * bytes per hour of media, samples, segments, the parse time, and the longest stretch the event
 * loop was blocked during the parse (a 1 ms interval timer measures it).
 *
 * @module
 */
import { indexMp4 } from "../src/packaging/mp4_index.ts";
import { buildSegmentMap } from "../src/packaging/segment_map.ts";

async function generate(dir: string): Promise<string> {
  const path = `${dir}/two-hours.mp4`;
  console.log("generating a 2-hour test file with ffmpeg (a few minutes of CPU)...");
  const out = await new Deno.Command("ffmpeg", {
    args: [
      ...["-y", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=25"],
      ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "7200"],
      ...["-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-g", "250"],
      ...["-b:v", "16k", "-c:a", "aac", "-b:a", "16k", "-ac", "1", "-movflags", "+faststart", path],
    ],
    stdin: "null",
  }).output();
  if (!out.success) throw new Error("ffmpeg failed");
  return path;
}

const given = Deno.args[0];
const dir = given === undefined ? await Deno.makeTempDir({ prefix: "zerocast-2h-" }) : null;
try {
  const path = given ?? await generate(dir!);
  const size = (await Deno.stat(path)).size;
  let longestGapMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
  }, 1);
  const before = Deno.memoryUsage();
  const started = performance.now();
  const map = await buildSegmentMap(await indexMp4(path, size), 6);
  const parseMs = performance.now() - started;
  clearInterval(timer);
  const after = Deno.memoryUsage();
  const hours = map.durationS / 3600;
  const samples = map.index.tracks.reduce((n, t) => n + t.count, 0);
  const segments = [map.video, ...map.audio].reduce((n, s) => n + (s ? s.starts.length - 1 : 0), 0);
  console.log(`file: ${path} (${size} bytes, ${map.durationS.toFixed(1)} s)`);
  console.log(`tracks: ${map.index.tracks.map((t) => `${t.kind} ${t.codecs} ${t.count} samples`)}`);
  console.log(`samples: ${samples}, segments: ${segments}`);
  console.log(
    `map holds: ${map.memoryBytes} bytes (${
      (map.memoryBytes / hours / 1e6).toFixed(2)
    } MB per hour)`,
  );
  console.log(`ArrayBuffer growth: ${after.external - before.external} bytes`);
  console.log(
    `parse: ${parseMs.toFixed(0)} ms, longest event-loop block: ${longestGapMs.toFixed(1)} ms`,
  );
} finally {
  if (dir !== null) await Deno.remove(dir, { recursive: true });
}
