/**
 * `GET /api/library`, the web pages and their assets over real HTTP(S) against `main.ts` in a
 * subprocess: listings of the committed samples, broken files as entries with `error`, path
 * safety (the `/media/` rules), search, cache invalidation when a file changes, hostile file
 * names escaped in every page, and the probe cache in-process.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type FileEntry, type Listing, MediaLibrary } from "../src/library/library.ts";
import { formatDate } from "../src/library/format.ts";
import { ProbeCache } from "../src/library/probe_cache.ts";
import { startServer } from "./support/server.ts";
import { makeTestCert } from "./support/tls.ts";

const MEDIA = fileURLToPath(new URL("../media/", import.meta.url));
const HOSTILE = "<img src=x onerror=alert(1)>.mp4";
const HOSTILE_ATTR = `"><svg onload=alert(2)>'.mp4`;

/** A temp media root with good, broken, hidden, escaping and hostile entries. */
async function makeRoot(): Promise<{ base: string; root: string; cleanup(): Promise<void> }> {
  const base = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-library-" }));
  const root = `${base}/root`;
  await Deno.mkdir(`${root}/sub/deeper`, { recursive: true });
  await Deno.mkdir(`${root}/.secret`);
  await Deno.mkdir(`${base}/outside`);
  const sample = await Deno.readFile(`${MEDIA}sample.mp4`);
  await Deno.writeFile(`${root}/good.mp4`, sample);
  await Deno.writeFile(`${root}/truncated.mp4`, sample.subarray(0, 5000));
  await Deno.writeFile(`${root}/garbage.mkv`, new TextEncoder().encode("definitely not EBML"));
  await Deno.writeFile(`${root}/empty.webm`, new Uint8Array(0));
  await Deno.writeFile(`${root}/${HOSTILE}`, sample);
  await Deno.writeFile(`${root}/${HOSTILE_ATTR}`, sample);
  await Deno.writeFile(`${root}/movie.mp4`, sample);
  await Deno.writeTextFile(`${root}/movie.en.vtt`, "WEBVTT\n");
  await Deno.writeTextFile(`${root}/movie.vtt`, "WEBVTT\n");
  await Deno.writeFile(`${root}/sub/deeper/found-me.mp4`, sample);
  await Deno.writeFile(`${root}/.secret/found-me-not.mp4`, sample);
  await Deno.writeFile(`${root}/.hidden.mp4`, sample);
  await Deno.writeFile(`${root}/100%.mp4`, sample); // /media/ refuses a literal %
  await Deno.writeFile(`${base}/outside/found-me-outside.mp4`, sample);
  await Deno.symlink(`${base}/outside`, `${root}/outlink`);
  await Deno.symlink(`${base}/outside/found-me-outside.mp4`, `${root}/escape.mp4`);
  await Deno.symlink(`${root}/good.mp4`, `${root}/inside-link.mp4`);
  return { base, root, cleanup: () => Deno.remove(base, { recursive: true }) };
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  return { status: response.status, body: await response.json() };
}

function byName(listing: Listing): Map<string, FileEntry> {
  return new Map(listing.entries.map((e) => [e.name, e as FileEntry]));
}

