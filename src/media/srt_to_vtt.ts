/**
 * SubRip (`.srt`) to WebVTT on the fly, so a `.srt` next to a video is offered to `<track>`
 * (which takes WebVTT only, W3C WebVTT §4 "file format").
 *
 * - {@linkcode srtToVtt}: the conversion. Output starts with `WEBVTT` and a blank line (WebVTT
 *   §4.1); a BOM is dropped, CRLF/CR become LF; each SRT block `index / timing / text` becomes a
 *   cue whose identifier is the SRT index; timings `HH:MM:SS,mmm` become `HH:MM:SS.mmm` (WebVTT
 *   §4.2, the decimal separator is a full stop; one-digit hours and `.` are accepted too). Cue text
 *   is kept as written, including the `<i>`/`<b>`/`<u>` tags both formats share; a line that is
 *   `-->` or contains it would end the cue in WebVTT (§4.1), so `-->` in text becomes `--&gt;`.
 *   Blocks without a valid timing line are skipped, as players skip them.
 * - {@linkcode decodeSrt}: bytes → text: UTF-8 (with or without BOM), or Windows-1252 when the
 *   bytes are not UTF-8 (the usual encoding of older `.srt` files).
 * - {@linkcode srtAsVttResponse}: answers a request for the converted file; conditional requests,
 *   ranges and HEAD as for files (RFC 9110 §13, §14), ETag derived from the `.srt` file's
 *   identity. A `.srt` above {@linkcode MAX_SRT_BYTES} is not converted (the caller answers 404),
 *   so memory per request stays bounded.
 *
 * @module
 */
import type { FileIdentity } from "../file_body.ts";
import { type FileResponseOptions, virtualResponse } from "../file_response.ts";
import { strongEtag } from "./etag.ts";
import type { FileStat } from "./stat.ts";

/** Largest `.srt` converted (a feature film's subtitles are ~100 KiB). */
export const MAX_SRT_BYTES = 4 * 1024 * 1024;

/** Content-Type of the converted subtitles. */
export const VTT_CONTENT_TYPE = "text/vtt; charset=utf-8";

const TIMING =
  /^\s*(\d{1,3}):(\d{1,2}):(\d{1,2})[,.](\d{1,3})\s*-->\s*(\d{1,3}):(\d{1,2}):(\d{1,2})[,.](\d{1,3})/;

/** Converts SubRip text to WebVTT text. */
export function srtToVtt(srt: string): string {
  const text = srt.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const cues: string[] = [];
  for (const block of text.split(/\n[ \t]*\n/)) {
    const lines = block.split("\n");
    while (lines.length > 0 && lines[0].trim() === "") lines.shift();
    if (lines.length === 0) continue;
    let id: string | undefined;
    const timingAt = lines.findIndex((line) => TIMING.test(line));
    if (timingAt < 0 || timingAt > 1) continue;
    if (timingAt === 1) id = lines[0].trim();
    const match = TIMING.exec(lines[timingAt])!;
    const start = timestamp(match[1], match[2], match[3], match[4]);
    const end = timestamp(match[5], match[6], match[7], match[8]);
    if (start === null || end === null) continue;
    const body = lines.slice(timingAt + 1).map((line) => line.replaceAll("-->", "--&gt;"));
    while (body.length > 0 && body[body.length - 1].trim() === "") body.pop();
    const cue: string[] = [];
    // A cue identifier must not contain "-->" (WebVTT §4.1); SRT indices are digits anyway.
    if (id !== undefined && id !== "" && !id.includes("-->")) cue.push(id);
    cue.push(`${start} --> ${end}`);
    cue.push(...body);
    cues.push(cue.join("\n"));
  }
  return cues.length === 0 ? "WEBVTT\n" : `WEBVTT\n\n${cues.join("\n\n")}\n`;
}

/** `HH:MM:SS.mmm` (hours at least two digits), or null for minutes/seconds above 59. */
function timestamp(h: string, m: string, s: string, ms: string): string | null {
  if (Number(m) > 59 || Number(s) > 59) return null;
  return `${h.padStart(2, "0")}:${m.padStart(2, "0")}:${s.padStart(2, "0")}.${ms.padEnd(3, "0")}`;
}

/** Decodes `.srt` bytes: UTF-8 when valid, else Windows-1252. */
export function decodeSrt(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return new TextDecoder("windows-1252").decode(bytes);
  }
}

/** One converted file, kept while its source's identity stays the same. */
let last: { key: string; bytes: Uint8Array } | undefined;

function identityKeyOf(identity: FileIdentity): string {
  return `${identity.dev}:${identity.ino}:${identity.size}:${identity.mtimeNs}`;
}

/**
 * Answers `request` with the `.srt` file at `real` (stat `stat`) converted to WebVTT, or null
 * when it is too large or cannot be read (the caller answers 404).
 */
export async function srtAsVttResponse(
  request: Request,
  real: string,
  stat: FileStat,
  options: FileResponseOptions,
): Promise<Response | null> {
  if (stat.identity.size > MAX_SRT_BYTES) return null;
  const key = identityKeyOf(stat.identity);
  let bytes: Uint8Array;
  if (last !== undefined && last.key === key) {
    bytes = last.bytes;
  } else {
    let source: Uint8Array;
    try {
      source = await Deno.readFile(real);
    } catch {
      return null;
    }
    if (source.byteLength > MAX_SRT_BYTES) return null;
    bytes = new TextEncoder().encode(srtToVtt(decodeSrt(source)));
    last = { key, bytes };
  }
  // The tag names the conversion of exactly this version of the .srt file.
  const etag = strongEtag(stat.identity).slice(0, -1) + '-vtt"';
  return virtualResponse(request, {
    parts: [bytes],
    byteLength: bytes.byteLength,
    etag,
    lastModifiedMs: stat.mtimeMs,
    contentType: VTT_CONTENT_TYPE,
  }, options);
}
