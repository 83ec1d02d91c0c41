/**
 * The sample index of a progressive MP4/MOV: `moov` → one {@linkcode TrackIndex} per supported
 * track (H.264, H.265, AAC) with its samples in typed arrays (size, file offset, decode time,
 * composition offset, sync flag), the codec configuration kept as raw bytes (the whole `stsd`),
 * and the edit list reduced to a shift. Built from ISO/IEC 14496-12 §8.6-8.7 (stts, ctts, stss,
 * stsz/stz2, stsc, stco/co64, elst), read once, parsed in slices that yield to the event loop.
 *
 * Memory per sample: 4 (size) + 8 (offset) + 8 (dts) + 4 (composition offset, only when the
 * track has `ctts`) + 1 (sync flag, only when the track has `stss`) bytes.
 *
 * @module
 */
import {
  avcCodecString,
  hevcCodecString,
  mp4aCodecString,
  parseAudioSpecificConfig,
  parseEsds,
} from "../probe/codec_strings.ts";
import { FileSource } from "../probe/reader.ts";

/** Why a file cannot be packaged; the route answers 415 with the message. */
export class PackagingError extends Error {
  /** Creates the error with a short reason for the client. */
  constructor(message: string) {
    super(message);
    this.name = "PackagingError";
  }
}

/**
 * Largest `moov` read into memory: a 2-hour 25 fps + AAC file has 3.6 MB, so this allows files of
 * about 35 hours while bounding what one hostile file can make the server allocate.
 */
export const MAX_MOOV_BYTES = 64 * 1024 * 1024;
/** Most samples parsed between yields to the event loop. */
export const SAMPLES_PER_SLICE = 100_000;
/** Longest the parse runs before it yields to the event loop, ms (checked every 8192 samples). */
export const SLICE_MS = 5;

/** One packaged track of the source. */
export interface TrackIndex {
  /** `track_ID` from `tkhd`. */
  readonly id: number;
  /** Video or audio. */
  readonly kind: "video" | "audio";
  /** `mdhd` timescale (ticks per second). */
  readonly timescale: number;
  /** ISO 639-2/T language from `mdhd` ("und" when unset). */
  readonly language: string;
  /** Sample entry type (`avc1`, `hvc1`, `mp4a`...). */
  readonly fourcc: string;
  /** RFC 6381 codecs string. */
  readonly codecs: string;
  /** The source `stsd` box, copied into the init segment verbatim. */
  readonly stsd: Uint8Array;
  /** The source `edts` box or null; copied into the init segment. */
  readonly edts: Uint8Array | null;
  /** Media time where presentation starts (first edit), track ticks. */
  readonly editMediaTime: number;
  /** Presentation delay from leading empty edits, track ticks. */
  readonly editDelay: number;
  /** Presentation duration (edit list, else media duration), track ticks. */
  readonly duration: number;
  /** Display width and height (`tkhd`, else the sample entry); 0 for audio. */
  readonly width: number;
  readonly height: number;
  /** Channel count and sample rate (audio). */
  readonly channels: number;
  readonly sampleRate: number;
  /** `hdlr` name of the source track. */
  readonly name: string;
  /** Number of samples. */
  readonly count: number;
  /** Sample sizes in bytes. */
  readonly sizes: Uint32Array;
  /** Sample file offsets. */
  readonly offsets: Float64Array;
  /** Decode times (track ticks); `dts[count]` is the end of the last sample. */
  readonly dts: Float64Array;
  /** Composition offsets (ctts), or null when all are 0. */
  readonly cts: Int32Array | null;
  /** 1 for sync samples (stss), or null when every sample is a sync sample. */
  readonly sync: Uint8Array | null;
  /** Total sample bytes. */
  readonly totalBytes: number;
}

/** The packaging view of one file. */
export interface Mp4Index {
  /** `mvhd` timescale (edit list durations are in it). */
  readonly movieTimescale: number;
  /** Supported tracks: video tracks first, then audio, each in file order. */
  readonly tracks: readonly TrackIndex[];
  /** Bytes of memory held by the sample tables (what the cache budgets). */
  readonly memoryBytes: number;
}