Deno.test("library API: the sample media with probe results, streams and subtitles", async () => {
  const server = await startServer();
  try {
    const { status, body } = await getJson(`${server.url}/api/library`);
    assert.equal(status, 200);
    const listing = body as unknown as Listing;
    assert.equal(listing.path, "");
    assert.equal(listing.parent, null);
    assert.deepEqual(listing.entries.map((e) => `${e.kind}:${e.name}`), [
      "dir:hls",
      "file:not-faststart.mp4",
      "file:sample.mp4",
      "file:sample.vtt",
      "file:sample.webm",
    ]);
    const entries = byName(listing);
    // the HLS folder names its playlist: the pages list the folder as one stream
    assert.equal((entries.get("hls") as { stream?: string }).stream, "hls/index.m3u8");
    const mp4 = entries.get("sample.mp4")!;
    const { mtime, ...rest } = mp4;
    assert.ok(!Number.isNaN(Date.parse(mtime)));
    assert.deepEqual(rest, {
      kind: "file",
      name: "sample.mp4",
      path: "sample.mp4",
      size: (await Deno.stat(`${MEDIA}sample.mp4`)).size,
      contentType: "video/mp4",
      url: "/media/sample.mp4",
      container: "mp4",
      duration: 8,
      width: 320,
      height: 180,
      videoCodec: "avc1.64001e",
      audioCodec: "mp4a.40.2",
      channels: 2,
      faststart: true,
      subtitles: [{ path: "sample.vtt", url: "/media/sample.vtt" }],
    });
    assert.equal(entries.get("not-faststart.mp4")!.faststart, false);
    assert.equal(entries.get("sample.webm")!.videoCodec, "vp9");
    // The advertised URL serves the file.
    const bytes = await (await fetch(`${server.url}${mp4.url}`)).arrayBuffer();
    assert.equal(bytes.byteLength, mp4.size);

    const hls = (await getJson(`${server.url}/api/library?path=hls`)).body as unknown as Listing;
    assert.equal(hls.parent, "");
    const playlist = byName(hls).get("index.m3u8")!;
    assert.equal(playlist.kind, "stream");
    assert.equal(playlist.contentType, "application/vnd.apple.mpegurl");
    assert.equal(playlist.url, "/media/hls/index.m3u8");
    // Inside the HLS folder the segments are folded into the playlist; all=1 lists them.
    assert.deepEqual(hls.entries.map((e) => e.name), ["index.m3u8"]);
    assert.equal(hls.folded, 4);
    assert.equal(playlist.segments, 4);
    assert.equal(playlist.duration, 8);
    const every = (await getJson(`${server.url}/api/library?path=hls&all=1`))
      .body as unknown as Listing;
    assert.equal(every.folded, 0);
    assert.equal(byName(every).get("segment000.ts")!.kind, "file");
    assert.equal(every.entries.length, 5);
    // The folder itself is one stream with the playlist's duration.
    const folder = listing.entries.find((e) => e.name === "hls")!;
    assert.equal(folder.kind, "dir");
    assert.equal(folder.duration, 8);
  } finally {
    await server.close();
  }
});

Deno.test("library API: broken files, path safety, search, cache invalidation", async () => {
  const tree = await makeRoot();
  const server = await startServer({ root: tree.root });
  try {
    const api = (query: string) => getJson(`${server.url}/api/library${query}`);
    const { status, body } = await api("");
    assert.equal(status, 200);
    const entries = byName(body as unknown as Listing);
    // Dotfiles, escaping symlinks and names /media/ would refuse are not listed.
    assert.deepEqual(
      [...entries.keys()].sort(),
      [
        HOSTILE_ATTR,
        HOSTILE,
        "empty.webm",
        "garbage.mkv",
        "good.mp4",
        "inside-link.mp4",
        "movie.en.vtt",
        "movie.mp4",
        "movie.vtt",
        "sub",
        "truncated.mp4",
      ].sort(),
    );
    assert.match(entries.get("truncated.mp4")!.error!, /truncated/);
    assert.equal(entries.get("truncated.mp4")!.duration, undefined);
    assert.match(entries.get("garbage.mkv")!.error!, /not a WebM\/Matroska file/);
    assert.equal(entries.get("empty.webm")!.error, "empty file");
    assert.equal(entries.get("inside-link.mp4")!.duration, 8);
    assert.equal(entries.get(HOSTILE)!.url, `/media/${encodeURIComponent(HOSTILE)}`);
    assert.deepEqual(entries.get("movie.mp4")!.subtitles, [
      { path: "movie.vtt", url: "/media/movie.vtt" },
      { path: "movie.en.vtt", url: "/media/movie.en.vtt", lang: "en" },
    ]);
    const hostileBytes = await fetch(`${server.url}${entries.get(HOSTILE)!.url}`);
    assert.equal(hostileBytes.status, 200);
    await hostileBytes.body?.cancel();

    for (
      const [query, expected] of [
        ["?path=..", 400],
        ["?path=../", 400],
        ["?path=%2e%2e", 400],
        ["?path=sub/../..", 400],
        ["?path=sub%5C..", 400],
        ["?path=sub%00", 400],
        ["?path=sub//deeper", 400],
        ["?path=100%25", 400],
        ["?path=.secret", 404],
        ["?path=outlink", 404],
        ["?path=good.mp4", 404],
        ["?path=nope", 404],
        ["?path=sub/", 200],
        ["?path=/sub/deeper", 200],
      ] as const
    ) {
      const { status, body } = await api(query);
      assert.equal(status, expected, `${query}: ${JSON.stringify(body)}`);
      if (expected !== 200) assert.equal(typeof body.error, "string");
    }
    const deeper = (await api("?path=sub/deeper")).body as unknown as Listing;
    assert.equal(deeper.path, "sub/deeper");
    assert.equal(deeper.parent, "sub");
    assert.equal(deeper.entries[0].path, "sub/deeper/found-me.mp4");

    // Search: this directory and below, never into dot-directories or out of the root.
    const found = (await api("?q=FOUND-me")).body as unknown as Listing;
    assert.equal(found.query, "FOUND-me");
    assert.deepEqual(found.entries.map((e) => e.path), ["sub/deeper/found-me.mp4"]);
    assert.equal((found.entries[0] as FileEntry).duration, 8);
    const inSub = (await api("?path=sub&q=deep")).body as unknown as Listing;
    assert.deepEqual(inSub.entries.map((e) => `${e.kind}:${e.path}`), ["dir:sub/deeper"]);

    // A changed file is a new (inode, size, mtime): its probe result follows the bytes.
    await Deno.writeFile(`${tree.root}/truncated.mp4`, await Deno.readFile(`${MEDIA}sample.mp4`));
    const again = byName((await api("")).body as unknown as Listing);
    assert.equal(again.get("truncated.mp4")!.error, undefined);
    assert.equal(again.get("truncated.mp4")!.duration, 8);
    await Deno.writeFile(`${tree.root}/good.mp4`, new Uint8Array(100));
    assert.match(byName((await api("")).body as unknown as Listing).get("good.mp4")!.error!, /./);
  } finally {
    await server.close();
    await tree.cleanup();
  }
});

