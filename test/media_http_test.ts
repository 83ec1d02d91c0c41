/**
 * Integration tests of `/media/*` over real sockets: `main.ts` runs as a subprocess (through
 * `startServer`) for every engine, and is checked with `fetch`, `curl` and raw TCP/TLS requests
 * (for paths clients would normalise), over HTTP and HTTPS with a certificate made at test time.
 * Statuses, headers and bodies are compared byte for byte with the files on disk.
 */
import assert from "node:assert/strict";
import { boundaryOf, parseMultipart } from "./support/multipart.ts";
import { curl, ENGINES, have, type RunningServer, startServer } from "./support/server.ts";
import { makeTestCert, type TestCert } from "./support/tls.ts";
import { randomBytes } from "./support/bytes.ts";

const CLIP_SIZE = 200_003;
const BIG_SIZE = 5 * 2 ** 30;
const BIG_OFFSET = 2 ** 32 + 4321;
const MTIME_S = 1_700_000_000; // Tue, 14 Nov 2023 22:13:20 GMT
const MTIME_TEXT = "Tue, 14 Nov 2023 22:13:20 GMT";
const EXPOSE = "Content-Range, Content-Length, Accept-Ranges, ETag";

interface Fixture {
  base: string;
  root: string;
  clip: Uint8Array;
  marker: Uint8Array;
  secret: string;
  cleanup(): Promise<void>;
}

/** A temp media root with random files, an empty file, a sparse 5 GiB file and traps. */
async function makeFixture(): Promise<Fixture> {
  const base = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-media-http-" }));
  const root = `${base}/root`;
  await Deno.mkdir(`${root}/sub`, { recursive: true });
  await Deno.mkdir(`${base}/outside`);
  const clip = randomBytes(CLIP_SIZE);
  await Deno.writeFile(`${root}/clip.mp4`, clip);
  await Deno.writeFile(`${root}/a b.mp4`, clip.subarray(0, 10));
  await Deno.writeFile(`${root}/sub/seg.ts`, clip.subarray(0, 188));
  await Deno.writeFile(`${root}/empty.txt`, new Uint8Array(0));
  await Deno.writeTextFile(`${root}/playlist.m3u8`, "#EXTM3U\n");
  const secret = `TOP-SECRET-${crypto.randomUUID()}`;
  await Deno.writeTextFile(`${base}/outside/secret.txt`, secret);
  await Deno.writeTextFile(`${root}/.hidden`, secret);
  await Deno.symlink(`${base}/outside/secret.txt`, `${root}/escape.txt`);
  await Deno.symlink(`${base}/outside`, `${root}/outdir`);
  await Deno.symlink(`${root}/clip.mp4`, `${root}/link.mp4`);
  // Sparse 5 GiB file with random bytes just past 2^32.
  const marker = crypto.getRandomValues(new Uint8Array(100));
  await Deno.writeFile(`${root}/big.bin`, new Uint8Array(0));
  await Deno.truncate(`${root}/big.bin`, BIG_SIZE);
  {
    using file = await Deno.open(`${root}/big.bin`, { write: true });
    await file.seek(BIG_OFFSET, Deno.SeekMode.Start);
    await file.write(marker);
  }
  for (const name of ["clip.mp4", "big.bin", "empty.txt"]) {
    await Deno.utime(`${root}/${name}`, MTIME_S, MTIME_S);
  }
  return {
    base,
    root,
    clip,
    marker,
    secret,
    cleanup: () => Deno.remove(base, { recursive: true }),
  };
}

/** A response read to the end. */
interface Got {
  status: number;
  headers: Headers;
  body: Uint8Array;
  /** HTTP version of the response when known (curl, raw): "1.1" or "2". */
  version?: string;
}

/** Talks to one listener (http or https) with fetch, curl and raw sockets. */
class Client {
  constructor(
    readonly base: string,
    readonly fx: Fixture,
    readonly cert: TestCert | null,
    readonly httpClient: Deno.HttpClient | undefined,
  ) {}

