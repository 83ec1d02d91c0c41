/**
 * The library page's HTTP surface over real sockets with curl and fetch, against `main.ts` on the
 * default engine (and the stream engine where the answer is built by the app): sorting (API and
 * page), `/media/<dir>/` listings (HTML, JSON, HEAD, redirect, hostile names, `--no-dir-listing`),
 * `.srt` served as WebVTT, versioned and compressed assets, and posters with and without ffmpeg.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { curl, have, type RunningServer, startServer } from "./support/server.ts";
import type { FileEntry, Listing } from "../src/library/library.ts";
import { srtToVtt } from "../src/media/srt_to_vtt.ts";
import { assetPaths } from "../src/routes/assets.ts";

const MEDIA = fileURLToPath(new URL("../media/", import.meta.url));
const HOSTILE = `"><svg onload=alert(1)><img src=x onerror=alert(2)>'.mp4`;
const SCHEME = "javascript:alert(3).mp4";
const SRT = "1\r\n00:00:01,000 --> 00:00:02,000\r\n<i>Hello</i> & welcome\r\n\r\n" +
  "2\r\n00:00:03,250 --> 00:00:05,000\r\nSecond\r\nline\r\n";

/** A temp root: samples, subfolders, hidden and escaping entries, hostile names, subtitles. */
async function makeRoot(): Promise<{ base: string; root: string; cleanup(): Promise<void> }> {
  const base = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-pages-" }));
  const root = `${base}/root`;
  await Deno.mkdir(`${root}/sub`, { recursive: true });
  await Deno.mkdir(`${root}/.hidden`);
  await Deno.mkdir(`${base}/outside`);
  await Deno.mkdir(`${base}/posters`);
  const sample = await Deno.readFile(`${MEDIA}sample.mp4`);
  await Deno.writeFile(`${root}/movie.mp4`, sample);
  await Deno.writeTextFile(`${root}/movie.srt`, SRT);
  await Deno.writeFile(`${root}/clip.webm`, await Deno.readFile(`${MEDIA}sample.webm`));
  await Deno.writeTextFile(`${root}/clip.srt`, SRT);
  await Deno.writeTextFile(`${root}/clip.vtt`, "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nvtt\n");
  await Deno.writeFile(`${root}/${HOSTILE}`, sample.subarray(0, 1000));
  await Deno.writeFile(`${root}/${SCHEME}`, sample.subarray(0, 10));
  await Deno.writeFile(`${root}/sub/small.mp4`, sample.subarray(0, 100));
  await Deno.writeFile(`${root}/.dotfile.mp4`, sample);
  await Deno.writeFile(`${base}/outside/secret.mp4`, sample);
  await Deno.symlink(`${base}/outside/secret.mp4`, `${root}/escape.mp4`);
  await Deno.symlink(`${base}/outside`, `${root}/outlink`);
  // dates for the sort: movie newest, clip oldest
  await Deno.utime(`${root}/movie.mp4`, new Date(), new Date("2026-03-01T10:00:00Z"));
  await Deno.utime(`${root}/clip.webm`, new Date(), new Date("2025-01-01T10:00:00Z"));
  return { base, root, cleanup: () => Deno.remove(base, { recursive: true }) };
}