/** A box inside a buffer. */
interface Box {
  readonly type: string;
  /** Offset of the box header in the buffer. */
  readonly start: number;
  /** Offset of the payload. */
  readonly payload: number;
  /** Offset just past the box. */
  readonly end: number;
}

const decoder = new TextDecoder("latin1");

function fourcc(bytes: Uint8Array, at: number): string {
  return decoder.decode(bytes.subarray(at, at + 4));
}

/** The child boxes of `bytes[from, to)`. */
function children(bytes: Uint8Array, view: DataView, from: number, to: number): Box[] {
  const out: Box[] = [];
  let p = from;
  while (p + 8 <= to) {
    let size = view.getUint32(p);
    const type = fourcc(bytes, p + 4);
    let header = 8;
    if (size === 1) {
      if (p + 16 > to) throw new PackagingError(`truncated box ${type}`);
      size = Number(view.getBigUint64(p + 8));
      header = 16;
    } else if (size === 0) size = to - p;
    if (size < header || p + size > to) throw new PackagingError(`malformed box ${type}`);
    out.push({ type, start: p, payload: p + header, end: p + size });
    p += size;
  }
  return out;
}

function find(boxes: Box[], type: string): Box | undefined {
  return boxes.find((b) => b.type === type);
}

/** Locates `moov` among the top-level boxes of the file (faststart or at the end). */
async function readMoov(file: Deno.FsFile, size: number): Promise<Uint8Array> {
  const source = new FileSource(file, size);
  let p = 0;
  let count = 0;
  let sawMoof = false;
  let moov: { offset: number; size: number } | undefined;
  while (p + 8 <= size) {
    if (++count > 100_000) throw new PackagingError("too many top-level boxes");
    const head = await source.read(p, 16);
    if (head.byteLength < 8) break;
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    let boxSize = view.getUint32(0);
    const type = fourcc(head, 4);
    if (count === 1 && !/^[a-z ]{4}$/.test(type)) throw new PackagingError("not an MP4 file");
    if (boxSize === 1) {
      if (head.byteLength < 16) throw new PackagingError("truncated file");
      boxSize = Number(view.getBigUint64(8));
    } else if (boxSize === 0) boxSize = size - p;
    if (boxSize < 8) throw new PackagingError(`malformed top-level box ${type}`);
    if (type === "moov" && moov === undefined) moov = { offset: p, size: boxSize };
    if (type === "moof") sawMoof = true;
    p += boxSize;
  }
  if (sawMoof) throw new PackagingError("fragmented MP4 is not supported (already fragmented)");
  if (moov === undefined) throw new PackagingError("no moov box (not a complete MP4 file)");
  if (moov.offset + moov.size > size) throw new PackagingError("moov box is truncated");
  if (moov.size > MAX_MOOV_BYTES) throw new PackagingError("moov box is too large");
  const bytes = new Uint8Array(moov.size);
  await file.seek(moov.offset, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < bytes.byteLength) {
    const n = await file.read(bytes.subarray(filled));
    if (n === null || n === 0) throw new PackagingError("moov box is truncated");
    filled += n;
  }
  return bytes;
}

/** Yields to the event loop (a macrotask), so a huge table never blocks other requests long. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Builds the index of the MP4 at `path` (`size` bytes). Throws {@linkcode PackagingError}. */
export async function indexMp4(path: string, size: number): Promise<Mp4Index> {
  let moov: Uint8Array;
  const file = await Deno.open(path, { read: true });
  try {
    moov = await readMoov(file, size);
  } finally {
    file.close();
  }
  return await indexMoov(moov, size);
}

