/**
 * Live ingest over real sockets: authorisation (401), the prefix (403), path safety (400/403,
 * raw sockets for paths fetch would normalise), conflicts (409), Content-Range (400), 201 vs
 * 204, DELETE, ingest off (405), Cache-Control of playlists vs segments, and uploads over
 * HTTPS (the stream engine; curl may negotiate HTTP/2 there).
 */
import assert from "node:assert/strict";
import {
  AUTH,
  exists,
  listTree,
  rawExchange,
  readMetrics,
  startIngestServer,
  TOKEN,
} from "./support/ingest.ts";
import { curl, ENGINES, startServer } from "./support/server.ts";
import { makeTestCert } from "./support/tls.ts";

/** PUT with fetch; returns status and body text. */
async function put(
  url: string,
  body: BodyInit | null,
  headers: Record<string, string> = { authorization: AUTH },
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, { method: "PUT", body, headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function del(url: string, headers: Record<string, string> = { authorization: AUTH }) {
  const res = await fetch(url, { method: "DELETE", headers });
  await res.body?.cancel();
  return res.status;
}

/** A raw PUT of `body` to the raw request-target `target`. */
function rawPut(target: string, body = "hello"): string {
  return `PUT ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
}

for (const engine of ENGINES) {
  Deno.test(`ingest [${engine}]: authorisation, prefix and basic PUT/DELETE`, async (t) => {
    const s = await startIngestServer(engine, ["--cache-control", "public, max-age=60"]);
    try {
      const target = `${s.url}/media/live/a.m3u8`;

      await t.step("missing or wrong token → 401 with a Bearer challenge", async () => {
        const cases: [Record<string, string>, RegExp][] = [
          [{}, /^Bearer realm="zerocast ingest"$/],
          [{ authorization: "Bearer wrong-token-0123456789" }, /error="invalid_token"/],
          [{ authorization: `Basic ${btoa("user:" + AUTH)}` }, /error="invalid_token"/],
          [{ authorization: AUTH + "x" }, /error="invalid_token"/],
        ];
        for (const [headers, challenge] of cases) {
          const res = await put(target, "x", headers);
          assert.equal(res.status, 401, JSON.stringify(headers));
          assert.match(res.headers.get("www-authenticate") ?? "", challenge);
          assert.equal(await del(target, headers), 401);
        }
        assert.deepEqual(listTree(s.root), []);
      });

      await t.step("outside the prefix → 403, even with the token", async () => {
        for (const path of ["/media/a.m3u8", "/media/lives/a.m3u8", "/media/live"]) {
          assert.equal((await put(`${s.url}${path}`, "x")).status, 403, path);
          assert.equal(await del(`${s.url}${path}`), 403, path);
        }
        assert.deepEqual(listTree(s.root), []);
      });

      await t.step("PUT creates (201), replaces (204); GET serves the new bytes", async () => {
        const first = await put(target, "#EXTM3U\n#one\n");
        assert.equal(first.status, 201);
        assert.equal(first.text, "");
        const second = await put(target, "#EXTM3U\n#two, longer\n");
        assert.equal(second.status, 204);
        const got = await fetch(target);
        assert.equal(got.status, 200);
        assert.equal(await got.text(), "#EXTM3U\n#two, longer\n");
        assert.equal(got.headers.get("content-type"), "application/vnd.apple.mpegurl");
        assert.deepEqual(listTree(s.root), ["live/", "live/a.m3u8"]);
      });

      await t.step("playlists are no-cache, segments keep --cache-control", async () => {
        assert.equal((await put(`${s.url}/media/live/s0.ts`, "segment")).status, 201);
        assert.equal((await put(`${s.url}/media/live/d.mpd`, "<MPD/>")).status, 201);
        for (
          const [path, expected] of [
            ["a.m3u8", "no-cache"],
            ["d.mpd", "no-cache"],
            ["s0.ts", "public, max-age=60"],
          ]
        ) {
          const res = await fetch(`${s.url}/media/live/${path}`);
          await res.body?.cancel();
          assert.equal(res.headers.get("cache-control"), expected, path);
        }
      });

      await t.step("directories are created inside the root as needed", async () => {
        assert.equal((await put(`${s.url}/media/live/ch1/720p/s%201.ts`, "abc")).status, 201);
        assert.equal(await Deno.readTextFile(`${s.root}/live/ch1/720p/s 1.ts`), "abc");
      });

      await t.step("DELETE → 204, then 404; directories are 409", async () => {
        assert.equal(await del(`${s.url}/media/live/s0.ts`), 204);
        assert.ok(!exists(`${s.root}/live/s0.ts`));
        assert.equal(await del(`${s.url}/media/live/s0.ts`), 404);
        assert.equal(await del(`${s.url}/media/live/nope/s0.ts`), 404);
        assert.equal(await del(`${s.url}/media/live/ch1`), 409);
        assert.equal(await del(`${s.url}/media/live/ch1/`), 404);
        assert.ok(exists(`${s.root}/live/ch1/720p/s 1.ts`));
      });

      await t.step("hidden names → 403 for PUT, 404 for DELETE", async () => {
        for (const path of ["/media/live/.a.ts", "/media/live/.dir/a.ts"]) {
          assert.equal((await put(`${s.url}${path}`, "x")).status, 403, path);
          assert.equal(await del(`${s.url}${path}`), 404, path);
        }
      });

      await t.step("conflicts: parent is a file, or target is a directory → 409", async () => {
        assert.equal((await put(`${s.url}/media/live/a.m3u8/x.ts`, "x")).status, 409);
        assert.equal((await put(`${s.url}/media/live/ch1`, "x")).status, 409);
        assert.ok(Deno.statSync(`${s.root}/live/ch1`).isDirectory);
      });

      await t.step("Content-Range on PUT → 400 (no partial PUT, RFC 9110 §14.4)", async () => {
        const res = await put(`${s.url}/media/live/a.m3u8`, "xx", {
          authorization: AUTH,
          "content-range": "bytes 0-1/10",
        });
        assert.equal(res.status, 400);
        assert.equal(await Deno.readTextFile(`${s.root}/live/a.m3u8`), "#EXTM3U\n#two, longer\n");
      });

      await t.step("metrics count completed uploads", async () => {
        const m = await readMetrics(s.url);
        assert.equal(m.get("zerocast_uploads_completed_total"), 5);
        assert.equal(m.get("zerocast_uploads_aborted_total"), 0);
      });
    } finally {
      await s.close();
    }
  });

  Deno.test(`ingest [${engine}]: traversal and unsafe paths never write outside`, async (t) => {
    const s = await startIngestServer(engine);
    try {
      await Deno.mkdir(`${s.base}/outside`);
      await Deno.mkdir(`${s.root}/live`);
      await Deno.symlink(`${s.base}/outside`, `${s.root}/live/escape`);
      const before = listTree(s.base);

      await t.step("raw request-targets: 400 or 403, nothing written", async () => {
        // A server that normalises `..` first sees a path outside the prefix (403); one that
        // keeps the raw target sees a `..` segment (400). Either way nothing is written.
        const targets = [
          "/media/live/../escape.ts",
          "/media/live/../../escape.ts",
          "/media/live/%2e%2e/escape.ts",
          "/media/live/%2E%2E/%2e%2e/escape.ts",
          "/media/live/..%2fescape.ts",
          "/media/live/..%2F..%2Fescape.ts",
          "/media/live/a%5c..%5c..%5cescape.ts",
          "/media/live/a\\..\\..\\escape.ts",
          "/media/live/%252e%252e/escape.ts",
          "/media/live//escape.ts",
          "/media/live/%00escape.ts",
          "/media/live/.%2e/escape.ts",
          "/media/live/./../escape.ts",
        ];
        for (const target of targets) {
          const res = await rawExchange(s.url, rawPut(target));
          assert.ok(
            res.status === 400 || res.status === 403,
            `${target}: ${res.text.split("\r\n")[0]}`,
          );
        }
        assert.deepEqual(listTree(s.base), before);
      });

      await t.step("a symlinked directory leading out of the root → 403", async () => {
        const res = await put(`${s.url}/media/live/escape/x.ts`, "x");
        assert.equal(res.status, 403);
        const deep = await put(`${s.url}/media/live/escape/sub/x.ts`, "x");
        assert.equal(deep.status, 403);
        assert.equal(await del(`${s.url}/media/live/escape/x.ts`), 404);
        assert.deepEqual(listTree(s.base), before);
      });

      await t.step("a trailing slash names no file → 400", async () => {
        assert.equal((await put(`${s.url}/media/live/dir/`, "x")).status, 400);
        assert.deepEqual(listTree(s.base), before);
      });
    } finally {
      await s.close();
    }
  });

  Deno.test(`ingest [${engine}]: off without a token (405, nothing written)`, async () => {
    const s = await startIngestServer(engine, [], null);
    try {
      for (const method of ["PUT", "DELETE"]) {
        const out = await curl([
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "-X",
          method,
          "-H",
          `Authorization: ${AUTH}`,
          "--data-binary",
          "x",
          `${s.url}/media/live/a.ts`,
        ]);
        assert.equal(new TextDecoder().decode(out.stdout), "405", method);
      }
      assert.deepEqual(listTree(s.root), []);
    } finally {
      await s.close();
    }
  });
}

Deno.test("ingest over HTTPS (stream engine): curl PUTs byte-exact, Content-Length and chunked", async () => {
  const cert = await makeTestCert();
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "zerocast-ingest-tls-" }));
  const server = await startServer({
    root,
    tls: { cert: cert.certFile, key: cert.keyFile },
    args: ["--ingest-token", TOKEN],
  });
  try {
    const source = `${root}/source.bin`;
    const bytes = new Uint8Array(3 * 1024 * 1024 + 7);
    for (let i = 0; i < bytes.length; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, Math.min(i + 65536, bytes.length)));
    }
    await Deno.writeFile(source, bytes);
    for (const chunked of [false, true]) {
      const name = chunked ? "chunked.bin" : "length.bin";
      const out = await curl([
        ...["--cacert", cert.certFile, "-o", "/dev/null", "-w", "%{http_code}", "-T", source],
        ...["-H", `Authorization: ${AUTH}`],
        ...(chunked ? ["-H", "Transfer-Encoding: chunked"] : []),
        `${server.httpsUrl}/media/live/${name}`,
      ]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(new TextDecoder().decode(out.stdout), "201");
      assert.deepEqual(await Deno.readFile(`${root}/live/${name}`), bytes);
    }
    const m = await readMetrics(server.url);
    assert.equal(m.get('zerocast_bytes_ingested_total{path="stream"}'), 2 * bytes.length);
  } finally {
    await server.close();
    await cert.cleanup();
    await Deno.remove(root, { recursive: true });
  }
});