/** Status, lower-cased headers and body of a curl request (`-D -` puts the head first). */
async function curlHttp(
  args: string[],
): Promise<{ status: number; headers: Map<string, string>; body: Uint8Array }> {
  const out = await curl(["-D", "-", ...args]);
  assert.equal(out.code, 0, out.stderr);
  const bytes = out.stdout;
  let end = 0;
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      end = i;
      break;
    }
  }
  const head = new TextDecoder().decode(bytes.subarray(0, end)).split("\r\n");
  const status = Number(head[0].split(" ")[1]);
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status, headers, body: bytes.subarray(end + 4) };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("pages: sorting in the API and on the page, with aria-sort", async () => {
  const tree = await makeRoot();
  const server = await startServer({
    root: tree.root,
    args: ["--poster-cache", `${tree.base}/posters`],
  });
  try {
    const api = async (query: string) => {
      const response = await fetch(`${server.url}/api/library${query}`);
      return { status: response.status, body: await response.json() };
    };
    const names = async (query: string) =>
      ((await api(query)).body as Listing).entries.map((e) => e.name);
    const files = ["clip.webm", "movie.mp4"];
    const only = (list: string[]) => list.filter((n) => files.includes(n) || n === "sub");
    assert.deepEqual(only(await names("")), ["sub", "clip.webm", "movie.mp4"]);
    assert.deepEqual(only(await names("?sort=name&order=desc")), ["sub", "movie.mp4", "clip.webm"]);
    assert.deepEqual(only(await names("?sort=date")), ["sub", "movie.mp4", "clip.webm"]);
    assert.deepEqual(only(await names("?sort=date&order=asc")), ["sub", "clip.webm", "movie.mp4"]);
    assert.deepEqual(only(await names("?sort=size&order=asc")), ["sub", "movie.mp4", "clip.webm"]);
    const listing = (await api("?sort=duration&order=desc")).body as Listing;
    assert.deepEqual(listing.sort, { key: "duration", order: "desc" });
    // entries without a duration (the truncated hostile copy, subtitles) come last
    const durations = listing.entries.filter((e) => e.kind !== "dir").map((e) =>
      (e as FileEntry).duration
    );
    const known = durations.filter((d) => d !== undefined);
    assert.ok(known.length >= 2);
    assert.deepEqual(durations.slice(0, known.length), known);
    assert.equal((await api("?sort=colour")).status, 400);
    assert.equal((await api("?order=sideways")).status, 400);

    const page = await (await fetch(`${server.url}/?sort=size&order=asc`)).text();
    assert.match(page, /<th class="sort size num" aria-sort="ascending" scope="col">/);
    // back to the default order (by name, ascending) is the plain URL
    assert.match(page, /<th class="sort name"\s+scope="col"><a href="\/">Name<\/a><\/th>/);
    // the current column's link flips the order; others start at their natural order
    assert.match(page, /aria-sort="ascending"[^>]*><a href="\/\?sort=size&amp;order=desc">/);
    assert.match(page, /<a href="\/\?sort=date&amp;order=desc">Date \(UTC\)<\/a>/);
    const rows = [...page.matchAll(/<tr class="(?:file|stream)" data-path="([^"]+)"/g)].map((m) =>
      m[1]
    );
    assert.deepEqual(rows.filter((n) => files.includes(n)), ["movie.mp4", "clip.webm"]);
    // dates are shown, numbers and their headers right-aligned (class num)
    assert.match(
      page,
      /<td class="num date"><time datetime="2026-03-01T10:00:00.000Z">2026-03-01 10:00<\/time><\/td>/,
    );
    assert.match(page, /<td class="num duration">0:08<\/td>/);
    assert.match(page, /<span class="codec-name">H.264 High<\/span> <code>avc1.64001e<\/code>/);
    // an unknown sort on the page falls back to the default instead of failing
    assert.equal((await fetch(`${server.url}/?sort=colour`)).status, 200);
  } finally {
    await server.close();
    await tree.cleanup();
  }
});

