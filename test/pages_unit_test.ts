/**
 * Unit tests of the library-page building blocks: human codec names for RFC 6381 strings,
 * SubRip → WebVTT conversion, listing sort order, Accept-Encoding negotiation of the assets,
 * playlist references (HLS folder folding) and date formatting.
 */
import assert from "node:assert/strict";
import { codecName } from "../src/probe/codec_names.ts";
import { decodeSrt, srtToVtt } from "../src/media/srt_to_vtt.ts";
import { parseSort, sortEntries } from "../src/library/sort.ts";
import {
  type DirEntry,
  type FileEntry,
  type LibraryEntry,
  MediaLibrary,
} from "../src/library/library.ts";
import { acceptQuality, type AssetEncoding, chooseEncoding } from "../src/routes/asset_store.ts";
import { parseReferences } from "../src/library/hls_folder.ts";
import { formatDate } from "../src/library/format.ts";
import { fileURLToPath } from "node:url";
import { CliError, parseConfig } from "../src/config.ts";
import { posterKey, PosterStore } from "../src/library/posters.ts";

Deno.test("codec names: RFC 6381 strings and fourccs get human names", () => {
  const cases: [string, string | undefined][] = [
    ["avc1.64001f", "H.264 High"],
    ["avc1.64001E", "H.264 High"],
    ["avc3.640028", "H.264 High"],
    ["avc1.42E01E", "H.264 Constrained Baseline"],
    ["avc1.42001e", "H.264 Baseline"],
    ["avc1.4d401f", "H.264 Main"],
    ["avc1.58A01E", "H.264 Extended"],
    ["avc1.6e0028", "H.264 High 10"],
    ["avc1.7a0028", "H.264 High 4:2:2"],
    ["avc1.f40028", "H.264 High 4:4:4"],
    ["avc1.ff0028", "H.264"],
    ["avc1", "H.264"],
    ["hvc1.1.6.L93.B0", "H.265 Main"],
    ["hev1.1.6.L93.B0", "H.265 Main"],
    ["hvc1.2.4.L120.B0", "H.265 Main 10"],
    ["hvc1.A4.10.L120", "H.265 Range Extensions"],
    ["hvc1", "H.265"],
    ["av01.0.04M.08", "AV1"],
    ["av01.0.08M.10", "AV1 10-bit"],
    ["av01.1.08H.10", "AV1 High 10-bit"],
    ["av01", "AV1"],
    ["vp09.00.10.08", "VP9"],
    ["vp09.02.10.10", "VP9 Profile 2 10-bit"],
    ["vp9", "VP9"],
    ["vp8", "VP8"],
    ["vp08.00.10.08", "VP8"],
    ["mp4a.40.2", "AAC-LC"],
    ["mp4a.40.5", "HE-AAC"],
    ["mp4a.40.29", "HE-AAC v2"],
    ["mp4a.40.1", "AAC Main"],
    ["mp4a.40.34", "MP3"],
    ["mp4a.40", "AAC"],
    ["mp4a.6B", "MP3"],
    ["mp4a.69", "MP3"],
    ["mp4a.A5", "AC-3"],
    ["opus", "Opus"],
    ["Opus", "Opus"],
    ["flac", "FLAC"],
    ["fLaC", "FLAC"],
    ["vorbis", "Vorbis"],
    ["ac-3", "AC-3"],
    ["ec-3", "E-AC-3"],
    ["mp3", "MP3"],
    ["alac", "ALAC"],
    ["mp4v.20", "MPEG-4 Visual"],
    ["a_mpeg/l2", "MP2"],
    ["xyz1", undefined],
    ["", undefined],
  ];
  for (const [codec, name] of cases) assert.equal(codecName(codec), name, codec);
});