/** Builds the index from the bytes of a `moov` box of a file of `fileSize` bytes. */
export async function indexMoov(moov: Uint8Array, fileSize: number): Promise<Mp4Index> {
  const view = new DataView(moov.buffer, moov.byteOffset, moov.byteLength);
  const top = children(moov, view, 0, moov.byteLength);
  const moovBox = find(top, "moov");
  if (moovBox === undefined) throw new PackagingError("no moov box");
  const boxes = children(moov, view, moovBox.payload, moovBox.end);
  if (find(boxes, "mvex")) throw new PackagingError("fragmented MP4 is not supported");
  const mvhd = find(boxes, "mvhd");
  if (mvhd === undefined) throw new PackagingError("no mvhd box");
  const movieTimescale = view.getUint32(mvhd.payload + (moov[mvhd.payload] === 1 ? 20 : 12));
  if (movieTimescale === 0) throw new PackagingError("mvhd timescale is 0");
  const video: TrackIndex[] = [];
  const audio: TrackIndex[] = [];
  const reasons: string[] = [];
  for (const trak of boxes.filter((b) => b.type === "trak")) {
    const track = await parseTrak(moov, view, trak, movieTimescale, fileSize, reasons);
    if (track === null) continue;
    (track.kind === "video" ? video : audio).push(track);
  }
  const tracks = [...video, ...audio];
  if (tracks.length === 0) {
    throw new PackagingError(
      reasons.length > 0 ? reasons.join("; ") : "no H.264, H.265 or AAC track",
    );
  }
  let memoryBytes = 0;
  for (const t of tracks) {
    memoryBytes += t.sizes.byteLength + t.offsets.byteLength + t.dts.byteLength +
      (t.cts?.byteLength ?? 0) + (t.sync?.byteLength ?? 0) + t.stsd.byteLength +
      (t.edts?.byteLength ?? 0) + 512;
  }
  return { movieTimescale, tracks, memoryBytes };
}

const SUPPORTED_VIDEO = new Set(["avc1", "avc3", "hvc1", "hev1"]);
const ENCRYPTED = new Set(["encv", "enca"]);

