/**
 * ffmpeg's default live publishing (HLS muxer, `-method PUT`, no `-http_persistent`: one
 * connection per file, a chunked body, the socket closed right after the last chunk without
 * reading the answer) over HTTPS and over `--engine stream`. Every PUT must be accepted, every
 * segment the final playlist lists must be served, and the final playlist must carry
 * `#EXT-X-ENDLIST`; with `delete_segments` the DELETEs must be accepted too.
 *
 * Skips with a message when ffmpeg or openssl is absent.
 */
import assert from "node:assert/strict";
import { AUTH, TOKEN, waitUntil } from "./support/ingest.ts";
import { have, type RunningServer, startServer } from "./support/server.ts";
import { makeTestCert } from "./support/tls.ts";

const present = have("ffmpeg") && have("openssl");
if (!present) console.log("ingest_https_ffmpeg_test: skipped, ffmpeg or openssl not found");

/** Seconds of media published: with 0.5 s segments that is over 60 segments. */
const SECONDS = 31;

/**
 * Runs ffmpeg's HLS muxer with its default publishing to `url`, reading its input at 1.5x real
 * time (`-readrate 1.5`, a little faster than `-re`) like a live encoder. Unthrottled, ffmpeg
 * would run arbitrarily far ahead of the server (it never waits for an answer), and the order in
 * which hundreds of overlapping uploads of one playlist land is then the ingest side's concern,
 * not the transport's that this suite is about.
 */
