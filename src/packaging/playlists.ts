/**
 * HLS playlists (RFC 8216bis: multivariant playlist with an audio rendition group, VOD media
 * playlists with `EXT-X-MAP`) and the DASH MPD (ISO/IEC 23009-1, static, one SegmentTemplate
 * with a SegmentTimeline per Representation), all from one {@linkcode SegmentMap}. Every URL is
 * relative to the playlist: `<rendition>.m3u8`, `<rendition>/init.mp4`, `<rendition>/<n>.m4s`
 * with `n` from 1.
 *
 * @module
 */
import type { SegmentMap, TrackSegments } from "./segment_map.ts";

/** The rendition id of a track: `v<id>` or `a<id>`. */
export function renditionId(segments: TrackSegments): string {
  return `${segments.track.kind === "video" ? "v" : "a"}${segments.track.id}`;
}

/** Quoted-string safe text (RFC 8216 §4.2: no `"`, CR or LF). */
function quoted(text: string): string {
  return text.replace(/["\r\n]/g, "");
}

/** The multivariant playlist. */
export function masterPlaylist(map: SegmentMap): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"];
  const audio = map.audio;
  if (map.video === null) {
    for (const a of audio) {
      lines.push(
        `#EXT-X-STREAM-INF:BANDWIDTH=${a.peakBitrate},AVERAGE-BANDWIDTH=${a.averageBitrate},` +
          `CODECS="${a.track.codecs}"`,
        `${renditionId(a)}.m3u8`,
      );
    }
    return lines.join("\n") + "\n";
  }
  audio.forEach((a, i) => {
    const language = a.track.language !== "und" ? `,LANGUAGE="${a.track.language}"` : "";
    const name = quoted(
      `Audio ${i + 1}${a.track.language !== "und" ? ` (${a.track.language})` : ""}`,
    );
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="${name}"${language},` +
        `DEFAULT=${i === 0 ? "YES" : "NO"},AUTOSELECT=YES,CHANNELS="${a.track.channels || 2}",` +
        `URI="${renditionId(a)}.m3u8"`,
    );
  });
  const v = map.video;
  const peakAudio = Math.max(0, ...audio.map((a) => a.peakBitrate));
  const averageAudio = Math.max(0, ...audio.map((a) => a.averageBitrate));
  const codecs = [v.track.codecs, ...new Set(audio.map((a) => a.track.codecs))].join(",");
  let inf = `#EXT-X-STREAM-INF:BANDWIDTH=${v.peakBitrate + peakAudio},` +
    `AVERAGE-BANDWIDTH=${v.averageBitrate + averageAudio},CODECS="${codecs}"`;
  if (v.track.width > 0 && v.track.height > 0) {
    inf += `,RESOLUTION=${v.track.width}x${v.track.height}`;
  }
  if (v.frameRate > 0) inf += `,FRAME-RATE=${v.frameRate.toFixed(3)}`;
  if (audio.length > 0) inf += `,AUDIO="audio"`;
  lines.push(inf, `${renditionId(v)}.m3u8`);
  return lines.join("\n") + "\n";
}

/** The VOD media playlist of one rendition. */
export function mediaPlaylist(segments: TrackSegments): string {
  const { times, track } = segments;
  const id = renditionId(segments);
  const n = times.length - 1;
  let longest = 0;
  const entries: string[] = [];
  for (let k = 0; k < n; k++) {
    const seconds = (times[k + 1] - times[k]) / track.timescale;
    longest = Math.max(longest, seconds);
    entries.push(`#EXTINF:${seconds.toFixed(6)},`, `${id}/${k + 1}.m4s`);
  }
  return [
    "#EXTM3U",
    "#EXT-X-VERSION:7",
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.round(longest))}`,
    "#EXT-X-MEDIA-SEQUENCE:1",
    "#EXT-X-PLAYLIST-TYPE:VOD",
    "#EXT-X-INDEPENDENT-SEGMENTS",
    `#EXT-X-MAP:URI="${id}/init.mp4"`,
    ...entries,
    "#EXT-X-ENDLIST",
    "",
  ].join("\n");
}

/** An xs:duration of `seconds`. */
function isoDuration(seconds: number): string {
  return `PT${seconds.toFixed(3)}S`;
}

/** The SegmentTimeline of a rendition: runs of equal durations become `r`. */
function timeline(segments: TrackSegments): string {
  const { times } = segments;
  const out: string[] = [];
  let k = 0;
  const n = times.length - 1;
  while (k < n) {
    const d = times[k + 1] - times[k];
    let r = 0;
    while (k + r + 1 < n && times[k + r + 2] - times[k + r + 1] === d) r++;
    const t = k === 0 ? ` t="${Math.round(times[0])}"` : "";
    out.push(`<S${t} d="${Math.round(d)}"${r > 0 ? ` r="${r}"` : ""}/>`);
    k += r + 1;
  }
  return out.join("");
}

function representation(segments: TrackSegments, attributes: string): string {
  const id = renditionId(segments);
  return `      <Representation id="${id}" codecs="${segments.track.codecs}" ` +
    `bandwidth="${segments.peakBitrate}"${attributes}>\n` +
    `        <SegmentTemplate timescale="${segments.track.timescale}" ` +
    `initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/$Number$.m4s" ` +
    `startNumber="1">\n` +
    `          <SegmentTimeline>${timeline(segments)}</SegmentTimeline>\n` +
    `        </SegmentTemplate>\n` +
    `      </Representation>\n`;
}

/** The static MPD. */
export function dashManifest(map: SegmentMap): string {
  let sets = "";
  let set = 1;
  const v = map.video;
  if (v !== null) {
    const rate = v.frameRate > 0 ? ` frameRate="${Math.round(v.frameRate * 1000)}/1000"` : "";
    sets += `    <AdaptationSet id="${set++}" contentType="video" mimeType="video/mp4" ` +
      `segmentAlignment="true" startWithSAP="1">\n` +
      representation(v, ` width="${v.track.width}" height="${v.track.height}"${rate}`) +
      `    </AdaptationSet>\n`;
  }
  for (const a of map.audio) {
    const lang = a.track.language !== "und" ? ` lang="${a.track.language}"` : "";
    sets += `    <AdaptationSet id="${set++}" contentType="audio" mimeType="audio/mp4"${lang} ` +
      `segmentAlignment="true" startWithSAP="1">\n` +
      `      <AudioChannelConfiguration ` +
      `schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" ` +
      `value="${a.track.channels || 2}"/>\n` +
      representation(a, ` audioSamplingRate="${Math.round(a.track.sampleRate)}"`) +
      `    </AdaptationSet>\n`;
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" ` +
    `profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" ` +
    `mediaPresentationDuration="${isoDuration(map.durationS)}" minBufferTime="PT2S">\n` +
    `  <Period id="0" start="PT0S">\n${sets}  </Period>\n</MPD>\n`;
}
