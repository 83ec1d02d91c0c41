/**
 * Stale live streams and crash leftovers (issue 9 §2): a live media playlist that gets no upload
 * for `--ingest-stale-after` ms gets `#EXT-X-ENDLIST` (atomically, once, multivariant playlists
 * untouched); later the segments no playlist lists any more are removed, and nothing else is;
 * upload temp files left by a crash are removed at start, only under the ingest prefix. Also the
 * building blocks: the folder sequencer, playlist parsing, one sweep at a chosen time.
 */
import assert from "node:assert/strict";
import { FolderSequencer } from "../src/ingest/folder_sequence.ts";
import { parsePlaylist, resolveUri, withEndList } from "../src/ingest/playlist.ts";
import { StaleStreams } from "../src/ingest/stale_streams.ts";
import { removeTempFiles } from "../src/ingest/temp_cleanup.ts";
import { CliError, parseConfig } from "../src/config.ts";
import {
  AUTH,
  connect,
  exists,
  latin1,
  listTree,
  startIngestServer,
  tempFilesUnder,
  TOKEN,
  waitUntil,
  writeAll,
} from "./support/ingest.ts";
import { ENGINES, startServer } from "./support/server.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "zerocast-stale-" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** True when `promise` has settled (checked after the microtask queue drained). */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  await new Promise((r) => setTimeout(r, 0));
  return settled;
}

const LIVE = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:3\n" +
  '#EXT-X-MAP:URI="init.mp4"\n#EXTINF:1.0,\nseg3.m4s\n#EXTINF:1.0,\nseg4.m4s\n';
const MASTER = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.64001e"\nstream.m3u8\n';

Deno.test("FolderSequencer: a ticket's turn comes when every earlier ticket settled", async () => {
  const seq = new FolderSequencer();
  const a = seq.enter("/d");
  const b = seq.enter("/d");
  const c = seq.enter("/d");
  const other = seq.enter("/e");
  assert.equal(await a.turn(60_000), true); // first: no wait
  assert.equal(await other.turn(60_000), true); // another folder: no wait
  const cTurn = c.turn(60_000);
  assert.equal(await isSettled(cTurn), false);
  a.settle();
  assert.equal(await isSettled(cTurn), false); // b still pending
  b.settle(); // b failed or aborted: releases its slot just the same
  assert.equal(await cTurn, true);
  c.settle();
  c.settle(); // idempotent
  other.settle();
  assert.equal(seq.pending("/d"), 0);
  assert.equal(seq.pending("/e"), 0);
});

Deno.test("FolderSequencer: a wait gives up after its limit (no deadlock on a stalled upload)", async () => {
  const seq = new FolderSequencer();
  const stalled = seq.enter("/d");
  const next = seq.enter("/d");
  assert.equal(await next.turn(10), false);
  next.settle();
  stalled.settle();
  assert.equal(seq.pending("/d"), 0);
});

Deno.test("parsePlaylist / withEndList / resolveUri", () => {
  const live = parsePlaylist(LIVE.replaceAll("\n", "\r\n"));
  assert.deepEqual(live, { media: true, ended: false, uris: ["init.mp4", "seg3.m4s", "seg4.m4s"] });
  assert.deepEqual(parsePlaylist(MASTER), { media: false, ended: false, uris: ["stream.m3u8"] });
  assert.equal(parsePlaylist(withEndList(LIVE)).ended, true);
  assert.equal(withEndList("#EXTM3U"), "#EXTM3U\n#EXT-X-ENDLIST\n");
  assert.equal(withEndList(LIVE), `${LIVE}#EXT-X-ENDLIST\n`);

  const r = (uri: string) => resolveUri(uri, "/srv/m/live/a b", "/srv/m", "/media/");
  assert.equal(r("seg%201.ts"), "/srv/m/live/a b/seg 1.ts");
  assert.equal(r("../x/seg.ts?token=1"), "/srv/m/live/x/seg.ts");
  assert.equal(r("/media/live/y.ts"), "/srv/m/live/y.ts");
  assert.equal(r("https://cdn.example/media/live/z.ts"), "/srv/m/live/z.ts");
  assert.equal(r("/elsewhere/z.ts"), null);
  assert.equal(r("data:text/plain,x"), null);
  assert.equal(r("bad%zz.ts"), null);
});

