/**
 * WebM / Matroska probe: reads the EBML header (DocType), then walks the Segment's top-level
 * elements by their sizes until it has `Info` (TimestampScale, Duration) and `Tracks` (CodecID,
 * PixelWidth/PixelHeight, Channels). Clusters are never read; when a Cluster comes before Info or
 * Tracks, the SeekHead's positions are followed instead (RFC 9559 §6.3 allows either order).
 *
 * EBML (RFC 8794 §4): an element is a variable-size ID (marker bit kept), a variable-size length
 * (marker bit removed; all value bits set = unknown size) and the data.
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
} from "./codec_strings.ts";
import type { ByteSource } from "./reader.ts";
import { type MediaInfo, ProbeError } from "./types.ts";

/** Largest Info / Tracks / SeekHead element read into memory. */
export const MAX_MASTER_BYTES = 4 * 1024 * 1024;
/** Most Segment children walked before giving up. */
export const MAX_SEGMENT_CHILDREN = 10_000;

/** Element IDs used here (RFC 9559 §5.1, RFC 8794 §11.2). */
const ID = {
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Duration: 0x4489,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
} as const;

/** An element header: its ID, where its data starts, and its data size (undefined = unknown). */
interface Element {
  readonly id: number;
  readonly data: number;
  readonly size: number | undefined;
}

/** A variable-size integer: its value and encoded length. */
interface Vint {
  readonly value: number;
  readonly length: number;
  readonly unknown: boolean;
}

