/**
 * ISO-BMFF (MP4, MOV, M4A, M4V) probe: walks the box tree reading only box headers and the few
 * small leaf boxes it needs (`mvhd`, `mehd`, `tkhd`, `hdlr`, `stsd`), so a multi-GB file costs a
 * handful of reads and bounded memory. Sample tables (`stts`, `stsz`, `stco`...) and `mdat` are
 * skipped by their sizes, never read.
 *
 * Box header (ISO/IEC 14496-12 §4.2): 32-bit size and type; size 1 = a 64-bit size follows;
 * size 0 = the box extends to the end of the file (or of its parent).
 *
 * @module
 */
import { ByteView } from "./bytes.ts";
import {
  av1CodecString,
  avcCodecString,
  hevcCodecString,
  mp4aCodecString,
  parseAudioSpecificConfig,
  parseEsds,
  vp9CodecString,
} from "./codec_strings.ts";
import type { ByteSource } from "./reader.ts";
import { type MediaInfo, ProbeError } from "./types.ts";

/** Largest leaf box payload read into memory (an `stsd` is normally a few hundred bytes). */
export const MAX_LEAF_BYTES = 1024 * 1024;
/** Most top-level boxes walked before giving up (bounds time on fragmented or hostile files). */
export const MAX_TOP_LEVEL_BOXES = 100_000;

/** Box types a real ISO-BMFF / QuickTime file may start with. */
const FIRST_BOX_TYPES = new Set([
  "ftyp",
  "styp",
  "moov",
  "mdat",
  "free",
  "skip",
  "wide",
  "pnot",
  "uuid",
  "sidx",
]);

/** A box located in the file. */
interface Box {
  readonly type: string;
  /** Offset of the payload (after the header). */
  readonly payload: number;
  /** Offset just past the box. */
  readonly end: number;
}

/** Facts of one `trak`. */
interface Track {
  handler?: string;
  width?: number;
  height?: number;
  codec?: string;
  channels?: number;
}

/** Probes an ISO-BMFF file. Throws {@linkcode ProbeError} when it is malformed or truncated. */
export async function probeIsoBmff(source: ByteSource): Promise<MediaInfo> {
  let moov: MediaInfo | undefined;
  let mdatSeen = false;
  let faststart = false;
  let count = 0;
  if (source.size >= 8) {
    const first = new ByteView(await source.read(0, 8)).fourcc(4);
    if (!FIRST_BOX_TYPES.has(first)) {
      throw new ProbeError(`not an ISO-BMFF file (first box "${printable(first)}")`);
    }
  }
  for await (const box of boxes(source, 0, source.size, "file")) {
    if (++count > MAX_TOP_LEVEL_BOXES) throw new ProbeError("too many top-level boxes");
    if (box.type === "moov" && moov === undefined) {
      moov = await parseMoov(source, box);
      faststart = !mdatSeen;
    } else if (box.type === "mdat") {
      mdatSeen = true;
    }
    // Once moov is parsed and its position relative to mdat is known, the rest is media data.
    if (moov !== undefined && mdatSeen) break;
  }
  if (count === 0) throw new ProbeError("empty file");
  if (moov === undefined) throw new ProbeError("no moov box (truncated or not a movie)");
  return { ...moov, faststart };
}

/** Yields the boxes in [start, end); `parent` names the container in error messages. */
async function* boxes(
  source: ByteSource,
  start: number,
  end: number,
  parent: string,
): AsyncGenerator<Box> {
  let offset = start;
  while (offset < end) {
    if (end - offset < 8) throw new ProbeError(`${parent}: truncated box header`);
    const head = new ByteView(await source.read(offset, 16));
    let size = head.u32(0, parent);
    const type = head.fourcc(4, parent);
    if (!/^[\x20-\x7e]{4}$/.test(type)) {
      throw new ProbeError(`${parent}: invalid box type "${printable(type)}" at ${offset}`);
    }
    let headerSize = 8;
    if (size === 1) {
      size = head.u64(8, `${type} box header`);
      headerSize = 16;
    } else if (size === 0) {
      size = end - offset;
    }
    if (size < headerSize) throw new ProbeError(`${type}: invalid box size ${size} at ${offset}`);
    if (offset + size > end) {
      throw new ProbeError(
        parent === "file"
          ? `truncated: ${type} box ends past the end of the file`
          : `${type} box overruns its parent ${parent}`,
      );
    }
    yield { type, payload: offset + headerSize, end: offset + size };
    offset += size;
  }
}

