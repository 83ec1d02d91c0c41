/**
 * The MP4 index and segment map, in process: `co64` chunk offsets (a real `moov` rewritten from
 * `stco` to `co64` with every offset moved past 4 GiB gives the same samples, moved), the
 * segment map's invariants on real inputs (video segments start on sync samples, every sample
 * in exactly one segment, audio cut within one frame of the video cuts, EXTINF sum = duration),
 * a huge synthetic sample table parsed in slices that let timers run, the cache's byte budget,
 * and the reasons given for inputs that cannot be packaged.
 *
 * Skips the ffmpeg-based parts with a message when ffmpeg is absent.
 */
import assert from "node:assert/strict";
import { CliError, parseConfig } from "../src/config.ts";
import { SegmentMapCache } from "../src/packaging/cache.ts";
import { gathered, isScattered, mediaSegment } from "../src/packaging/fmp4_segment.ts";
import { SegmentCache } from "../src/packaging/segment_cache.ts";
import { indexMoov, indexMp4, PackagingError } from "../src/packaging/mp4_index.ts";
import { buildSegmentMap, presentationTime } from "../src/packaging/segment_map.ts";
import { statFile } from "../src/media/stat.ts";
import { concat } from "./support/bytes.ts";
import { INPUTS, makeInput } from "./support/packaging.ts";
import { have } from "./support/server.ts";

const present = have("ffmpeg");
if (!present) console.log("packaging_index_test: ffmpeg parts skipped, ffmpeg not found");

const CONTAINERS = new Set(["moov", "trak", "mdia", "minf", "stbl", "edts"]);

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  return concat([
    u32(8 + parts.reduce((n, p) => n + p.byteLength, 0)),
    new TextEncoder().encode(type),
    ...parts,
  ]);
}

/** Rewrites every `stco` in the box tree `bytes[from, to)` as `co64` with offsets + `shift`. */
function toCo64(bytes: Uint8Array, from: number, to: number, shift: number): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let p = from;
  while (p < to) {
    const size = view.getUint32(p);
    const type = String.fromCharCode(...bytes.subarray(p + 4, p + 8));
    if (CONTAINERS.has(type)) {
      out.push(box(type, ...toCo64(bytes, p + 8, p + size, shift)));
    } else if (type === "stco") {
      const count = view.getUint32(p + 12);
      const body = new Uint8Array(8 + count * 8);
      const bv = new DataView(body.buffer);
      bv.setUint32(4, count);
      for (let i = 0; i < count; i++) {
        bv.setBigUint64(8 + i * 8, BigInt(view.getUint32(p + 16 + i * 4) + shift));
      }
      out.push(box("co64", body));
    } else out.push(bytes.subarray(p, p + size));
    p += size;
  }
  return out;
}

/** The `moov` box of a faststart MP4 (right after `ftyp`). */
function moovOf(file: Uint8Array): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset);
  let p = 0;
  while (p < file.byteLength) {
    const size = view.getUint32(p);
    if (String.fromCharCode(...file.subarray(p + 4, p + 8)) === "moov") {
      return file.subarray(p, p + size);
    }
    p += size;
  }
  throw new Error("no moov");
}