Deno.test("srt → WebVTT: header, timestamps, ids, CRLF, BOM, tags, bad blocks", () => {
  const srt = "\uFEFF1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hello</i>, <b>world</b>\r\n" +
    "second line\r\n\r\n\r\n2\r\n0:00:03,5 --> 00:00:04,000 X1:10\r\na --> b\r\n\r\n" +
    "3\r\nnot a timing line\r\nskipped\r\n\r\n4\r\n00:61:00,000 --> 00:62:00,000\r\nbad minutes\r\n" +
    "\r\n5\r\n01:02:03.004 --> 01:02:04.000\r\nlast\r\n";
  assert.equal(
    srtToVtt(srt),
    "WEBVTT\n\n" +
      "1\n00:00:01.000 --> 00:00:02.500\n<i>Hello</i>, <b>world</b>\nsecond line\n\n" +
      "2\n00:00:03.500 --> 00:00:04.000\na --&gt; b\n\n" +
      "5\n01:02:03.004 --> 01:02:04.000\nlast\n",
  );
  // Old Mac line ends, no index line
  assert.equal(
    srtToVtt("00:00:01,000 --> 00:00:02,000\rhi\r"),
    "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n",
  );
  assert.equal(srtToVtt(""), "WEBVTT\n");
  assert.equal(srtToVtt("garbage\n\nmore garbage"), "WEBVTT\n");
  // Windows-1252 bytes (é = 0xE9) decode when the file is not UTF-8
  assert.equal(decodeSrt(new Uint8Array([0x63, 0x61, 0x66, 0xe9])), "café");
  assert.equal(decodeSrt(new TextEncoder().encode("café")), "café");
});

function file(name: string, size: number, mtime: string, duration?: number): LibraryEntry {
  return {
    kind: "file",
    name,
    path: name,
    size,
    mtime,
    contentType: "video/mp4",
    url: `/media/${name}`,
    ...(duration === undefined ? {} : { duration }),
  };
}

Deno.test("sort: folders first, each key both ways, missing values last, ties by name", () => {
  const entries: LibraryEntry[] = [
    file("b.mp4", 300, "2026-01-02T00:00:00.000Z", 10),
    file("A.mp4", 100, "2026-01-03T00:00:00.000Z", 30),
    { kind: "dir", name: "zdir", path: "zdir", mtime: "2026-01-01T00:00:00.000Z" },
    file("c.mp4", 200, "2026-01-01T00:00:00.000Z"),
    file("d.mp4", 200, "2026-01-04T00:00:00.000Z", 20),
  ];
  const order = (sort: string, dir?: string) =>
    sortEntries(entries, parseSort(sort, dir)!).map((e) => e.name).join(" ");
  assert.equal(order("name"), "zdir A.mp4 b.mp4 c.mp4 d.mp4");
  assert.equal(order("name", "desc"), "zdir d.mp4 c.mp4 b.mp4 A.mp4");
  assert.equal(order("date"), "zdir d.mp4 A.mp4 b.mp4 c.mp4"); // newest first by default
  assert.equal(order("date", "asc"), "zdir c.mp4 b.mp4 A.mp4 d.mp4");
  assert.equal(order("duration", "asc"), "zdir b.mp4 d.mp4 A.mp4 c.mp4"); // unknown last
  assert.equal(order("duration", "desc"), "zdir A.mp4 d.mp4 b.mp4 c.mp4");
  assert.equal(order("size", "asc"), "zdir A.mp4 c.mp4 d.mp4 b.mp4"); // tie c/d by name
  assert.equal(order("size", "desc"), "zdir b.mp4 c.mp4 d.mp4 A.mp4");
  assert.deepEqual(parseSort(undefined, undefined), { key: "name", order: "asc" });
  assert.deepEqual(parseSort("size", undefined), { key: "size", order: "desc" });
  assert.equal(parseSort("color", undefined), null);
  assert.equal(parseSort("name", "up"), null);
});

Deno.test("Accept-Encoding: q-values, *, refusals, x-gzip", () => {
  assert.equal(acceptQuality(null, "br"), 0);
  assert.equal(acceptQuality(null, "identity"), 1);
  assert.equal(acceptQuality("gzip, deflate, br", "br"), 1);
  assert.equal(acceptQuality("gzip;q=0.5, br;q=0", "br"), 0);
  assert.equal(acceptQuality("gzip;q=0.5, br;q=0", "gzip"), 0.5);
  assert.equal(acceptQuality("*;q=0.3", "br"), 0.3);
  assert.equal(acceptQuality("x-gzip", "gzip"), 1);
  assert.equal(acceptQuality("br, identity;q=0", "identity"), 0);
  const identity: AssetEncoding = { coding: undefined, bytes: new Uint8Array(10), etag: '"v"' };
  const br: AssetEncoding = { coding: "br", bytes: new Uint8Array(3), etag: '"v-br"' };
  const gz: AssetEncoding = { coding: "gzip", bytes: new Uint8Array(4), etag: '"v-gz"' };
  const pick = (header: string | null) => chooseEncoding(header, identity, [br, gz]).etag;
  assert.equal(pick("gzip, deflate, br"), '"v-br"');
  assert.equal(pick("gzip"), '"v-gz"');
  assert.equal(pick("br;q=0.1, gzip;q=0.9"), '"v-gz"');
  assert.equal(pick("br;q=0, gzip;q=0"), '"v"');
  assert.equal(pick(null), '"v"');
  assert.equal(pick(""), '"v"');
  assert.equal(pick("gzip;q=0.5, identity"), '"v"'); // identity preferred
  assert.equal(pick("*"), '"v-br"');
});

