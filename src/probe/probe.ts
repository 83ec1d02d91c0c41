/**
 * Entry point of the media probes: picks the parser by file extension (ISO-BMFF, WebM/Matroska,
 * HLS playlists) and reads the file through a bounded window. No ffprobe at run time.
 *
 * @example
 * ```ts
 * const info = await probeFile("/srv/media/movie.mp4"); // { container: "mp4", duration: 8, ... }
 * ```
 * @module
 */
import { probeMatroska } from "./ebml.ts";
import { probeIsoBmff } from "./isobmff.ts";
import { probeM3u8 } from "./m3u8.ts";
import { type ByteSource, FileSource } from "./reader.ts";
import { type MediaInfo, ProbeError } from "./types.ts";

/** Which parser reads a file. */
export type ProbeFormat = "isobmff" | "matroska" | "hls";

const FORMATS: ReadonlyMap<string, ProbeFormat> = new Map([
  ["mp4", "isobmff"],
  ["m4v", "isobmff"],
  ["m4a", "isobmff"],
  ["mov", "isobmff"],
  ["webm", "matroska"],
  ["mkv", "matroska"],
  ["mka", "matroska"],
  ["m3u8", "hls"],
]);

/** The parser for `name` by extension (case-insensitive), or undefined when none applies. */
export function probeFormatFor(name: string): ProbeFormat | undefined {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? undefined : FORMATS.get(name.slice(dot + 1).toLowerCase());
}

/** Probes bytes from `source` with the parser for `format`. */
export function probeSource(source: ByteSource, format: ProbeFormat): Promise<MediaInfo> {
  if (format === "isobmff") return probeIsoBmff(source);
  if (format === "matroska") return probeMatroska(source);
  return probeM3u8(source);
}

/**
 * Probes the file at `path` with the parser for `format` (default: by extension). Throws
 * {@linkcode ProbeError} for malformed, truncated or unsupported files and the usual Deno errors
 * when the file cannot be opened.
 */
export async function probeFile(path: string, format?: ProbeFormat): Promise<MediaInfo> {
  const chosen = format ?? probeFormatFor(path);
  if (chosen === undefined) throw new ProbeError("no probe for this file type");
  using file = await Deno.open(path, { read: true });
  const { size } = await file.stat();
  return await probeSource(new FileSource(file, size), chosen);
}

export { type MediaInfo, ProbeError } from "./types.ts";