  get tls(): boolean {
    return this.base.startsWith("https:");
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Got> {
    const res = await fetch(this.base + path, { ...init, client: this.httpClient });
    const body = res.body ? new Uint8Array(await res.arrayBuffer()) : new Uint8Array(0);
    return { status: res.status, headers: res.headers, body };
  }

  /** curl with the path sent as is; returns status, headers (last response) and body. */
  async curl(path: string, args: string[] = []): Promise<Got> {
    const id = crypto.randomUUID();
    const headerFile = `${this.fx.base}/h-${id}`;
    const bodyFile = `${this.fx.base}/b-${id}`;
    const tlsArgs = this.cert ? ["--cacert", this.cert.certFile] : [];
    const out = await curl([
      ...tlsArgs,
      "--path-as-is",
      "-D",
      headerFile,
      "-o",
      bodyFile,
      "-w",
      "%{http_code}",
      ...args,
      this.base + path,
    ]);
    assert.equal(out.code, 0, out.stderr);
    const headers = new Headers();
    const blocks = (await Deno.readTextFile(headerFile)).trim().split(/\r\n\r\n/);
    const [statusLine, ...lines] = blocks[blocks.length - 1].split("\r\n");
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    let body = new Uint8Array(0);
    // With -I curl writes the headers, not a body, to the output file (a HEAD has no body).
    if (!args.includes("-I")) {
      try {
        body = await Deno.readFile(bodyFile);
      } catch { /* no body written */ }
    }
    await Deno.remove(headerFile);
    await Deno.remove(bodyFile).catch(() => {});
    return {
      status: Number(new TextDecoder().decode(out.stdout)),
      headers,
      body,
      version: statusLine.split(" ")[0].slice("HTTP/".length),
    };
  }

  /** Sends `GET target HTTP/1.1` over a raw socket so nothing normalises the target. */
  async raw(target: string, method = "GET"): Promise<Got> {
    const url = new URL(this.base);
    const port = Number(url.port);
    const conn = this.cert
      ? await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [this.cert.certPem] })
      : await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(
        new TextEncoder().encode(
          `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
        ),
      );
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(65536);
      for (;;) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) break;
        chunks.push(buf.slice(0, n));
      }
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.byteLength;
      }
      const text = new TextDecoder("latin1").decode(all);
      const end = text.indexOf("\r\n\r\n");
      const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
      const headers = new Headers();
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
      }
      return { status: Number(statusLine.split(" ")[1]), headers, body: all.slice(end + 4) };
    } finally {
      conn.close();
    }
  }
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Asserts a 206 single-range response for `[start, end]` of the clip. */
function assertRange(got: Got, fx: Fixture, start: number, end: number, size = CLIP_SIZE): void {
  assert.equal(got.status, 206);
  assert.equal(got.headers.get("content-range"), `bytes ${start}-${end}/${size}`);
  assert.equal(got.headers.get("content-length"), String(end - start + 1));
  assert.equal(got.headers.get("content-type"), "video/mp4");
  assert.deepEqual(got.body, fx.clip.subarray(start, end + 1));
}

/** Asserts a 200 with the whole clip. */
function assertWhole(got: Got, fx: Fixture): void {
  assert.equal(got.status, 200);
  assert.equal(got.headers.get("content-range"), null);
  assert.equal(got.headers.get("content-length"), String(CLIP_SIZE));
  assert.equal(got.body.byteLength, CLIP_SIZE);
  assert.deepEqual(got.body, fx.clip);
}

/** Parses a multipart/byteranges response and checks every part against the clip. */
function assertMultipart(got: Got, fx: Fixture, ranges: [number, number][]): void {
  assert.equal(got.status, 206);
  assert.equal(got.headers.get("content-length"), String(got.body.byteLength));
  const parts = parseMultipart(got.body, boundaryOf(got.headers.get("content-type")));
  assert.equal(parts.length, ranges.length);
  ranges.forEach(([start, end], i) => {
    assert.equal(parts[i].headers.get("content-type"), "video/mp4");
    assert.equal(parts[i].headers.get("content-range"), `bytes ${start}-${end}/${CLIP_SIZE}`);
    assert.deepEqual(parts[i].body, fx.clip.subarray(start, end + 1));
  });
}

/** The checks that run over every listener (HTTP and HTTPS). */
async function coreChecks(t: Deno.TestContext, c: Client, fx: Fixture): Promise<void> {
  const scheme = c.tls ? "https" : "http";
  let etag = "";

  await t.step(`${scheme}: 200 whole file with validators and CORS (fetch, curl)`, async () => {
    for (const got of [await c.fetch("/media/clip.mp4"), await c.curl("/media/clip.mp4")]) {
      assertWhole(got, fx);
      assert.equal(got.headers.get("content-type"), "video/mp4");
      assert.equal(got.headers.get("accept-ranges"), "bytes");
      assert.equal(got.headers.get("last-modified"), MTIME_TEXT);
      assert.match(got.headers.get("etag") ?? "", /^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
      assert.equal(got.headers.get("access-control-allow-origin"), "*");
      assert.equal(got.headers.get("access-control-expose-headers"), EXPOSE);
      assert.equal(got.headers.get("vary"), null);
      etag = got.headers.get("etag")!;
    }
    // Over TLS, ALPN negotiates HTTP/2 (curl offers h2): the checks below cover both protocols.
    assert.equal((await c.curl("/media/clip.mp4", ["-I"])).version, c.tls ? "2" : "1.1");
  });

  await t.step(`${scheme}: single ranges — Safari probe, suffix, open-ended, clamped`, async () => {
    assertRange(await c.fetch("/media/clip.mp4", { headers: { range: "bytes=0-1" } }), fx, 0, 1);
    assertRange(await c.curl("/media/clip.mp4", ["-r", "0-1"]), fx, 0, 1);
    const last = CLIP_SIZE - 1;
    assertRange(
      await c.fetch("/media/clip.mp4", { headers: { range: "bytes=-500" } }),
      fx,
      CLIP_SIZE - 500,
      last,
    );
    assertRange(await c.curl("/media/clip.mp4", ["-r", "-500"]), fx, CLIP_SIZE - 500, last);
    assertRange(
      await c.fetch("/media/clip.mp4", { headers: { range: "bytes=1000-" } }),
      fx,
      1000,
      last,
    );
    assertRange(await c.curl("/media/clip.mp4", ["-r", "1000-"]), fx, 1000, last);
    assertRange(
      await c.fetch("/media/clip.mp4", { headers: { range: "bytes=100-99999999999" } }),
      fx,
      100,
      last,
    );
    assertRange(
      await c.fetch("/media/clip.mp4", { headers: { range: "bytes=0-" } }),
      fx,
      0,
      last,
    );
  });

  await t.step(`${scheme}: multi-range → multipart/byteranges, every part verified`, async () => {
    const ranges: [number, number][] = [[0, 9], [1000, 1999], [CLIP_SIZE - 100, CLIP_SIZE - 1]];
    assertMultipart(
      await c.fetch("/media/clip.mp4", { headers: { range: "bytes=0-9, 1000-1999,-100" } }),
      fx,
      ranges,
    );
    assertMultipart(await c.curl("/media/clip.mp4", ["-r", "0-9,1000-1999,-100"]), fx, ranges);
    // Unsatisfiable specs are dropped; one left → a plain 206.
    assertRange(
      await c.fetch("/media/clip.mp4", { headers: { range: `bytes=5-6,${CLIP_SIZE}-` } }),
      fx,
      5,
      6,
    );
  });

  await t.step(`${scheme}: DoS guard, invalid and overflowing ranges → 200 whole`, async () => {
    const seventeen = Array.from({ length: 17 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(",");
    const sixteen = Array.from({ length: 16 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(",");
    assertWhole(await c.fetch("/media/clip.mp4", { headers: { range: `bytes=${seventeen}` } }), fx);
    assert.equal(
      (await c.fetch("/media/clip.mp4", { headers: { range: `bytes=${sixteen}` } })).status,
      206,
    );
    for (
      const range of [
        "bytes=0-,0-", // adds up to twice the file
        `bytes=0-${CLIP_SIZE / 2},${CLIP_SIZE / 2 - 10}-`,
        "bytes=5-1",
        "items=0-1",
        "bytes=abc",
        "bytes=-1,-9223372036854775808", // CVE-2017-7529
        "bytes=0-18446744073709551615",
        "bytes=18446744073709551616-",
      ]
    ) {
      assertWhole(await c.fetch("/media/clip.mp4", { headers: { range } }), fx);
    }
    assertWhole(await c.curl("/media/clip.mp4", ["-r", seventeen]), fx);
    assertWhole(
      await c.curl("/media/clip.mp4", ["-H", "Range: bytes=-1,-9223372036854775808"]),
      fx,
    );
  });

  await t.step(`${scheme}: unsatisfiable → 416 with Content-Range: bytes */size`, async () => {
    for (
      const got of [
        await c.fetch("/media/clip.mp4", { headers: { range: `bytes=${CLIP_SIZE}-` } }),
        await c.curl("/media/clip.mp4", ["-r", `${CLIP_SIZE + 5}-${CLIP_SIZE + 10}`]),
        await c.fetch("/media/clip.mp4", { headers: { range: "bytes=-0" } }),
      ]
    ) {
      assert.equal(got.status, 416);
      assert.equal(got.headers.get("content-range"), `bytes */${CLIP_SIZE}`);
      assert.equal(got.body.byteLength, 0);
    }
  });

  await t.step(`${scheme}: If-Range — strong ETag or exact date applies, else 200`, async () => {
    const ranged = (ifRange: string) =>
      c.fetch("/media/clip.mp4", { headers: { range: "bytes=10-19", "if-range": ifRange } });
    assertRange(await ranged(etag), fx, 10, 19);
    assertRange(await ranged(MTIME_TEXT), fx, 10, 19);
    assertRange(
      await c.curl("/media/clip.mp4", ["-r", "10-19", "-H", `If-Range: ${etag}`]),
      fx,
      10,
      19,
    );
    assertWhole(await ranged(`W/${etag}`), fx);
    assertWhole(await ranged('"stale"'), fx);
    assertWhole(await ranged("Tue, 14 Nov 2023 22:13:21 GMT"), fx);
    assertWhole(await ranged("not a date"), fx);
    assertWhole(
      await c.curl("/media/clip.mp4", ["-r", "10-19", "-H", `If-Range: W/${etag}`]),
      fx,
    );
  });

  await t.step(`${scheme}: 304 with validators and no body; 412`, async () => {
    for (
      const headers of <Record<string, string>[]> [
        { "if-none-match": etag },
        { "if-none-match": `W/${etag}` },
        { "if-none-match": `"x", ${etag}` },
        { "if-none-match": "*" },
        { "if-modified-since": MTIME_TEXT },
        { "if-modified-since": "Wed, 15 Nov 2023 00:00:00 GMT" },
      ]
    ) {
      const got = await c.fetch("/media/clip.mp4", { headers });
      assert.equal(got.status, 304, JSON.stringify(headers));
      assert.equal(got.headers.get("etag"), etag);
      assert.equal(got.headers.get("last-modified"), MTIME_TEXT);
      assert.equal(got.headers.get("access-control-allow-origin"), "*");
      assert.equal(got.body.byteLength, 0);
    }
    const viaCurl = await c.curl("/media/clip.mp4", ["-H", `If-None-Match: ${etag}`]);
    assert.equal(viaCurl.status, 304);
    assert.equal(viaCurl.body.byteLength, 0);
    // Not modified conditions that do not hold → 200.
    assertWhole(await c.fetch("/media/clip.mp4", { headers: { "if-none-match": '"x"' } }), fx);
    assertWhole(
      await c.fetch("/media/clip.mp4", {
        headers: { "if-modified-since": "Tue, 14 Nov 2023 22:13:19 GMT" },
      }),
      fx,
    );
    for (
      const headers of <Record<string, string>[]> [
        { "if-match": '"x"' },
        { "if-match": `W/${etag}` },
        { "if-unmodified-since": "Tue, 14 Nov 2023 22:13:19 GMT" },
      ]
    ) {
      const got = await c.fetch("/media/clip.mp4", { headers });
      assert.equal(got.status, 412, JSON.stringify(headers));
      assert.equal(got.body.byteLength, 0);
    }
    assertWhole(await c.fetch("/media/clip.mp4", { headers: { "if-match": etag } }), fx);
    assert.equal((await c.curl("/media/clip.mp4", ["-H", 'If-Match: "x"'])).status, 412);
  });

  await t.step(`${scheme}: HEAD has GET's headers and no body`, async () => {
    const getRes = await c.fetch("/media/clip.mp4");
    // A raw HEAD on a closing connection: nothing may follow the header block.
    const raw = await c.raw("/media/clip.mp4", "HEAD");
    assert.equal(raw.status, 200);
    assert.equal(raw.headers.get("content-length"), String(CLIP_SIZE));
    assert.equal(raw.body.byteLength, 0);
    for (
      const head of [
        await c.fetch("/media/clip.mp4", { method: "HEAD" }),
        await c.curl("/media/clip.mp4", ["-I"]),
      ]
    ) {
      assert.equal(head.status, 200);
      assert.equal(head.body.byteLength, 0);
      const names = (h: Headers) => [...h.keys()].filter((k) => k !== "date").sort();
      assert.deepEqual(names(head.headers), names(getRes.headers));
      for (const name of names(getRes.headers)) {
        assert.equal(head.headers.get(name), getRes.headers.get(name), name);
      }
    }
  });

