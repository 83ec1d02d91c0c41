/**
 * CMAF/fMP4 initialization segments (ISO/IEC 14496-12 §8.8, ISO/IEC 23000-19 §7.3.1): `ftyp`
 * and a `moov` holding one track with empty sample tables and `mvex`/`trex`. The source's
 * `stsd` (codec configuration: avcC/hvcC/esds, colour, aspect...) and `edts` (the edit list that
 * shifts B-frame delay and AAC priming out of the presentation) are copied byte for byte.
 *
 * @module
 */
import type { TrackIndex } from "./mp4_index.ts";

const encoder = new TextEncoder();

/** A box of `type` around `parts`. */
export function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  let size = 8;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, size);
  out.set(encoder.encode(type), 4);
  let at = 8;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** A full box (version, flags) of `type` around `parts`. */
function fullBox(type: string, version: number, flags: number, ...parts: Uint8Array[]): Uint8Array {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, ((version & 0xff) << 24 | (flags & 0xffffff)) >>> 0);
  return box(type, head, ...parts);
}

/** Big-endian 32-bit words. */
function u32(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v >>> 0));
  return out;
}

/** The unity transformation matrix of `mvhd`/`tkhd`. */
const MATRIX = u32(0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000);

/** Packs an ISO 639-2/T code into the 15 bits of `mdhd`. */
function packLanguage(language: string): number {
  if (!/^[a-z]{3}$/.test(language)) return 0x55c4; // "und"
  return ((language.charCodeAt(0) - 0x60) << 10) | ((language.charCodeAt(1) - 0x60) << 5) |
    (language.charCodeAt(2) - 0x60);
}

/** The init segment of `track`; `movieTimescale` is the source's (edit list durations use it). */
export function initSegment(track: TrackIndex, movieTimescale: number): Uint8Array {
  const video = track.kind === "video";
  const ftyp = box("ftyp", encoder.encode("iso6"), u32(0), encoder.encode("iso6isommp41dash"));
  const mvhd = fullBox(
    "mvhd",
    0,
    0,
    u32(0, 0, movieTimescale, 0, 0x10000),
    new Uint8Array([0x01, 0x00, 0, 0]), // volume 1.0, reserved
    u32(0, 0),
    MATRIX,
    new Uint8Array(24), // pre_defined
    u32(track.id + 1),
  );
  const tkhd = fullBox(
    "tkhd",
    0,
    3, // enabled, in movie
    u32(0, 0, track.id, 0, 0, 0, 0),
    new Uint8Array([0, 0, 0, 0, video ? 0 : 1, 0, 0, 0]), // layer, group, volume, reserved
    MATRIX,
    u32(video ? track.width * 65536 : 0, video ? track.height * 65536 : 0),
  );
  const mdhd = fullBox(
    "mdhd",
    0,
    0,
    u32(0, 0, track.timescale, 0),
    new Uint8Array([packLanguage(track.language) >> 8, packLanguage(track.language) & 0xff, 0, 0]),
  );
  const hdlr = fullBox(
    "hdlr",
    0,
    0,
    u32(0),
    encoder.encode(video ? "vide" : "soun"),
    u32(0, 0, 0),
    encoder.encode(video ? "VideoHandler\0" : "SoundHandler\0"),
  );
  const mediaHeader = video
    ? fullBox("vmhd", 0, 1, new Uint8Array(8))
    : fullBox("smhd", 0, 0, u32(0));
  const dinf = box("dinf", fullBox("dref", 0, 0, u32(1), fullBox("url ", 0, 1)));
  const stbl = box(
    "stbl",
    track.stsd,
    fullBox("stts", 0, 0, u32(0)),
    fullBox("stsc", 0, 0, u32(0)),
    fullBox("stsz", 0, 0, u32(0, 0)),
    fullBox("stco", 0, 0, u32(0)),
  );
  const mdia = box("mdia", mdhd, hdlr, box("minf", mediaHeader, dinf, stbl));
  const trak = track.edts === null ? box("trak", tkhd, mdia) : box("trak", tkhd, track.edts, mdia);
  const mvex = box("mvex", fullBox("trex", 0, 0, u32(track.id, 1, 0, 0, 0)));
  const moov = box("moov", mvhd, trak, mvex);
  const out = new Uint8Array(ftyp.byteLength + moov.byteLength);
  out.set(ftyp);
  out.set(moov, ftyp.byteLength);
  return out;
}