/** Reads a leaf box's payload (at most {@linkcode MAX_LEAF_BYTES}). */
async function leaf(source: ByteSource, box: Box): Promise<ByteView> {
  const length = Math.min(box.end - box.payload, MAX_LEAF_BYTES);
  return new ByteView((await source.read(box.payload, length)).slice());
}

async function parseMoov(source: ByteSource, moov: Box): Promise<MediaInfo> {
  const info: MediaInfo = { container: "mp4" };
  let timescale = 0;
  let duration: number | undefined;
  let fragmentDuration: number | undefined;
  let video: Track | undefined;
  let audio: Track | undefined;
  for await (const box of boxes(source, moov.payload, moov.end, "moov")) {
    if (box.type === "mvhd") {
      // §8.2.2: version 1 has 64-bit times and duration.
      const v = await leaf(source, box);
      const version = v.u8(0, "mvhd");
      timescale = v.u32(version === 1 ? 20 : 12, "mvhd");
      const raw = version === 1 ? u64Loose(v, 24, "mvhd") : u32Loose(v, 16, "mvhd");
      // All ones means "unknown" (§8.2.2.3).
      if (Number.isFinite(raw) && raw > 0) duration = raw;
    } else if (box.type === "mvex") {
      for await (const child of boxes(source, box.payload, box.end, "mvex")) {
        if (child.type !== "mehd") continue;
        const v = await leaf(source, child);
        fragmentDuration = v.u8(0, "mehd") === 1 ? u64Loose(v, 4, "mehd") : v.u32(4, "mehd");
      }
    } else if (box.type === "trak") {
      const track = await parseTrak(source, box);
      if (track.handler === "vide" && video === undefined) video = track;
      if (track.handler === "soun" && audio === undefined) audio = track;
    }
  }
  const units = duration ?? fragmentDuration;
  if (timescale > 0 && units !== undefined && units > 0) info.duration = units / timescale;
  if (video) {
    if (video.width) info.width = video.width;
    if (video.height) info.height = video.height;
    if (video.codec) info.videoCodec = video.codec;
  }
  if (audio) {
    if (audio.codec) info.audioCodec = audio.codec;
    if (audio.channels) info.channels = audio.channels;
  }
  return info;
}

async function parseTrak(source: ByteSource, trak: Box): Promise<Track> {
  const track: Track = {};
  let tkhdWidth = 0;
  let tkhdHeight = 0;
  let stsd: ByteView | undefined;
  for await (const box of boxes(source, trak.payload, trak.end, "trak")) {
    if (box.type === "tkhd") {
      // §8.3.2: width and height are 16.16 fixed point, after the 36-byte matrix.
      const v = await leaf(source, box);
      const at = v.u8(0, "tkhd") === 1 ? 88 : 76;
      tkhdWidth = Math.round(v.u32(at, "tkhd") / 65536);
      tkhdHeight = Math.round(v.u32(at + 4, "tkhd") / 65536);
    } else if (box.type === "mdia") {
      for await (const mdia of boxes(source, box.payload, box.end, "mdia")) {
        if (mdia.type === "hdlr") {
          track.handler = (await leaf(source, mdia)).fourcc(8, "hdlr");
        } else if (mdia.type === "minf") {
          for await (const minf of boxes(source, mdia.payload, mdia.end, "minf")) {
            if (minf.type !== "stbl") continue;
            for await (const stbl of boxes(source, minf.payload, minf.end, "stbl")) {
              if (stbl.type === "stsd") stsd = await leaf(source, stbl);
            }
          }
        }
      }
    }
  }
  if (stsd && track.handler === "vide") parseVisualEntry(stsd, track);
  if (stsd && track.handler === "soun") parseAudioEntry(stsd, track);
  if (track.handler === "vide") {
    track.width ||= tkhdWidth;
    track.height ||= tkhdHeight;
  }
  return track;
}

/** The first sample entry of an `stsd` payload: its type and its bytes after the box header. */
function firstSampleEntry(stsd: ByteView): { type: string; body: ByteView } | undefined {
  // §8.5.2: full box header, entry_count, then sample entry boxes.
  if (stsd.u32(4, "stsd") === 0) return undefined;
  const size = stsd.u32(8, "stsd");
  const type = stsd.fourcc(12, "stsd");
  if (size < 8) throw new ProbeError("stsd: invalid sample entry size");
  const end = Math.min(8 + size, stsd.length);
  return { type, body: new ByteView(stsd.bytes.subarray(16, end)) };
}

