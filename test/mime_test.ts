/** Unit tests of Content-Type by extension. */
import assert from "node:assert/strict";
import { contentTypeFor, DEFAULT_CONTENT_TYPE } from "../src/media/mime.ts";

Deno.test("mime: every media type the issue lists", () => {
  const expected: Record<string, string> = {
    mp4: "video/mp4",
    m4v: "video/mp4",
    m4a: "audio/mp4",
    m4s: "video/iso.segment",
    mov: "video/quicktime",
    webm: "video/webm",
    mkv: "video/x-matroska",
    mp3: "audio/mpeg",
    aac: "audio/aac",
    flac: "audio/flac",
    ogg: "audio/ogg",
    oga: "audio/ogg",
    ogv: "video/ogg",
    opus: "audio/ogg",
    wav: "audio/wav",
    m3u8: "application/vnd.apple.mpegurl",
    mpd: "application/dash+xml",
    ts: "video/mp2t",
    vtt: "text/vtt; charset=utf-8",
    srt: "application/x-subrip",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    png: "image/png",
    json: "application/json",
    html: "text/html; charset=utf-8",
    txt: "text/plain; charset=utf-8",
  };
  for (const [ext, type] of Object.entries(expected)) {
    assert.equal(contentTypeFor(`/srv/media/a.${ext}`), type, ext);
  }
});

Deno.test("mime: extensions are case-insensitive", () => {
  assert.equal(contentTypeFor("/srv/CLIP.MP4"), "video/mp4");
  assert.equal(contentTypeFor("/srv/live.M3u8"), "application/vnd.apple.mpegurl");
  assert.equal(contentTypeFor("/srv/Sub.VTT"), "text/vtt; charset=utf-8");
});

Deno.test("mime: unknown, missing, or directory-only extensions → octet-stream", () => {
  for (
    const path of ["/srv/a.bin", "/srv/README", "/srv/dir.mp4/file", "/srv/a.", "/srv/a.mp4.part"]
  ) {
    assert.equal(contentTypeFor(path), DEFAULT_CONTENT_TYPE, path);
  }
  assert.equal(contentTypeFor("/srv/archive.tar.ts"), "video/mp2t"); // last extension wins
});
