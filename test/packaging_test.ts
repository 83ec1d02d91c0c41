/**
 * Just-in-time HLS and DASH over real sockets, checked with real clients: for inputs made here
 * by ffmpeg (B-frames with edit lists, irregular GOPs, moov at the end, audio only, two audio
 * tracks, H.265) the HLS and DASH outputs have ffprobe durations within one frame of the source,
 * `ffmpeg -v error` decodes them silently with as many frames as the source has samples, the
 * samples every segment's truns point at are byte-for-byte the source's samples (positions from
 * ffprobe, not from the server's index), DASH serves the same segments, and mpv plays. Then ranges and
 * conditionals on segments, the 4xx/415 answers, and the proof from `/metrics` that a segment's
 * bytes went out by sendfile on the zero-copy engine.
 *
 * Skips with a message when ffmpeg/ffprobe are absent.
 */
import assert from "node:assert/strict";
import { concat } from "./support/bytes.ts";
import { boundaryOf, parseMultipart } from "./support/multipart.ts";
import {
  hasEncoder,
  HEVC_INPUT,
  INPUTS,
  makeInput,
  packets,
  parseSegment,
  probe,
  type ProbedStream,
  renditionsOf,
  run,
  segmentsOf,
} from "./support/packaging.ts";
import { ENGINES, have, startServer } from "./support/server.ts";

const present = have("ffmpeg") && have("ffprobe");
if (!present) console.log("packaging_test: skipped, ffmpeg/ffprobe not found");

const SEGMENT_S = "2";

async function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(url, { headers });
}

async function bytesOf(url: string): Promise<Uint8Array> {
  const res = await get(url);
  assert.equal(res.status, 200, url);
  return new Uint8Array(await res.arrayBuffer());
}

async function textOf(url: string): Promise<string> {
  return new TextDecoder().decode(await bytesOf(url));
}

/** Seconds of one frame of the source's reference stream (video, else one AAC frame). */
function frameSeconds(streams: ProbedStream[]): number {
  const video = streams.find((s) => s.codec_type === "video");
  if (video?.r_frame_rate) {
    const [n, d] = video.r_frame_rate.split("/").map(Number);
    return d / n;
  }
  const audio = streams.find((s) => s.codec_type === "audio")!;
  return 1024 / Number(audio.sample_rate);
}

/** The framemd5 hashes of the first `v`ideo or `a`udio stream of `input`, in order. */
async function frameHashes(input: string, type: string): Promise<string[]> {
  const out = await run("ffmpeg", [
    "-v",
    "error",
    "-i",
    input,
    "-map",
    `0:${type}:0`,
    "-f",
    "framemd5",
    "-",
  ]);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(",").at(-1)!.trim());
}

/** Sample counts per stream type, sorted (what a decoder of all renditions must see). */
function countsByType(streams: ProbedStream[], field: "nb_frames" | "nb_read_frames"): string[] {
  return streams.map((s) => `${s.codec_type}:${s[field]}`).sort();
}

