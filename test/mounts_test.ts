/**
 * `--mount /PREFIX=DIR`: every root served like `/media/` (files with ranges and conditionals,
 * library, pages, packaging, ingest, signed paths) on both engines; bad mounts refused.
 */
import assert from "node:assert/strict";
import { createApp } from "../src/app.ts";
import { parseConfig } from "../src/config.ts";
import { Mounts } from "../src/media/mounts.ts";
import { signPath } from "../src/auth/signed_url.ts";
import { randomBytes } from "./support/bytes.ts";
import { rawExchange } from "./support/ingest.ts";
import { ENGINES, startServer } from "./support/server.ts";

const SAMPLE = new URL("../media/sample.mp4", import.meta.url).pathname;
const TOKEN = "mount-ingest-token-0123";

interface Fixture {
  readonly dir: string;
  readonly root: string;
  readonly movies: string;
  readonly tv: string;
  readonly tvBytes: Uint8Array;
  readonly sample: Uint8Array;
}

async function makeFixture(): Promise<Fixture> {
  const dir = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-mounts-" }));
  const root = `${dir}/root`;
  const movies = `${dir}/movies`;
  const tv = `${dir}/tv`;
  for (const d of [root, movies, `${movies}/sub`, tv, `${dir}/outside`]) await Deno.mkdir(d);
  await Deno.writeTextFile(`${root}/root.txt`, "from root\n");
  // A --root folder with a mount's name is hidden by the mount in the library.
  await Deno.mkdir(`${root}/movies`);
  await Deno.writeTextFile(`${root}/movies/hidden.txt`, "hidden\n");
  const sample = await Deno.readFile(SAMPLE);
  await Deno.writeFile(`${movies}/a b.mp4`, sample);
  await Deno.writeTextFile(`${movies}/sub/note.txt`, "note\n");
  await Deno.writeTextFile(`${dir}/outside/secret.txt`, "secret\n");
  await Deno.symlink(`${dir}/outside/secret.txt`, `${movies}/escape.txt`);
  const tvBytes = randomBytes(200_000);
  await Deno.writeFile(`${tv}/ep1.bin`, tvBytes);
  return { dir, root, movies, tv, tvBytes, sample };
}

const mountArgs = (fx: Fixture) => [
  "--mount",
  `/movies=${fx.movies}`,
  "--mount",
  `/tv/=${fx.tv}`,
  "--ingest-token",
  TOKEN,
  "--ingest-prefix",
  "/movies/live/",
];

