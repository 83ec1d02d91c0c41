/**
 * RFC 6381 `codecs` strings from codec configuration records, shared by the ISO-BMFF and
 * Matroska probes (Matroska's CodecPrivate holds the same records as the MP4 config boxes).
 * Each function returns undefined when the record is too short to say.
 *
 * @module
 */
import { ByteView, hex } from "./bytes.ts";
import { ProbeError } from "./types.ts";

function safe<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ProbeError) return undefined;
    throw error;
  }
}

/** `avc1.PPCCLL` from an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1). */
export function avcCodecString(prefix: string, record: Uint8Array): string | undefined {
  return safe(() => {
    const v = new ByteView(record);
    return `${prefix}.${hex(v.u8(1))}${hex(v.u8(2))}${hex(v.u8(3))}`;
  });
}

/**
 * `hvc1.1.6.L93.B0` from an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 Annex E.3):
 * profile space + profile, compatibility flags bit-reversed in hex, tier + level, then the
 * constraint bytes in hex without trailing zero bytes.
 */
export function hevcCodecString(prefix: string, record: Uint8Array): string | undefined {
  return safe(() => {
    const v = new ByteView(record);
    const b1 = v.u8(1);
    const space = ["", "A", "B", "C"][b1 >> 6];
    const tier = (b1 & 0x20) ? "H" : "L";
    const profile = b1 & 0x1f;
    let compat = v.u32(2);
    let reversed = 0;
    for (let i = 0; i < 32; i++) {
      reversed = (reversed << 1) | (compat & 1);
      compat >>>= 1;
    }
    const constraints: number[] = [];
    for (let i = 0; i < 6; i++) constraints.push(v.u8(6 + i));
    while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
    const level = v.u8(12);
    const tail = constraints.map((b) => `.${b.toString(16).toUpperCase()}`).join("");
    return `${prefix}.${space}${profile}.${(reversed >>> 0).toString(16).toUpperCase()}.` +
      `${tier}${level}${tail}`;
  });
}

/** `av01.P.LLT.DD` from an AV1CodecConfigurationRecord (AV1 ISOBMFF binding §2.3, §5). */
export function av1CodecString(record: Uint8Array): string | undefined {
  return safe(() => {
    const v = new ByteView(record);
    const b1 = v.u8(1);
    const b2 = v.u8(2);
    // b2: seq_tier_0, high_bitdepth, twelve_bit, monochrome, chroma subsampling x/y, position.
    const depth = (b2 & 0x40) ? ((b2 & 0x20) ? 12 : 10) : 8;
    const level = String(b1 & 0x1f).padStart(2, "0");
    return `av01.${b1 >> 5}.${level}${(b2 & 0x80) ? "H" : "M"}.${String(depth).padStart(2, "0")}`;
  });
}

/** `vp09.PP.LL.DD` from a `vpcC` full box payload (VP Codec ISO-BMFF binding §5). */
export function vp9CodecString(prefix: string, payload: Uint8Array): string | undefined {
  return safe(() => {
    const v = new ByteView(payload);
    const two = (n: number) => String(n).padStart(2, "0");
    return `${prefix}.${two(v.u8(4))}.${two(v.u8(5))}.${two(v.u8(6) >> 4)}`;
  });
}

/** Facts from an MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1). */
export interface AudioSpecificConfig {
  /** audioObjectType (2 = AAC-LC, 5 = SBR/HE-AAC, 29 = PS). */
  readonly objectType: number;
  /** channelConfiguration mapped to a channel count; undefined when 0 (defined in-stream). */
  readonly channels: number | undefined;
}

/** Parses the leading fields of an AudioSpecificConfig. */
export function parseAudioSpecificConfig(asc: Uint8Array): AudioSpecificConfig | undefined {
  return safe(() => {
    const bits = new BitReader(asc);
    let objectType = bits.read(5);
    if (objectType === 31) objectType = 32 + bits.read(6);
    const frequencyIndex = bits.read(4);
    if (frequencyIndex === 0xf) bits.read(24);
    const configuration = bits.read(4);
    // channelConfiguration 1..6 are that many channels, 7 is 7.1 (8 channels).
    const channels = configuration === 0 ? undefined : configuration === 7 ? 8 : configuration;
    return { objectType, channels };
  });
}

/** `mp4a.40.2` style string from an objectTypeIndication and an optional AudioSpecificConfig. */
export function mp4aCodecString(objectTypeIndication: number, asc?: AudioSpecificConfig): string {
  const oti = hex(objectTypeIndication).toUpperCase();
  return asc && objectTypeIndication === 0x40 ? `mp4a.${oti}.${asc.objectType}` : `mp4a.${oti}`;
}

/** Facts from an `esds` ES_Descriptor (ISO/IEC 14496-1 §7.2.6.5). */
export interface ElementaryStreamDescriptor {
  /** objectTypeIndication of the DecoderConfigDescriptor (0x40 = MPEG-4 audio). */
  readonly objectTypeIndication: number;
  /** DecoderSpecificInfo bytes (an AudioSpecificConfig for MPEG-4 audio). */
  readonly decoderSpecificInfo: Uint8Array | undefined;
}

/** Parses an `esds` full box payload (version/flags included). */
export function parseEsds(payload: Uint8Array): ElementaryStreamDescriptor | undefined {
  return safe(() => {
    const v = new ByteView(payload);
    let p = 4;
    const descriptor = (tag: number): number => {
      if (v.u8(p, "esds") !== tag) throw new ProbeError(`esds: expected descriptor ${tag}`);
      p++;
      // Expandable size: up to 4 bytes of 7 bits, high bit = more follow (§8.3.3).
      let size = 0;
      for (let i = 0; i < 4; i++) {
        const b = v.u8(p++, "esds");
        size = (size << 7) | (b & 0x7f);
        if (!(b & 0x80)) break;
      }
      return size;
    };
    descriptor(0x03);
    p += 2; // ES_ID
    const flags = v.u8(p++, "esds");
    if (flags & 0x80) p += 2; // dependsOn_ES_ID
    if (flags & 0x40) p += 1 + v.u8(p, "esds"); // URL
    if (flags & 0x20) p += 2; // OCR_ES_Id
    const configSize = descriptor(0x04);
    const configEnd = p + configSize;
    const objectTypeIndication = v.u8(p, "esds");
    p += 13;
    let decoderSpecificInfo: Uint8Array | undefined;
    if (p < configEnd && v.u8(p, "esds") === 0x05) {
      const size = descriptor(0x05);
      v.need(p, size, "esds");
      decoderSpecificInfo = payload.subarray(p, p + size);
    }
    return { objectTypeIndication, decoderSpecificInfo };
  });
}

/** MSB-first bit reader. */
class BitReader {
  #bit = 0;
  constructor(readonly bytes: Uint8Array) {}

  read(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const byte = this.#bit >> 3;
      if (byte >= this.bytes.byteLength) throw new ProbeError("AudioSpecificConfig is truncated");
      value = value * 2 + ((this.bytes[byte] >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return value;
  }
}