Deno.test("pages: /media/<dir>/ listings in HTML and JSON, safe names, switchable off", async () => {
  const tree = await makeRoot();
  const server = await startServer({
    root: tree.root,
    args: ["--poster-cache", `${tree.base}/posters`],
  });
  const off = await startServer({
    root: tree.root,
    args: ["--no-dir-listing", "--poster-cache", `${tree.base}/posters`],
  });
  try {
    const html = await curlHttp([`${server.url}/media/`]);
    assert.equal(html.status, 200);
    assert.equal(html.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(html.headers.get("content-security-policy")!, /default-src 'none'/);
    assert.equal(html.headers.get("access-control-allow-origin"), "*");
    assert.equal(html.headers.get("vary"), "Accept");
    assert.equal(Number(html.headers.get("content-length")), html.body.byteLength);
    const page = text(html.body);
    // hostile names are text, never markup; links are ./-relative and percent-encoded
    assert.ok(!page.includes("<svg onload"), page);
    assert.ok(!page.includes("<img src=x"), page);
    assert.ok(
      page.includes(
        "&quot;&gt;&lt;svg onload=alert(1)&gt;&lt;img src=x onerror=alert(2)&gt;&#39;.mp4",
      ),
    );
    assert.ok(page.includes(`href="./${encodeURIComponent(HOSTILE).replaceAll("'", "&#39;")}"`));
    assert.ok(page.includes(`href="./javascript%3Aalert(3).mp4"`));
    assert.ok(!page.includes('href="javascript'));
    assert.match(page, /<a href="\.\/sub\/">sub\/<\/a>/);
    for (const hidden of [".dotfile.mp4", ".hidden", "escape.mp4", "outlink", "secret.mp4"]) {
      assert.ok(!page.includes(hidden), hidden);
    }

    const json = await curlHttp(["-H", "Accept: application/json", `${server.url}/media/`]);
    assert.equal(json.headers.get("content-type"), "application/json; charset=utf-8");
    const listing = JSON.parse(text(json.body));
    assert.equal(listing.path, "/media/");
    assert.equal(listing.parent, null);
    const byName = new Map<string, { kind: string; size?: number; url: string }>(
      listing.entries.map((e: { name: string }) => [e.name, e]),
    );
    assert.deepEqual(
      [...byName.keys()].sort(),
      [HOSTILE, SCHEME, "clip.srt", "clip.vtt", "clip.webm", "movie.mp4", "movie.srt", "sub"]
        .sort(),
    );
    assert.equal(byName.get("sub")!.kind, "dir");
    assert.equal(byName.get("sub")!.url, "/media/sub/");
    assert.equal(byName.get("movie.mp4")!.size, (await Deno.stat(`${tree.root}/movie.mp4`)).size);
    // the listed URL serves the file
    const hostile = await fetch(`${server.url}${byName.get(HOSTILE)!.url}`);
    assert.equal(hostile.status, 200);
    assert.equal((await hostile.arrayBuffer()).byteLength, 1000);

    const sub = JSON.parse(text((await curlHttp([`${server.url}/media/sub/?format=json`])).body));
    assert.equal(sub.parent, "/media/");
    assert.deepEqual(sub.entries.map((e: { name: string }) => e.name), ["small.mp4"]);
    // ?format=html wins over Accept
    const forced = await curlHttp([
      "-H",
      "Accept: application/json",
      `${server.url}/media/sub/?format=html`,
    ]);
    assert.match(forced.headers.get("content-type")!, /^text\/html/);
    assert.ok(text(forced.body).includes('<a href="../">Parent folder</a>'));

    const head = await curlHttp(["-I", `${server.url}/media/sub/`]);
    assert.equal(head.status, 200);
    assert.equal(text(head.body).trim(), ""); // curl -I prints the head only
    const get = await curlHttp([`${server.url}/media/sub/`]);
    assert.equal(head.headers.get("content-length"), String(get.body.byteLength));

    const redirect = await curlHttp([`${server.url}/media/sub?format=json`]);
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get("location"), "/media/sub/?format=json");
    for (
      const [path, status] of [
        ["/media/nope/", 404],
        ["/media/.hidden/", 404],
        ["/media/outlink/", 404],
        ["/media/%2e%2e/", 400],
        ["/media/sub//", 400],
        ["/media/movie.mp4/", 404],
      ] as const
    ) {
      assert.equal((await curlHttp([`${server.url}${path}`])).status, status, path);
    }

    for (const path of ["/media/", "/media/sub/", "/media/sub"]) {
      assert.equal((await curlHttp([`${off.url}${path}`])).status, 404, path);
    }
    assert.equal((await curlHttp([`${off.url}/media/movie.mp4`, "-o", "/dev/null"])).status, 200);
  } finally {
    await server.close();
    await off.close();
    await tree.cleanup();
  }
});