Deno.test("HLS folder: the names a playlist refers to in its own folder", () => {
  const media = '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4,\nseg%201.m4s\n#EXTINF:4,\n' +
    "seg2.m4s?token=1\n#EXTINF:4,\nhttps://cdn.example/seg3.m4s\n#EXTINF:4,\n/abs/seg4.m4s\n" +
    "#EXTINF:4,\n../up.m4s\n#EXTINF:4,\nsub/seg5.m4s\n#EXT-X-ENDLIST\n";
  assert.deepEqual([...parseReferences(media)].sort(), [
    "init.mp4",
    "seg 1.m4s",
    "seg2.m4s",
    "sub",
  ]);
  const master = '#EXTM3U\r\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio.m3u8"\r\n' +
    "#EXT-X-STREAM-INF:BANDWIDTH=1\r\nv0.m3u8\r\n";
  assert.deepEqual([...parseReferences(master)].sort(), ["audio.m3u8", "v0.m3u8"]);
  assert.deepEqual([...parseReferences("not a playlist\nseg.ts\n")], []);
});

Deno.test("dates: YYYY-MM-DD HH:MM in UTC", () => {
  assert.equal(formatDate("2026-11-25T07:47:39.526Z"), "2026-11-25 07:47");
  assert.equal(formatDate("2026-11-25T08:47:39+01:00"), "2026-11-25 07:47");
  assert.equal(formatDate("nope"), "");
  assert.equal(formatDate(undefined), "");
});

Deno.test("config: --no-dir-listing and --poster-cache", () => {
  const env = () => undefined;
  const root = fileURLToPath(new URL("../media/", import.meta.url));
  const defaults = parseConfig(["--root", root], env);
  assert.equal(defaults.dirListing, true);
  assert.equal(defaults.posterCache, undefined);
  const base = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "zerocast-config-" }));
  try {
    const config = parseConfig(
      ["--root", root, "--no-dir-listing", "--poster-cache", `${base}/new/posters`],
      env,
    );
    assert.equal(config.dirListing, false);
    assert.equal(config.posterCache, `${base}/new/posters`);
    assert.ok(Deno.statSync(`${base}/new/posters`).isDirectory);
    Deno.writeTextFileSync(`${base}/file`, "x");
    assert.throws(
      () => parseConfig(["--root", root, "--poster-cache", `${base}/file`], env),
      CliError,
    );
    assert.throws(() => parseConfig(["--root", root, "--poster-cache", ""], env), CliError);
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
});

Deno.test("posters: LRU bound on the cache folder, leftovers of crashed grabs removed", async () => {
  const base = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "zerocast-posters-unit-" }));
  try {
    // three posters on disk from an earlier run (oldest first), and a stale temporary file
    const identity = (ino: number) => ({ dev: 1, ino, size: 10, mtimeNs: 5n });
    const names = [1, 2, 3].map((ino) => `${posterKey(identity(ino))}.jpg`);
    names.forEach((name, i) => {
      Deno.writeFileSync(`${base}/${name}`, new Uint8Array([0xff, 0xd8]));
      Deno.utimeSync(`${base}/${name}`, new Date(), new Date(2020, 0, 1 + i));
    });
    const stale = `.${posterKey(identity(9))}.${crypto.randomUUID()}.jpg`;
    Deno.writeFileSync(`${base}/${stale}`, new Uint8Array(1));
    Deno.utimeSync(`${base}/${stale}`, new Date(2020, 0, 1), new Date(2020, 0, 1));
    const store = new PosterStore({ cacheDir: base, maxEntries: 2, ffmpeg: `${base}/no-ffmpeg` });
    // the scan keeps the two newest, and a found poster is ready without running ffmpeg
    const state = await store.lookup("/nowhere.mp4", identity(3), 8);
    assert.deepEqual(state, { kind: "ready", path: `${base}/${names[2]}` });
    assert.deepEqual(
      [...Deno.readDirSync(base)].map((e) => e.name).sort(),
      [names[1], names[2]].sort(),
    );
    // a poster not on disk is queued; without ffmpeg it becomes unavailable, with no error
    assert.deepEqual(await store.lookup("/nowhere.mp4", identity(4), 8), { kind: "pending" });
    await store.idle();
    assert.equal(store.ffmpegMissing, true);
    assert.deepEqual(await store.lookup("/nowhere.mp4", identity(4), 8), { kind: "unavailable" });
    assert.equal(store.runs, 1);
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
});

