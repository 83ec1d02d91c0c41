/**
 * Data of workload W5: a 10-minute H.264 + AAC MP4 generated with ffmpeg into the git-ignored
 * data folder on first use, and every HLS file zerocast packages from it (playlists, init and
 * media segments), fetched once through the app and written under `hls-static/` so nginx serves
 * byte-identical segments at the same URLs as static files.
 *
 * @module
 */
import { createApp } from "../../src/app.ts";
import { DATA_ROOT } from "./data.ts";

/** Name of the W5 source file in the data folder. */
export const HLS_SOURCE = "hls-10min.mp4";
/** Folder (under the data folder) of the pre-packaged copies nginx serves at `/hls/`. */
export const HLS_STATIC = "hls-static";

/** Generates the source with ffmpeg unless it exists (noise keeps the bitrate near 2 Mb/s). */
async function ensureSource(log: (line: string) => void): Promise<string> {
  const path = `${DATA_ROOT}${HLS_SOURCE}`;
  try {
    await Deno.stat(path);
    return path;
  } catch { /* generate it */ }
  log(`generating ${path} with ffmpeg (10 minutes of 640x360 H.264 + AAC; takes a while)`);
  await Deno.mkdir(DATA_ROOT, { recursive: true });
  const partial = `${path}.partial.mp4`;
  const out = await new Deno.Command("ffmpeg", {
    args: [
      ...["-y", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25"],
      ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "600"],
      ...["-vf", "noise=alls=12:allf=t", "-pix_fmt", "yuv420p", "-c:v", "libx264"],
      ...["-preset", "ultrafast", "-b:v", "2M", "-maxrate", "2M", "-bufsize", "2M", "-g", "50"],
      ...["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", partial],
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(out.stderr)}`);
  await Deno.rename(partial, path);
  return path;
}

/**
 * Makes sure the source and its static copies exist (rewritten when the source changed) and
 * returns the URL paths of every media segment (`/hls/<source>/<rendition>/<n>.m4s`); only those
 * containing `$ZEROCAST_W5_FILTER` when that is set (e.g. `/a2/` for the audio alone).
 */
export async function prepareHlsData(log: (line: string) => void): Promise<string[]> {
  const source = await ensureSource(log);
  const root = Deno.realPathSync(DATA_ROOT);
  const info = await Deno.stat(source);
  const stamp = `${info.size}-${info.mtime?.getTime()}`;
  const staticDir = `${root}/${HLS_STATIC}/${HLS_SOURCE}`;
  const stampFile = `${root}/${HLS_STATIC}/${HLS_SOURCE}.stamp`;
  let fresh = false;
  try {
    fresh = (await Deno.readTextFile(stampFile)) === stamp;
  } catch { /* not written yet */ }
  const app = createApp({ root });
  const base = `/hls/${HLS_SOURCE}/`;
  const get = async (relative: string): Promise<Uint8Array> => {
    const response = await app.fetch(new Request(`http://bench${base}${relative}`));
    if (response.status !== 200) throw new Error(`${base}${relative}: ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  };
  const text = async (relative: string) => new TextDecoder().decode(await get(relative));
  const master = await text("master.m3u8");
  const playlists = master.split("\n").flatMap((line) => {
    const uri = /URI="([^"]+)"/.exec(line)?.[1];
    if (line.startsWith("#EXT-X-MEDIA:") && uri) return [uri];
    return line !== "" && !line.startsWith("#") ? [line] : [];
  });
  const files = ["master.m3u8"];
  const segments: string[] = [];
  for (const playlist of playlists) {
    files.push(playlist);
    for (const line of (await text(playlist)).split("\n")) {
      const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(line)?.[1];
      if (map) files.push(map);
      else if (line !== "" && !line.startsWith("#")) {
        files.push(line);
        segments.push(`${base}${line}`);
      }
    }
  }
  if (!fresh) {
    log(`writing ${files.length} pre-packaged HLS files to ${staticDir}/`);
    await Deno.remove(staticDir, { recursive: true }).catch(() => {});
    for (const file of files) {
      const target = `${staticDir}/${file}`;
      await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(target, await get(file));
    }
    await Deno.writeTextFile(stampFile, stamp);
  }
  // e.g. ZEROCAST_W5_FILTER=/a2/ measures the audio segments alone
  const only = Deno.env.get("ZEROCAST_W5_FILTER");
  return only ? segments.filter((x) => x.includes(only)) : segments;
}

/** Compares `count` random segments served at `url` with the static copies; the failures. */
export async function verifyHls(
  url: string,
  paths: readonly string[],
  count = 4,
): Promise<string[]> {
  const root = Deno.realPathSync(DATA_ROOT);
  const failures: string[] = [];
  for (let i = 0; i < count && paths.length > 0; i++) {
    const path = paths[Math.floor(Math.random() * paths.length)];
    const response = await fetch(`${url}${path}`);
    const body = new Uint8Array(await response.arrayBuffer());
    if (response.status !== 200) {
      failures.push(`${path}: status ${response.status}`);
      continue;
    }
    const expected = await Deno.readFile(`${root}/${HLS_STATIC}/${path.slice("/hls/".length)}`);
    if (body.byteLength !== expected.byteLength || body.some((b, j) => b !== expected[j])) {
      failures.push(`${path}: bytes differ from the pre-packaged copy`);
    }
  }
  return failures;
}