for (const engine of ENGINES) {
  Deno.test(`mounts [${engine}]: files, ranges, conditionals under every prefix; /media/ unchanged`, async () => {
    const fx = await makeFixture();
    const server = await startServer({ engine, root: fx.root, args: mountArgs(fx) });
    try {
      const base = server.url;
      // --root still under /media/.
      assert.equal(await (await fetch(`${base}/media/root.txt`)).text(), "from root\n");
      // Whole files, byte for byte.
      const movie = await fetch(`${base}/movies/a%20b.mp4`);
      assert.equal(movie.status, 200);
      assert.equal(movie.headers.get("content-type"), "video/mp4");
      assert.deepEqual(await movie.bytes(), fx.sample);
      assert.deepEqual(await (await fetch(`${base}/tv/ep1.bin`)).bytes(), fx.tvBytes);
      // Ranges (RFC 9110 §14) and conditionals (§13) as on /media/.
      const range = await fetch(`${base}/tv/ep1.bin`, { headers: { range: "bytes=1000-1999" } });
      assert.equal(range.status, 206);
      assert.equal(range.headers.get("content-range"), `bytes 1000-1999/${fx.tvBytes.length}`);
      assert.deepEqual(await range.bytes(), fx.tvBytes.subarray(1000, 2000));
      const etag = range.headers.get("etag")!;
      const notModified = await fetch(`${base}/tv/ep1.bin`, { headers: { "if-none-match": etag } });
      assert.equal(notModified.status, 304);
      await notModified.body?.cancel();
      // Each mount serves only its own directory.
      for (
        const [path, status] of [
          ["/movies/root.txt", 404],
          ["/tv/a%20b.mp4", 404],
          ["/movies/escape.txt", 404], // symlink out of the mount
          ["/moviesx/a%20b.mp4", 404],
        ] as const
      ) {
        const res = await fetch(`${base}${path}`);
        await res.body?.cancel();
        assert.equal(res.status, status, path);
      }
      // Folder listings (on by default) list the mount's own folder.
      const listing = await fetch(`${base}/movies/`);
      assert.equal(listing.status, 200);
      const html = await listing.text();
      assert.ok(html.includes("a%20b.mp4") && html.includes("sub/"), html);
      assert.ok(!html.includes("escape.txt") && !html.includes("root.txt"), html);
      // Traversal as sent on the wire (fetch would normalise it away): 400 as on /media/.
      for (const target of ["/movies/../root/root.txt", "/movies/%2e%2e/tv/ep1.bin"]) {
        const raw = await rawExchange(
          base,
          `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        assert.equal(raw.status, 400, target);
      }
      const head = await fetch(`${base}/movies/sub/note.txt`, { method: "HEAD" });
      assert.equal(head.headers.get("content-length"), "5");
      const options = await fetch(`${base}/tv/ep1.bin`, { method: "OPTIONS" });
      assert.equal(options.status, 204);
      const post = await fetch(`${base}/tv/ep1.bin`, { method: "POST", body: "x" });
      assert.equal(post.status, 405);
      await post.body?.cancel();
    } finally {
      assert.equal(await server.close(), 0);
      await Deno.remove(fx.dir, { recursive: true });
    }
  });

  Deno.test(`mounts [${engine}]: library, pages, HLS/DASH and ingest see the mounts`, async () => {
    const fx = await makeFixture();
    const server = await startServer({ engine, root: fx.root, args: mountArgs(fx) });
    try {
      const base = server.url;
      // The mounts are top-level folders of the library (hiding --root's own "movies").
      const top = await (await fetch(`${base}/api/library`)).json();
      const names = top.entries.map((e: { name: string; kind: string }) => `${e.kind}:${e.name}`);
      assert.deepEqual(names.sort(), ["dir:movies", "dir:tv", "file:root.txt"]);
      const movies = await (await fetch(`${base}/api/library?path=movies`)).json();
      assert.equal(movies.path, "movies");
      assert.equal(movies.parent, "");
      const file = movies.entries.find((e: { name: string }) => e.name === "a b.mp4");
      assert.equal(file.url, "/movies/a%20b.mp4");
      assert.equal(file.path, "movies/a b.mp4");
      assert.equal(file.container, "mp4");
      assert.ok(!movies.entries.some((e: { name: string }) => e.name === "escape.txt"));
      assert.ok(!movies.entries.some((e: { name: string }) => e.name === "hidden.txt"));
      const sub = await (await fetch(`${base}/api/library?path=movies/sub`)).json();
      assert.deepEqual(sub.entries.map((e: { url: string }) => e.url), ["/movies/sub/note.txt"]);
      const search = await (await fetch(`${base}/api/library?q=note`)).json();
      assert.deepEqual(search.entries.map((e: { path: string }) => e.path), [
        "movies/sub/note.txt",
      ]);
      const missing = await fetch(`${base}/api/library?path=movies/nope`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();

      // Pages link into the mount; the player uses the mount's URL and its HLS.
      const page = await (await fetch(`${base}/?path=movies`)).text();
      assert.ok(page.includes("a b.mp4"), page);
      const player = await (await fetch(`${base}/play?path=movies/a%20b.mp4&via=hls`)).text();
      assert.ok(player.includes("/hls/movies/a%20b.mp4/master.m3u8"), player);

      // Posters take the same library path (a frame grab or the placeholder; either is 200).
      const poster = await fetch(`${base}/poster?path=movies/a%20b.mp4`);
      assert.equal(poster.status, 200);
      await poster.body?.cancel();
      const noPoster = await fetch(`${base}/poster?path=movies/nope.mp4`);
      assert.equal(noPoster.status, 404);
      await noPoster.body?.cancel();

      // Packaging: /hls/<mount>/<path>/… and /dash/ too.
      const master = await fetch(`${base}/hls/movies/a%20b.mp4/master.m3u8`);
      assert.equal(master.status, 200);
      assert.match(await master.text(), /^#EXTM3U/);
      const mpd = await fetch(`${base}/dash/movies/a%20b.mp4/manifest.mpd`);
      assert.equal(mpd.status, 200);
      assert.match(await mpd.text(), /<MPD/);
      const rootHls = await fetch(`${base}/hls/root.txt/master.m3u8`);
      assert.equal(rootHls.status, 415); // resolved under --root, not an MP4
      await rootHls.body?.cancel();

      // Ingest under a mount's prefix writes into that mount's directory.
      const put = await fetch(`${base}/movies/live/seg1.ts`, {
        method: "PUT",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: "segment-bytes",
      });
      assert.equal(put.status, 201);
      assert.equal(await Deno.readTextFile(`${fx.movies}/live/seg1.ts`), "segment-bytes");
      assert.equal(await (await fetch(`${base}/movies/live/seg1.ts`)).text(), "segment-bytes");
      const elsewhere = await fetch(`${base}/tv/x.ts`, {
        method: "PUT",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: "x",
      });
      assert.equal(elsewhere.status, 405);
      await elsewhere.body?.cancel();
      await assert.rejects(Deno.stat(`${fx.tv}/x.ts`), Deno.errors.NotFound);
    } finally {
      assert.equal(await server.close(), 0);
      await Deno.remove(fx.dir, { recursive: true });
    }
  });
}

Deno.test("mounts: bad --mount values are refused with a clear message", async () => {
  const fx = await makeFixture();
  try {
    const parse = (...args: string[]) => parseConfig(["--root", fx.root, ...args], () => undefined);
    for (
      const reserved of ["/hls", "/dash/", "/api", "/assets", "/s", "/play", "/metrics", "/media"]
    ) {
      assert.throws(
        () => parse("--mount", `${reserved}=${fx.movies}`),
        /--mount must be a prefix other than the built-in routes/,
        reserved,
      );
    }
    assert.throws(() => parse("--mount", fx.movies), /--mount must be \/PREFIX=DIR/);
    assert.throws(() => parse("--mount", `/a/b=${fx.movies}`), /one path segment/);
    assert.throws(() => parse("--mount", `/.x=${fx.movies}`), /one path segment/);
    assert.throws(() => parse("--mount", `/x=`), /with a directory after =/);
    assert.throws(
      () => parse("--mount", `/x=${fx.dir}/nope`),
      /--mount \/x= .*\/nope: no such directory/,
    );
    assert.throws(
      () => parse("--mount", `/x=${fx.root}/root.txt`),
      /--mount \/x= .*: not a directory/,
    );
    assert.throws(
      () => parse("--mount", `/x=${fx.movies}`, "--mount", `/x/=${fx.tv}`),
      /--mount \/x\/ is given twice/,
    );
    assert.throws(
      () => parse("--mount", `/x=${fx.movies}`, "--ingest-prefix", "/y/live/"),
      /--ingest-prefix must be a path under \/media\/ or a --mount prefix/,
    );
    const ok = parse("--mount", `/x=${fx.movies}`, "--ingest-prefix", "/x/live");
    assert.equal(ok.ingestPrefix, "/x/live/");
    assert.deepEqual(ok.mounts, [{ name: "x", root: fx.movies }]);
    assert.throws(() => new Mounts(fx.root, [{ name: "a/b", root: fx.movies }]), RangeError);
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("mounts: with a sign key, a mount needs a signed path like /media/", async () => {
  const fx = await makeFixture();
  try {
    const key = "0123456789abcdef0123";
    const app = createApp({ root: fx.root, mounts: [{ name: "tv", root: fx.tv }], signKey: key });
    const unsigned = await app.fetch(new Request("http://h/tv/ep1.bin"));
    assert.equal(unsigned.status, 403);
    const signed = signPath({ key, prefix: "/tv/ep1.bin", ttlSeconds: 600 });
    const res = await app.fetch(new Request(`http://h${signed}`));
    assert.equal(res.status, 200);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), fx.tvBytes);
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});
