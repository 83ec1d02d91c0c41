/**
 * The library page in real headless Chromium (Debian's `/usr/bin/chromium`, driven by
 * `playwright-core`): posters appear (placeholder first, the frame grab once ffmpeg made it),
 * sorting by clicking a header, right-aligned numbers, no horizontal overflow on a 390 px phone,
 * an HLS folder as one stream, `.srt` subtitles loaded as a WebVTT track, the `/media/` folder
 * listing with hostile names, and compressed versioned assets. Screenshots at desktop
 * (1280×800) and phone (390×844) width go to `test/artifacts/` (git-ignored).
 *
 * Skips with a message when Chromium is absent; the poster checks also need ffmpeg.
 */
// deno-lint-ignore-file no-explicit-any -- page.evaluate callbacks run in Chromium's DOM
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { have, startServer } from "./support/server.ts";
import { CHROMIUM, chromiumPresent, launchChromium } from "./support/browser.ts";

declare const document: any;
declare const getComputedStyle: any;

const MEDIA = fileURLToPath(new URL("../media/", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
const HOSTILE = `"><img src=x onerror=alert(1)>.mp4`;
const LONG = "a-very-long-file-name-without-any-spaces-that-must-wrap-on-a-phone-screen.mp4";
const SRT = "1\r\n00:00:00,500 --> 00:00:03,000\r\nHello from SubRip\r\n\r\n" +
  "2\r\n00:00:03,500 --> 00:00:06,000\r\n<i>Second</i> cue\r\n";

const ffmpegPresent = have("ffmpeg");
if (!chromiumPresent) console.log(`pages_browser_test: skipped, ${CHROMIUM} not found`);
if (chromiumPresent && !ffmpegPresent) {
  console.log("pages_browser_test: poster checks skipped, ffmpeg not found");
}

async function makeRoot(): Promise<{ base: string; root: string; cleanup(): Promise<void> }> {
  const base = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-pages-browser-" }));
  const root = `${base}/root`;
  await Deno.mkdir(`${root}/hls`, { recursive: true });
  await Deno.mkdir(`${base}/posters`);
  for (const name of ["sample.mp4", "sample.webm", "not-faststart.mp4"]) {
    await Deno.copyFile(`${MEDIA}${name}`, `${root}/${name}`);
  }
  for await (const entry of Deno.readDir(`${MEDIA}hls`)) {
    await Deno.copyFile(`${MEDIA}hls/${entry.name}`, `${root}/hls/${entry.name}`);
  }
  await Deno.writeTextFile(`${root}/sample.en.srt`, SRT);
  await Deno.copyFile(`${MEDIA}sample.mp4`, `${root}/${HOSTILE}`);
  await Deno.copyFile(`${MEDIA}sample.mp4`, `${root}/${LONG}`);
  // distinct sizes and dates, so each sort order is a different order
  await Deno.writeFile(
    `${root}/tiny.mp4`,
    (await Deno.readFile(`${MEDIA}sample.mp4`)).subarray(0, 64),
  );
  await Deno.utime(`${root}/sample.webm`, new Date(), new Date("2024-05-01T12:00:00Z"));
  return { base, root, cleanup: () => Deno.remove(base, { recursive: true }) };
}

/** Every file row's data-path, in page order. */
function rowPaths(page: Page): Promise<string[]> {
  return page.$$eval(
    "tbody tr[data-path]",
    (rows) => rows.map((r) => r.getAttribute("data-path")!),
  );
}

/** Fails when the page is wider than its viewport (horizontal scrolling). */
async function assertNoOverflow(page: Page, width: number, what: string): Promise<void> {
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= width, `${what}: scrollWidth ${scrollWidth} > ${width}`);
}

Deno.test({
  name: "pages in Chromium: posters, sorting, phone layout, HLS folder, .srt track, listings",
  ignore: !chromiumPresent,
  async fn(t) {
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const tree = await makeRoot();
    const server = await startServer({
      root: tree.root,
      log: true,
      args: ["--poster-cache", `${tree.base}/posters`],
    });
    const browser = await launchChromium();
    try {
      const desktop = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      let dialogs = 0;
      desktop.on("dialog", (dialog) => {
        dialogs++;
        dialog.dismiss();
      });
      const assetEncodings = new Map<string, string>();
      desktop.on("response", (response) => {
        const url = new URL(response.url());
        if (url.pathname.startsWith("/assets/")) {
          assetEncodings.set(url.pathname, response.headers()["content-encoding"] ?? "identity");
        }
      });

      await t.step(
        "the library shows posters, dates, codec names; numbers right-aligned",
        async () => {
          await desktop.goto(`${server.url}/`);
          const paths = await rowPaths(desktop);
          for (const name of ["hls", "sample.mp4", "sample.webm", HOSTILE, LONG, "tiny.mp4"]) {
            assert.ok(paths.includes(name), `${name} in ${paths}`);
          }
          if (ffmpegPresent) {
            // The first render links placeholders (posters are made in the background); the
            // page's script swaps in each frame grab once it exists.
            await desktop.waitForFunction(
              () => {
                const images = [...document.querySelectorAll("tr[data-path] img.poster")]
                  .filter((img: any) => img.closest("tr").dataset.path !== "tiny.mp4");
                // data-pending goes once the script saw the poster URL answer a JPEG
                return images.length === 6 &&
                  images.every((img: any) =>
                    !img.hasAttribute("data-pending") && img.complete && img.naturalWidth === 320
                  );
              },
              undefined,
              { timeout: 60_000 },
            );
            // a file ffmpeg cannot read keeps the placeholder (the truncated tiny.mp4)
            const tinySrc = await desktop.getAttribute(
              'tr[data-path="tiny.mp4"] img.poster',
              "src",
            );
            let tiny: (string | null)[] = [];
            for (let i = 0; i < 600 && tiny[0] !== "unavailable"; i++) {
              if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
              const response = await fetch(`${server.url}${tinySrc}`, { method: "HEAD" });
              tiny = [response.headers.get("x-poster"), response.headers.get("content-type")];
            }
            assert.deepEqual(tiny, ["unavailable", "image/svg+xml"]);
          }
          const text = await desktop.$eval(
            'tr[data-path="sample.mp4"] td.codecs',
            (td) => td.textContent,
          );
          assert.equal(text, "H.264 High avc1.64001eAAC-LC mp4a.40.2 · 2 ch");
          const date = await desktop.$eval(
            'tr[data-path="sample.webm"] td.date time',
            (el) => el.textContent,
          );
          assert.equal(date, "2024-05-01 12:00");
          const aligned = await desktop.evaluate(() =>
            ["th.duration", "td.duration", "th.size", "td.size", "th.date", "td.date"].map((sel) =>
              getComputedStyle(document.querySelector(sel)).textAlign
            )
          );
          assert.deepEqual(aligned, ["right", "right", "right", "right", "right", "right"]);
          assert.equal(
            await desktop.$$eval("img:not(.poster)", (imgs) => imgs.length),
            0,
          );
          await assertNoOverflow(desktop, 1280, "desktop library");
          await desktop.screenshot({
            path: `${ARTIFACTS}pages-library-desktop.png`,
            fullPage: true,
          });
        },
      );

      await t.step("clicking a header sorts; aria-sort says how", async () => {
        await desktop.goto(`${server.url}/`);
        assert.equal(await desktop.getAttribute("th.name", "aria-sort"), "ascending");
        await Promise.all([desktop.waitForURL(/sort=size/), desktop.click("th.size a")]);
        assert.match(desktop.url(), /\?sort=size&order=desc$/);
        assert.equal(await desktop.getAttribute("th.size", "aria-sort"), "descending");
        assert.equal(await desktop.getAttribute("th.name", "aria-sort"), null);
        const bySize = (await rowPaths(desktop)).filter((p) => p !== "hls");
        assert.equal(bySize[0], "sample.webm"); // the largest file
        assert.equal(bySize[bySize.length - 1], "tiny.mp4");
        await Promise.all([desktop.waitForURL(/order=asc/), desktop.click("th.size a")]);
        assert.equal(await desktop.getAttribute("th.size", "aria-sort"), "ascending");
        const ascending = (await rowPaths(desktop)).filter((p) => p !== "hls");
        assert.equal(ascending[0], "tiny.mp4");
        assert.equal(ascending[ascending.length - 1], "sample.webm");
        await Promise.all([desktop.waitForURL(/sort=date/), desktop.click("th.date a")]);
        const byDate = (await rowPaths(desktop)).filter((p) => p !== "hls");
        assert.equal(byDate[byDate.length - 1], "sample.webm"); // the oldest, newest first
        await Promise.all([desktop.waitForURL(/sort=duration/), desktop.click("th.duration a")]);
        assert.equal(await desktop.getAttribute("th.duration", "aria-sort"), "descending");
      });

      await t.step("an HLS folder is one stream; inside, the segments are folded", async () => {
        await desktop.goto(`${server.url}/`);
        assert.equal(await desktop.getAttribute('tr[data-path="hls"]', "class"), "stream");
        assert.equal(await desktop.textContent('tr[data-path="hls"] td.duration'), "0:08");
        await desktop.goto(`${server.url}/?path=hls`);
        assert.deepEqual(await rowPaths(desktop), ["hls/index.m3u8"]);
        await Promise.all([desktop.waitForURL(/all=1/), desktop.click("text=Show all files")]);
        assert.equal((await rowPaths(desktop)).length, 5);
      });

      await t.step("the player has the poster and the .srt as a WebVTT track", async () => {
        await desktop.goto(`${server.url}/play?path=sample.mp4`);
        const poster = await desktop.getAttribute("video", "poster");
        assert.match(poster!, /^\/poster\?path=sample\.mp4&v=/);
        const tracks = await desktop.$$eval(
          "video track",
          (els) => els.map((el) => el.getAttribute("src")),
        );
        assert.deepEqual(tracks, ["/media/sample.en.vtt"]);
        await desktop.evaluate(() => {
          document.querySelector("video").textTracks[0].mode = "showing";
        });
        await desktop.waitForFunction(() => {
          const track = document.querySelector("video").textTracks[0];
          return track.cues !== null && track.cues.length === 2;
        });
        const cue = await desktop.evaluate(() =>
          document.querySelector("video").textTracks[0].cues[0].text
        );
        assert.equal(cue, "Hello from SubRip");
        await desktop.screenshot({ path: `${ARTIFACTS}pages-player-desktop.png` });
      });

      await t.step("assets arrive compressed by their versioned URLs", () => {
        for (const [path, encoding] of assetEncodings) {
          assert.ok(encoding === "gzip" || encoding === "br", `${path}: ${encoding}`);
        }
        assert.ok(assetEncodings.has("/assets/style.css"));
        assert.ok(assetEncodings.has("/assets/player.js"));
      });

      await t.step("the /media/ folder listing shows hostile names as text", async () => {
        await desktop.goto(`${server.url}/media/`);
        const names = await desktop.$$eval("td.name a", (as) => as.map((a) => a.textContent));
        assert.ok(names.includes(HOSTILE));
        assert.ok(names.includes("hls/"));
        assert.equal(await desktop.$$eval("img", (imgs) => imgs.length), 0);
        await Promise.all([desktop.waitForURL(/\/media\/hls\/$/), desktop.click("text=hls/")]);
        assert.ok(
          (await desktop.$$eval("td.name a", (as) => as.map((a) => a.textContent))).includes(
            "index.m3u8",
          ),
        );
        await desktop.screenshot({ path: `${ARTIFACTS}pages-dir-listing-desktop.png` });
        assert.equal(dialogs, 0);
      });

      await t.step("a 390 px phone sees no horizontal overflow", async () => {
        const phone = await browser.newPage({
          viewport: { width: 390, height: 844 },
          deviceScaleFactor: 2,
          isMobile: true,
          hasTouch: true,
        });
        for (
          const [path, shot] of [
            ["/", "pages-library-phone.png"],
            ["/?path=hls", null],
            ["/?sort=size&order=desc", null],
            [`/?q=${encodeURIComponent("sample")}`, null],
            ["/play?path=sample.mp4", "pages-player-phone.png"],
            [`/play?path=${encodeURIComponent(LONG)}`, null],
            ["/media/", "pages-dir-listing-phone.png"],
          ] as const
        ) {
          await phone.goto(`${server.url}${path}`);
          if (ffmpegPresent && path === "/") {
            await phone.waitForFunction(() =>
              [...document.querySelectorAll('tr[data-path="sample.mp4"] img.poster')]
                .every((img: any) => img.complete && img.naturalWidth === 320)
            );
          }
          await assertNoOverflow(phone, 390, path);
          if (shot !== null) {
            await phone.screenshot({ path: `${ARTIFACTS}${shot}`, fullPage: true });
          }
        }
        // the long name wraps inside its card
        await phone.goto(`${server.url}/`);
        const right = await phone.$eval(
          `tr[data-path="${LONG}"] td.name`,
          (td) => td.getBoundingClientRect().right,
        );
        assert.ok(right <= 390, `long name cell ends at ${right}`);
        await phone.close();
      });
    } finally {
      await browser.close();
      await server.close();
      await tree.cleanup();
    }
  },
});
