/**
 * hls.js in real headless Chromium (Debian's `/usr/bin/chromium`, driven by `playwright-core`)
 * plays the signed sample HLS title: a minimal page on the server's origin loads the server's own
 * `/assets/hls.min.js` and a URL signed for the prefix `/media/hls/`; the playlist's relative
 * segment URIs keep the path-embedded token, so every segment is fetched through `/s/<token>/`
 * and answered 200 (seen in the server's access log). The same title unsigned fails with 403.
 * With `--basic-auth` as well, the player page itself plays for a logged-in browser (the browser
 * sends the credentials with hls.js's requests). Skips with a message when Chromium is absent.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { makePasswordHash } from "../src/auth/basic_auth.ts";
import { signPath } from "../src/auth/signed_url.ts";
import { type RunningServer, startServer } from "./support/server.ts";
import { CHROMIUM, chromiumPresent, launchChromium } from "./support/browser.ts";

/** The slice of the DOM used inside `page.evaluate` callbacks (they run in Chromium). */
interface BrowserVideo {
  readonly currentTime: number;
  muted: boolean;
  play(): Promise<void>;
}
declare const document: { querySelector(selector: "video"): BrowserVideo | null };
declare const MediaSource: { isTypeSupported(type: string): boolean };
declare const globalThis: { hlsErrors: string[] };

const KEY = "browser-test-sign-key-0123456789";
if (!chromiumPresent) console.log(`auth_browser_test: skipped, ${CHROMIUM} not found`);

/** A page at `origin/signed-player.html` (served by Playwright) that plays `source` with hls.js. */
async function openTestPlayer(page: Page, origin: string, source: string): Promise<void> {
  const html = `<!doctype html><meta charset="utf-8"><title>signed</title>
<video muted playsinline></video>
<script src="/assets/hls.min.js"></script>
<script>
  globalThis.hlsErrors = [];
  const video = document.querySelector("video");
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_e, data) => {
    if (data.fatal) globalThis.hlsErrors.push(data.details + " " + (data.response ? data.response.code : ""));
  });
  hls.loadSource(${JSON.stringify(source)});
  hls.attachMedia(video);
  video.play().catch(() => {});
</script>`;
  await page.route(
    `${origin}/signed-player.html`,
    (route) => route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html }),
  );
  await page.goto(`${origin}/signed-player.html`);
}

async function h264Supported(page: Page): Promise<boolean> {
  return await page.evaluate(() => MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E"'));
}

/** Access log lines (combined format) after index `from` for `GET path` with `status`. */
function logged(server: RunningServer, from: number, pattern: RegExp): string[] {
  return server.stdout.slice(from).filter((line) => pattern.test(line));
}

Deno.test({
  name: "auth browser: hls.js plays a signed HLS title; the token travels with relative URIs",
  ignore: !chromiumPresent,
  async fn() {
    const server = await startServer({ log: true, args: ["--sign-key", KEY] });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/healthz`);
      if (!(await h264Supported(page))) {
        console.log("auth_browser_test: the HLS sample is H.264; not playable in this Chromium");
        return;
      }
      const signed = signPath({
        key: KEY,
        prefix: "/media/hls/",
        path: "index.m3u8",
        ttlSeconds: 600,
      });
      const token = signed.split("/")[2];
      const from = server.stdout.length;
      await openTestPlayer(page, server.url, signed);
      await page.waitForFunction(() =>
        document.querySelector("video")!.currentTime > 0.5 || globalThis.hlsErrors.length > 0
      );
      assert.deepEqual(await page.evaluate(() => globalThis.hlsErrors), []);
      const escaped = token.replace(/[.]/g, "\\.");
      const playlistLines = logged(
        server,
        from,
        new RegExp(`"GET /s/${escaped}/media/hls/index\\.m3u8 HTTP/1\\.1" 200 `),
      );
      assert.ok(playlistLines.length >= 1, server.stdout.slice(from).join("\n"));
      assert.ok(
        logged(
          server,
          from,
          new RegExp(`"GET /s/${escaped}/media/hls/segment000\\.ts HTTP/1\\.1" 200 `),
        ).length >= 1,
        server.stdout.slice(from).join("\n"),
      );
      // Nothing under /media/ was asked for without the token, and no media request was refused
      // (Chromium's own /favicon.ico request is refused too, and is not the player's).
      assert.deepEqual(logged(server, from, /"GET \/media\//), []);
      assert.deepEqual(logged(server, from, /"GET \/s\/[^"]*" 403 /), []);

      // The same title unsigned: hls.js reports the playlist's 403.
      const unsigned = await browser.newPage();
      await unsigned.goto(`${server.url}/healthz`);
      await openTestPlayer(unsigned, server.url, "/media/hls/index.m3u8");
      await unsigned.waitForFunction(() => globalThis.hlsErrors.length > 0);
      assert.deepEqual(await unsigned.evaluate(() => globalThis.hlsErrors), [
        "manifestLoadError 403",
      ]);
    } finally {
      await browser.close();
      await server.close();
    }
  },
});

Deno.test({
  name: "auth browser: with a login, the player page plays HLS for a logged-in browser",
  ignore: !chromiumPresent,
  async fn() {
    const login = `viewer:${await makePasswordHash("watch me", 1000)}`;
    const server = await startServer({
      log: true,
      args: ["--sign-key", KEY],
      env: { ZEROCAST_BASIC_AUTH: login },
    });
    const browser = await launchChromium();
    try {
      // Without credentials: 401 (headless Chromium turns the unanswered challenge into
      // ERR_INVALID_AUTH_CREDENTIALS, so this one is asked with fetch).
      const refused = await fetch(`${server.url}/play?path=hls/index.m3u8`);
      await refused.body?.cancel();
      assert.equal(refused.status, 401);
      const context = await browser.newContext({
        httpCredentials: { username: "viewer", password: "watch me" },
      });
      const page = await context.newPage();
      const response = await page.goto(`${server.url}/play?path=hls/index.m3u8`);
      assert.equal(response?.status(), 200);
      if (!(await h264Supported(page))) {
        console.log("auth_browser_test: the HLS sample is H.264; not playable in this Chromium");
        return;
      }
      assert.equal(await page.getAttribute("video", "data-engine"), "hls.js");
      await page.evaluate(() => {
        const video = document.querySelector("video")!;
        video.muted = true;
        return video.play();
      });
      await page.waitForFunction(() => document.querySelector("video")!.currentTime > 0.5);
      assert.ok(
        logged(server, 0, /"GET \/media\/hls\/segment000\.ts HTTP\/1\.1" 200 /).length >= 1,
      );
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