Deno.test("pages: hostile file names are escaped in the listing, search and player", async () => {
  const tree = await makeRoot();
  const server = await startServer({ root: tree.root });
  try {
    const pages = [
      "/",
      `/?q=${encodeURIComponent("onerror")}`,
      `/?q=${encodeURIComponent("svg")}`,
      `/play?path=${encodeURIComponent(HOSTILE)}`,
      `/play?path=${encodeURIComponent(HOSTILE_ATTR)}`,
    ];
    for (const page of pages) {
      const response = await fetch(`${server.url}${page}`);
      assert.equal(response.status, 200, page);
      assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
      assert.match(response.headers.get("content-security-policy")!, /default-src 'none'/);
      const html = await response.text();
      assert.ok(html.startsWith("<!doctype html>"));
      assert.ok(!html.includes("<img src=x"), `${page} contains a raw <img`);
      assert.ok(!html.includes("<svg"), `${page} contains a raw <svg`);
      assert.ok(!html.includes("onerror=alert(1)>"), page);
    }
    const listing = await (await fetch(`${server.url}/`)).text();
    assert.ok(listing.includes("&lt;img src=x onerror=alert(1)&gt;.mp4"));
    assert.ok(listing.includes("&quot;&gt;&lt;svg onload=alert(2)&gt;&#39;.mp4"));
    // The failure page echoes nothing of the request.
    const missing = await fetch(`${server.url}/play?path=${encodeURIComponent("<b>x</b>.mp4")}`);
    assert.equal(missing.status, 404);
    assert.ok(!(await missing.text()).includes("<b>"));
  } finally {
    await server.close();
    await tree.cleanup();
  }
});

