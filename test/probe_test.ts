/**
 * The ISO-BMFF and EBML probes (`src/probe/`): the committed samples, hand-built files for the
 * edge cases (64-bit sizes, size 0, mvhd v0/v1, moov after mdat, SeekHead), a sparse 5 GiB file
 * read through a counting source (bounded reads), and every truncation and random corruption
 * ending in a ProbeError rather than a crash. ffprobe comparisons are in ffmpeg_client_test.ts.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  av1CodecString,
  hevcCodecString,
  parseAudioSpecificConfig,
  parseEsds,
} from "../src/probe/codec_strings.ts";
import { probeMatroska } from "../src/probe/ebml.ts";
import { probeIsoBmff } from "../src/probe/isobmff.ts";
import { probeM3u8 } from "../src/probe/m3u8.ts";
import { probeFile, probeFormatFor, probeSource } from "../src/probe/probe.ts";
import { type ByteSource, BytesSource, FileSource } from "../src/probe/reader.ts";
import { type MediaInfo, ProbeError } from "../src/probe/types.ts";
import { concat } from "./support/bytes.ts";

/** Concatenates its arguments. */
const cat = (...parts: Uint8Array[]): Uint8Array => concat(parts);

const MEDIA = new URL("../media/", import.meta.url).pathname;

// ---------------------------------------------------------------- ISO-BMFF builders

const ascii = (s: string) => new TextEncoder().encode(s);