/** Reads a VINT at `p` (RFC 8794 §4); `keepMarker` for element IDs. */
function readVint(v: ByteView, p: number, keepMarker: boolean, what: string): Vint {
  const first = v.u8(p, what);
  if (first === 0) throw new ProbeError(`${what}: invalid variable-size integer`);
  const length = Math.clz32(first) - 23;
  if (length > 8) throw new ProbeError(`${what}: invalid variable-size integer`);
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === (0xff >> length);
  for (let i = 1; i < length; i++) {
    const b = v.u8(p + i, what);
    value = value * 256 + b;
    if (b !== 0xff) allOnes = false;
  }
  if (!keepMarker && length === 8 && value > Number.MAX_SAFE_INTEGER && !allOnes) {
    throw new ProbeError(`${what}: element size too large`);
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

/** Parses an element header at `p` of an in-memory view. */
function readHeader(v: ByteView, p: number, what: string): Element {
  const id = readVint(v, p, true, what);
  if (id.length > 4) throw new ProbeError(`${what}: invalid element ID`);
  const size = readVint(v, p + id.length, false, what);
  return {
    id: id.value,
    data: p + id.length + size.length,
    size: size.unknown ? undefined : size.value,
  };
}

/** Reads an element header from the file at `offset`. */
async function headerAt(source: ByteSource, offset: number, what: string): Promise<Element> {
  const bytes = await source.read(offset, 12);
  const element = readHeader(new ByteView(bytes), 0, what);
  return { id: element.id, data: offset + element.data, size: element.size };
}

/** Iterates the children of an in-memory master element's data. */
function* children(v: ByteView, start: number, end: number, what: string): Generator<Element> {
  let p = start;
  while (p < end) {
    const element = readHeader(v, p, what);
    // Children of an in-memory master must have known sizes that fit.
    if (element.size === undefined || element.data + element.size > end) {
      throw new ProbeError(`${what}: child element overruns its parent`);
    }
    yield element;
    p = element.data + element.size;
  }
}

function uint(v: ByteView, e: Element): number {
  let value = 0;
  for (let i = 0; i < e.size!; i++) value = value * 256 + v.u8(e.data + i, "integer");
  return value;
}

function text(v: ByteView, e: Element): string {
  v.need(e.data, e.size!, "string");
  // EBML strings are ASCII, padded with NULs (RFC 8794 §7.4).
  return new TextDecoder().decode(v.bytes.subarray(e.data, e.data + e.size!)).replace(/\0+$/, "");
}

/** Probes a WebM / Matroska file. Throws {@linkcode ProbeError} when malformed or truncated. */
export async function probeMatroska(source: ByteSource): Promise<MediaInfo> {
  if (source.size === 0) throw new ProbeError("empty file");
  const ebml = await headerAt(source, 0, "EBML header");
  if (ebml.id !== ID.EBML || ebml.size === undefined) {
    throw new ProbeError("not a WebM/Matroska file (no EBML header)");
  }
  const head = await readMaster(source, ebml, "EBML header");
  let docType = "matroska";
  for (const e of children(head, 0, head.length, "EBML header")) {
    if (e.id === ID.DocType) docType = text(head, e);
  }
  const info: MediaInfo = { container: docType === "webm" ? "webm" : "matroska" };

  const segmentAt = ebml.data + ebml.size;
  if (segmentAt >= source.size) throw new ProbeError("truncated: no Segment");
  const segment = await headerAt(source, segmentAt, "Segment");
  if (segment.id !== ID.Segment) throw new ProbeError("no Segment after the EBML header");
  const segmentEnd = segment.size === undefined ? source.size : segment.data + segment.size;
  if (segmentEnd > source.size) throw new ProbeError("truncated: Segment ends past end of file");

  let infoElement: Element | undefined;
  let tracksElement: Element | undefined;
  let seekHead: Element | undefined;
  let offset = segment.data;
  for (let count = 0; offset < segmentEnd; count++) {
    if (count >= MAX_SEGMENT_CHILDREN) throw new ProbeError("too many Segment elements");
    const e = await headerAt(source, offset, "Segment");
    if (e.id === ID.Cluster) break;
    if (e.size === undefined) break; // an unknown-size child cannot be skipped
    if (e.data + e.size > segmentEnd) {
      throw new ProbeError("truncated: element ends past end of Segment");
    }
    if (e.id === ID.Info) infoElement ??= e;
    else if (e.id === ID.Tracks) tracksElement ??= e;
    else if (e.id === ID.SeekHead) seekHead ??= e;
    if (infoElement && tracksElement) break;
    offset = e.data + e.size;
  }
  if ((!infoElement || !tracksElement) && seekHead) {
    const positions = seekPositions(await readMaster(source, seekHead, "SeekHead"));
    infoElement ??= await seekTo(source, segment.data, positions.get(ID.Info), ID.Info);
    tracksElement ??= await seekTo(source, segment.data, positions.get(ID.Tracks), ID.Tracks);
  }
  if (!infoElement && !tracksElement) throw new ProbeError("no Info or Tracks element");
  if (infoElement) parseInfo(await readMaster(source, infoElement, "Info"), info);
  if (tracksElement) parseTracks(await readMaster(source, tracksElement, "Tracks"), info);
  return info;
}

/** Reads a master element's data into memory (bounded by {@linkcode MAX_MASTER_BYTES}). */
async function readMaster(source: ByteSource, e: Element, what: string): Promise<ByteView> {
  if (e.size === undefined) throw new ProbeError(`${what}: unknown size`);
  if (e.size > MAX_MASTER_BYTES) throw new ProbeError(`${what}: too large`);
  const bytes = (await source.read(e.data, e.size)).slice();
  if (bytes.byteLength < e.size) throw new ProbeError(`truncated: ${what} ends past end of file`);
  return new ByteView(bytes);
}

/** SeekID → position (relative to the Segment data) from a SeekHead (RFC 9559 §5.1.1). */
function seekPositions(v: ByteView): Map<number, number> {
  const positions = new Map<number, number>();
  for (const seek of children(v, 0, v.length, "SeekHead")) {
    if (seek.id !== ID.Seek) continue;
    let id: number | undefined;
    let position: number | undefined;
    for (const e of children(v, seek.data, seek.data + seek.size!, "Seek")) {
      if (e.id === ID.SeekID) id = uint(v, e);
      if (e.id === ID.SeekPosition) position = uint(v, e);
    }
    if (id !== undefined && position !== undefined && !positions.has(id)) {
      positions.set(id, position);
    }
  }
  return positions;
}

async function seekTo(
  source: ByteSource,
  segmentData: number,
  position: number | undefined,
  id: number,
): Promise<Element | undefined> {
  if (position === undefined || segmentData + position >= source.size) return undefined;
  const e = await headerAt(source, segmentData + position, "SeekHead target");
  return e.id === id ? e : undefined;
}

function parseInfo(v: ByteView, info: MediaInfo): void {
  let scale = 1_000_000; // TimestampScale default: 1 ms in ns (RFC 9559 §5.1.2.1)
  let duration: number | undefined;
  for (const e of children(v, 0, v.length, "Info")) {
    if (e.id === ID.TimestampScale) scale = uint(v, e);
    if (e.id === ID.Duration) duration = v.float(e.data, e.size!, "Duration");
  }
  if (duration !== undefined && Number.isFinite(duration) && duration > 0 && scale > 0) {
    info.duration = duration * scale / 1e9;
  }
}

function parseTracks(v: ByteView, info: MediaInfo): void {
  for (const entry of children(v, 0, v.length, "Tracks")) {
    if (entry.id !== ID.TrackEntry) continue;
    let type = 0;
    let codecId = "";
    let codecPrivate: Uint8Array | undefined;
    let width: number | undefined;
    let height: number | undefined;
    let channels: number | undefined;
    for (const e of children(v, entry.data, entry.data + entry.size!, "TrackEntry")) {
      if (e.id === ID.TrackType) type = uint(v, e);
      else if (e.id === ID.CodecID) codecId = text(v, e);
      else if (e.id === ID.CodecPrivate) codecPrivate = v.bytes.subarray(e.data, e.data + e.size!);
      else if (e.id === ID.Video) {
        for (const c of children(v, e.data, e.data + e.size!, "Video")) {
          if (c.id === ID.PixelWidth) width = uint(v, c);
          if (c.id === ID.PixelHeight) height = uint(v, c);
        }
      } else if (e.id === ID.Audio) {
        channels = 1; // Channels default (RFC 9559 §5.1.4.1.29.4)
        for (const c of children(v, e.data, e.data + e.size!, "Audio")) {
          if (c.id === ID.Channels) channels = uint(v, c);
        }
      }
    }
    // TrackType 1 = video, 2 = audio (RFC 9559 §5.1.4.1.3).
    if (type === 1 && info.videoCodec === undefined) {
      info.videoCodec = matroskaCodec(codecId, codecPrivate);
      if (width) info.width = width;
      if (height) info.height = height;
    } else if (type === 2 && info.audioCodec === undefined) {
      info.audioCodec = matroskaCodec(codecId, codecPrivate);
      if (channels) info.channels = channels;
    }
  }
}

const SIMPLE_CODECS: Readonly<Record<string, string>> = {
  V_VP8: "vp8",
  V_VP9: "vp9",
  A_OPUS: "opus",
  A_VORBIS: "vorbis",
  A_FLAC: "flac",
  A_AC3: "ac-3",
  A_EAC3: "ec-3",
  "A_MPEG/L3": "mp3",
};

/** Codec string for a Matroska CodecID (RFC 6381 where CodecPrivate allows it). */
function matroskaCodec(codecId: string, codecPrivate: Uint8Array | undefined): string {
  const simple = SIMPLE_CODECS[codecId];
  if (simple) return simple;
  if (codecPrivate) {
    if (codecId === "V_MPEG4/ISO/AVC") {
      return avcCodecString("avc1", codecPrivate) ?? "avc1";
    }
    if (codecId === "V_MPEGH/ISO/HEVC") return hevcCodecString("hvc1", codecPrivate) ?? "hvc1";
    if (codecId === "V_AV1") return av1CodecString(codecPrivate) ?? "av01";
    if (codecId === "A_AAC") {
      const asc = parseAudioSpecificConfig(codecPrivate);
      return mp4aCodecString(0x40, asc);
    }
  }
  return codecId.toLowerCase();
}
