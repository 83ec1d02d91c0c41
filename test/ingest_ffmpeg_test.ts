/**
 * ffmpeg publishes a live HLS stream to the server with `-method PUT` (chunked bodies, a Bearer
 * token) for a bounded time, while ffprobe reads the live playlist over HTTP and sees the
 * stream, the playlist's media sequence advances, ffmpeg's DELETEs of old segments take effect,
 * and (when Chromium is present) hls.js in a real browser plays the stream as it advances.
 *
 * Skips with a message when ffmpeg/ffprobe are absent.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  AUTH,
  readMetrics,
  startIngestServer,
  tempFilesUnder,
  waitUntil,
} from "./support/ingest.ts";
import { ENGINES, have } from "./support/server.ts";
import { CHROMIUM, chromiumPresent, launchChromium } from "./support/browser.ts";

const present = have("ffmpeg") && have("ffprobe");
if (!present) console.log("ingest_ffmpeg_test: skipped, ffmpeg/ffprobe not found");
if (present && !chromiumPresent) {
  console.log(`ingest_ffmpeg_test: browser step skipped, ${CHROMIUM} not found`);
}

/** How long ffmpeg publishes (`-t`), in seconds. */
const PUBLISH_SECONDS = 10;

/** The DOM slice used in `page.evaluate` callbacks (they run in Chromium). */
declare const document: {
  querySelector(selector: "video"): { currentTime: number; muted: boolean; play(): Promise<void> };
};
declare const MediaSource: { isTypeSupported(type: string): boolean };

/** ffmpeg's HLS muxer publishing test video + audio to `url` with PUT. */
function publish(url: string): Deno.ChildProcess {
  const args = [
    ...["-hide_banner", "-loglevel", "error", "-re"],
    ...["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25"],
    ...["-f", "lavfi", "-i", "sine", "-t", String(PUBLISH_SECONDS)],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac"],
    ...["-f", "hls", "-hls_time", "1", "-hls_list_size", "5", "-hls_flags", "delete_segments"],
  ];
  args.push("-method", "PUT", "-headers", `Authorization: ${AUTH}\r\n`, url);
  return new Deno.Command("ffmpeg", { args, stdin: "null", stdout: "null", stderr: "piped" })
    .spawn();
}

async function ffprobe(url: string): Promise<{ codec_type: string; codec_name: string }[]> {
  const out = await new Deno.Command("ffprobe", {
    args: [
      ...["-v", "error", "-rw_timeout", "10000000"],
      ...["-show_entries", "stream=codec_type,codec_name,width,height", "-of", "json", url],
    ],
    stdin: "null",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)).streams;
}

/** `#EXT-X-MEDIA-SEQUENCE` and segment names of a media playlist. */
function parsePlaylist(text: string): { sequence: number; segments: string[] } {
  const m = /^#EXT-X-MEDIA-SEQUENCE:(\d+)$/m.exec(text);
  assert.ok(m, text);
  return {
    sequence: Number(m[1]),
    segments: text.split("\n").filter((line) => line !== "" && !line.startsWith("#")),
  };
}

async function getText(url: string): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Highest `streamN.ts` index among `urls`, or -1. */
function lastSegment(urls: readonly string[]): number {
  return Math.max(
    -1,
    ...urls.map((u) => /\/stream(\d+)\.ts$/.exec(u)).filter((m) => m !== null)
      .map((m) => Number(m![1])),
  );
}

