/**
 * The web pages in real headless Chromium (Debian's `/usr/bin/chromium`, driven by
 * `playwright-core`; no browser is ever downloaded): the library lists the samples, a click opens
 * the player, the MP4 plays with its subtitles, a seek to the middle of a larger file is fetched
 * with a range request answered 206 (seen both by the browser and in the server's access log),
 * the HLS sample plays through hls.js over HTTP and HTTPS, a hostile file name stays text, and
 * the pages make no request to any other origin. Screenshots go to `test/artifacts/`
 * (git-ignored).
 *
 * Skips with a message when Chromium is absent. The seek check also needs ffmpeg (to make a file
 * larger than Chromium's read-ahead; the committed samples are fetched whole by the first request).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { have, type RunningServer, startServer } from "./support/server.ts";
import { makeTestCert } from "./support/tls.ts";
import { CHROMIUM, chromiumPresent, launchChromium } from "./support/browser.ts";

/** The slice of the DOM used inside `page.evaluate` callbacks (they run in Chromium). */
interface BrowserVideo {
  currentTime: number;
  readonly duration: number;
  readonly seeking: boolean;
  muted: boolean;
  readonly src: string;
  play(): Promise<void>;
  canPlayType(type: string): string;
  readonly textTracks: ArrayLike<{ mode: string; readonly cues: { length: number } | null }>;
}
declare const document: {
  querySelector(selector: "video"): BrowserVideo | null;
  createElement(tag: "video"): BrowserVideo;
};
declare const MediaSource: { isTypeSupported(type: string): boolean };