function u8(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

function u16(value: number): Uint8Array {
  return u8(value >> 8, value & 0xff);
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/** A box with a 32-bit size (or a 64-bit `largesize` when `large`). */
function box(type: string, payload: Uint8Array, large = false): Uint8Array {
  if (large) return cat(u32(1), ascii(type), u64(16 + payload.byteLength), payload);
  return cat(u32(8 + payload.byteLength), ascii(type), payload);
}

function mvhd(version: 0 | 1, timescale: number, duration: number): Uint8Array {
  const times = version === 1
    ? cat(u64(0), u64(0), u32(timescale), u64(duration))
    : cat(u32(0), u32(0), u32(timescale), u32(duration));
  return box("mvhd", cat(u8(version, 0, 0, 0), times, new Uint8Array(80)));
}

function tkhd(width: number, height: number): Uint8Array {
  // v0: 20 bytes of ids/times, 8 reserved, 8 layer..reserved, 36 matrix, then 16.16 sizes.
  return box(
    "tkhd",
    cat(
      u8(0, 0, 0, 3),
      new Uint8Array(20 + 8 + 8 + 36),
      u32(width * 65536),
      u32(height * 65536),
    ),
  );
}

function hdlr(handler: string): Uint8Array {
  return box("hdlr", cat(u32(0), u32(0), ascii(handler), new Uint8Array(12), u8(0)));
}

function visualEntry(type: string, width: number, height: number, config: Uint8Array) {
  const fixed = cat(
    new Uint8Array(6),
    u16(1),
    new Uint8Array(16),
    u16(width),
    u16(height),
    new Uint8Array(78 - 28),
  );
  return box(type, cat(fixed, config));
}

function audioEntry(type: string, channels: number, children: Uint8Array) {
  const fixed = cat(
    new Uint8Array(6),
    u16(1),
    new Uint8Array(8),
    u16(channels),
    u16(16),
    u32(0),
    u32(48000 * 65536),
  );
  return box(type, cat(fixed, children));
}

/** An esds for MPEG-4 audio with AudioSpecificConfig `asc`, using 4-byte expandable sizes. */
function esds(asc: Uint8Array): Uint8Array {
  const size = (n: number) => u8(0x80, 0x80, 0x80, n);
  const dsi = cat(u8(0x05), size(asc.byteLength), asc);
  const dcd = cat(u8(0x04), size(13 + dsi.byteLength), u8(0x40, 0x15), new Uint8Array(11), dsi);
  const es = cat(u8(0x03), size(3 + dcd.byteLength), u16(1), u8(0), dcd);
  return box("esds", cat(u32(0), es));
}

function trak(handler: string, entry: Uint8Array, tk = tkhd(0, 0)): Uint8Array {
  const stsd = box("stsd", cat(u32(0), u32(1), entry));
  const stbl = box("stbl", cat(stsd, box("stts", cat(u32(0), u32(0)))));
  const minf = box("minf", stbl);
  return box("trak", cat(tk, box("mdia", cat(hdlr(handler), minf))));
}

const AVCC = box("avcC", u8(1, 0x64, 0x00, 0x1f, 0xff, 0xe0));
const ASC_LC_STEREO = u8(0x11, 0x90); // AOT 2, 48 kHz, 2 channels

function movie(options: { version?: 0 | 1; duration?: number } = {}): Uint8Array {
  return box(
    "moov",
    cat(
      mvhd(options.version ?? 0, 1000, options.duration ?? 12_500),
      trak("vide", visualEntry("avc1", 1280, 720, AVCC), tkhd(1280, 720)),
      trak("soun", audioEntry("mp4a", 2, esds(ASC_LC_STEREO))),
    ),
  );
}

const FTYP = box("ftyp", cat(ascii("isom"), u32(512), ascii("isomavc1")));

const EXPECTED_MOVIE: MediaInfo = {
  container: "mp4",
  duration: 12.5,
  width: 1280,
  height: 720,
  videoCodec: "avc1.64001f",
  audioCodec: "mp4a.40.2",
  channels: 2,
};

/** A source that counts the bytes and calls it is asked for. */
class CountingSource implements ByteSource {
  bytes = 0;
  calls = 0;
  constructor(readonly inner: ByteSource) {}
  get size() {
    return this.inner.size;
  }
  async read(offset: number, length: number) {
    const out = await this.inner.read(offset, length);
    this.bytes += out.byteLength;
    this.calls++;
    return out;
  }
}

async function probeBytes(bytes: Uint8Array): Promise<MediaInfo> {
  return await probeIsoBmff(new BytesSource(bytes));
}

// ---------------------------------------------------------------- samples

Deno.test("probe: sample.mp4 (faststart H.264 High + AAC-LC stereo)", async () => {
  assert.deepEqual(await probeFile(`${MEDIA}sample.mp4`), {
    container: "mp4",
    duration: 8,
    width: 320,
    height: 180,
    videoCodec: "avc1.64001e",
    audioCodec: "mp4a.40.2",
    channels: 2,
    faststart: true,
  });
});

Deno.test("probe: not-faststart.mp4 has moov after mdat", async () => {
  const info = await probeFile(`${MEDIA}not-faststart.mp4`);
  assert.equal(info.faststart, false);
  assert.equal(info.duration, 8);
  assert.equal(info.videoCodec, "avc1.64001e");
});

Deno.test("probe: sample.webm (VP9 + Opus) from EBML", async () => {
  assert.deepEqual(await probeFile(`${MEDIA}sample.webm`), {
    container: "webm",
    duration: 8.008,
    width: 320,
    height: 180,
    videoCodec: "vp9",
    audioCodec: "opus",
    channels: 2,
  });
});

Deno.test("probe: format by extension, case-insensitive", () => {
  assert.equal(probeFormatFor("a.MP4"), "isobmff");
  assert.equal(probeFormatFor("a.mov"), "isobmff");
  assert.equal(probeFormatFor("a.m4a"), "isobmff");
  assert.equal(probeFormatFor("dir.mp4/a.mkv"), "matroska");
  assert.equal(probeFormatFor("a.M3U8"), "hls");
  assert.equal(probeFormatFor("a.ts"), undefined);
  assert.equal(probeFormatFor("mp4"), undefined);
});

// ---------------------------------------------------------------- ISO-BMFF edge cases

Deno.test("probe: moov before mdat → faststart; after → not", async () => {
  const mdat = box("mdat", new Uint8Array(100));
  assert.deepEqual(await probeBytes(cat(FTYP, movie(), mdat)), {
    ...EXPECTED_MOVIE,
    faststart: true,
  });
  assert.deepEqual(await probeBytes(cat(FTYP, mdat, movie())), {
    ...EXPECTED_MOVIE,
    faststart: false,
  });
  // free/skip boxes and a fragmented layout (moov, then moof+mdat) still count as faststart.
  const fragments = cat(box("moof", new Uint8Array(16)), mdat);
  const info = await probeBytes(cat(FTYP, box("free", u8()), movie(), fragments, fragments));
  assert.equal(info.faststart, true);
});

Deno.test("probe: mvhd version 1 (64-bit duration) and version 0", async () => {
  const long = 3 * 2 ** 32 + 500; // needs 64 bits: ~40,000 s at timescale 1000
  const v1 = await probeBytes(cat(FTYP, movie({ version: 1, duration: long })));
  assert.equal(v1.duration, long / 1000);
  const v0 = await probeBytes(cat(FTYP, movie({ version: 0, duration: 2500 })));
  assert.equal(v0.duration, 2.5);
  // All ones = unknown duration (ISO/IEC 14496-12 §8.2.2.3): no duration rather than 49 days.
  const unknown = await probeBytes(cat(FTYP, movie({ version: 0, duration: 0xffffffff })));
  assert.equal(unknown.duration, undefined);
});

Deno.test("probe: 64-bit box sizes and a final box of size 0 (to end of file)", async () => {
  const mdat64 = box("mdat", new Uint8Array(40), true);
  const info = await probeBytes(cat(FTYP, mdat64, box("moov", movie().subarray(8), true)));
  assert.deepEqual(info, { ...EXPECTED_MOVIE, faststart: false });
  // size 0: the last box runs to the end of the file.
  const moovToEnd = cat(u32(0), ascii("moov"), movie().subarray(8));
  assert.deepEqual(await probeBytes(cat(FTYP, box("mdat", u8(1)), moovToEnd)), {
    ...EXPECTED_MOVIE,
    faststart: false,
  });
  const mdatToEnd = cat(u32(0), ascii("mdat"), new Uint8Array(1000));
  assert.deepEqual(await probeBytes(cat(FTYP, movie(), mdatToEnd)), {
    ...EXPECTED_MOVIE,
    faststart: true,
  });
});

Deno.test("probe: a sparse 5 GiB file with moov at the end reads only a few KiB", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zerocast-probe-" });
  try {
    const path = `${dir}/big.mp4`;
    const mdatSize = 5 * 2 ** 30;
    const moov = movie({ version: 1, duration: 7_200_000 });
    using file = await Deno.open(path, { write: true, create: true, read: true });
    // ftyp, then an mdat header with a 64-bit size; the mdat payload is a hole.
    await file.write(cat(FTYP, u32(1), ascii("mdat"), u64(mdatSize)));
    await file.seek(FTYP.byteLength + mdatSize, Deno.SeekMode.Start);
    await file.write(moov);
    const size = FTYP.byteLength + mdatSize + moov.byteLength;
    assert.equal((await file.stat()).size, size);
    const source = new CountingSource(new FileSource(file, size));
    const info = await probeSource(source, "isobmff");
    assert.deepEqual(info, { ...EXPECTED_MOVIE, duration: 7200, faststart: false });
    assert.ok(source.bytes < 256 * 1024, `read ${source.bytes} bytes`);
    assert.ok(source.calls < 64, `${source.calls} reads`);
    // probeFile opens, stats and closes the file itself.
    assert.equal((await probeFile(path)).duration, 7200);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("probe: QuickTime sound description v1 and v2, encrypted entries, HEVC", async () => {
  const v1 = box(
    "mp4a",
    cat(
      new Uint8Array(6),
      u16(1),
      u16(1),
      new Uint8Array(6),
      u16(2),
      u16(16),
      u32(0),
      u32(48000 * 65536),
      new Uint8Array(16),
      box("wave", esds(u8(0x13, 0x10))), // QuickTime nests esds in wave (AOT 2, 24 kHz, stereo)
    ),
  );
  const info1 = await probeBytes(cat(FTYP, box("moov", trak("soun", v1))));
  assert.equal(info1.audioCodec, "mp4a.40.2");
  const v2 = box(
    "lpcm",
    cat(
      new Uint8Array(6),
      u16(1),
      u16(2),
      new Uint8Array(6),
      u16(3),
      u16(16),
      u32(0),
      u32(65536),
      u32(72),
      new Uint8Array(8),
      u32(6), // numAudioChannels
      new Uint8Array(20),
    ),
  );
  const info2 = await probeBytes(cat(FTYP, box("moov", trak("soun", v2))));
  assert.equal(info2.audioCodec, "lpcm");
  assert.equal(info2.channels, 6);
  const sinf = box("sinf", box("frma", ascii("avc1")));
  const encv = visualEntry("encv", 640, 360, cat(AVCC, sinf));
  const info3 = await probeBytes(cat(FTYP, box("moov", trak("vide", encv))));
  assert.equal(info3.videoCodec, "avc1.64001f");
  assert.equal(info3.width, 640);
  const hvcC = box("hvcC", u8(1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93, 0xf0));
  const hev = visualEntry("hvc1", 1920, 1080, hvcC);
  const info4 = await probeBytes(cat(FTYP, box("moov", trak("vide", hev))));
  assert.equal(info4.videoCodec, "hvc1.1.6.L93.90");
});

Deno.test("probe: codec strings from configuration records", () => {
  // Main profile, compat flags 0x60000000 (bits 1 and 2) → reversed 6, level 93, constraint B0.
  assert.equal(
    hevcCodecString("hev1", u8(1, 0x01, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 93)),
    "hev1.1.6.L93.B0",
  );
  // Main 10, high tier, level 150.
  assert.equal(
    hevcCodecString("hvc1", u8(1, 0x22, 0x20, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 150)),
    "hvc1.2.4.H150.90",
  );
  // seq_profile 0, level 8, main tier, 10-bit.
  assert.equal(av1CodecString(u8(0x81, 0x08, 0x40, 0)), "av01.0.08M.10");
  assert.equal(av1CodecString(u8(0x81)), undefined);
  // HE-AAC v2 (AOT 29) and an escaped object type (31 → 32 + 6 bits).
  assert.equal(parseAudioSpecificConfig(u8(0xeb, 0x09, 0x88))?.objectType, 29);
  assert.equal(parseAudioSpecificConfig(u8(0xf8, 0x10, 0x10))?.objectType, 32);
  assert.equal(parseAudioSpecificConfig(u8(0x11, 0xb8))?.channels, 8); // configuration 7 = 7.1
  const es = parseEsds(esds(ASC_LC_STEREO).subarray(8));
  assert.equal(es?.objectTypeIndication, 0x40);
  assert.deepEqual(es?.decoderSpecificInfo, ASC_LC_STEREO);
});

Deno.test("probe: errors name the problem", async () => {
  const cases: [Uint8Array, RegExp][] = [
    [u8(), /empty file/],
    [ascii("<html><body>not a video</body></html>"), /not an ISO-BMFF file/],
    [cat(FTYP, box("mdat", new Uint8Array(10))), /no moov box/],
    [cat(FTYP, u32(4), ascii("moov")), /invalid box size 4/],
    [cat(FTYP, u32(1000), ascii("moov"), new Uint8Array(10)), /truncated: moov box ends/],
    [cat(FTYP, box("moov", cat(u32(64), ascii("trak")))), /trak box overruns its parent/],
    [cat(FTYP, u32(1), ascii("mdat"), u64(2 ** 60)), /too large|truncated/],
  ];
  for (const [bytes, pattern] of cases) {
    await assert.rejects(() => probeBytes(bytes), (e: Error) => {
      assert.ok(e instanceof ProbeError, `${e}`);
      assert.match(e.message, pattern);
      return true;
    });
  }
});

Deno.test("probe: every truncation of the samples is a ProbeError or a result", async () => {
  for (const [name, format] of [["sample.mp4", "isobmff"], ["sample.webm", "matroska"]] as const) {
    const bytes = await Deno.readFile(`${MEDIA}${name}`);
    // Every prefix through the headers, then a sample of longer prefixes.
    const lengths = new Set<number>();
    for (let n = 0; n < 9000; n++) lengths.add(n);
    for (let n = 9000; n < bytes.byteLength; n += 997) lengths.add(n);
    const complete: number[] = [];
    for (const n of lengths) {
      try {
        await probeSource(new BytesSource(bytes.subarray(0, n)), format);
        complete.push(n);
      } catch (error) {
        assert.ok(error instanceof ProbeError, `${name}[0..${n}): ${error}`);
      }
    }
    // A prefix is readable only when it ends on a top-level box boundary after moov (ftyp moov
    // | free | mdat); the WebM Segment declares its size, so every strict prefix is truncated.
    assert.deepEqual(complete, format === "isobmff" ? topLevelEndsAfterMoov(bytes) : [], name);
    await probeSource(new BytesSource(bytes), format);
  }
});

/** Offsets where a top-level box ends, from the end of moov up to (not including) mdat's end. */
function topLevelEndsAfterMoov(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const ends: number[] = [];
  let seenMoov = false;
  for (let at = 0; at < bytes.byteLength;) {
    const size = view.getUint32(at);
    const type = new TextDecoder().decode(bytes.subarray(at + 4, at + 8));
    at += size;
    if (type === "moov") seenMoov = true;
    if (type === "mdat") break;
    if (seenMoov) ends.push(at);
  }
  return ends;
}

Deno.test("probe: random bytes and corrupted samples never throw anything but ProbeError", async () => {
  const mp4 = (await Deno.readFile(`${MEDIA}sample.mp4`)).subarray(0, 8192);
  const webm = (await Deno.readFile(`${MEDIA}sample.webm`)).subarray(0, 8192);
  const probeAll = async (bytes: Uint8Array) => {
    for (const format of ["isobmff", "matroska"] as const) {
      try {
        await probeSource(new BytesSource(bytes), format);
      } catch (error) {
        if (!(error instanceof ProbeError)) throw error;
      }
    }
  };
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), probeAll),
    { numRuns: 300 },
  );
  const corrupt = (base: Uint8Array) =>
    fc.asyncProperty(
      fc.array(fc.tuple(fc.nat({ max: base.byteLength - 1 }), fc.nat({ max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
      async (edits) => {
        const bytes = base.slice();
        for (const [at, value] of edits) bytes[at] = value;
        await probeAll(bytes);
      },
    );
  await fc.assert(corrupt(mp4), { numRuns: 300 });
  await fc.assert(corrupt(webm), { numRuns: 300 });
});

// ---------------------------------------------------------------- EBML

/** An EBML element with an 8-byte size field; `size: "unknown"` writes all ones. */
function el(id: number, data: Uint8Array, size?: "unknown"): Uint8Array {
  const idBytes: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) idBytes.unshift(v & 0xff);
  const sizeBytes = size === "unknown"
    ? u8(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
    : cat(u8(0x01), new Uint8Array(3), u32(data.byteLength)); // 8-byte VINT size
  return cat(u8(...idBytes), sizeBytes, data);
}

const uintEl = (id: number, value: number) => el(id, u32(value));
const strEl = (id: number, value: string) => el(id, ascii(value));
const f32 = (value: number) => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setFloat32(0, value);
  return out;
};

const EBML_HEADER = el(0x1a45dfa3, strEl(0x4282, "matroska"));
const INFO = el(0x1549a966, el(0x4489, f32(90_500))); // default TimestampScale 1 ms
const TRACKS = el(
  0x1654ae6b,
  cat(
    el(
      0xae,
      cat(
        uintEl(0x83, 1),
        strEl(0x86, "V_MPEG4/ISO/AVC"),
        el(0x63a2, u8(1, 0x4d, 0x40, 0x28)),
        el(0xe0, cat(uintEl(0xb0, 1920), uintEl(0xba, 800))),
      ),
    ),
    el(
      0xae,
      cat(uintEl(0x83, 2), strEl(0x86, "A_AAC"), el(0x63a2, ASC_LC_STEREO), el(0xe1, u8())),
    ),
  ),
);

Deno.test("probe: Matroska with Info and Tracks before the clusters", async () => {
  const segment = el(0x18538067, cat(INFO, TRACKS, el(0x1f43b675, new Uint8Array(50))));
  const info = await probeMatroska(new BytesSource(cat(EBML_HEADER, segment)));
  assert.deepEqual(info, {
    container: "matroska",
    duration: 90.5,
    videoCodec: "avc1.4d4028",
    width: 1920,
    height: 800,
    audioCodec: "mp4a.40.2",
    channels: 1, // Audio element without Channels: the default, 1
  });
});

Deno.test("probe: Matroska found through the SeekHead when a cluster comes first", async () => {
  const cluster = el(0x1f43b675, new Uint8Array(64));
  const seek = (id: number, position: number) =>
    el(0x4dbb, cat(el(0x53ab, u32(id)), uintEl(0x53ac, position)));
  // SeekHead size is fixed by its layout, so positions can be computed before building it.
  const seekHeadSize = el(0x114d9b74, cat(seek(0, 0), seek(0, 0))).byteLength;
  const infoAt = seekHeadSize + cluster.byteLength;
  const tracksAt = infoAt + INFO.byteLength;
  const seekHead = el(0x114d9b74, cat(seek(0x1549a966, infoAt), seek(0x1654ae6b, tracksAt)));
  const segment = el(0x18538067, cat(seekHead, cluster, INFO, TRACKS), "unknown");
  const info = await probeMatroska(new BytesSource(cat(EBML_HEADER, segment)));
  assert.equal(info.duration, 90.5);
  assert.equal(info.videoCodec, "avc1.4d4028");
  assert.equal(info.channels, 1);
});

Deno.test("probe: Matroska TimestampScale, live files without Duration, bad input", async () => {
  const scaled = el(0x1549a966, cat(uintEl(0x2ad7b1, 100_000), el(0x4489, f32(1000))));
  const segment = el(0x18538067, cat(scaled, TRACKS), "unknown");
  const info = await probeMatroska(new BytesSource(cat(EBML_HEADER, segment)));
  assert.equal(info.duration, 0.1); // 1000 ticks of 100 µs
  const live = el(0x18538067, cat(el(0x1549a966, u8()), TRACKS), "unknown");
  assert.equal(
    (await probeMatroska(new BytesSource(cat(EBML_HEADER, live)))).duration,
    undefined,
  );
  await assert.rejects(
    () => probeMatroska(new BytesSource(ascii("RIFF....WAVE"))),
    /not a WebM\/Matroska file/,
  );
  await assert.rejects(
    () => probeMatroska(new BytesSource(EBML_HEADER)),
    /truncated: no Segment/,
  );
});

// ---------------------------------------------------------------- HLS playlists

const playlist = (text: string) => probeM3u8(new BytesSource(ascii(text)));

Deno.test("probe: HLS sample playlist is an 8 s VOD stream", async () => {
  assert.deepEqual(await probeFile(`${MEDIA}hls/index.m3u8`), {
    container: "hls",
    live: false,
    duration: 8,
  });
});

Deno.test("probe: HLS live, master and invalid playlists", async () => {
  const live = await playlist("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\na.ts\n");
  assert.deepEqual(live, { container: "hls", live: true });
  const master = await playlist(
    "#EXTM3U\r\n" +
      '#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=640x360\r\n' +
      "low/index.m3u8\r\n" +
      '#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720,CODECS="avc1.640028,mp4a.40.2"\r\n' +
      "high/index.m3u8\r\n",
  );
  assert.deepEqual(master, {
    container: "hls",
    width: 640,
    height: 360,
    videoCodec: "avc1.4d401f",
    audioCodec: "mp4a.40.2",
    variants: 2,
    live: false,
  });
  await assert.rejects(() => playlist(""), /empty file/);
  await assert.rejects(() => playlist("<html>"), /not an HLS playlist/);
  await assert.rejects(() => playlist("#EXTM3U\n#EXTINF:abc,\n"), /bad #EXTINF/);
  await assert.rejects(
    () => probeM3u8(new BytesSource(u8(0x23, 0xff, 0xfe))),
    /not UTF-8/,
  );
});