Deno.test("removeTempFiles removes only upload temp names, recursively", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    await Deno.mkdir(`${dir}/.hidden`);
    const leftovers = [
      "a/.seg1.ts.upload-0123456789abcdef",
      "a/b/.index.m3u8.upload-fedcba9876543210",
    ];
    const kept = [
      "a/seg1.ts",
      "a/.keep",
      "a/.x.upload-notahexname00000",
      ".hidden/.y.ts.upload-0123456789abcdef", // uploads never go into dot directories
    ];
    for (const path of [...leftovers, ...kept]) await Deno.writeTextFile(`${dir}/${path}`, "x");
    assert.equal(removeTempFiles(dir), 2);
    for (const path of leftovers) assert.equal(exists(`${dir}/${path}`), false, path);
    for (const path of kept) assert.equal(exists(`${dir}/${path}`), true, path);
  });
});

Deno.test("StaleStreams.sweep: ends idle media playlists, then removes unlisted segments", async () => {
  await withTempDir(async (root) => {
    const dir = `${root}/live/s`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/stream.m3u8`, LIVE);
    await Deno.writeTextFile(`${dir}/master.m3u8`, MASTER);
    for (const name of ["init.mp4", "seg1.m4s", "seg2.m4s", "seg3.m4s", "seg4.m4s", "a.txt"]) {
      await Deno.writeTextFile(`${dir}/${name}`, name);
    }
    const stale = new StaleStreams({
      root,
      mount: "/media/",
      staleAfterMs: 60_000,
      fsync: false,
      sequencer: new FolderSequencer(),
    });
    stale.noteTree(`${root}/live`);

    // Not idle yet: nothing changes.
    await stale.sweep(Date.now());
    assert.equal(await Deno.readTextFile(`${dir}/stream.m3u8`), LIVE);

    // Idle: the media playlist ends; the multivariant one is left alone; no segment goes yet.
    await stale.sweep(Date.now() + 120_000);
    assert.equal(await Deno.readTextFile(`${dir}/stream.m3u8`), `${LIVE}#EXT-X-ENDLIST\n`);
    assert.equal(await Deno.readTextFile(`${dir}/master.m3u8`), MASTER);
    assert.equal(exists(`${dir}/seg1.m4s`), true);

    // A further idle period after the end: unlisted segments go, listed ones and others stay.
    await stale.sweep(Date.now() + 240_000);
    assert.deepEqual(listTree(dir), [
      "a.txt",
      "init.mp4",
      "master.m3u8",
      "seg3.m4s",
      "seg4.m4s",
      "stream.m3u8",
    ]);
    // Idempotent: one #EXT-X-ENDLIST however often it runs.
    await stale.sweep(Date.now() + 480_000);
    assert.equal(await Deno.readTextFile(`${dir}/stream.m3u8`), `${LIVE}#EXT-X-ENDLIST\n`);
  });
});

Deno.test("StaleStreams.sweep: no removal next to a DASH manifest or while a playlist is live", async () => {
  await withTempDir(async (root) => {
    for (const d of ["dash", "live"]) await Deno.mkdir(`${root}/${d}`);
    await Deno.writeTextFile(`${root}/dash/stream.m3u8`, withEndList(LIVE));
    await Deno.writeTextFile(`${root}/dash/manifest.mpd`, "<MPD/>");
    await Deno.writeTextFile(`${root}/live/a.m3u8`, withEndList(LIVE));
    await Deno.writeTextFile(`${root}/live/b.m3u8`, LIVE.replace("seg4", "seg5"));
    for (const d of ["dash", "live"]) await Deno.writeTextFile(`${root}/${d}/seg1.m4s`, "x");
    const stale = new StaleStreams({
      root,
      mount: "/media/",
      staleAfterMs: 60_000,
      fsync: false,
      sequencer: new FolderSequencer(),
    });
    stale.noteTree(root);
    // b.m3u8 ends now, so `live` is not finished until a further idle period.
    await stale.sweep(Date.now() + 120_000);
    assert.equal(exists(`${root}/live/seg1.m4s`), true);
    assert.equal(exists(`${root}/dash/seg1.m4s`), true);
    await stale.sweep(Date.now() + 240_000);
    assert.equal(exists(`${root}/live/seg1.m4s`), false);
    assert.equal(exists(`${root}/dash/seg1.m4s`), true);
  });
});

