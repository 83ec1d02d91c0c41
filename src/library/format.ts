/** Human-readable formatting of library facts for the web pages. @module */
import type { FileEntry } from "./library.ts";

/** `m:ss` or `h:mm:ss` from seconds (rounded down to whole seconds). */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "";
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Size in B, KiB, MiB, GiB or TiB with up to one decimal. */
export function formatSize(bytes: number | undefined): string {
  if (bytes === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** `WxH` when both are known. */
export function formatResolution(entry: Pick<FileEntry, "width" | "height">): string {
  return entry.width && entry.height ? `${entry.width}×${entry.height}` : "";
}

/** Video and audio codecs with the channel count, e.g. `avc1.64001e, mp4a.40.2 (2 ch)`. */
export function formatCodecs(
  entry: Pick<FileEntry, "videoCodec" | "audioCodec" | "channels">,
): string {
  const parts: string[] = [];
  if (entry.videoCodec) parts.push(entry.videoCodec);
  if (entry.audioCodec) {
    parts.push(entry.channels ? `${entry.audioCodec} (${entry.channels} ch)` : entry.audioCodec);
  }
  return parts.join(", ");
}

/** `YYYY-MM-DD HH:MM` in UTC from an ISO 8601 time; "" when it does not parse. */
export function formatDate(iso: string | undefined): string {
  if (iso === undefined) return "";
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return "";
  return new Date(time).toISOString().slice(0, 16).replace("T", " ");
}
