/**
 * Content-Type by file extension for media roots.
 *
 * Choices worth knowing: `.ts` is MPEG-TS (`video/mp2t`, a media root holds HLS segments, not
 * TypeScript); `.m4v` is `video/mp4` (what `<video>` and MSE recognise; `video/x-m4v` is Apple's
 * alias); `.m4s` is `video/iso.segment` (the IANA type for DASH/CMAF segments); `.opus` is
 * `audio/ogg` (Opus files are Ogg streams; `audio/opus` names the RTP payload); `.srt` is
 * `application/x-subrip` without a charset, since SubRip files are often not UTF-8. Text types
 * carry `charset=utf-8`. Unknown → `application/octet-stream`.
 *
 * @module
 */

/** Content-Type sent when the extension is unknown. */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

const TYPES: ReadonlyMap<string, string> = new Map([
  ["mp4", "video/mp4"],
  ["m4v", "video/mp4"],
  ["m4a", "audio/mp4"],
  ["m4s", "video/iso.segment"],
  ["mov", "video/quicktime"],
  ["webm", "video/webm"],
  ["mkv", "video/x-matroska"],
  ["mp3", "audio/mpeg"],
  ["aac", "audio/aac"],
  ["flac", "audio/flac"],
  ["ogg", "audio/ogg"],
  ["oga", "audio/ogg"],
  ["ogv", "video/ogg"],
  ["opus", "audio/ogg"],
  ["wav", "audio/wav"],
  ["m3u8", "application/vnd.apple.mpegurl"],
  ["mpd", "application/dash+xml"],
  ["ts", "video/mp2t"],
  ["vtt", "text/vtt; charset=utf-8"],
  ["srt", "application/x-subrip"],
  ["jpg", "image/jpeg"],
  ["jpeg", "image/jpeg"],
  ["png", "image/png"],
  ["json", "application/json"],
  ["html", "text/html; charset=utf-8"],
  ["txt", "text/plain; charset=utf-8"],
]);

/** Returns the Content-Type for `path` from its extension (case-insensitive). */
export function contentTypeFor(path: string): string {
  // One-entry memo: a burst of requests asks for the same path.
  if (path !== lastPath) {
    lastType = typeByExtension(path);
    lastPath = path;
  }
  return lastType;
}

let lastPath: string | null = null;
let lastType = DEFAULT_CONTENT_TYPE;

function typeByExtension(path: string): string {
  const dot = path.lastIndexOf(".");
  if (dot < 0 || dot < path.lastIndexOf("/")) return DEFAULT_CONTENT_TYPE;
  const ext = path.slice(dot + 1);
  return TYPES.get(ext) ?? TYPES.get(ext.toLowerCase()) ?? DEFAULT_CONTENT_TYPE;
}