Deno.test("posters: processes sharing a folder run one grab per poster; stale claims are taken over", async () => {
  const base = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "zerocast-posters-claim-" }));
  try {
    // a stand-in for ffmpeg: slow enough for the second process to ask meanwhile, writes a JPEG
    const ffmpeg = `${base}/ffmpeg`;
    Deno.writeTextFileSync(
      ffmpeg,
      "#!/bin/sh\nsleep 0.3\nfor last; do :; done\nprintf '\\377\\330\\377' > \"$last\"\n",
    );
    Deno.chmodSync(ffmpeg, 0o755);
    const cacheDir = `${base}/cache`;
    const identity = { dev: 1, ino: 7, size: 10, mtimeNs: 5n };
    // two workers' stores on one folder
    const a = new PosterStore({ cacheDir, ffmpeg });
    const b = new PosterStore({ cacheDir, ffmpeg });
    assert.deepEqual(await a.lookup("/clip.mp4", identity, 8), { kind: "pending" });
    assert.deepEqual(await b.lookup("/clip.mp4", identity, 8), { kind: "pending" });
    await Promise.all([a.idle(), b.idle()]);
    const path = `${cacheDir}/${posterKey(identity)}.jpg`;
    assert.deepEqual(await a.lookup("/clip.mp4", identity, 8), { kind: "ready", path });
    assert.deepEqual(await b.lookup("/clip.mp4", identity, 8), { kind: "ready", path });
    assert.equal(a.runs + b.runs, 1, "one ffmpeg run for the two processes");
    assert.deepEqual([...Deno.readDirSync(cacheDir)].map((e) => e.name), [
      `${posterKey(identity)}.jpg`,
    ]);
    // a claim left by a crashed process (older than any grab) does not block the poster forever
    const other = { ...identity, ino: 8 };
    const claim = `${cacheDir}/.${posterKey(other)}.claim`;
    Deno.writeFileSync(claim, new Uint8Array());
    Deno.utimeSync(claim, new Date(2020, 0, 1), new Date(2020, 0, 1));
    assert.deepEqual(await a.lookup("/clip2.mp4", other, 8), { kind: "pending" });
    await a.idle();
    assert.equal((await a.lookup("/clip2.mp4", other, 8)).kind, "ready");
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
});

Deno.test("library: a multivariant HLS folder lists as its master playlist; all=1 lists all", async () => {
  const root = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "zerocast-fold-" }));
  try {
    const media = (segments: string[]) =>
      "#EXTM3U\n#EXT-X-TARGETDURATION:4\n" +
      segments.map((s) => `#EXTINF:4,\n${s}\n`).join("") + "#EXT-X-ENDLIST\n";
    Deno.mkdirSync(`${root}/show/v0`, { recursive: true });
    Deno.writeTextFileSync(
      `${root}/show/master.m3u8`,
      "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000,RESOLUTION=640x360\nv0/index.m3u8\n" +
        "#EXT-X-STREAM-INF:BANDWIDTH=500\nlow.m3u8\n",
    );
    Deno.writeTextFileSync(`${root}/show/v0/index.m3u8`, media(["a.ts", "b.ts"]));
    Deno.writeTextFileSync(`${root}/show/low.m3u8`, media(["low0.ts", "low1.ts", "low2.ts"]));
    for (const name of ["low0.ts", "low1.ts", "low2.ts", "stray.ts", "notes.txt"]) {
      Deno.writeTextFileSync(`${root}/show/${name}`, "x");
    }
    const library = new MediaLibrary(root);
    const top = await library.list("");
    assert.ok("entries" in top);
    const show = top.entries[0] as DirEntry;
    assert.equal(show.stream, "show/master.m3u8");
    const folded = await library.list("show");
    assert.ok("entries" in folded);
    // the master stands for the variant playlists, their segments and the variant folder;
    // files no playlist names stay
    assert.deepEqual(folded.entries.map((e) => e.name), ["master.m3u8", "notes.txt", "stray.ts"]);
    assert.equal(folded.folded, 5);
    assert.equal((folded.entries[0] as FileEntry).segments, 5);
    const all = await library.list("show", { all: true });
    assert.ok("entries" in all);
    assert.equal(all.entries.length, 8);
    assert.equal(all.folded, 0);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