const MEDIA = fileURLToPath(new URL("../media/", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
const HOSTILE = "<img src=x onerror=alert(1)>.mp4";
/** Long enough that the middle lies beyond what Chromium buffers ahead from the start. */
const BIG_SECONDS = 60;

const ffmpegPresent = have("ffmpeg");
if (!chromiumPresent) console.log(`browser_test: skipped, ${CHROMIUM} not found`);
if (chromiumPresent && !ffmpegPresent) {
  console.log("browser_test: seek check skipped, ffmpeg not found (it makes the large file)");
}
/** Set to pretend H.264 is missing, to exercise the WebM fallback on a Chromium that has it. */
const PRETEND_NO_H264 = Deno.env.get("ZEROCAST_TEST_NO_H264") === "1";

/** A media root with copies of the samples and a hostile file name. */
async function makeRoot(): Promise<{ root: string; cleanup(): Promise<void> }> {
  const root = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-browser-" }));
  for (const name of ["sample.mp4", "sample.vtt", "sample.webm", "not-faststart.mp4"]) {
    await Deno.copyFile(`${MEDIA}${name}`, `${root}/${name}`);
  }
  await Deno.mkdir(`${root}/hls`);
  for await (const entry of Deno.readDir(`${MEDIA}hls`)) {
    await Deno.copyFile(`${MEDIA}hls/${entry.name}`, `${root}/hls/${entry.name}`);
  }
  await Deno.copyFile(`${MEDIA}sample.mp4`, `${root}/${HOSTILE}`);
  return { root, cleanup: () => Deno.remove(root, { recursive: true }) };
}

/**
 * Writes `root/big.mp4` (H.264) or `root/big.webm` (VP8) with ffmpeg: ~9 MB, since noise keeps
 * the bitrate at ~1.2 Mb/s, so the middle is ~4.5 MB in, beyond Chromium's read-ahead.
 */
async function makeBigFile(root: string, name: "big.mp4" | "big.webm"): Promise<void> {
  const codec = name === "big.mp4"
    ? ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
    : ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"];
  const out = await new Deno.Command("ffmpeg", {
    args: [
      ...["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"],
      ...["-i", `testsrc2=size=320x180:rate=25:duration=${BIG_SECONDS}`],
      ...["-vf", "noise=alls=30:allf=t", ...codec],
      // ~45 MB: far more than loopback socket buffers hold, so the middle of the file is never
      // already on its way when the seek happens and the seek needs a new range request
      ...["-b:v", "6000k", "-maxrate", "6000k", "-bufsize", "3000k", "-g", "50"],
      ...["-an", `${root}/${name}`],
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

/** Every request URL a page makes, to prove none leaves the server's origin. */
function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on("request", (request) => urls.push(request.url()));
  return urls;
}

async function startPlaying(page: Page): Promise<void> {
  await page.evaluate(() => {
    const video = document.querySelector("video")!;
    video.muted = true;
    return video.play();
  });
  await page.waitForFunction(() => document.querySelector("video")!.currentTime > 0.5);
}

/** Access log lines (combined format) after index `from` for `path` with `status`. */
function logged(server: RunningServer, from: number, path: string, status: number): string[] {
  return server.stdout.slice(from).filter((line) =>
    line.includes(`"GET ${path} HTTP/1.1" ${status} `)
  );
}

Deno.test({
  name: "browser: library page, MP4 playback with subtitles, seek by range, hostile names",
  ignore: !chromiumPresent,
  async fn(t) {
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const tree = await makeRoot();
    const server = await startServer({ root: tree.root, log: true });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const requests = recordRequests(page);
      let dialogs = 0;
      page.on("dialog", (dialog) => {
        dialogs++;
        dialog.dismiss();
      });

      await t.step("the library page lists the sample media", async () => {
        await page.goto(`${server.url}/`);
        const names = await page.$$eval(
          "tbody tr[data-path]",
          (rows) => rows.map((row) => row.getAttribute("data-path")),
        );
        for (const name of ["hls", "sample.mp4", "sample.webm", "not-faststart.mp4", HOSTILE]) {
          assert.ok(names.includes(name), `${name} in ${names}`);
        }
        const badge = await page.$eval(
          'tr[data-path="not-faststart.mp4"] .badge.warn',
          (el) => el.textContent,
        );
        assert.equal(badge, "not faststart");
        const cells = await page.$$eval(
          'tr[data-path="sample.mp4"] td',
          (tds) => tds.map((td) => td.textContent?.trim()),
        );
        assert.deepEqual(cells.slice(2), [
          "0:08",
          "320×180",
          "H.264 High avc1.64001eAAC-LC mp4a.40.2 · 2 ch",
          "208 KiB",
        ]);
        // The hostile name is text: no <img> element but the posters was created, no script ran.
        assert.equal(await page.$$eval("img:not(.poster)", (imgs) => imgs.length), 0);
        const link = await page.$eval(
          `tr[data-path="${HOSTILE.replaceAll('"', '\\"')}"] a`,
          (a) => a.textContent,
        );
        assert.equal(link, HOSTILE);
        await page.screenshot({ path: `${ARTIFACTS}library.png`, fullPage: true });
      });
      const h264 = !PRETEND_NO_H264 &&
        await page.evaluate(() =>
          document.createElement("video").canPlayType('video/mp4; codecs="avc1.42E01E"') !== ""
        );
      if (!h264) console.log("browser_test: this Chromium cannot decode H.264; WebM is played");

      await t.step("clicking a file opens the player; it plays with subtitles", async () => {
        const name = h264 ? "sample.mp4" : "sample.webm";
        await page.goto(`${server.url}/`);
        await Promise.all([
          page.waitForURL(/\/play\?/),
          page.click(`tr[data-path="${name}"] a`),
        ]);
        assert.equal(await page.textContent("h1"), name);
        await startPlaying(page);
        assert.equal(await page.getAttribute("video", "data-engine"), "native");
        // Chromium opens media with `Range: bytes=0-` and gets 206 (seeking enabled).
        assert.ok(logged(server, 0, `/media/${name}`, 206).length >= 1, server.stdout.join("\n"));
        await page.evaluate(() => {
          document.querySelector("video")!.textTracks[0].mode = "showing";
        });
        await page.waitForFunction(() => {
          const track = document.querySelector("video")!.textTracks[0];
          return track.cues !== null && track.cues.length === 3;
        });
        await page.screenshot({ path: `${ARTIFACTS}player-mp4.png` });
      });

      await t.step("the hostile file name opens and plays as a file", async () => {
        await page.goto(`${server.url}/`);
        await Promise.all([
          page.waitForURL(/\/play\?/),
          page.click(`tr[data-path="${HOSTILE}"] a`),
        ]);
        assert.equal(await page.textContent("h1"), HOSTILE);
        assert.equal(await page.$$eval("img", (imgs) => imgs.length), 0);
        if (h264) await startPlaying(page);
      });

      await t.step({
        name: "seeking to the middle fetches a range answered 206",
        ignore: !ffmpegPresent,
        fn: async () => {
          const name = h264 ? "big.mp4" : "big.webm";
          await makeBigFile(tree.root, name);
          const size = (await Deno.stat(`${tree.root}/${name}`)).size;
          const ranges: { status: number; start: number }[] = [];
          page.on("response", (response) => {
            if (!response.url().endsWith(`/media/${name}`)) return;
            const range = /^bytes (\d+)-/.exec(response.headers()["content-range"] ?? "");
            if (range) ranges.push({ status: response.status(), start: Number(range[1]) });
          });
          await page.goto(`${server.url}/play?path=${name}`);
          await startPlaying(page);
          const beforeSeek = server.stdout.length;
          const seenBefore = ranges.length;
          await page.evaluate(() => {
            const video = document.querySelector("video")!;
            video.currentTime = video.duration / 2;
          });
          await page.waitForFunction(() => {
            const video = document.querySelector("video")!;
            return !video.seeking && video.currentTime > video.duration / 2 + 0.5;
          });
          const afterSeek = ranges.slice(seenBefore);
          assert.ok(
            afterSeek.some((r) => r.status === 206 && r.start >= size / 4),
            `responses after the seek: ${JSON.stringify(afterSeek)}`,
          );
          assert.ok(
            logged(server, beforeSeek, `/media/${name}`, 206).length >= 1,
            server.stdout.slice(beforeSeek).join("\n"),
          );
        },
      });

      await t.step("the HLS sample plays through hls.js", async () => {
        if (!h264) {
          console.log("browser_test: HLS sample is H.264; not playable in this Chromium");
          return;
        }
        const from = server.stdout.length;
        await page.goto(`${server.url}/play?path=hls/index.m3u8`);
        assert.equal(await page.getAttribute("video", "data-engine"), "hls.js");
        await startPlaying(page);
        // hls.js plays through MSE: the element's source is a blob: URL, not the playlist.
        assert.match(await page.evaluate(() => document.querySelector("video")!.src), /^blob:/);
        // linked by its versioned URL (cached for a year)
        assert.equal(
          server.stdout.slice(from).filter((line) =>
            /"GET \/assets\/hls\.min\.js\?v=[0-9a-f]{12} HTTP\/1\.1" 200 /.test(line)
          ).length,
          1,
        );
        assert.ok(logged(server, from, "/media/hls/index.m3u8", 200).length >= 1);
        assert.ok(logged(server, from, "/media/hls/segment000.ts", 200).length >= 1);
        await page.screenshot({ path: `${ARTIFACTS}player-hls.png` });
      });

      await t.step("no request left the server's origin; no script ran from a name", () => {
        const foreign = requests.filter((url) =>
          !url.startsWith(`${server.url}/`) && !url.startsWith("blob:") &&
          !url.startsWith("data:")
        );
        assert.deepEqual(foreign, []);
        assert.equal(dialogs, 0);
      });
    } finally {
      await browser.close();
      await server.close();
      await tree.cleanup();
    }
  },
});

Deno.test({
  name: "browser: over HTTPS the page lists media and HLS plays through hls.js",
  ignore: !chromiumPresent,
  async fn() {
    const cert = await makeTestCert();
    const server = await startServer({ tls: { cert: cert.certFile, key: cert.keyFile } });
    const browser = await launchChromium();
    try {
      // The certificate is self-signed for this test; trusting it is what a user's CA does.
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(`${server.httpsUrl}/`);
      assert.equal(await page.$$eval('tr[data-path="sample.mp4"]', (rows) => rows.length), 1);
      const h264 = !PRETEND_NO_H264 &&
        await page.evaluate(() =>
          MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001e,mp4a.40.2"')
        );
      if (!h264) {
        console.log("browser_test: no H.264 in MSE here; HTTPS HLS playback not checked");
        return;
      }
      await page.goto(`${server.httpsUrl}/play?path=hls/index.m3u8`);
      assert.equal(await page.getAttribute("video", "data-engine"), "hls.js");
      await startPlaying(page);
      await context.close();
    } finally {
      await browser.close();
      await server.close();
      await cert.cleanup();
    }
  },
});