/** Parses one `trak`; null (with a reason pushed) when it is not a packageable track. */
async function parseTrak(
  bytes: Uint8Array,
  view: DataView,
  trak: Box,
  movieTimescale: number,
  fileSize: number,
  reasons: string[],
): Promise<TrackIndex | null> {
  const tb = children(bytes, view, trak.payload, trak.end);
  const tkhd = find(tb, "tkhd");
  const mdia = find(tb, "mdia");
  if (tkhd === undefined || mdia === undefined) throw new PackagingError("trak without tkhd/mdia");
  const tkhdV1 = bytes[tkhd.payload] === 1;
  const id = view.getUint32(tkhd.payload + (tkhdV1 ? 20 : 12));
  const tkhdWidth = view.getUint32(tkhd.end - 8) / 65536;
  const tkhdHeight = view.getUint32(tkhd.end - 4) / 65536;
  const mb = children(bytes, view, mdia.payload, mdia.end);
  const mdhd = find(mb, "mdhd");
  const hdlr = find(mb, "hdlr");
  const minf = find(mb, "minf");
  if (mdhd === undefined || hdlr === undefined || minf === undefined) {
    throw new PackagingError("mdia without mdhd/hdlr/minf");
  }
  const handler = fourcc(bytes, hdlr.payload + 8);
  if (handler !== "vide" && handler !== "soun") return null;
  const kind = handler === "vide" ? "video" : "audio";
  const name = decoder.decode(bytes.subarray(hdlr.payload + 24, hdlr.end)).replace(/\0.*$/s, "");
  const mdhdV1 = bytes[mdhd.payload] === 1;
  const timescale = view.getUint32(mdhd.payload + (mdhdV1 ? 20 : 12));
  const mediaDuration = mdhdV1
    ? Number(view.getBigUint64(mdhd.payload + 24))
    : view.getUint32(mdhd.payload + 16);
  const packed = view.getUint16(mdhd.payload + (mdhdV1 ? 32 : 20));
  const language = packed === 0 || packed === 0x7fff ? "und" : String.fromCharCode(
    ((packed >> 10) & 31) + 0x60,
    ((packed >> 5) & 31) + 0x60,
    (packed & 31) + 0x60,
  );
  if (timescale === 0) throw new PackagingError(`track ${id}: timescale is 0`);
  const stbl = find(children(bytes, view, minf.payload, minf.end), "stbl");
  if (stbl === undefined) throw new PackagingError(`track ${id}: no stbl`);
  const sb = children(bytes, view, stbl.payload, stbl.end);
  const stsd = find(sb, "stsd");
  if (stsd === undefined) throw new PackagingError(`track ${id}: no stsd`);
  if (view.getUint32(stsd.payload + 4) < 1) throw new PackagingError(`track ${id}: empty stsd`);
  const entries = children(bytes, view, stsd.payload + 8, stsd.end);
  const entry = entries[0];
  if (entry === undefined) throw new PackagingError(`track ${id}: empty stsd`);
  if (ENCRYPTED.has(entry.type)) throw new PackagingError("encrypted MP4 is not supported");
  let codecs: string | undefined;
  let stsdBytes: Uint8Array | undefined;
  let width = 0;
  let height = 0;
  let channels = 0;
  let sampleRate = 0;
  if (kind === "video") {
    if (!SUPPORTED_VIDEO.has(entry.type)) {
      reasons.push(`video codec ${entry.type} is not supported (H.264 and H.265 are)`);
      return null;
    }
    width = view.getUint16(entry.payload + 24);
    height = view.getUint16(entry.payload + 26);
    const config = children(bytes, view, entry.payload + 78, entry.end);
    const isAvc = entry.type.startsWith("avc");
    const box = find(config, isAvc ? "avcC" : "hvcC");
    if (box === undefined) throw new PackagingError(`track ${id}: no ${isAvc ? "avcC" : "hvcC"}`);
    const record = bytes.subarray(box.payload, box.end);
    codecs = isAvc ? avcCodecString(entry.type, record) : hevcCodecString(entry.type, record);
    if (tkhdWidth > 0 && tkhdHeight > 0) {
      width = Math.round(tkhdWidth);
      height = Math.round(tkhdHeight);
    }
  } else {
    if (entry.type !== "mp4a") {
      reasons.push(`audio codec ${entry.type} is not supported (AAC is)`);
      return null;
    }
    // QuickTime sound descriptions have versions 1 and 2 with more fields (QTFF, "Sound
    // Sample Descriptions"); ISO/IEC 14496-12 §12.2.3 has only version 0
    const version = view.getUint16(entry.payload + 8);
    channels = view.getUint16(entry.payload + 16);
    sampleRate = view.getUint32(entry.payload + 24) / 65536;
    if (version === 2) {
      sampleRate = view.getFloat64(entry.payload + 32);
      channels = view.getUint32(entry.payload + 40);
    }
    const skip = version === 1 ? 16 : version === 2 ? 36 : 0;
    const esds = findDeep(bytes, view, entry.payload + 28 + skip, entry.end, "esds");
    if (esds === undefined) throw new PackagingError(`track ${id}: no esds`);
    const direct = children(bytes, view, entry.payload + 28 + skip, entry.end)
      .some((b) => b.type === "esds");
    if (version !== 0 || !direct) {
      // a MOV's entry (esds inside `wave`): rewritten as the plain ISO entry players parse
      stsdBytes = isoAudioStsd(channels, sampleRate, bytes.subarray(esds.start, esds.end));
    }
    const es = parseEsds(bytes.subarray(esds.payload, esds.end));
    if (es === undefined) throw new PackagingError(`track ${id}: malformed esds`);
    const asc = es.decoderSpecificInfo
      ? parseAudioSpecificConfig(es.decoderSpecificInfo)
      : undefined;
    if (
      es.objectTypeIndication !== 0x40 && es.objectTypeIndication !== 0x66 &&
      es.objectTypeIndication !== 0x67
    ) {
      reasons.push(`audio object type 0x${es.objectTypeIndication.toString(16)} is not AAC`);
      return null;
    }
    if (asc?.channels) channels = asc.channels;
    codecs = mp4aCodecString(es.objectTypeIndication, asc);
  }
  if (codecs === undefined) throw new PackagingError(`track ${id}: malformed codec configuration`);

  const tables = await sampleTables(bytes, view, sb, id, fileSize);
  if (tables === null) {
    reasons.push(`track ${id} has no samples`);
    return null;
  }
  const edtsBox = find(tb, "edts");
  let editMediaTime = 0;
  let editDelay = 0;
  let duration = tables.end;
  if (mediaDuration > 0 && edtsBox === undefined && tables.cts === null) {
    duration = Math.min(duration, mediaDuration) || duration;
  }
  if (edtsBox !== undefined) {
    const elst = find(children(bytes, view, edtsBox.payload, edtsBox.end), "elst");
    if (elst !== undefined) {
      const v1 = bytes[elst.payload] === 1;
      const n = view.getUint32(elst.payload + 4);
      const stride = v1 ? 20 : 12;
      let normal = 0;
      let editDuration = 0;
      for (let i = 0; i < n; i++) {
        const at = elst.payload + 8 + i * stride;
        if (at + stride > elst.end) throw new PackagingError(`track ${id}: truncated elst`);
        const segmentDuration = v1 ? Number(view.getBigUint64(at)) : view.getUint32(at);
        const mediaTime = v1 ? Number(view.getBigInt64(at + 8)) : view.getInt32(at + 4);
        const rate = view.getInt16(at + (v1 ? 16 : 8));
        const ticks = Math.round(segmentDuration * timescale / movieTimescale);
        if (mediaTime === -1) {
          if (normal > 0) throw new PackagingError(`track ${id}: empty edit after media`);
          editDelay += ticks;
          continue;
        }
        if (++normal > 1) {
          throw new PackagingError(`track ${id}: edit lists with several edits are not supported`);
        }
        if (rate !== 1) throw new PackagingError(`track ${id}: edit rate other than 1`);
        editMediaTime = mediaTime;
        editDuration = ticks;
      }
      const mediaLeft = duration - editMediaTime;
      duration = editDelay + (editDuration > 0 ? Math.min(editDuration, mediaLeft) : mediaLeft);
    }
  }
  return {
    id,
    kind,
    timescale,
    language,
    fourcc: entry.type,
    codecs,
    stsd: stsdBytes ?? bytes.slice(stsd.start, stsd.end),
    edts: edtsBox === undefined ? null : bytes.slice(edtsBox.start, edtsBox.end),
    editMediaTime,
    editDelay,
    duration,
    width,
    height,
    channels,
    sampleRate,
    name,
    ...tables,
  };
}