Deno.test("--ingest-stale-after: default 60000, 0 turns it off, garbage is a CLI error", () => {
  const root = Deno.cwd();
  assert.equal(parseConfig(["--root", root], () => undefined).ingestStaleAfterMs, 60_000);
  assert.equal(
    parseConfig(["--root", root, "--ingest-stale-after", "0"], () => undefined).ingestStaleAfterMs,
    0,
  );
  assert.throws(
    () => parseConfig(["--root", root, "--ingest-stale-after", "soon"], () => undefined),
    CliError,
  );
});

const STALE_MS = 600;

for (const engine of ENGINES) {
  Deno.test(`ingest stale [${engine}]: crash leftovers go at start; idle streams end`, async (t) => {
    const s = await startIngestServer(
      engine,
      ["--ingest-stale-after", String(STALE_MS)],
      undefined,
      async (root) => {
        await Deno.mkdir(`${root}/live/old`, { recursive: true });
        await Deno.mkdir(`${root}/movies`);
        await Deno.writeTextFile(`${root}/live/old/.seg9.ts.upload-0123456789abcdef`, "x");
        await Deno.writeTextFile(`${root}/live/.stream.m3u8.upload-00112233445566ff`, "x");
        await Deno.writeTextFile(`${root}/movies/.a.mp4.upload-0123456789abcdef`, "x");
      },
    );
    const live = `${s.url}/media/live/s`;
    const put = async (name: string, body: string) => {
      const res = await fetch(`${live}/${name}`, {
        method: "PUT",
        headers: { authorization: AUTH },
        body,
      });
      await res.body?.cancel();
      assert.ok(res.ok, `${name}: ${res.status}`);
    };
    const status = async (name: string) => {
      const res = await fetch(`${live}/${name}`);
      await res.body?.cancel();
      return res.status;
    };
    try {
      await t.step("temp files under the ingest prefix are removed at start", () => {
        assert.deepEqual(listTree(s.root), [
          "live/",
          "live/old/",
          "movies/",
          "movies/.a.mp4.upload-0123456789abcdef",
        ]);
      });

      await t.step(
        "an idle live playlist gets #EXT-X-ENDLIST, then unlisted segments go",
        async () => {
          for (const name of ["init.mp4", "seg1.m4s", "seg2.m4s", "seg3.m4s", "seg4.m4s"]) {
            await put(name, name);
          }
          await put("stream.m3u8", LIVE);
          await put("master.m3u8", MASTER);
          await waitUntil(
            async () => (await (await fetch(`${live}/stream.m3u8`)).text()).includes("ENDLIST"),
            "#EXT-X-ENDLIST",
          );
          // One sweep removes them one after the other: wait for both.
          await waitUntil(
            async () => (await status("seg1.m4s")) === 404 && (await status("seg2.m4s")) === 404,
            "seg1 and seg2 removed",
          );
          for (const name of ["init.mp4", "seg3.m4s", "seg4.m4s"]) {
            assert.equal(await status(name), 200, name);
          }
          assert.equal(await (await fetch(`${live}/stream.m3u8`)).text(), withEndList(LIVE));
          assert.equal(await (await fetch(`${live}/master.m3u8`)).text(), MASTER);
          await waitUntil(
            () => s.server.stdout.some((l) => l.includes("appended #EXT-X-ENDLIST")),
            "the log line",
          );
        },
      );
    } finally {
      await s.close();
    }
  });
}

Deno.test("ingest: a temp file left by a killed server is removed when it starts again", async () => {
  const s = await startIngestServer("zero-copy");
  const args = ["--ingest-token", TOKEN];
  const conn = await connect(s.url);
  try {
    await writeAll(
      conn,
      latin1(
        `PUT /media/live/x/seg1.ts HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n` +
          "Content-Length: 1000\r\n\r\nonly the first bytes",
      ),
    );
    await waitUntil(() => {
      try {
        return tempFilesUnder(`${s.root}/live`).length === 1;
      } catch {
        return false;
      }
    }, "the upload's temp file");
    s.server.process.kill("SIGKILL"); // a crash: no clean-up runs
    await s.server.close();
    assert.equal(tempFilesUnder(`${s.root}/live`).length, 1);
    const again = await startServer({ engine: "zero-copy", root: s.root, args });
    try {
      assert.deepEqual(tempFilesUnder(s.root), []);
      assert.deepEqual(listTree(`${s.root}/live`), ["x/"]);
      assert.ok(again.stdout.some((l) => l.includes("removed 1 upload temp file")));
    } finally {
      await again.close();
    }
  } finally {
    conn.close();
    await s.close();
  }
});