Deno.test("pages: .srt subtitles are served as WebVTT and offered on the player page", async () => {
  const tree = await makeRoot();
  const server = await startServer({
    root: tree.root,
    args: ["--poster-cache", `${tree.base}/posters`],
  });
  try {
    const expected = srtToVtt(SRT);
    assert.equal(
      expected,
      "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\n<i>Hello</i> & welcome\n\n" +
        "2\n00:00:03.250 --> 00:00:05.000\nSecond\nline\n",
    );
    const vtt = await curlHttp([`${server.url}/media/movie.vtt`]);
    assert.equal(vtt.status, 200);
    assert.equal(vtt.headers.get("content-type"), "text/vtt; charset=utf-8");
    assert.equal(vtt.headers.get("access-control-allow-origin"), "*");
    assert.equal(text(vtt.body), expected);
    assert.equal(vtt.headers.get("content-length"), String(vtt.body.byteLength));
    const etag = vtt.headers.get("etag")!;
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-vtt"$/);
    const again = await curlHttp(["-H", `If-None-Match: ${etag}`, `${server.url}/media/movie.vtt`]);
    assert.equal(again.status, 304);
    const range = await curlHttp(["-H", "Range: bytes=0-5", `${server.url}/media/movie.vtt`]);
    assert.equal(range.status, 206);
    assert.equal(text(range.body), "WEBVTT");
    const head = await curlHttp(["-I", `${server.url}/media/movie.vtt`]);
    assert.equal(head.headers.get("content-length"), String(vtt.body.byteLength));
    // the .srt itself stays what it is; ?format=vtt converts it too
    const raw = await curlHttp([`${server.url}/media/movie.srt`]);
    assert.equal(raw.headers.get("content-type"), "application/x-subrip");
    assert.equal(text(raw.body), SRT);
    const asked = await curlHttp([`${server.url}/media/movie.srt?format=vtt`]);
    assert.equal(asked.headers.get("content-type"), "text/vtt; charset=utf-8");
    assert.equal(text(asked.body), expected);
    // a real .vtt of the same name wins; a .vtt with neither is a 404
    assert.ok(text((await curlHttp([`${server.url}/media/clip.vtt`])).body).includes("vtt"));
    assert.equal((await curlHttp([`${server.url}/media/none.vtt`])).status, 404);
    // a .srt that changes is converted again (new identity → new ETag and body)
    await Deno.writeTextFile(`${tree.root}/movie.srt`, SRT.replace("Second", "Changed"));
    const changed = await curlHttp([`${server.url}/media/movie.vtt`]);
    assert.ok(text(changed.body).includes("Changed"));
    assert.notEqual(changed.headers.get("etag"), etag);

    const library = await (await fetch(`${server.url}/api/library`)).json() as Listing;
    const movie = library.entries.find((e) => e.name === "movie.mp4") as FileEntry;
    assert.deepEqual(movie.subtitles, [{
      path: "movie.srt",
      url: "/media/movie.vtt",
      from: "srt",
    }]);
    const clip = library.entries.find((e) => e.name === "clip.webm") as FileEntry;
    assert.deepEqual(clip.subtitles, [{ path: "clip.vtt", url: "/media/clip.vtt" }]);
    const player = await (await fetch(`${server.url}/play?path=movie.mp4`)).text();
    assert.match(player, /<track kind="subtitles" src="\/media\/movie.vtt"/);
  } finally {
    await server.close();
    await tree.cleanup();
  }
});