/**
 * An `stsd` holding one version-0 `mp4a` AudioSampleEntry (ISO/IEC 14496-12 §12.2.3, 14496-14
 * §5.6) with `esdsBox` (the whole box) as its child.
 */
function isoAudioStsd(channels: number, sampleRate: number, esdsBox: Uint8Array): Uint8Array {
  const entrySize = 8 + 28 + esdsBox.byteLength;
  const out = new Uint8Array(16 + entrySize);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.byteLength);
  out.set([0x73, 0x74, 0x73, 0x64], 4); // stsd
  v.setUint32(12, 1); // entry_count
  v.setUint32(16, entrySize);
  out.set([0x6d, 0x70, 0x34, 0x61], 20); // mp4a
  v.setUint16(30, 1); // data_reference_index
  v.setUint16(40, channels || 2);
  v.setUint16(42, 16); // samplesize
  v.setUint32(48, Math.min(Math.round(sampleRate), 65535) * 65536);
  out.set(esdsBox, 52);
  return out;
}

/** Finds the first `type` box at any depth below `[from, to)` (e.g. `esds` inside `wave`). */
function findDeep(
  bytes: Uint8Array,
  view: DataView,
  from: number,
  to: number,
  type: string,
): Box | undefined {
  let boxes: Box[];
  try {
    boxes = children(bytes, view, from, to);
  } catch {
    return undefined;
  }
  for (const box of boxes) {
    if (box.type === type) return box;
    if (box.type === "wave") {
      const inner = findDeep(bytes, view, box.payload, box.end, type);
      if (inner) return inner;
    }
  }
  return undefined;
}