  await t.step(`${scheme}: empty file — 200 length 0; byte ranges → 416 bytes */0`, async () => {
    const got = await c.fetch("/media/empty.txt");
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("content-length"), "0");
    assert.equal(got.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(got.body.byteLength, 0);
    const viaCurl = await c.curl("/media/empty.txt");
    assert.equal(viaCurl.status, 200);
    assert.equal(viaCurl.body.byteLength, 0);
    for (const range of ["bytes=0-0", "bytes=-1", "bytes=0-"]) {
      const r = await c.fetch("/media/empty.txt", { headers: { range } });
      assert.equal(r.status, 416, range);
      assert.equal(r.headers.get("content-range"), "bytes */0");
    }
  });

  await t.step(`${scheme}: sparse 5 GiB file — ranges beyond 2^32 are exact`, async () => {
    const end = BIG_OFFSET + fx.marker.byteLength - 1;
    for (
      const got of [
        await c.fetch("/media/big.bin", { headers: { range: `bytes=${BIG_OFFSET}-${end}` } }),
        await c.curl("/media/big.bin", ["-r", `${BIG_OFFSET}-${end}`]),
      ]
    ) {
      assert.equal(got.status, 206);
      assert.equal(got.headers.get("content-range"), `bytes ${BIG_OFFSET}-${end}/${BIG_SIZE}`);
      assert.equal(got.headers.get("content-type"), "application/octet-stream");
      assert.deepEqual(got.body, fx.marker);
    }
    const tail = await c.fetch("/media/big.bin", { headers: { range: "bytes=-16" } });
    assert.equal(
      tail.headers.get("content-range"),
      `bytes ${BIG_SIZE - 16}-${BIG_SIZE - 1}/${BIG_SIZE}`,
    );
    assert.deepEqual(tail.body, new Uint8Array(16));
    const multi = await c.fetch("/media/big.bin", {
      headers: { range: `bytes=0-1,${BIG_OFFSET + 1}-${BIG_OFFSET + 2}` },
    });
    const parts = parseMultipart(multi.body, boundaryOf(multi.headers.get("content-type")));
    assert.deepEqual(parts[1].body, fx.marker.subarray(1, 3));
    assert.equal(
      parts[1].headers.get("content-range"),
      `bytes ${BIG_OFFSET + 1}-${BIG_OFFSET + 2}/${BIG_SIZE}`,
    );
    const head = await c.fetch("/media/big.bin", { method: "HEAD" });
    assert.equal(head.headers.get("content-length"), String(BIG_SIZE));
  });