Deno.test("pages: assets have versioned URLs, a year of caching, br/gzip with an ETag each", async () => {
  const server = await startServer();
  try {
    const page = await (await fetch(`${server.url}/play?path=hls/index.m3u8`)).text();
    const version =
      /<script src="\/assets\/hls\.min\.js\?v=([0-9a-f]{12})"><\/script>/.exec(page)![1];
    assert.match(page, /<link rel="stylesheet" href="\/assets\/style\.css\?v=[0-9a-f]{12}">/);
    assert.match(page, /<script src="\/assets\/player\.js\?v=[0-9a-f]{12}"><\/script>/);
    const onDisk = await Deno.readFile(assetPaths().get("hls.min.js")!);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", onDisk));
    assert.equal(
      version,
      Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join(""),
    );
    const url = `${server.url}/assets/hls.min.js?v=${version}`;

    const br = await curlHttp(["-H", "Accept-Encoding: gzip, deflate, br", url]);
    assert.equal(br.status, 200);
    assert.equal(br.headers.get("content-encoding"), "br");
    assert.equal(br.headers.get("vary"), "Accept-Encoding");
    assert.equal(br.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(br.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(br.headers.get("content-length"), String(br.body.byteLength));
    assert.ok(br.body.byteLength < onDisk.byteLength / 2);
    assert.deepEqual(new Uint8Array(zlib.brotliDecompressSync(br.body)), onDisk);

    const gz = await curlHttp(["-H", "Accept-Encoding: gzip", url]);
    assert.equal(gz.headers.get("content-encoding"), "gzip");
    assert.deepEqual(new Uint8Array(zlib.gunzipSync(gz.body)), onDisk);
    // curl's own decoder agrees
    const decoded = await curl(["--compressed", url]);
    assert.deepEqual(decoded.stdout, onDisk);

    const plain = await curlHttp([url]);
    assert.equal(plain.headers.get("content-encoding"), undefined);
    assert.deepEqual(plain.body, onDisk);
    const etags = [br, gz, plain].map((r) => r.headers.get("etag"));
    assert.deepEqual(etags, [`"${version}-br"`, `"${version}-gz"`, `"${version}"`]);

    const notModified = await curlHttp([
      "-H",
      "Accept-Encoding: br",
      "-H",
      `If-None-Match: ${etags[0]}`,
      url,
    ]);
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body.byteLength, 0);
    // another encoding's tag does not match this representation
    const otherTag = await curlHttp([
      "-H",
      "Accept-Encoding: gzip",
      "-H",
      `If-None-Match: ${etags[0]}`,
      url,
      "-o",
      "/dev/null",
    ]);
    assert.equal(otherTag.status, 200);
    const head = await curlHttp(["-I", "-H", "Accept-Encoding: br", url]);
    assert.equal(head.headers.get("content-length"), String(br.body.byteLength));
    assert.equal(head.headers.get("content-encoding"), "br");

    // other URLs of the asset revalidate
    for (const other of ["/assets/hls.min.js", "/assets/hls.min.js?v=000000000000"]) {
      const response = await curlHttp(["-I", `${server.url}${other}`]);
      assert.equal(response.headers.get("cache-control"), "no-cache", other);
    }
    // dash.js, the page's own script and style are served the same way
    for (const name of ["dash.all.min.js", "player.js", "library.js", "style.css"]) {
      const response = await curlHttp([
        "-H",
        "Accept-Encoding: gzip",
        `${server.url}/assets/${name}`,
      ]);
      assert.equal(response.status, 200, name);
      assert.deepEqual(
        new Uint8Array(zlib.gunzipSync(response.body)),
        await Deno.readFile(assetPaths().get(name)!),
        name,
      );
    }
    assert.equal((await curlHttp([`${server.url}/assets/nope.js`])).status, 404);
  } finally {
    await server.close();
  }
});

/** Reads width and height from a baseline or progressive JPEG's SOF marker. */
function jpegSize(bytes: Uint8Array): { width: number; height: number } {
  assert.equal(bytes[0], 0xff);
  assert.equal(bytes[1], 0xd8);
  let p = 2;
  while (p + 9 < bytes.length) {
    assert.equal(bytes[p], 0xff);
    const marker = bytes[p + 1];
    const length = (bytes[p + 2] << 8) | bytes[p + 3];
    if (marker >= 0xc0 && marker <= 0xc2) {
      return {
        height: (bytes[p + 5] << 8) | bytes[p + 6],
        width: (bytes[p + 7] << 8) | bytes[p + 8],
      };
    }
    p += 2 + length;
  }
  throw new Error("no SOF marker");
}

/** Asks for the poster until `X-Poster` says `want` (the grab runs in the background). */
async function waitForPoster(server: RunningServer, path: string, want: string) {
  for (let i = 0; i < 600; i++) {
    const response = await curlHttp([`${server.url}/poster?path=${encodeURIComponent(path)}`]);
    if (response.headers.get("x-poster") === want) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`poster of ${path} never became ${want}`);
}

Deno.test({
  name: "pages: posters are frame grabs made off the request path, cached by file identity",
  ignore: !have("ffmpeg"),
  async fn() {
    const tree = await makeRoot();
    const posters = `${tree.base}/posters`;
    const server = await startServer({
      root: tree.root,
      args: ["--poster-cache", posters],
      log: true,
    });
    try {
      const first = await curlHttp([`${server.url}/poster?path=movie.mp4`]);
      assert.equal(first.status, 200);
      assert.equal(first.headers.get("x-poster"), "pending");
      assert.equal(first.headers.get("content-type"), "image/svg+xml");
      assert.equal(first.headers.get("cache-control"), "no-store");
      assert.ok(text(first.body).startsWith("<svg"));

      const ready = await waitForPoster(server, "movie.mp4", "ready");
      assert.equal(ready.headers.get("content-type"), "image/jpeg");
      assert.deepEqual(jpegSize(ready.body), { width: 320, height: 180 });
      // on disk under the file's identity (dev, inode, size, mtime)
      const stat = Deno.statSync(`${tree.root}/movie.mp4`);
      // posters only: a dot file is another worker's grab still in progress (temp or claim)
      const files = [...Deno.readDirSync(posters)].map((e) => e.name).filter((name) =>
        !name.startsWith(".")
      );
      assert.equal(files.length, 1);
      assert.match(
        files[0],
        new RegExp(
          `^[0-9a-z]+-${stat.ino!.toString(36)}-${stat.size.toString(36)}-[0-9a-z]+\\.jpg$`,
        ),
      );
      assert.deepEqual(await Deno.readFile(`${posters}/${files[0]}`), ready.body);
      const etag = ready.headers.get("etag")!;
      assert.equal(
        (await curlHttp(["-H", `If-None-Match: ${etag}`, `${server.url}/poster?path=movie.mp4`]))
          .status,
        304,
      );
      // the page links the versioned URL, which may be cached for good
      const page = await (await fetch(`${server.url}/`)).text();
      const href = /<img class="poster thumb" src="(\/poster\?path=movie\.mp4&amp;v=[^"]+)"/.exec(
        page,
      )![1]
        .replaceAll("&amp;", "&");
      assert.ok(!/data-src="\/poster\?path=movie\.mp4[^"]*" data-pending/.test(page));
      const versioned = await curlHttp([`${server.url}${href}`]);
      assert.equal(versioned.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assert.equal(ready.headers.get("cache-control"), "no-cache");
      const player = await (await fetch(`${server.url}/play?path=movie.mp4`)).text();
      assert.ok(player.includes(`poster="${href.replaceAll("&", "&amp;")}"`));

      // HLS playlists get one too (ffmpeg reads the playlist); WebM as well
      await Deno.mkdir(`${tree.root}/stream`);
      for (const entry of Deno.readDirSync(`${MEDIA}hls`)) {
        await Deno.copyFile(`${MEDIA}hls/${entry.name}`, `${tree.root}/stream/${entry.name}`);
      }
      await curlHttp([`${server.url}/poster?path=clip.webm`]);
      assert.equal(jpegSize((await waitForPoster(server, "clip.webm", "ready")).body).width, 320);
      await curlHttp([`${server.url}/poster?path=stream/index.m3u8`]);
      assert.equal(
        jpegSize((await waitForPoster(server, "stream/index.m3u8", "ready")).body).width,
        320,
      );

      // a playlist naming remote segments (here this very server) gets no poster, and nothing
      // is fetched (ffmpeg's HLS demuxer refuses cross-protocol segments itself; the server's
      // -protocol_whitelist file,crypto covers every other way a file can name a URL)
      await Deno.mkdir(`${tree.root}/remote`);
      const remote = (await Deno.readTextFile(`${MEDIA}hls/index.m3u8`)).replace(
        /^segment/gm,
        `${server.url}/media/stream/segment`,
      );
      assert.ok(remote.includes(`${server.url}/media/stream/segment000.ts`));
      await Deno.writeTextFile(`${tree.root}/remote/index.m3u8`, remote);
      const logBefore = server.stdout.length;
      await waitForPoster(server, "remote/index.m3u8", "unavailable");
      assert.deepEqual(
        server.stdout.slice(logBefore).filter((line) => line.includes("/media/stream/segment")),
        [],
      );

      // a rewritten file is a new identity: a new poster is made, the old one is not served
      await Deno.writeFile(
        `${tree.root}/movie.mp4`,
        await Deno.readFile(`${MEDIA}not-faststart.mp4`),
      );
      await Deno.utime(`${tree.root}/movie.mp4`, new Date(), new Date("2026-04-01T00:00:00Z"));
      const renewed = await curlHttp([`${server.url}/poster?path=movie.mp4`]);
      assert.equal(renewed.headers.get("x-poster"), "pending");
      await waitForPoster(server, "movie.mp4", "ready");

      // not a video, missing, unsafe
      const srt = await curlHttp([`${server.url}/poster?path=movie.srt`]);
      assert.equal(srt.headers.get("x-poster"), "unavailable");
      assert.equal(srt.headers.get("cache-control"), "no-cache");
      assert.equal((await curlHttp([`${server.url}/poster?path=nope.mp4`])).status, 404);
      assert.equal((await curlHttp([`${server.url}/poster?path=..%2Fx.mp4`])).status, 400);
      assert.equal((await curlHttp([`${server.url}/poster?path=escape.mp4`])).status, 404);
      // a file ffmpeg cannot decode gets the placeholder, once failed it stays so
      await waitForPoster(server, HOSTILE, "unavailable");
      assert.deepEqual(server.stderr.filter((l) => l.trim() !== ""), []);
    } finally {
      await server.close();
      await tree.cleanup();
    }
  },
});

Deno.test("pages: without ffmpeg on PATH posters are a neutral placeholder, no errors", async () => {
  const tree = await makeRoot();
  const server = await startServer({
    root: tree.root,
    args: ["--poster-cache", `${tree.base}/posters`],
    env: { PATH: `${tree.base}/no-such-bin` },
  });
  try {
    const placeholder = await waitForPoster(server, "movie.mp4", "unavailable");
    assert.equal(placeholder.status, 200);
    assert.equal(placeholder.headers.get("content-type"), "image/svg+xml");
    assert.ok(text(placeholder.body).startsWith("<svg"));
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<img class="poster thumb" src="\/poster\?path=movie\.mp4/);
    // nothing is left in the folder (another worker's failed try may still be holding its
    // claim file for a moment)
    const entries = () => [...Deno.readDirSync(`${tree.base}/posters`)].map((e) => e.name);
    for (let i = 0; i < 100 && entries().length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(entries(), []);
    assert.deepEqual(server.stderr.filter((l) => l.trim() !== ""), []);
  } finally {
    await server.close();
    await tree.cleanup();
  }
});