Deno.test("pages: listing rows, badges, breadcrumbs and the player page", async () => {
  const server = await startServer();
  try {
    const root = await (await fetch(`${server.url}/`)).text();
    // the HLS folder is listed as one stream (its files stay browsable)
    assert.match(root, /<tr class="stream" data-path="hls">/);
    assert.match(root, /<a href="\/play\?path=hls%2Findex\.m3u8">hls<\/a>/);
    assert.match(root, /<a class="files" href="\/\?path=hls">files<\/a>/);
    assert.match(root, /<a href="\/play\?path=sample.mp4">sample.mp4<\/a>/);
    assert.match(root, /data-path="not-faststart.mp4">.*?class="badge warn not-faststart"/s);
    const row = (path: string) => new RegExp(`data-path="${path}">(.*?)</tr>`, "s").exec(root)![1];
    assert.ok(row("not-faststart.mp4").includes("not faststart"));
    assert.ok(!row("sample.mp4").includes("not faststart"));
    const cells = row("sample.mp4").replace(/<[^>]+>/g, "|").split("|").filter((t) => t.trim());
    assert.deepEqual(cells, [
      "sample.mp4",
      "subtitles",
      formatDate(new Date(Deno.statSync(`${MEDIA}sample.mp4`).mtime!).toISOString()),
      "0:08",
      "320×180",
      "H.264 High",
      "avc1.64001e",
      "AAC-LC",
      "mp4a.40.2",
      " · 2 ch",
      "208 KiB",
    ]);
    const hls = await (await fetch(`${server.url}/?path=hls`)).text();
    assert.match(hls, /<li><a href="\/\?path=hls" aria-current="page">hls<\/a><\/li>/);
    assert.match(hls, /<a href="\/play\?path=hls%2Findex.m3u8">index.m3u8<\/a>/);
    assert.match(hls, /Parent folder/);

    const player = await (await fetch(`${server.url}/play?path=sample.mp4`)).text();
    assert.match(
      player,
      /<video id="player"[^>]* poster="\/poster\?path=sample.mp4&amp;v=[0-9a-z-]+"/,
    );
    assert.match(player, /<video id="player"[^>]* src="\/media\/sample.mp4"/);
    assert.match(player, /<track [^>]*src="\/media\/sample.vtt"[^>]*>/);
    assert.ok(!player.includes("hls.min.js"));
    const stream = await (await fetch(`${server.url}/play?path=hls/index.m3u8`)).text();
    assert.match(stream, /data-src="\/media\/hls\/index.m3u8" data-kind="stream"/);
    assert.ok(!/<video[^>]* src=/.test(stream), "a stream is attached by script, not src");
    assert.match(stream, /<script src="\/assets\/hls.min.js\?v=[0-9a-f]{12}"><\/script>/);
    assert.equal((await fetch(`${server.url}/play?path=hls`)).status, 404);
    assert.equal((await fetch(`${server.url}/play?path=..`)).status, 400);
    await (await fetch(`${server.url}/play?path=..`)).body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("assets: hls.js from the npm package and the page's own files", async () => {
  const server = await startServer();
  try {
    const hls = await fetch(`${server.url}/assets/hls.min.js`);
    assert.equal(hls.status, 200);
    assert.equal(hls.headers.get("content-type"), "text/javascript; charset=utf-8");
    const served = new Uint8Array(await hls.arrayBuffer());
    const onDisk = await Deno.readFile(new URL(import.meta.resolve("hls.js/dist/hls.min.js")));
    assert.deepEqual(served, onDisk);
    const etag = hls.headers.get("etag")!;
    const revalidated = await fetch(`${server.url}/assets/hls.min.js`, {
      headers: { "if-none-match": etag },
    });
    assert.equal(revalidated.status, 304);
    await revalidated.body?.cancel();
    for (const [name, type] of [["player.js", "text/javascript"], ["style.css", "text/css"]]) {
      const response = await fetch(`${server.url}/assets/${name}`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type")!, new RegExp(`^${type}`));
      await response.body?.cancel();
    }
    const missing = await fetch(`${server.url}/assets/..%2Fapp.ts`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("pages and API over HTTPS", async () => {
  const cert = await makeTestCert();
  const server = await startServer({ tls: { cert: cert.certFile, key: cert.keyFile } });
  const client = Deno.createHttpClient({ caCerts: [cert.certPem] });
  try {
    const page = await fetch(`${server.httpsUrl}/`, { client });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /sample\.mp4/);
    const api = await fetch(`${server.httpsUrl}/api/library?path=hls`, { client });
    assert.equal((await api.json()).entries[0].kind, "stream");
    const hls = await fetch(`${server.httpsUrl}/assets/hls.min.js`, { client });
    assert.equal(hls.status, 200);
    await hls.body?.cancel();
  } finally {
    client.close();
    await server.close();
    await cert.cleanup();
  }
});

Deno.test("library: probe results are cached by file version, the LRU is bounded", async () => {
  const tree = await makeRoot();
  try {
    const library = new MediaLibrary(tree.root, new ProbeCache(100));
    const first = await library.list("");
    assert.ok("entries" in first);
    const probes = library.cache.probes;
    assert.ok(probes >= 7, `${probes}`);
    await library.list("");
    await library.file("movie.mp4");
    assert.equal(library.cache.probes, probes, "second listing probes nothing");
    // Same bytes, new mtime → probed again.
    await Deno.utime(`${tree.root}/movie.mp4`, new Date(), new Date(2001, 1, 1));
    await library.file("movie.mp4");
    assert.equal(library.cache.probes, probes + 1);

    const small = new MediaLibrary(tree.root, new ProbeCache(2));
    await small.list("");
    assert.equal(small.cache.size, 2);
  } finally {
    await tree.cleanup();
  }
});