async function publish(url: string, hlsArgs: string[]): Promise<string> {
  const args = [
    ...["-hide_banner", "-loglevel", "error"],
    ...["-readrate", "1.5", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=24"],
    ...["-readrate", "1.5", "-f", "lavfi", "-i", "sine", "-t", String(SECONDS)],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "12"],
    ...["-c:a", "aac", "-f", "hls", "-hls_time", "0.5", ...hlsArgs],
    ...["-tls_verify", "0", "-method", "PUT", "-headers", `Authorization: ${AUTH}\r\n`, url],
  ];
  const out = await new Deno.Command("ffmpeg", {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `ffmpeg failed: ${stderr}`);
  return stderr;
}

/** Access-log lines of `method` requests under the live prefix, as [target, status]. */
function logged(server: RunningServer, method: string): [string, number][] {
  const re = new RegExp(`"${method} (/media/live/\\S+) HTTP/1\\.1" (\\d{3}) `);
  return server.stdout.map((line) => re.exec(line)).filter((m) => m !== null)
    .map((m) => [m![1], Number(m![2])]);
}

/**
 * Waits until the playlist at `path` is final (`#EXT-X-ENDLIST`) and the access log holds a PUT
 * under `dir` for every segment up to the last one listed plus one playlist PUT per segment;
 * returns the playlist.
 */
async function finalPlaylist(server: RunningServer, path: string, dir: string): Promise<string> {
  let playlist = "";
  await waitUntil(async () => {
    playlist = await Deno.readTextFile(path).catch(() => "");
    if (!/#EXT-X-ENDLIST\s*$/.test(playlist)) return false;
    const segments = segmentsOf(playlist);
    const last = Number(/(\d+)\.ts$/.exec(segments[segments.length - 1])?.[1] ?? -1);
    const puts = logged(server, "PUT").filter(([p]) => p.includes(`/live/${dir}`));
    return puts.length >= 2 * (last + 1);
  }, `the final playlist of ${dir} and all its uploads`);
  return playlist;
}

/** Segment names of a media playlist. */
function segmentsOf(playlist: string): string[] {
  return playlist.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
}

/** Checks of one listener after its two publishers are done. */
async function checkListener(
  t: Deno.TestContext,
  name: string,
  server: RunningServer,
  root: string,
  base: string,
  get: (url: string) => Promise<Response>,
  done: { all: Promise<string>; rolling: Promise<string> },
): Promise<void> {
  await t.step(`${name}: every segment and playlist PUT is accepted; all are served`, async () => {
    await done.all;
    const dir = `${name}-all`;
    // ffmpeg does not wait for answers, so the server may still be working through its last
    // connections when ffmpeg exits
    const playlist = await finalPlaylist(server, `${root}/live/${dir}/index.m3u8`, dir);
    const segments = segmentsOf(playlist);
    assert.ok(segments.length >= 60, `${segments.length} segments`);
    const puts = logged(server, "PUT").filter(([p]) => p.startsWith(`/media/live/${dir}/`));
    assert.deepEqual(puts.filter(([, status]) => status !== 201 && status !== 204), []);
    for (const segment of segments) {
      assert.ok(puts.some(([path]) => path === `/media/live/${dir}/${segment}`), segment);
    }
    const res = await get(`${base}/media/live/${dir}/index.m3u8`);
    assert.equal(await res.text(), playlist);
    for (const segment of segments) {
      const seg = await get(`${base}/media/live/${dir}/${segment}`);
      const bytes = new Uint8Array(await seg.arrayBuffer());
      assert.equal(seg.status, 200, segment);
      assert.deepEqual(bytes, await Deno.readFile(`${root}/live/${dir}/${segment}`), segment);
      // MPEG-TS: whole 188-byte packets, the first starting with the sync byte
      assert.ok(bytes.byteLength > 0 && bytes.byteLength % 188 === 0, segment);
      assert.equal(bytes[0], 0x47, segment);
    }
  });

  await t.step(`${name}: with delete_segments, DELETEs accepted, final playlist kept`, async () => {
    await done.rolling;
    const dir = `${name}-rolling`;
    const playlist = await finalPlaylist(server, `${root}/live/${dir}/index.m3u8`, dir);
    const segments = segmentsOf(playlist);
    assert.equal(segments.length, 5, playlist);
    const res = await get(`${base}/media/live/${dir}/index.m3u8`);
    assert.equal(await res.text(), playlist);
    for (const segment of segments) {
      const seg = await get(`${base}/media/live/${dir}/${segment}`);
      await seg.body?.cancel();
      assert.equal(seg.status, 200, segment);
    }
    const last = Number(/(\d+)\.ts$/.exec(segments[4])![1]);
    assert.ok(last >= 59, `last segment ${last}`);
    const puts = logged(server, "PUT").filter(([p]) => p.startsWith(`/media/live/${dir}/`));
    assert.deepEqual(puts.filter(([, status]) => status !== 201 && status !== 204), []);
    // what is left on disk: the playlist, the segments it lists, and the one older segment
    // ffmpeg keeps for players still reading it (`-hls_delete_threshold`, default 1)
    const onDisk = () => [...Deno.readDirSync(`${root}/live/${dir}`)].map((e) => e.name);
    await waitUntil(() => onDisk().length <= segments.length + 2, "the last DELETEs");
    const left = onDisk();
    for (const name of [...segments, "index.m3u8"]) assert.ok(left.includes(name), name);
    const deletes = logged(server, "DELETE").filter(([p]) => p.startsWith(`/media/live/${dir}/`));
    assert.ok(deletes.length >= last + 1 - 6, `${deletes.length} DELETEs`);
    assert.deepEqual(deletes.filter(([, status]) => status !== 204), []);
  });
}

Deno.test({
  name: "ingest over HTTPS and --engine stream: ffmpeg's default publishing loses no upload",
  ignore: !present,
  async fn(t) {
    const cert = await makeTestCert();
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "zerocast-https-ff-" }));
    // plain HTTP on the stream engine and HTTPS (always the stream server) in one process
    const server = await startServer({
      root,
      engine: "stream",
      tls: { cert: cert.certFile, key: cert.keyFile },
      log: true,
      args: ["--ingest-token", TOKEN, "--no-ingest-fsync"],
    });
    const client = Deno.createHttpClient({ caCerts: [cert.certPem] });
    const get = (url: string) => fetch(url, { client });
    const listeners = [["https", server.httpsUrl!], ["stream", server.url]] as const;
    try {
      // four publishers at once: per listener, one listing every segment and one rolling
      // window with deletes
      const runs = listeners.map(([name, base]) => ({
        all: publish(`${base}/media/live/${name}-all/index.m3u8`, ["-hls_list_size", "0"]),
        rolling: publish(`${base}/media/live/${name}-rolling/index.m3u8`, [
          ...["-hls_list_size", "5", "-hls_flags", "delete_segments"],
        ]),
      }));
      await Promise.allSettled(runs.flatMap((r) => [r.all, r.rolling]));
      for (let i = 0; i < listeners.length; i++) {
        const [name, base] = listeners[i];
        await checkListener(t, name, server, root, base, get, runs[i]);
      }
    } finally {
      client.close();
      await server.close();
      await Deno.remove(root, { recursive: true });
      await cert.cleanup();
    }
  },
});