interface SampleTables {
  count: number;
  /** End of the last presented sample (max of dts + cts + duration), track ticks. */
  end: number;
  sizes: Uint32Array;
  offsets: Float64Array;
  dts: Float64Array;
  cts: Int32Array | null;
  sync: Uint8Array | null;
  totalBytes: number;
}

/**
 * Runs `work(from, to)` over `[0, total)` in blocks, yielding to the event loop between blocks
 * once {@linkcode SLICE_MS} have passed, and at least every {@linkcode SAMPLES_PER_SLICE} items.
 * The loops themselves stay in plain synchronous functions, which V8 optimises.
 */
async function inSlices(total: number, work: (from: number, to: number) => void): Promise<void> {
  const block = 8192;
  let since = performance.now();
  let sinceYield = 0;
  for (let from = 0; from < total; from += block) {
    const to = Math.min(total, from + block);
    work(from, to);
    sinceYield += to - from;
    if (sinceYield >= SAMPLES_PER_SLICE || performance.now() - since >= SLICE_MS) {
      await yieldToLoop();
      since = performance.now();
      sinceYield = 0;
    }
  }
}

/** Expands stsz/stz2, stsc + stco/co64, stts, ctts and stss into per-sample arrays. */
async function sampleTables(
  bytes: Uint8Array,
  view: DataView,
  sb: Box[],
  id: number,
  fileSize: number,
): Promise<SampleTables | null> {
  const need = (type: string): Box => {
    const box = find(sb, type);
    if (box === undefined) throw new PackagingError(`track ${id}: no ${type}`);
    return box;
  };
  const check = (box: Box, at: number, length: number) => {
    if (at + length > box.end) throw new PackagingError(`track ${id}: truncated ${box.type}`);
  };
  // sizes
  const stsz = find(sb, "stsz");
  let count: number;
  let sizes: Uint32Array;
  if (stsz !== undefined) {
    const fixed = view.getUint32(stsz.payload + 4);
    count = view.getUint32(stsz.payload + 8);
    if (fixed === 0) check(stsz, stsz.payload + 12, count * 4);
    sizes = new Uint32Array(count);
    if (fixed !== 0) sizes.fill(fixed);
    else {
      const table = stsz.payload + 12;
      await inSlices(count, (from, to) => {
        for (let i = from; i < to; i++) sizes[i] = view.getUint32(table + i * 4);
      });
    }
  } else {
    const stz2 = need("stz2");
    const field = bytes[stz2.payload + 7];
    count = view.getUint32(stz2.payload + 8);
    check(stz2, stz2.payload + 12, Math.ceil(count * field / 8));
    sizes = new Uint32Array(count);
    const at = stz2.payload + 12;
    await inSlices(count, (from, to) => {
      for (let i = from; i < to; i++) {
        sizes[i] = field === 16
          ? view.getUint16(at + i * 2)
          : field === 8
          ? bytes[at + i]
          : (bytes[at + (i >> 1)] >> ((i & 1) ? 0 : 4)) & 15;
      }
    });
  }
  if (count === 0) return null;
  // chunk offsets: stsc runs of chunks with the same number of samples (§8.7.4)
  const stco = find(sb, "stco");
  const co64 = stco === undefined ? need("co64") : undefined;
  const chunkBox = stco ?? co64!;
  const chunkCount = view.getUint32(chunkBox.payload + 4);
  check(chunkBox, chunkBox.payload + 8, chunkCount * (co64 ? 8 : 4));
  const chunkOffset = (c: number) =>
    co64
      ? Number(view.getBigUint64(chunkBox.payload + 8 + c * 8))
      : view.getUint32(chunkBox.payload + 8 + c * 4);
  const stsc = need("stsc");
  const runs = view.getUint32(stsc.payload + 4);
  check(stsc, stsc.payload + 8, runs * 12);
  if (runs === 0) throw new PackagingError(`track ${id}: empty stsc`);
  const firstChunk = (r: number) => view.getUint32(stsc.payload + 8 + r * 12) - 1;
  const offsets = new Float64Array(count);
  let totalBytes = 0;
  let run = 0;
  let chunk = -1;
  let inChunk = 0;
  let perChunk = 0;
  let offset = 0;
  const nextChunk = () => {
    chunk++;
    if (chunk >= chunkCount) {
      throw new PackagingError(`track ${id}: chunk table covers too few samples`);
    }
    while (run + 1 < runs && chunk >= firstChunk(run + 1)) run++;
    const at = stsc.payload + 8 + run * 12;
    perChunk = view.getUint32(at + 4);
    if (view.getUint32(at + 8) !== 1) {
      throw new PackagingError(`track ${id}: several sample descriptions are not supported`);
    }
    offset = chunkOffset(chunk);
    inChunk = 0;
  };
  await inSlices(count, (from, to) => {
    for (let i = from; i < to; i++) {
      while (inChunk >= perChunk) nextChunk();
      const size = sizes[i];
      if (offset + size > fileSize) {
        throw new PackagingError(`track ${id}: sample data beyond the end of the file`);
      }
      offsets[i] = offset;
      offset += size;
      totalBytes += size;
      inChunk++;
    }
  });
  // decode times (§8.6.1.2)
  const stts = need("stts");
  const entries = view.getUint32(stts.payload + 4);
  check(stts, stts.payload + 8, entries * 8);
  const dts = new Float64Array(count + 1);
  let entry = -1;
  let left = 0;
  let delta = 0;
  let t = 0;
  await inSlices(count, (from, to) => {
    for (let i = from; i < to; i++) {
      while (left === 0) {
        if (++entry >= entries) {
          throw new PackagingError(`track ${id}: stts covers too few samples`);
        }
        left = view.getUint32(stts.payload + 8 + entry * 8);
        delta = view.getUint32(stts.payload + 12 + entry * 8);
      }
      dts[i] = t;
      t += delta;
      left--;
    }
  });
  dts[count] = t;
  // composition offsets (§8.6.1.3); version 0 values above 2^31 are read as negative, like
  // other demuxers do
  let end = t;
  let cts: Int32Array | null = null;
  const ctts = find(sb, "ctts");
  if (ctts !== undefined) {
    const n = view.getUint32(ctts.payload + 4);
    check(ctts, ctts.payload + 8, n * 8);
    const table = new Int32Array(count);
    let e = -1;
    let runLeft = 0;
    let value = 0;
    end = 0;
    await inSlices(count, (from, to) => {
      for (let i = from; i < to; i++) {
        while (runLeft === 0 && e + 1 < n) {
          e++;
          runLeft = view.getUint32(ctts.payload + 8 + e * 8);
          value = view.getInt32(ctts.payload + 12 + e * 8);
        }
        let v = 0; // samples past the end of the table: no offset
        if (runLeft > 0) {
          runLeft--;
          v = value;
        }
        table[i] = v;
        const presentedEnd = dts[i + 1] + v;
        if (presentedEnd > end) end = presentedEnd;
      }
    });
    cts = table;
  }
  // sync samples (§8.6.2)
  let sync: Uint8Array | null = null;
  const stss = find(sb, "stss");
  if (stss !== undefined) {
    const n = view.getUint32(stss.payload + 4);
    check(stss, stss.payload + 8, n * 4);
    const flags = new Uint8Array(count);
    await inSlices(n, (from, to) => {
      for (let e = from; e < to; e++) {
        const s = view.getUint32(stss.payload + 8 + e * 4) - 1;
        if (s < count) flags[s] = 1;
      }
    });
    flags[0] = 1; // a segment must start somewhere; decoders cope with an open start
    sync = flags;
  }
  return { count, end, sizes, offsets, dts, cts, sync, totalBytes };
}