  await t.step(`${scheme}: Content-Type, names with spaces, symlinks inside the root`, async () => {
    const m3u8 = await c.fetch("/media/playlist.m3u8");
    assert.equal(m3u8.headers.get("content-type"), "application/vnd.apple.mpegurl");
    assert.equal(text(m3u8.body), "#EXTM3U\n");
    const seg = await c.fetch("/media/sub/seg.ts");
    assert.equal(seg.headers.get("content-type"), "video/mp2t");
    assert.deepEqual(seg.body, fx.clip.subarray(0, 188));
    assert.deepEqual((await c.fetch("/media/a%20b.mp4")).body, fx.clip.subarray(0, 10));
    assertWhole(await c.fetch("/media/%63lip.mp4"), fx);
    assertWhole(await c.fetch("/media/link.mp4"), fx);
  });

  await t.step(`${scheme}: CORS preflight and 405 with Allow`, async () => {
    const pre = await c.fetch("/media/clip.mp4", {
      method: "OPTIONS",
      headers: {
        origin: "https://player.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "range, if-range",
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "*");
    assert.equal(pre.headers.get("access-control-allow-methods"), "GET, HEAD, OPTIONS");
    const allowed = pre.headers.get("access-control-allow-headers")!.toLowerCase().split(/,\s*/);
    assert.ok(allowed.includes("range") && allowed.includes("if-range"), allowed.join());
    assert.equal(pre.headers.get("access-control-max-age"), "86400");
    assert.equal(pre.body.byteLength, 0);
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const got = await c.fetch("/media/clip.mp4", { method });
      assert.equal(got.status, 405, method);
      assert.equal(got.headers.get("allow"), "GET, HEAD, OPTIONS");
    }
    assert.equal((await c.curl("/media/clip.mp4", ["-X", "POST"])).status, 405);
  });

  await t.step(`${scheme}: missing file → 404 with a short text body`, async () => {
    const got = await c.fetch("/media/missing.mp4");
    assert.equal(got.status, 404);
    assert.equal(text(got.body), "not found\n");
    assert.equal(got.headers.get("access-control-allow-origin"), "*");
  });

  await t.step(
    `${scheme}: path safety over raw requests (CVE-2024-32869, connect, std)`,
    async () => {
      const cases: [string, number][] = [
        ["/media/../outside/secret.txt", 400],
        ["/media/sub/../../outside/secret.txt", 400],
        ["/media/%2e%2e/outside/secret.txt", 400], // connect: %2e%2e
        ["/media/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd", 400],
        ["/media/.%2e/outside/secret.txt", 400],
        ["/media/..%2foutside%2fsecret.txt", 400], // encoded slash
        ["/media/sub%2F..%2F..%2Foutside%2Fsecret.txt", 400],
        ["/media/..%5coutside%5csecret.txt", 400], // %5C
        ["/media/..\\outside\\secret.txt", 400], // raw backslash
        ["/media/%252e%252e/outside/secret.txt", 400], // double encoding
        ["/media/%252e%252e%252foutside%252fsecret.txt", 400],
        ["/media/clip.mp4%00.txt", 400], // NUL
        ["/media/%C0%AE%C0%AE/outside/secret.txt", 400], // overlong UTF-8
        ["/media/%zz", 400],
        ["/media//etc/passwd", 400], // `//`
        ["/media/sub//seg.ts", 400],
        ["/media/.hidden", 404], // dotfile
        ["/media/%2ehidden", 404],
        ["/media/escape.txt", 404], // symlink out of the root
        ["/media/outdir/secret.txt", 404],
        // directories: folder listings (on by default; --no-dir-listing makes them 404, see
        // test/pages_http_test.ts)
        ["/media/sub", 301],
        ["/media/sub/", 200],
        ["/media/", 200],
        ["/media", 404],
        ["//media/clip.mp4", 404], // `//` must not reach a different route
        ["/%6Dedia/../outside/secret.txt", 404],
      ];
      for (const [target, status] of cases) {
        for (const method of ["GET", "HEAD"]) {
          const got = await c.raw(target, method);
          assert.equal(got.status, status, `${method} ${target}`);
          assert.ok(!text(got.body).includes(fx.secret), target);
          assert.ok(!text(got.body).includes("root:"), target);
        }
      }
      // The same through curl with --path-as-is.
      assert.equal((await c.curl("/media/../outside/secret.txt")).status, 400);
      assert.equal((await c.curl("/media/%2e%2e/outside/secret.txt")).status, 400);
      assert.equal((await c.curl("/media/escape.txt")).status, 404);
      // A control: the raw client does serve a proper path.
      const ok = await c.raw("/media/sub/seg.ts");
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, fx.clip.subarray(0, 188));
    },
  );
}