/** Child boxes of an in-memory payload from `start`, as type → payload (first of each type). */
function childBoxes(view: ByteView, start: number): Map<string, Uint8Array> {
  const found = new Map<string, Uint8Array>();
  let p = start;
  while (p + 8 <= view.length) {
    const size = view.u32(p);
    const type = view.fourcc(p + 4);
    if (size < 8 || p + size > view.length) break;
    if (!found.has(type)) found.set(type, view.bytes.subarray(p + 8, p + size));
    p += size;
  }
  return found;
}

/** Encrypted entries (`encv`, `enca`) name the real format in `sinf/frma` (§8.12). */
function originalFormat(type: string, children: Map<string, Uint8Array>): string {
  const sinf = children.get("sinf");
  if (!type.startsWith("enc") || !sinf) return type;
  const frma = childBoxes(new ByteView(sinf), 0).get("frma");
  return frma && frma.byteLength >= 4 ? new ByteView(frma).fourcc(0) : type;
}

function parseVisualEntry(stsd: ByteView, track: Track): void {
  const entry = firstSampleEntry(stsd);
  if (!entry) return;
  // VisualSampleEntry (§12.1.3): 8 bytes SampleEntry, 16 bytes pre_defined/reserved, then
  // width and height; child boxes start after the 70-byte fixed part.
  const { body } = entry;
  track.width = body.u16(24, "visual sample entry");
  track.height = body.u16(26, "visual sample entry");
  const children = childBoxes(body, 78);
  const type = originalFormat(entry.type, children);
  track.codec = type.trim();
  const avcC = children.get("avcC");
  const hvcC = children.get("hvcC");
  const av1C = children.get("av1C");
  const vpcC = children.get("vpcC");
  if ((type === "avc1" || type === "avc3") && avcC) {
    track.codec = avcCodecString(type, avcC) ?? type;
  } else if ((type === "hvc1" || type === "hev1") && hvcC) {
    track.codec = hevcCodecString(type, hvcC) ?? type;
  } else if (type === "av01" && av1C) {
    track.codec = av1CodecString(av1C) ?? type;
  } else if ((type === "vp09" || type === "vp08") && vpcC) {
    track.codec = vp9CodecString(type, vpcC) ?? type;
  } else if (type === "mp4v") {
    const esds = children.get("esds");
    const es = esds && parseEsds(esds);
    if (es) track.codec = `mp4v.${es.objectTypeIndication.toString(16).toUpperCase()}`;
  }
}

function parseAudioEntry(stsd: ByteView, track: Track): void {
  const entry = firstSampleEntry(stsd);
  if (!entry) return;
  // AudioSampleEntry (§12.2.3) with the QuickTime sound description versions: v0 has a 20-byte
  // fixed part after SampleEntry, v1 adds 16 bytes, v2 adds 36 and moves the channel count.
  const { body } = entry;
  const version = body.u16(8, "audio sample entry");
  track.channels = version === 2 ? body.u32(40, "audio sample entry") : body.u16(16);
  const childrenAt = version === 1 ? 44 : version === 2 ? 64 : 28;
  const children = childBoxes(body, childrenAt);
  const type = originalFormat(entry.type, children);
  track.codec = type.trim();
  if (type === "mp4a") {
    // QuickTime puts esds inside a `wave` box.
    const wave = children.get("wave");
    const esds = children.get("esds") ?? (wave && childBoxes(new ByteView(wave), 0).get("esds"));
    const es = esds && parseEsds(esds);
    if (es) {
      const asc = es.decoderSpecificInfo && parseAudioSpecificConfig(es.decoderSpecificInfo);
      track.codec = mp4aCodecString(es.objectTypeIndication, asc);
      if (asc?.channels) track.channels = asc.channels;
    }
  } else if (type === "Opus") {
    track.codec = "opus";
    // dOps: Version, OutputChannelCount (Opus in ISOBMFF §4.3.2).
    const dOps = children.get("dOps");
    if (dOps && dOps.byteLength >= 2) track.channels = dOps[1];
  } else if (type === "fLaC") {
    track.codec = "flac";
  }
}

/** A 32-bit duration; all ones, the "unknown duration" value, gives NaN. */
function u32Loose(v: ByteView, offset: number, what: string): number {
  const value = v.u32(offset, what);
  return value === 0xffffffff ? NaN : value;
}

/**
 * A 64-bit duration as a number (rounded above 2^53, which no real duration reaches); all ones,
 * the "unknown duration" value, gives NaN.
 */
function u64Loose(v: ByteView, offset: number, what: string): number {
  const high = v.u32(offset, what);
  const low = v.u32(offset + 4, what);
  if (high === 0xffffffff && low === 0xffffffff) return NaN;
  return high * 2 ** 32 + low;
}

function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, "?");
}
