/**
 * Just-in-time HLS and DASH in real headless Chromium (Debian's `/usr/bin/chromium` through
 * `playwright-core`): the player page's "via HLS" (hls.js) and "via DASH" (dash.js) modes play
 * the H.264 inputs (B-frames, irregular GOPs, moov at the end, two audio tracks, a MOV) and an
 * audio-only M4A, then seek
 * forward into a later segment and keep playing from there. Both players are served by this
 * server from npm (no CDN), and the pages make no request to any other origin.
 *
 * Skips with a message when Chromium or ffmpeg is absent, or when this Chromium has no H.264.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { INPUTS, makeInput } from "./support/packaging.ts";
import { have, startServer } from "./support/server.ts";
import { chromiumPresent, launchChromium } from "./support/browser.ts";

/** The slice of the DOM used inside `page.evaluate` callbacks (they run in Chromium). */
interface BrowserVideo {
  currentTime: number;
  readonly duration: number;
  readonly seeking: boolean;
  readonly readyState: number;
  readonly paused: boolean;
  readonly dataset: Record<string, string>;
  muted: boolean;
  play(): Promise<void>;
}
declare const document: { querySelector(selector: "video"): BrowserVideo | null };
declare const MediaSource: { isTypeSupported(type: string): boolean };

const ffmpegPresent = have("ffmpeg");
if (!chromiumPresent || !ffmpegPresent) {
  console.log("packaging_browser_test: skipped, chromium or ffmpeg not found");
}

/** Seconds of every input: long enough for several 2 s segments and a seek far ahead. */
const SECONDS = "10";
const SEEK_TO = 7;
const NAMES = [
  "bframes.mp4",
  "gops.mp4",
  "moov-at-end.mp4",
  "two-audio.mp4",
  "clip.mov",
  "audio.m4a",
];

/** The input's ffmpeg arguments with the duration replaced. */
function longer(args: readonly string[]): string[] {
  const out = [...args];
  out[out.indexOf("-t") + 1] = SECONDS;
  return out;
}

async function playAndSeek(page: Page): Promise<void> {
  const timeout = 60_000;
  await page.waitForFunction(() => document.querySelector("video")!.readyState >= 1, null, {
    timeout,
  });
  await page.evaluate(() => {
    const video = document.querySelector("video")!;
    video.muted = true;
    return video.play();
  });
  await page.waitForFunction(() => document.querySelector("video")!.currentTime > 0.5, null, {
    timeout,
  });
  const duration = await page.evaluate(() => document.querySelector("video")!.duration);
  assert.ok(Math.abs(duration - Number(SECONDS)) < 0.1, `duration ${duration}`);
  await page.evaluate((to) => {
    document.querySelector("video")!.currentTime = to;
  }, SEEK_TO);
  // playing again after the seek, from the new position
  await page.waitForFunction(
    (to) => {
      const video = document.querySelector("video")!;
      return !video.seeking && !video.paused && video.currentTime > to + 0.5;
    },
    SEEK_TO,
    { timeout },
  );
}

Deno.test({
  name: "browser: hls.js and dash.js play and seek just-in-time packaged MP4s",
  ignore: !chromiumPresent || !ffmpegPresent,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "zerocast-pkg-browser-" });
    for (const name of NAMES) await makeInput(dir, name, longer(INPUTS[name]));
    const server = await startServer({ root: dir, args: ["--segment-duration", "2"], log: true });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on("request", (request) => requests.push(request.url()));
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(`${server.url}/`);
      const h264 = await page.evaluate(() =>
        MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"')
      );
      if (!h264) {
        console.log("packaging_browser_test: this Chromium has no H.264 in MSE; not checked");
        return;
      }
      for (const name of NAMES) {
        for (const [via, engine] of [["hls", "hls.js"], ["dash", "dash.js"]]) {
          await t.step(`${name} via ${engine}`, async () => {
            const from = server.stdout.length;
            await page.goto(`${server.url}/play?path=${name}&via=${via}`);
            assert.equal(await page.getAttribute("video", "data-engine"), engine);
            await playAndSeek(page);
            const status = await page.textContent("#status");
            assert.equal(status, "");
            // the player fetched the packaged renditions from this server
            const log = server.stdout.slice(from).join("\n");
            const videoInit = name.endsWith(".m4a") ? "" : `/v1/init\\.mp4`;
            if (videoInit) {
              assert.match(log, new RegExp(`"GET /${via}/${name.replace(".", "\\.")}${videoInit}`));
            }
            assert.match(
              log,
              new RegExp(`"GET /${via}/${name.replace(".", "\\.")}/a\\d+/\\d+\\.m4s`),
            );
          });
        }
      }
      const foreign = requests.filter((url) =>
        !url.startsWith(`${server.url}/`) && !url.startsWith("blob:") && !url.startsWith("data:")
      );
      assert.deepEqual(foreign, []);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
