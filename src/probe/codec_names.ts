/**
 * Human names for the codec strings the probes report (RFC 6381 `codecs` values, sample-entry
 * four-character codes and lower-cased Matroska CodecIDs): `avc1.64001f` → "H.264 High",
 * `mp4a.40.2` → "AAC-LC". The library pages show them next to the exact string.
 *
 * Sources: H.264 `profile_idc` (ITU-T H.264 Annex A.2), HEVC `general_profile_idc` (H.265
 * Annex A.3), AV1 `seq_profile` (AV1 spec §6.4.1), VP9 profile (VP9 bitstream §7.2), MPEG-4
 * audio object types (ISO/IEC 14496-3 §1.5.1.1) and MP4 objectTypeIndication values (MP4RA).
 *
 * @module
 */

const AVC_PROFILES: Readonly<Record<number, string>> = {
  66: "Baseline",
  77: "Main",
  88: "Extended",
  100: "High",
  110: "High 10",
  122: "High 4:2:2",
  244: "High 4:4:4",
  44: "CAVLC 4:4:4",
  83: "Scalable Baseline",
  86: "Scalable High",
  118: "Multiview High",
  128: "Stereo High",
};

const HEVC_PROFILES: Readonly<Record<number, string>> = {
  1: "Main",
  2: "Main 10",
  3: "Main Still Picture",
  4: "Range Extensions",
  5: "High Throughput",
  9: "Screen Content",
};

const AV1_PROFILES = ["Main", "High", "Professional"];

/** MPEG-4 audio object types (the third part of `mp4a.40.N`). */
const AUDIO_OBJECT_TYPES: Readonly<Record<number, string>> = {
  1: "AAC Main",
  2: "AAC-LC",
  3: "AAC SSR",
  4: "AAC LTP",
  5: "HE-AAC",
  6: "AAC Scalable",
  23: "AAC-LD",
  29: "HE-AAC v2",
  34: "MP3",
  39: "AAC-ELD",
  42: "xHE-AAC",
};

/** objectTypeIndication values other than 0x40 (the second part of `mp4a.XX`). */
const AUDIO_OTIS: Readonly<Record<string, string>> = {
  "40": "AAC",
  "66": "AAC Main",
  "67": "AAC-LC",
  "68": "AAC SSR",
  "69": "MP3",
  "6b": "MP3",
  "a5": "AC-3",
  "a6": "E-AC-3",
  "a9": "DTS",
  "ad": "Opus",
};

/** Names by the whole string (lower case): fourccs, WebM names, Matroska CodecIDs. */
const SIMPLE: Readonly<Record<string, string>> = {
  avc1: "H.264",
  avc3: "H.264",
  hvc1: "H.265",
  hev1: "H.265",
  av01: "AV1",
  vp8: "VP8",
  vp08: "VP8",
  vp9: "VP9",
  vp09: "VP9",
  mp4a: "AAC",
  mp4v: "MPEG-4 Visual",
  opus: "Opus",
  vorbis: "Vorbis",
  flac: "FLAC",
  alac: "ALAC",
  "ac-3": "AC-3",
  "ec-3": "E-AC-3",
  "ac-4": "AC-4",
  mp3: "MP3",
  "a_mpeg/l3": "MP3",
  theora: "Theora",
  ipcm: "PCM",
  lpcm: "PCM",
  sowt: "PCM",
  twos: "PCM",
  apch: "ProRes 422 HQ",
  apcn: "ProRes 422",
  apcs: "ProRes 422 LT",
  apco: "ProRes 422 Proxy",
  ap4h: "ProRes 4444",
  v_theora: "Theora",
  "v_mpeg2": "MPEG-2",
  "v_mpeg4/iso/asp": "MPEG-4 Visual",
  "v_mpegh/iso/hevc": "H.265",
  "v_mpeg4/iso/avc": "H.264",
  a_aac: "AAC",
  a_dts: "DTS",
  a_truehd: "TrueHD",
  "a_pcm/int/lit": "PCM",
  "a_pcm/float/ieee": "PCM",
  "a_mpeg/l2": "MP2",
};

/**
 * A human name for one codec string, e.g. "H.264 High" for `avc1.64001f`, "H.265 Main 10" for
 * `hvc1.2.4.L120.B0`, "AAC-LC" for `mp4a.40.2`, "Opus" for `opus`; undefined when unknown.
 */
export function codecName(codec: string): string | undefined {
  const lower = codec.trim().toLowerCase();
  if (lower === "") return undefined;
  const dot = lower.indexOf(".");
  const head = dot < 0 ? lower : lower.slice(0, dot);
  const rest = dot < 0 ? "" : lower.slice(dot + 1);
  if (rest === "") return SIMPLE[lower];
  switch (head) {
    case "avc1":
    case "avc3":
      return avcName(rest);
    case "hvc1":
    case "hev1":
      return hevcName(rest);
    case "av01":
      return av1Name(rest);
    case "vp09":
      return vp9Name(rest);
    case "vp08":
      return "VP8";
    case "mp4a":
      return mp4aName(rest);
    case "mp4v":
      return "MPEG-4 Visual";
    default:
      return SIMPLE[head];
  }
}

/** `avc1.PPCCLL`: profile_idc PP; constraint_set1 (0x40) on Baseline means Constrained Baseline. */
function avcName(rest: string): string {
  if (!/^[0-9a-f]{6}$/.test(rest)) return "H.264";
  const profile = parseInt(rest.slice(0, 2), 16);
  const constraints = parseInt(rest.slice(2, 4), 16);
  if (profile === 66 && (constraints & 0x40)) return "H.264 Constrained Baseline";
  const name = AVC_PROFILES[profile];
  return name ? `H.264 ${name}` : "H.264";
}

/** `hvc1.[A-C]?P.…`: general_profile_idc P (profile space letter optional). */
function hevcName(rest: string): string {
  const match = /^[a-c]?(\d{1,2})(\.|$)/.exec(rest);
  const name = match ? HEVC_PROFILES[Number(match[1])] : undefined;
  return name ? `H.265 ${name}` : "H.265";
}

/** `av01.P.LLT.DD`: seq_profile P and bit depth DD (8 is not named). */
function av1Name(rest: string): string {
  const match = /^(\d)\.\d{2}[mh]\.(\d{2})/.exec(rest);
  if (!match) return "AV1";
  const profile = AV1_PROFILES[Number(match[1])];
  const depth = Number(match[2]);
  const parts = ["AV1"];
  if (profile && profile !== "Main") parts.push(profile);
  if (depth !== 8) parts.push(`${depth}-bit`);
  return parts.join(" ");
}

/** `vp09.PP.LL.DD`: profile 0 is plain "VP9", others are named; bit depth above 8 is named. */
function vp9Name(rest: string): string {
  const match = /^(\d{2})\.\d{2}\.(\d{2})/.exec(rest);
  if (!match) return "VP9";
  const profile = Number(match[1]);
  const depth = Number(match[2]);
  const parts = ["VP9"];
  if (profile !== 0) parts.push(`Profile ${profile}`);
  if (depth !== 8) parts.push(`${depth}-bit`);
  return parts.join(" ");
}

/** `mp4a.40.N` (MPEG-4 audio object type N) or `mp4a.XX` (objectTypeIndication XX, hex). */
function mp4aName(rest: string): string {
  const [oti, objectType] = rest.split(".");
  if (oti === "40" && objectType !== undefined) {
    return AUDIO_OBJECT_TYPES[Number(objectType)] ?? "AAC";
  }
  return AUDIO_OTIS[oti.padStart(2, "0")] ?? "MPEG-4 audio";
}
