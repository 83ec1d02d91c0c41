/**
 * Helpers of the packaging tests: generate small MP4 inputs with ffmpeg, run ffprobe, and parse
 * fMP4 media segments (styp/moof/mdat) independently of the server's own writer.
 *
 * @module
 */

/** Runs `cmd` and returns stdout, stderr and the exit code (never throws on failure). */
export async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs `cmd` and throws with its stderr when it fails. */
export async function runOk(cmd: string, args: string[]): Promise<string> {
  const out = await run(cmd, args);
  if (out.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${out.stderr}`);
  return out.stdout;
}

/** True when this ffmpeg has the encoder `name`. */
export async function hasEncoder(name: string): Promise<boolean> {
  const out = await run("ffmpeg", ["-hide_banner", "-encoders"]);
  return new RegExp(`\\s${name}\\s`).test(out.stdout);
}

const VIDEO_IN = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25"];
const AUDIO_IN = (hz: number) => ["-f", "lavfi", "-i", `sine=frequency=${hz}:sample_rate=48000`];
const H264 = ["-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast"];
const AAC = ["-c:a", "aac", "-b:a", "48k", "-ac", "2"];

/** The inputs the packaging tests run on, by file name: ffmpeg arguments after `-y -v error`. */
export const INPUTS: Readonly<Record<string, string[]>> = {
  // B-frames (ctts) and so an edit list shifting the first frame to 0; AAC priming edit too
  "bframes.mp4": [
    ...VIDEO_IN,
    ...AUDIO_IN(440),
    "-t",
    "4",
    ...H264,
    "-bf",
    "2",
    "-g",
    "25",
    ...AAC,
    "-movflags",
    "+faststart",
  ],
  // irregular GOPs: key frames at odd times and a long maximum GOP
  "gops.mp4": [
    ...VIDEO_IN,
    ...AUDIO_IN(330),
    "-t",
    "5",
    ...H264,
    "-bf",
    "1",
    "-g",
    "37",
    "-keyint_min",
    "5",
    "-sc_threshold",
    "40",
    "-force_key_frames",
    "0,0.44,1.8,2.12,3.96",
    ...AAC,
    "-movflags",
    "+faststart",
  ],
  // moov after mdat (no faststart)
  "moov-at-end.mp4": [...VIDEO_IN, ...AUDIO_IN(550), "-t", "4", ...H264, "-bf", "2", ...AAC],
  // QuickTime: a version-1 sound description with esds inside `wave` (rewritten for players)
  "clip.mov": [...VIDEO_IN, ...AUDIO_IN(500), "-t", "4", ...H264, "-bf", "2", "-g", "25", ...AAC],
  // audio only: cut at the segment duration
  "audio.m4a": [...AUDIO_IN(660), "-t", "5", ...AAC],
  // two audio tracks in two languages
  "two-audio.mp4": [
    ...VIDEO_IN,
    ...AUDIO_IN(440),
    ...AUDIO_IN(880),
    "-t",
    "4",
    "-map",
    "0:v",
    "-map",
    "1:a",
    "-map",
    "2:a",
    ...H264,
    ...AAC,
    "-metadata:s:a:0",
    "language=eng",
    "-metadata:s:a:1",
    "language=fra",
    "-movflags",
    "+faststart",
  ],
};

/** The H.265 input (only when libx265 is present). */
export const HEVC_INPUT: [string, string[]] = ["hevc.mp4", [
  ...VIDEO_IN,
  ...AUDIO_IN(440),
  "-t",
  "3",
  "-pix_fmt",
  "yuv420p",
  "-c:v",
  "libx265",
  "-preset",
  "ultrafast",
  "-x265-params",
  "log-level=error:bframes=2:keyint=25",
  "-tag:v",
  "hvc1",
  ...AAC,
  "-movflags",
  "+faststart",
]];

/** Writes `name` into `dir` with ffmpeg `args`. */
export async function makeInput(dir: string, name: string, args: string[]): Promise<string> {
  const path = `${dir}/${name}`;
  await runOk("ffmpeg", ["-y", "-v", "error", ...args, path]);
  return path;
}

/** One stream as ffprobe reports it. */
export interface ProbedStream {
  index: number;
  /** Track ID in hex for MP4 (`0x1`). */
  id?: string;
  codec_type: string;
  codec_name: string;
  nb_frames?: string;
  nb_read_frames?: string;
  r_frame_rate?: string;
  sample_rate?: string;
}

/** ffprobe's streams and format duration of `input`; `countFrames` decodes every frame. */
export async function probe(
  input: string,
  countFrames = false,
): Promise<{ duration: number; streams: ProbedStream[] }> {
  const json = JSON.parse(
    await runOk("ffprobe", [
      "-v",
      "error",
      ...(countFrames ? ["-count_frames"] : []),
      "-of",
      "json",
      "-show_entries",
      "format=duration:stream=index,id,codec_type,codec_name,nb_frames,nb_read_frames," +
      "r_frame_rate,sample_rate",
      input,
    ]),
  );
  return { duration: Number(json.format.duration), streams: json.streams };
}

/** The packets (file position and size, decode order) of stream `index` of a local file. */
export async function packets(
  path: string,
  index: number,
): Promise<{ pos: number; size: number }[]> {
  const json = JSON.parse(
    await runOk("ffprobe", [
      ...["-v", "error", "-of", "json", "-select_streams", String(index)],
      ...["-show_entries", "packet=pos,size", path],
    ]),
  );
  return json.packets.map((p: { pos: string; size: string }) => ({
    pos: Number(p.pos),
    size: Number(p.size),
  }));
}

/** What a media segment holds, parsed box by box. */
export interface ParsedSegment {
  /** Top-level box types in order. */
  boxes: string[];
  /** mfhd sequence number. */
  sequence: number;
  /** tfhd track ID. */
  trackId: number;
  /** tfdt baseMediaDecodeTime. */
  baseDecodeTime: number;
  /** trun sample sizes. */
  sizes: number[];
  /** trun sample durations (when present). */
  durations: number[];
  /** The mdat payload. */
  payload: Uint8Array;
  /** The sample bytes the truns point at, in order (each trun's data_offset, then its sizes). */
  samples: Uint8Array;
  /** Number of trun boxes. */
  truns: number;
}

function type(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(...bytes.subarray(at + 4, at + 8));
}

/** Parses an fMP4 media segment (one traf, one trun); throws when the layout is wrong. */
export function parseSegment(bytes: Uint8Array): ParsedSegment {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes: string[] = [];
  const result: ParsedSegment = {
    boxes,
    sequence: -1,
    trackId: -1,
    baseDecodeTime: -1,
    sizes: [],
    durations: [],
    payload: new Uint8Array(0),
    samples: new Uint8Array(0),
    truns: 0,
  };
  let moofStart = -1;
  // [data_offset, byte length] of each trun
  const runs: [number, number][] = [];
  let p = 0;
  while (p < bytes.byteLength) {
    const size = view.getUint32(p);
    const t = type(bytes, p);
    if (size < 8 || p + size > bytes.byteLength) throw new Error(`bad box ${t} at ${p}`);
    boxes.push(t);
    if (t === "moof") {
      moofStart = p;
      let q = p + 8;
      while (q < p + size) {
        const s = view.getUint32(q);
        const ct = type(bytes, q);
        if (ct === "mfhd") result.sequence = view.getUint32(q + 12);
        if (ct === "traf") {
          let r = q + 8;
          while (r < q + s) {
            const rs = view.getUint32(r);
            const rt = type(bytes, r);
            if (rt === "tfhd") result.trackId = view.getUint32(r + 12);
            if (rt === "tfdt") {
              result.baseDecodeTime = bytes[r + 8] === 1
                ? Number(view.getBigUint64(r + 12))
                : view.getUint32(r + 12);
            }
            if (rt === "trun") {
              const flags = view.getUint32(r + 8) & 0xffffff;
              const count = view.getUint32(r + 12);
              let at = r + 16;
              if (!(flags & 1)) throw new Error("trun without data_offset");
              const dataOffset = view.getInt32(at);
              at += 4;
              let runBytes = 0;
              result.truns++;
              if (flags & 4) at += 4;
              for (let i = 0; i < count; i++) {
                if (flags & 0x100) {
                  result.durations.push(view.getUint32(at));
                  at += 4;
                }
                if (flags & 0x200) {
                  result.sizes.push(view.getUint32(at));
                  runBytes += view.getUint32(at);
                  at += 4;
                }
                if (flags & 0x400) at += 4;
                if (flags & 0x800) at += 4;
              }
              runs.push([dataOffset, runBytes]);
            }
            r += rs;
          }
        }
        q += s;
      }
    }
    if (t === "mdat") {
      result.payload = bytes.subarray(p + 8, p + size);
      const pieces: Uint8Array[] = [];
      let previousEnd = p + 8;
      for (const [dataOffset, length] of runs) {
        const start = moofStart + dataOffset;
        // every run lies inside the mdat, in order, without overlap
        if (start < previousEnd || start + length > p + size) {
          throw new Error(`trun data_offset ${dataOffset} outside the mdat or out of order`);
        }
        pieces.push(bytes.subarray(start, start + length));
        previousEnd = start + length;
      }
      const total = pieces.reduce((n, x) => n + x.byteLength, 0);
      result.samples = new Uint8Array(total);
      let at = 0;
      for (const piece of pieces) {
        result.samples.set(piece, at);
        at += piece.byteLength;
      }
    }
    p += size;
  }
  return result;
}

/** The rendition URIs of a multivariant playlist (variants and EXT-X-MEDIA URIs). */
export function renditionsOf(master: string): string[] {
  const out: string[] = [];
  for (const line of master.split("\n")) {
    const m = /URI="([^"]+)"/.exec(line);
    if (line.startsWith("#EXT-X-MEDIA:") && m) out.push(m[1]);
    else if (line !== "" && !line.startsWith("#")) out.push(line);
  }
  return out;
}

/** The EXT-X-MAP URI and the segment URIs with their EXTINF durations of a media playlist. */
export function segmentsOf(playlist: string): { map: string; segments: [string, number][] } {
  const lines = playlist.split("\n");
  const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)?.[1] ?? "";
  const segments: [string, number][] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^#EXTINF:([0-9.]+),/.exec(lines[i]);
    if (m) segments.push([lines[i + 1], Number(m[1])]);
  }
  return { map, segments };
}