Deno.test({
  name: "HLS and DASH of generated MP4s: durations, decoding, sample bytes, mpv (zero-copy)",
  ignore: !present,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "zerocast-pkg-" });
    const inputs: [string, string[]][] = Object.entries(INPUTS);
    if (await hasEncoder("libx265")) inputs.push(HEVC_INPUT);
    else console.log("packaging_test: H.265 input skipped, ffmpeg has no libx265");
    for (const [name, args] of inputs) await makeInput(dir, name, args);
    const server = await startServer({
      root: dir,
      engine: "zero-copy",
      args: ["--segment-duration", SEGMENT_S],
    });
    const layouts = { multiTrun: 0, bridged: 0 };
    try {
      for (const [name] of inputs) {
        await t.step(name, async () => {
          const file = `${dir}/${name}`;
          const source = await probe(file);
          const frame = frameSeconds(source.streams);
          const hls = `${server.url}/hls/${name}/master.m3u8`;
          const dash = `${server.url}/dash/${name}/manifest.mpd`;

          // durations within one frame of the source
          const hlsProbe = await probe(hls);
          const dashProbe = await probe(dash);
          assert.ok(
            Math.abs(hlsProbe.duration - source.duration) <= frame + 1e-6,
            `HLS ${hlsProbe.duration} vs ${source.duration}`,
          );
          assert.ok(
            Math.abs(dashProbe.duration - source.duration) <= frame + 1e-6,
            `DASH ${dashProbe.duration} vs ${source.duration}`,
          );

          // ffmpeg decodes everything without a word
          const decode = await run("ffmpeg", [
            "-v",
            "error",
            "-i",
            hls,
            "-map",
            "0",
            "-f",
            "null",
            "-",
          ]);
          assert.equal(decode.code, 0, decode.stderr);
          assert.equal(decode.stderr, "");
          // the decoded pictures and sound are the source's, frame for frame (framemd5 hashes;
          // the HLS audio may start with the AAC priming frame the source's edit list hides)
          for (const type of ["v", "a"]) {
            if (!source.streams.some((st) => st.codec_type[0] === type)) continue;
            const ours = await frameHashes(hls, type);
            const theirs = await frameHashes(file, type);
            assert.ok(theirs.length > 0);
            assert.ok(
              ours.length - theirs.length <= 2,
              `${type}: ${ours.length} vs ${theirs.length}`,
            );
            assert.deepEqual(ours.slice(ours.length - theirs.length), theirs, `${type} frames`);
          }
          // every sample of every track is decoded. ffmpeg's HLS demuxer (as with ffmpeg's own
          // fMP4 HLS output) does not apply the init segment's edit list to fragments, so it
          // also decodes the AAC priming frame that the source's edit list hides: compare with
          // the source's sample counts. Its DASH demuxer applies the edit list in some cases (for
          // the audio of files with video) and not in others (audio-only): either count is right.
          const decoded = await probe(hls, true);
          assert.deepEqual(
            countsByType(decoded.streams, "nb_read_frames"),
            countsByType(source.streams, "nb_frames"),
          );
          const dashDecoded = countsByType((await probe(dash, true)).streams, "nb_read_frames");
          const sourceDecoded = countsByType((await probe(file, true)).streams, "nb_read_frames");
          const sourceSamples = countsByType(source.streams, "nb_frames");
          assert.equal(dashDecoded.length, sourceSamples.length);
          dashDecoded.forEach((count, i) =>
            assert.ok(
              count === sourceDecoded[i] || count === sourceSamples[i],
              `DASH decoded ${dashDecoded} vs source ${sourceDecoded} (${sourceSamples} samples)`,
            )
          );

          // the samples every segment's truns point at are the source's samples, in order
          const sourceBytes = await Deno.readFile(file);
          const master = await textOf(hls);
          assert.match(master, /#EXT-X-INDEPENDENT-SEGMENTS/);
          assert.match(master, /BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="/);
          const renditions = renditionsOf(master);
          assert.equal(renditions.length, source.streams.length);
          const mpd = await textOf(dash);
          for (const uri of renditions) {
            const id = uri.replace(/\.m3u8$/, "");
            const trackId = Number(id.slice(1));
            const stream = source.streams.find((s) => Number(s.id) === trackId)!;
            assert.ok(stream, `no source stream with track ID ${trackId}`);
            assert.equal(id[0], stream.codec_type === "video" ? "v" : "a");
            const playlist = await textOf(`${server.url}/hls/${name}/${uri}`);
            assert.match(playlist, /#EXT-X-PLAYLIST-TYPE:VOD/);
            assert.match(playlist, /#EXT-X-ENDLIST/);
            const { map, segments } = segmentsOf(playlist);
            assert.equal(map, `${id}/init.mp4`);
            const total = segments.reduce((sum, [, d]) => sum + d, 0);
            assert.ok(Math.abs(total - source.duration) <= frame + 1e-6, `EXTINF sum ${total}`);
            const init = await bytesOf(`${server.url}/hls/${name}/${map}`);
            assert.equal(String.fromCharCode(...init.subarray(4, 8)), "ftyp");
            const expected = await packets(file, stream.index);
            const sizes: number[] = [];
            const payloads: Uint8Array[] = [];
            let n = 0;
            for (const [segmentUri] of segments) {
              const bytes = await bytesOf(`${server.url}/hls/${name}/${segmentUri}`);
              const segment = parseSegment(bytes);
              n++;
              assert.deepEqual(segment.boxes, ["styp", "moof", "mdat"]);
              assert.equal(segment.sequence, n);
              assert.equal(segment.trackId, trackId);
              sizes.push(...segment.sizes);
              payloads.push(segment.samples);
              if (segment.truns > 1) layouts.multiTrun++;
              if (segment.payload.byteLength > segment.samples.byteLength) layouts.bridged++;
              // the mdat carries at most the samples plus bridged gaps of an eighth of them
              assert.ok(segment.payload.byteLength <= segment.samples.byteLength * 1.125 + 1);
              if (n === 1) {
                // DASH serves the very same segment bytes
                const viaDash = await bytesOf(`${server.url}/dash/${name}/${segmentUri}`);
                assert.deepEqual(viaDash, bytes);
              }
            }
            assert.deepEqual(sizes, expected.map((p) => p.size));
            const want = concat(expected.map((p) => sourceBytes.subarray(p.pos, p.pos + p.size)));
            assert.deepEqual(concat(payloads), want);
            // the MPD lists as many segments for this representation
            const rep = new RegExp(`<Representation id="${id}"[\\s\\S]*?</Representation>`).exec(
              mpd,
            );
            assert.ok(rep, `MPD lacks ${id}`);
            let count = 0;
            for (const s of rep[0].matchAll(/<S (?:t="\d+" )?d="\d+"(?: r="(\d+)")?\/>/g)) {
              count += 1 + Number(s[1] ?? 0);
            }
            assert.equal(count, segments.length);
          }
          if (name === "bframes.mp4" || name === "two-audio.mp4") {
            assert.match(master, /RESOLUTION=160x120,FRAME-RATE=25\.000/);
            assert.match(master, /CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
          }
          if (name === "two-audio.mp4") {
            assert.match(
              master,
              /TYPE=AUDIO,GROUP-ID="audio",NAME="[^"]+",LANGUAGE="eng",DEFAULT=YES/,
            );
            assert.match(
              master,
              /TYPE=AUDIO,GROUP-ID="audio",NAME="[^"]+",LANGUAGE="fra",DEFAULT=NO/,
            );
          }
        });
      }

      await t.step("segments of interleaved inputs use several truns and bridge small gaps", () => {
        // the decoding and byte checks above then covered both layouts
        assert.ok(layouts.multiTrun > 0, "no segment with several truns");
        assert.ok(layouts.bridged > 0, "no segment with a bridged gap");
      });

      await t.step("mpv plays the HLS and DASH outputs", async () => {
        if (!have("mpv")) {
          console.log("packaging_test: mpv step skipped, mpv not found");
          return;
        }
        for (
          const url of [
            `${server.url}/hls/bframes.mp4/master.m3u8`,
            `${server.url}/dash/bframes.mp4/manifest.mpd`,
          ]
        ) {
          const out = await run("mpv", [
            ...["--no-config", "--vo=null", "--ao=null", "--end=3", "--msg-level=all=v"],
            url,
          ]);
          assert.equal(out.code, 0, out.stdout + out.stderr);
          const log = out.stdout + out.stderr;
          assert.match(log, /VO: \[null\] 160x120/);
          assert.match(log, /AO: \[null\]/);
          assert.doesNotMatch(log, /Exiting\.\.\. \(Errors/);
        }
      });
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

for (const engine of ENGINES) {
  Deno.test({
    name: `packaging HTTP rules: ranges, conditionals, CORS, 4xx and 415 (${engine})`,
    ignore: !present,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "zerocast-pkg-http-" });
      await makeInput(dir, "clip.mp4", INPUTS["bframes.mp4"]);
      await makeInput(dir, "frag.mp4", [
        ...INPUTS["bframes.mp4"].slice(0, -2),
        "-movflags",
        "frag_keyframe+empty_moov",
      ]);
      await makeInput(dir, "encrypted.mp4", [
        ...["-i", `${dir}/clip.mp4`, "-c", "copy", "-encryption_scheme", "cenc-aes-ctr"],
        ...["-encryption_key", "76a6c65c5ea762046bd749a2e632ccbb"],
        ...["-encryption_kid", "a7e61c373e219033c21091fa607bf3b8"],
      ]);
      await Deno.writeFile(`${dir}/garbage.mp4`, crypto.getRandomValues(new Uint8Array(5000)));
      await Deno.writeFile(`${dir}/empty.mp4`, new Uint8Array(0));
      await Deno.writeTextFile(`${dir}/notes.txt`, "hello");
      await makeInput(dir, "clip.mkv", ["-f", "lavfi", "-i", "sine=d=1", "-c:a", "libopus"]);
      const server = await startServer({ root: dir, engine });
      try {
        const base = `${server.url}/hls/clip.mp4`;
        const segmentUrl = `${base}/v1/1.m4s`;
        const full = await get(segmentUrl);
        assert.equal(full.status, 200);
        assert.equal(full.headers.get("content-type"), "video/iso.segment");
        assert.equal(full.headers.get("accept-ranges"), "bytes");
        assert.equal(full.headers.get("access-control-allow-origin"), "*");
        const etag = full.headers.get("etag")!;
        assert.match(etag, /^"[^"]+"$/);
        const whole = new Uint8Array(await full.arrayBuffer());
        assert.equal(Number(full.headers.get("content-length")), whole.byteLength);

        // a single range: header bytes and sample bytes across the boundary
        const range = await get(segmentUrl, { range: "bytes=100-2099" });
        assert.equal(range.status, 206);
        assert.equal(range.headers.get("content-range"), `bytes 100-2099/${whole.byteLength}`);
        assert.deepEqual(new Uint8Array(await range.arrayBuffer()), whole.subarray(100, 2100));
        // suffix range
        const suffix = await get(segmentUrl, { range: "bytes=-500" });
        assert.equal(suffix.status, 206);
        assert.deepEqual(new Uint8Array(await suffix.arrayBuffer()), whole.subarray(-500));
        // two ranges: multipart/byteranges
        const multi = await get(segmentUrl, { range: "bytes=0-9,1000-1099" });
        assert.equal(multi.status, 206);
        const parts = parseMultipart(
          new Uint8Array(await multi.arrayBuffer()),
          boundaryOf(multi.headers.get("content-type")),
        );
        assert.deepEqual(parts.map((p) => p.body), [
          whole.subarray(0, 10),
          whole.subarray(1000, 1100),
        ]);
        // unsatisfiable
        const bad = await get(segmentUrl, { range: `bytes=${whole.byteLength}-` });
        assert.equal(bad.status, 416);
        await bad.body?.cancel();
        // conditionals and If-Range with the strong ETag
        const notModified = await get(segmentUrl, { "if-none-match": etag });
        assert.equal(notModified.status, 304);
        await notModified.body?.cancel();
        const ifRange = await get(segmentUrl, { range: "bytes=0-9", "if-range": '"other"' });
        assert.equal(ifRange.status, 200);
        await ifRange.body?.cancel();
        // HEAD describes GET
        const head = await fetch(segmentUrl, { method: "HEAD" });
        assert.equal(head.status, 200);
        assert.equal(head.headers.get("content-length"), String(whole.byteLength));
        // segments of different renditions have different tags
        const other = await get(`${base}/v1/2.m4s`);
        assert.notEqual(other.headers.get("etag"), etag);
        await other.body?.cancel();

        // content types
        const types: [string, string][] = [
          [`${base}/master.m3u8`, "application/vnd.apple.mpegurl"],
          [`${base}/v1.m3u8`, "application/vnd.apple.mpegurl"],
          [`${base}/v1/init.mp4`, "video/mp4"],
          [`${base}/a2/init.mp4`, "audio/mp4"],
          [`${server.url}/dash/clip.mp4/manifest.mpd`, "application/dash+xml"],
        ];
        for (const [url, type] of types) {
          const res = await get(url);
          assert.equal(res.status, 200, url);
          assert.equal(res.headers.get("content-type"), type, url);
          await res.body?.cancel();
        }

        // CORS preflight
        const preflight = await fetch(segmentUrl, {
          method: "OPTIONS",
          headers: { origin: "http://x", "access-control-request-headers": "range" },
        });
        assert.equal(preflight.status, 204);
        assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /Range/);
        await preflight.body?.cancel();

        // errors
        const expectStatus = async (url: string, status: number, pattern?: RegExp) => {
          const res = await fetch(url);
          const body = await res.text();
          assert.equal(res.status, status, `${url}: ${body}`);
          if (pattern) assert.match(body, pattern);
        };
        await expectStatus(`${server.url}/hls/missing.mp4/master.m3u8`, 404);
        await expectStatus(`${base}/v9.m3u8`, 404);
        await expectStatus(`${base}/v1/999.m4s`, 404);
        await expectStatus(`${base}/v1/0.m4s`, 404);
        await expectStatus(`${base}/nothing`, 404);
        await expectStatus(`${server.url}/hls/a%2Fb.mp4/master.m3u8`, 400);
        await expectStatus(`${server.url}/hls/a%252e.mp4/master.m3u8`, 400);
        await expectStatus(`${server.url}/hls/.hidden.mp4/master.m3u8`, 404);
        await expectStatus(`${server.url}/hls/frag.mp4/master.m3u8`, 415, /fragmented/);
        await expectStatus(`${server.url}/hls/garbage.mp4/master.m3u8`, 415, /cannot package/);
        await expectStatus(`${server.url}/hls/encrypted.mp4/master.m3u8`, 415, /encrypted/);
        await expectStatus(`${server.url}/hls/empty.mp4/master.m3u8`, 415, /cannot package/);
        await expectStatus(`${server.url}/dash/garbage.mp4/manifest.mpd`, 415, /cannot package/);
        await expectStatus(`${server.url}/hls/notes.txt/master.m3u8`, 415, /not an MP4/);
        await expectStatus(`${server.url}/hls/clip.mkv/master.m3u8`, 415, /not an MP4/);
        // the player page offers the packaged streams of an MP4, and plays them on request
        const player = await (await fetch(`${server.url}/play?path=clip.mp4`)).text();
        assert.match(player, /href="\/play\?path=clip\.mp4&amp;via=hls">via HLS</);
        assert.match(player, /href="\/play\?path=clip\.mp4&amp;via=dash">via DASH</);
        const viaHls = await (await fetch(`${server.url}/play?path=clip.mp4&via=hls`)).text();
        assert.match(viaHls, /data-src="\/hls\/clip\.mp4\/master\.m3u8" data-kind="stream"/);
        assert.match(viaHls, /<script src="\/assets\/hls\.min\.js\?v=[0-9a-f]{12}">/);
        const viaDash = await (await fetch(`${server.url}/play?path=clip.mp4&via=dash`)).text();
        assert.match(viaDash, /data-src="\/dash\/clip\.mp4\/manifest\.mpd" data-kind="dash"/);
        assert.match(viaDash, /<script src="\/assets\/dash\.all\.min\.js\?v=[0-9a-f]{12}">/);
        const dashJs = await fetch(`${server.url}/assets/dash.all.min.js`);
        assert.equal(dashJs.status, 200);
        assert.equal(dashJs.headers.get("content-type"), "text/javascript; charset=utf-8");
        await dashJs.body?.cancel();
        const post = await fetch(`${base}/master.m3u8`, { method: "POST", body: "x" });
        assert.equal(post.status, 405);
        await post.body?.cancel();
      } finally {
        await server.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "a media segment's bytes go out by sendfile on the zero-copy engine (/metrics)",
  ignore: !present,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zerocast-pkg-sf-" });
    // lossless, so one 2 s segment is a few MB; with AAC interleaved frame by frame, so the
    // video's runs are joined across the small audio gaps into one slice
    await makeInput(dir, "big.mp4", [
      ...["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2"],
      ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2"],
      ...["-vf", "noise=alls=100:allf=t"],
      ...["-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0"],
      ...["-c:a", "aac"],
    ]);
    const server = await startServer({ root: dir, engine: "zero-copy" });
    const sendfileBytes = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const m = /bytes_sent_total\{path="sendfile"\} (\d+)/.exec(text);
      assert.ok(m, text);
      return Number(m[1]);
    };
    try {
      // parse first (the playlist), so the segment request itself is all that is measured
      await (await fetch(`${server.url}/hls/big.mp4/v1.m3u8`)).text();
      const before = await sendfileBytes();
      const res = await fetch(`${server.url}/hls/big.mp4/v1/1.m4s`);
      const body = new Uint8Array(await res.arrayBuffer());
      assert.equal(res.status, 200);
      assert.ok(body.byteLength > 1_000_000, `segment of ${body.byteLength} bytes`);
      const sent = (await sendfileBytes()) - before;
      assert.ok(sent >= 0.9 * body.byteLength, `sendfile ${sent} of ${body.byteLength} bytes`);
      assert.ok(sent <= body.byteLength);
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