for (const engine of ENGINES) {
  Deno.test({
    name: `ingest [${engine}]: ffmpeg publishes live HLS while ffprobe and hls.js read it`,
    ignore: !present,
    async fn(t) {
      const s = await startIngestServer(engine);
      const playlistUrl = `${s.url}/media/live/stream.m3u8`;
      const browser = chromiumPresent ? await launchChromium() : null;
      let ffmpeg: Deno.ChildProcess | null = null;
      try {
        ffmpeg = publish(playlistUrl);
        const stderr = new Response(ffmpeg.stderr).text();

        let first!: { sequence: number; segments: string[] };
        await t.step("the playlist appears, no-cache, with segments that are served", async () => {
          await waitUntil(async () => (await getText(playlistUrl)).status === 200, "a playlist");
          const res = await getText(playlistUrl);
          assert.equal(res.headers.get("cache-control"), "no-cache");
          assert.equal(res.headers.get("content-type"), "application/vnd.apple.mpegurl");
          first = parsePlaylist(res.text);
          assert.ok(first.segments.length >= 1);
          for (const segment of first.segments) {
            const seg = await fetch(`${s.url}/media/live/${segment}`);
            assert.equal(seg.status, 200, segment);
            assert.equal(seg.headers.get("content-type"), "video/mp2t");
            assert.ok((await seg.arrayBuffer()).byteLength > 0);
          }
        });

        await t.step("ffprobe reads the live stream over HTTP", async () => {
          const streams = await ffprobe(playlistUrl);
          const video = streams.find((x) => x.codec_type === "video");
          const audio = streams.find((x) => x.codec_type === "audio");
          assert.deepEqual(video, {
            codec_type: "video",
            codec_name: "h264",
            width: 320,
            height: 180,
          });
          assert.equal(audio?.codec_name, "aac");
        });

        await t.step({
          name: "hls.js in Chromium plays the stream as it advances",
          ignore: browser === null,
          fn: async () => {
            const page: Page = await browser!.newPage();
            try {
              const urls: string[] = [];
              page.on("request", (request) => urls.push(request.url()));
              await page.goto(`${s.url}/play?path=${encodeURIComponent("live/stream.m3u8")}`);
              if (
                !await page.evaluate(() =>
                  MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"')
                )
              ) {
                console.log("ingest_ffmpeg_test: this Chromium cannot play H.264; step skipped");
                return;
              }
              assert.equal(await page.getAttribute("video", "data-engine"), "hls.js");
              await page.evaluate(() => {
                const video = document.querySelector("video");
                video.muted = true;
                return video.play();
              });
              await page.waitForFunction(() => document.querySelector("video").currentTime > 0.5);
              const started = await page.evaluate(() =>
                document.querySelector("video").currentTime
              );
              const seen = lastSegment(urls);
              // Playing on needs segments published after playback began: hls.js reloads the
              // live playlist and fetches them.
              await page.waitForFunction(
                (t0) => document.querySelector("video").currentTime > t0 + 2,
                started,
                { timeout: 20_000 },
              );
              assert.ok(lastSegment(urls) > seen, `${seen} -> ${lastSegment(urls)}`);
              const playlistLoads = urls.filter((u) => u.endsWith("/media/live/stream.m3u8"));
              assert.ok(playlistLoads.length >= 2, `${playlistLoads.length} playlist loads`);
            } finally {
              await page.close();
            }
          },
        });

        await t.step("the media sequence advances; old segments are deleted", async () => {
          let latest = first;
          await waitUntil(
            async () => {
              latest = parsePlaylist((await getText(playlistUrl)).text);
              return latest.sequence > first.sequence;
            },
            "the media sequence to advance",
            (PUBLISH_SECONDS + 20) * 1000,
          );
          // ffmpeg DELETEs segments that left the playlist (delete_segments keeps one extra).
          const gone = `${s.url}/media/live/stream${latest.sequence - 2}.ts`;
          await waitUntil(async () => {
            const res = await fetch(gone);
            await res.body?.cancel();
            return res.status === 404;
          }, `${gone} to be deleted`);
        });

        await t.step("ffmpeg ends cleanly; nothing is left half-written", async () => {
          const status = await ffmpeg!.status;
          ffmpeg = null;
          assert.equal(status.code, 0, await stderr);
          // ffmpeg does not wait for the answers to its last uploads; the server finishes them.
          await waitUntil(() => tempFilesUnder(s.root).length === 0, "the last uploads to end");
          const m = await readMetrics(s.url);
          // 1 s segments for PUBLISH_SECONDS, each followed by a playlist upload.
          assert.ok(
            m.get("zerocast_uploads_completed_total")! >= PUBLISH_SECONDS,
            JSON.stringify([...m]),
          );
        });
      } finally {
        if (ffmpeg !== null) {
          ffmpeg.kill("SIGKILL");
          await ffmpeg.status;
        }
        await browser?.close();
        await s.close();
      }
    },
  });
}