Deno.test({
  name: "index: co64 offsets past 4 GiB give the same samples, moved",
  ignore: !present,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zerocast-idx-" });
    try {
      const path = await makeInput(dir, "clip.mp4", INPUTS["bframes.mp4"]);
      const file = await Deno.readFile(path);
      const moov = moovOf(file);
      const shift = 2 ** 32 + 12345;
      const rewritten = concat(toCo64(moov, 0, moov.byteLength, shift));
      assert.notDeepEqual(rewritten, moov);
      const plain = await indexMoov(moov, file.byteLength);
      const big = await indexMoov(rewritten, file.byteLength + shift);
      assert.equal(big.tracks.length, plain.tracks.length);
      for (let t = 0; t < plain.tracks.length; t++) {
        const a = plain.tracks[t];
        const b = big.tracks[t];
        assert.deepEqual(b.sizes, a.sizes);
        assert.deepEqual(b.dts, a.dts);
        assert.deepEqual(b.cts, a.cts);
        assert.deepEqual(Array.from(b.offsets), Array.from(a.offsets, (o) => o + shift));
      }
      // without the larger file size the offsets point past the end: refused, not served
      await assert.rejects(indexMoov(rewritten, file.byteLength), /beyond the end of the file/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "segment map: sync starts, every sample once, audio aligned, durations add up",
  ignore: !present,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zerocast-map-" });
    try {
      for (const name of ["bframes.mp4", "gops.mp4", "two-audio.mp4", "audio.m4a"]) {
        const path = await makeInput(dir, name, INPUTS[name]);
        const index = await indexMp4(path, (await Deno.stat(path)).size);
        const map = await buildSegmentMap(index, 1);
        const all = map.video === null ? map.audio : [map.video, ...map.audio];
        for (const s of all) {
          const n = s.starts.length - 1;
          assert.equal(s.starts[0], 0, name);
          assert.equal(s.starts[n], s.track.count, name);
          for (let k = 0; k < n; k++) {
            assert.ok(s.starts[k + 1] > s.starts[k], `${name}: empty segment ${k}`);
            assert.ok(s.times[k + 1] > s.times[k], `${name}: time goes back at ${k}`);
            if (s.track.sync !== null) assert.equal(s.track.sync[s.starts[k]], 1, name);
          }
          assert.equal(s.times[n], s.track.duration);
        }
        if (map.video !== null) {
          const v = map.video;
          // several segments for a 1 s target where key frames allow (two-audio.mp4 has one
          // GOP: one segment)
          if (name !== "two-audio.mp4") {
            assert.ok(v.starts.length - 1 >= 3, `${name}: ${v.starts.length - 1} segments`);
          }
          for (const a of map.audio) {
            assert.equal(a.starts.length, v.starts.length, `${name}: audio segment count`);
            for (let k = 1; k < v.starts.length - 1; k++) {
              const cut = v.times[k] / v.track.timescale;
              const at = presentationTime(a.track, a.starts[k]) / a.track.timescale;
              assert.ok(Math.abs(at - cut) <= 1024 / a.track.timescale, `${name}: cut ${k}`);
            }
          }
        } else {
          // audio only: cut at the duration
          const a = map.audio[0];
          for (let k = 1; k < a.starts.length - 1; k++) {
            assert.ok(Math.abs(a.times[k] / a.track.timescale - k) <= 1024 / a.track.timescale);
          }
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A synthetic moov with one H.264 track of `count` samples, one per chunk (co64). */
function syntheticMoov(count: number): Uint8Array {
  const full = (type: string, ...parts: Uint8Array[]) => box(type, u32(0), ...parts);
  const avcC = box("avcC", new Uint8Array([1, 0x64, 0, 0x1e, 0xff, 0xe0, 0]));
  const avc1 = box(
    "avc1",
    new Uint8Array(24),
    new Uint8Array([0, 160, 0, 120]),
    new Uint8Array(50),
    avcC,
  );
  const stsz = new Uint8Array(8 + count * 4);
  const sv = new DataView(stsz.buffer);
  sv.setUint32(4, count);
  for (let i = 0; i < count; i++) sv.setUint32(8 + i * 4, 100);
  const co64 = new Uint8Array(4 + count * 8);
  const cv = new DataView(co64.buffer);
  cv.setUint32(0, count);
  for (let i = 0; i < count; i++) cv.setBigUint64(4 + i * 8, BigInt(i * 100));
  const stbl = box(
    "stbl",
    full("stsd", u32(1), avc1),
    full("stts", u32(1), u32(count), u32(1000)),
    full("stsc", u32(1), u32(1), u32(1), u32(1)),
    full("stsz", u32(0), stsz.subarray(4)),
    box("co64", u32(0), co64),
  );
  const mdhd = full("mdhd", u32(0), u32(0), u32(25000), u32(count * 1000), u32(0x55c40000));
  const hdlr = full("hdlr", u32(0), new TextEncoder().encode("vide"), new Uint8Array(13));
  const tkhd = full("tkhd", new Uint8Array(72), u32(160 << 16), u32(120 << 16));
  new DataView(tkhd.buffer).setUint32(20, 1); // track_ID
  const mvhd = full("mvhd", u32(0), u32(0), u32(1000), new Uint8Array(84));
  return box("moov", mvhd, box("trak", tkhd, box("mdia", mdhd, hdlr, box("minf", stbl))));
}

Deno.test("index: a huge sample table is parsed in slices that let timers run", async () => {
  const count = 1_000_000; // about 11 hours at 25 fps
  const moov = syntheticMoov(count);
  let ticks = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    ticks++;
    setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  const index = await indexMoov(moov, count * 100);
  running = false;
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(index.tracks[0].count, count);
  assert.equal(index.tracks[0].offsets[count - 1], (count - 1) * 100);
  assert.equal(index.tracks[0].codecs, "avc1.64001e");
  // the parse handed the loop back several times (at least once per 100,000 samples)
  assert.ok(ticks >= 10, `timers ran ${ticks} times during the parse`);
});

Deno.test({
  name: "cache: shared parse, byte budget, failures remembered with their reason",
  ignore: !present,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zerocast-cache-" });
    try {
      const a = await makeInput(dir, "a.mp4", INPUTS["bframes.mp4"]);
      const b = await makeInput(dir, "b.m4a", INPUTS["audio.m4a"]);
      await Deno.writeFile(`${dir}/bad.mp4`, new Uint8Array([0, 0, 0, 8, 0x66, 0x72, 0x65, 0x65]));
      const cache = new SegmentMapCache(6, 1); // a 1-byte budget: only the newest map stays
      const idA = statFile(a)!.identity;
      const first = cache.get(a, idA);
      const second = cache.get(a, idA);
      assert.ok(first instanceof Promise);
      assert.equal(second, first); // one parse for concurrent requests
      const mapA = await first;
      assert.equal(cache.get(a, idA), mapA); // now synchronous
      assert.equal(cache.bytes, mapA.memoryBytes);
      const mapB = await cache.get(b, statFile(b)!.identity);
      assert.equal(cache.bytes, mapB.memoryBytes); // a was evicted
      const again = cache.get(a, idA);
      assert.ok(again instanceof Promise); // parsed again
      await again;
      const bad = statFile(`${dir}/bad.mp4`)!.identity;
      await assert.rejects(Promise.resolve(cache.get(`${dir}/bad.mp4`, bad)), PackagingError);
      assert.throws(() => cache.get(`${dir}/bad.mp4`, bad), /no moov box/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("config: --segment-duration is a number of seconds from 1 to 60, default 6", () => {
  const env = () => undefined;
  const root = ["--root", Deno.cwd()];
  assert.equal(parseConfig(root, env).segmentDuration, 6);
  assert.equal(parseConfig([...root, "--segment-duration", "2"], env).segmentDuration, 2);
  assert.equal(parseConfig([...root, "--segment-duration", "4.5"], env).segmentDuration, 4.5);
  for (const bad of ["0", "0.5", "61", "60.5", "abc", "1e1"]) {
    assert.throws(
      () => parseConfig([...root, "--segment-duration", bad], env),
      (error: unknown) =>
        error instanceof CliError && /--segment-duration must be a number/.test(error.message),
      bad,
    );
  }
});

Deno.test({
  name: "segments: a frame-interleaved audio track is scattered and gathered into one buffer",
  ignore: !present,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zerocast-gather-" });
    try {
      const path = await makeInput(dir, "clip.mp4", INPUTS["bframes.mp4"]);
      const stat = statFile(path)!;
      const map = await buildSegmentMap(await indexMp4(path, stat.identity.size), 2);
      const audio = map.audio[0];
      const segment = mediaSegment(audio, 0, path, stat.identity);
      assert.ok(isScattered(segment), `${segment.parts.length - 1} slices`);
      const gatheredSegment = gathered(segment, stat.identity)!;
      assert.equal(gatheredSegment.parts.length, 2);
      assert.equal(gatheredSegment.byteLength, segment.byteLength);
      const file = await Deno.readFile(path);
      const expected = concat(
        segment.parts.slice(1).map((p) => {
          const s = p as { offset: number; length: number };
          return file.subarray(s.offset, s.offset + s.length);
        }),
      );
      assert.deepEqual(gatheredSegment.parts[1], expected);
      // another file version: not gathered
      const other = { ...stat.identity, size: stat.identity.size + 1 };
      assert.equal(gathered(segment, other), null);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("segment cache: hits return the same segment, LRU within the byte budget", () => {
  const make = (n: number) => () => ({
    parts: [new Uint8Array(n)],
    byteLength: n,
    headerLength: n,
  });
  const cache = new SegmentCache(1000);
  const a = cache.get("a", make(400));
  assert.equal(cache.get("a", make(1)), a);
  cache.get("b", make(400));
  cache.get("a", make(1)); // a is now the most recent
  cache.get("c", make(400)); // over budget: b (least recent) goes
  assert.equal(cache.get("a", make(1)), a);
  assert.equal(cache.get("b", make(7)).byteLength, 7); // made again
  assert.ok(cache.bytes <= 1000);
  // larger than the whole budget: returned, not kept
  const huge = cache.get("h", make(5000));
  assert.notEqual(cache.get("h", make(5000)), huge);
});

Deno.test({
  name: "cache: many files asked for at once are all parsed (two at a time)",
  ignore: !present,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zerocast-cache-many-" });
    try {
      const source = await makeInput(dir, "a.m4a", INPUTS["audio.m4a"]);
      const paths = [source];
      for (let i = 0; i < 5; i++) {
        // copies are other files (other inodes): five more parses
        await Deno.copyFile(source, `${dir}/copy${i}.m4a`);
        paths.push(`${dir}/copy${i}.m4a`);
      }
      const cache = new SegmentMapCache(6);
      const maps = await Promise.all(paths.map((p) => cache.get(p, statFile(p)!.identity)));
      assert.equal(new Set(maps).size, paths.length);
      for (const map of maps) assert.equal(map.audio.length, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