for (const engine of ENGINES) {
  Deno.test({
    name: `media over HTTP and HTTPS (${engine} engine)`,
    ignore: !have("curl") || !have("openssl"),
    async fn(t) {
      const fx = await makeFixture();
      let cert: TestCert | undefined;
      let httpClient: Deno.HttpClient | undefined;
      let server: RunningServer | undefined;
      try {
        cert = await makeTestCert();
        httpClient = Deno.createHttpClient({ caCerts: [cert.certPem] });
        server = await startServer({
          root: fx.root,
          engine,
          tls: { cert: cert.certFile, key: cert.keyFile },
        });
        await coreChecks(t, new Client(server.url, fx, null, undefined), fx);
        await coreChecks(t, new Client(server.httpsUrl!, fx, cert, httpClient), fx);
      } finally {
        httpClient?.close();
        await server?.close();
        await cert?.cleanup();
        await fx.cleanup();
      }
    },
  });

  Deno.test({
    name: `media options: --cors, --cache-control, --max-ranges (${engine} engine)`,
    ignore: !have("curl"),
    async fn() {
      const fx = await makeFixture();
      let server: RunningServer | undefined;
      try {
        server = await startServer({
          root: fx.root,
          engine,
          args: [
            "--cors",
            "https://player.example",
            "--cache-control",
            "public, max-age=60",
            "--max-ranges",
            "2",
          ],
        });
        const c = new Client(server.url, fx, null, undefined);
        const got = await c.fetch("/media/clip.mp4", { headers: { range: "bytes=0-1" } });
        assertRange(got, fx, 0, 1);
        assert.equal(got.headers.get("access-control-allow-origin"), "https://player.example");
        assert.equal(got.headers.get("vary"), "Origin");
        assert.equal(got.headers.get("cache-control"), "public, max-age=60");
        const notModified = await c.fetch("/media/clip.mp4", {
          headers: { "if-none-match": got.headers.get("etag")! },
        });
        assert.equal(notModified.status, 304);
        assert.equal(notModified.headers.get("cache-control"), "public, max-age=60");
        assert.equal(notModified.headers.get("vary"), "Origin");
        const pre = await c.fetch("/media/clip.mp4", { method: "OPTIONS" });
        assert.equal(pre.headers.get("access-control-allow-origin"), "https://player.example");
        assert.equal(pre.headers.get("vary"), "Origin");
        assertMultipart(
          await c.fetch("/media/clip.mp4", { headers: { range: "bytes=0-1,5-6" } }),
          fx,
          [[0, 1], [5, 6]],
        );
        assertWhole(
          await c.fetch("/media/clip.mp4", { headers: { range: "bytes=0-1,5-6,9-9" } }),
          fx,
        );
      } finally {
        await server?.close();
        await fx.cleanup();
      }
    },
  });
}
