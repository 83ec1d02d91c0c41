/**
 * HLS playlist probe (RFC 8216): a media playlist that is complete (`#EXT-X-ENDLIST`, i.e. VOD)
 * has a duration, the sum of its `#EXTINF` durations (§4.3.2.1); a live one has none. A master
 * playlist names its variants' `RESOLUTION` and `CODECS` (§4.3.4.2); the first variant is
 * reported. Segments are never read.
 *
 * @module
 */
import type { ByteSource } from "./reader.ts";
import { type MediaInfo, ProbeError } from "./types.ts";

/** Largest playlist read (a day of 2 s segments is ~3 MiB; beyond that it is not a playlist). */
export const MAX_PLAYLIST_BYTES = 8 * 1024 * 1024;

/** Probes an HLS playlist. Throws {@linkcode ProbeError} when it is not one. */
export async function probeM3u8(source: ByteSource): Promise<MediaInfo> {
  if (source.size === 0) throw new ProbeError("empty file");
  if (source.size > MAX_PLAYLIST_BYTES) throw new ProbeError("playlist too large");
  const bytes = await source.read(0, source.size);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ProbeError("playlist is not UTF-8 text (RFC 8216 §4.1)");
  }
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  if (lines[0].trim() !== "#EXTM3U") throw new ProbeError("not an HLS playlist (no #EXTM3U)");
  const info: MediaInfo = { container: "hls" };
  let total = 0;
  let segments = 0;
  let ended = false;
  for (const raw of lines) {
    const line = raw.trim();
    if (line.startsWith("#EXTINF:")) {
      const seconds = parseFloat(line.slice(8));
      if (!Number.isFinite(seconds) || seconds < 0) throw new ProbeError(`bad ${line}`);
      total += seconds;
      segments++;
    } else if (line === "#EXT-X-ENDLIST") {
      ended = true;
    } else if (line.startsWith("#EXT-X-STREAM-INF:") && info.variants === undefined) {
      const attributes = parseAttributes(line.slice(18));
      const resolution = /^(\d+)x(\d+)$/.exec(attributes.get("RESOLUTION") ?? "");
      if (resolution) {
        info.width = Number(resolution[1]);
        info.height = Number(resolution[2]);
      }
      const codecs = attributes.get("CODECS")?.split(",").map((c) => c.trim()) ?? [];
      const video = codecs.find((c) => /^(avc[13]|hvc1|hev1|av01|vp0?[89])/.test(c));
      const audio = codecs.find((c) => /^(mp4a|opus|ac-3|ec-3|flac)/.test(c));
      if (video) info.videoCodec = video;
      if (audio) info.audioCodec = audio;
      info.variants = 0;
    }
    if (line.startsWith("#EXT-X-STREAM-INF:")) info.variants = (info.variants ?? 0) + 1;
  }
  info.live = info.variants === undefined && !ended;
  if (ended && segments > 0) info.duration = Math.round(total * 1e6) / 1e6;
  return info;
}

/** Parses an attribute list (RFC 8216 §4.2): `NAME=value` pairs, values maybe quoted. */
function parseAttributes(list: string): Map<string, string> {
  const attributes = new Map<string, string>();
  const pattern = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
  for (const match of list.matchAll(pattern)) {
    const value = match[2].startsWith('"') ? match[2].slice(1, -1) : match[2];
    attributes.set(match[1], value);
  }
  return attributes;
}
