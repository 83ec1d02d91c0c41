/**
 * Who may watch, over real sockets on both engines, with `main.ts` in a subprocess and curl as
 * the client: unsigned → 403, a URL printed by `deno task sign` → 200 byte for byte, its relative
 * segment URLs (resolved as a player does) → 200/206 byte for byte, expired / wrong key / out of
 * prefix → the same 403, traversal behind a valid token still 400; `--basic-auth` with a hash from
 * `deno task passwd` → 401/200; the plain-HTTP warning; bad flags. hls.js in Chromium:
 * `auth_browser_test.ts`.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { signPath } from "../src/auth/signed_url.ts";
import { curl, ENGINES, have, startServer } from "./support/server.ts";

const MEDIA = fileURLToPath(new URL("../media/", import.meta.url));
const REPO = fileURLToPath(new URL("../", import.meta.url));
const MAIN = `${REPO}main.ts`;
const KEY = "http-test-sign-key-0123456789";
const haveCurl = have("curl");
if (!haveCurl) console.log("auth_http_test: skipped, curl not found");

/** Runs a deno task from the repo with `args`, stdin `input`, env `env`; returns stdout. */
async function task(name: string, args: string[], env: Record<string, string>, input?: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", name, ...args],
    cwd: REPO,
    env: { NO_COLOR: "1", ...env },
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** curl GET: status and body bytes. */
async function fetchBytes(url: string, extra: string[] = []) {
  const r = await curl([...extra, "-o", "-", "-w", "\n%{http_code}", url]);
  assert.equal(r.code, 0, r.stderr);
  const text = r.stdout;
  const nl = text.lastIndexOf(0x0a);
  const status = Number(new TextDecoder().decode(text.subarray(nl + 1)));
  return { status, body: text.subarray(0, nl) };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

for (const engine of ENGINES) {
  Deno.test({
    name: `auth http (${engine}): signed HLS title by deno task sign; refusals are one 403`,
    ignore: !haveCurl,
    async fn() {
      // The key by flag on one engine, by environment on the other.
      const server = await startServer(
        engine === "stream"
          ? { engine, args: ["--sign-key", KEY] }
          : { engine, env: { ZEROCAST_SIGN_KEY: KEY } },
      );
      try {
        const playlist = await Deno.readFile(`${MEDIA}hls/index.m3u8`);
        const segment = await Deno.readFile(`${MEDIA}hls/segment000.ts`);
        const sample = await Deno.readFile(`${MEDIA}sample.mp4`);

        // Unsigned: 403, whatever is asked.
        for (const path of ["/media/hls/index.m3u8", "/media/sample.mp4", "/", "/api/library"]) {
          const r = await fetchBytes(server.url + path);
          assert.equal(r.status, 403, path);
          assert.equal(text(r.body), "forbidden\n");
        }
        assert.equal((await fetchBytes(`${server.url}/healthz`)).status, 200);
        const refusedHead = await curl(["-I", `${server.url}/media/sample.mp4`]);
        assert.match(
          text(refusedHead.stdout),
          /^HTTP\/1\.1 403 .*\r\n(.*\r\n)*content-length: 10\r\n/i,
        );

        const signed = await task(
          "sign",
          ["--prefix", "/media/hls/", "--ttl", "600", "--base", server.url, "--path", "index.m3u8"],
          { ZEROCAST_SIGN_KEY: KEY },
        );
        assert.equal(signed.code, 0, signed.stderr);
        const url = signed.stdout.trim();
        assert.match(
          url,
          /^http:\/\/127\.0\.0\.1:\d+\/s\/\d+\.2\.[A-Za-z0-9_-]{43}\/media\/hls\/index\.m3u8$/,
        );
        const got = await fetchBytes(url);
        assert.equal(got.status, 200);
        assert.deepEqual(got.body, playlist);

        // Every URI in the playlist, resolved against it as players do (RFC 3986 §5.2).
        const uris = text(playlist).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
        assert.ok(uris.length >= 2);
        for (const uri of uris) {
          const r = await fetchBytes(new URL(uri, url).href);
          assert.equal(r.status, 200, uri);
          assert.deepEqual(r.body, await Deno.readFile(`${MEDIA}hls/${uri}`));
        }
        const segmentUrl = new URL("segment000.ts", url).href;
        const range = await fetchBytes(segmentUrl, ["-r", "100-1099"]);
        assert.equal(range.status, 206);
        assert.deepEqual(range.body, segment.subarray(100, 1100));
        const head = await curl(["-I", segmentUrl]);
        assert.match(text(head.stdout), /^HTTP\/1\.1 200/);
        assert.match(text(head.stdout), new RegExp(`content-length: ${segment.length}\r\n`, "i"));

        // One file by an exact prefix, with a multi-range request.
        const exact = `${server.url}${
          signPath({ key: KEY, prefix: "/media/sample.mp4", ttlSeconds: 600 })
        }`;
        assert.deepEqual((await fetchBytes(exact)).body, sample);
        const tail = await fetchBytes(exact, ["-r", "-500"]);
        assert.equal(tail.status, 206);
        assert.deepEqual(tail.body, sample.subarray(sample.length - 500));

        // Expired (no grace), wrong key, out of prefix, tampered: the same 403.
        const now = Math.floor(Date.now() / 1000);
        const token = new URL(url).pathname.split("/")[2];
        for (
          const path of [
            signPath({ key: KEY, prefix: "/media/hls/", path: "index.m3u8", expires: now }),
            signPath({ key: KEY, prefix: "/media/hls/", path: "index.m3u8", expires: now - 3600 }),
            signPath({
              key: `${KEY}!`,
              prefix: "/media/hls/",
              path: "index.m3u8",
              expires: now + 600,
            }),
            `/s/${token}/media/sample.mp4`,
            `/s/${token}/media/hlsx/index.m3u8`,
            `/s/${token.replace(".2.", ".1.")}/media/hls/index.m3u8`,
            `/s/${token.slice(0, -2)}/media/hls/index.m3u8`,
          ]
        ) {
          const r = await fetchBytes(server.url + path);
          assert.equal(r.status, 403, path);
          assert.equal(text(r.body), "forbidden\n", path);
        }

        // Behind a valid token, a way out of the prefix is 403 (curl sends `..` as is) and the
        // path rules of /media/ still apply to the rest.
        for (
          const [rest, status] of [
            ["../sample.mp4", 403],
            ["%2e%2e/sample.mp4", 403],
            ["..%2Fsample.mp4", 403],
            ["..%5Csample.mp4", 403],
            ["./index.m3u8", 403],
            ["segment000.ts%00", 400],
            ["x//segment000.ts", 400],
            [".hidden", 404],
            ["missing.ts", 404],
          ] as const
        ) {
          const r = await fetchBytes(`${server.url}/s/${token}/media/hls/${rest}`, [
            "--path-as-is",
          ]);
          assert.equal(r.status, status, rest);
          assert.notDeepEqual(r.body, sample);
        }
      } finally {
        assert.equal(await server.close(), 0);
      }
    },
  });
}

Deno.test({
  name: "auth http: --basic-auth with a hash from deno task passwd: 401, then 200 with curl -u",
  ignore: !haveCurl,
  async fn() {
    const made = await task("passwd", ["--user", "bob"], {}, "hunter2 : long\n");
    assert.equal(made.code, 0, made.stderr);
    const login = made.stdout.trim();
    assert.match(login, /^bob:pbkdf2-sha256\$600000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}$/);
    for (const engine of ENGINES) {
      // Through the environment here: a `$` in a flag needs single quotes in a shell.
      const server = await startServer({ engine, env: { ZEROCAST_BASIC_AUTH: login } });
      try {
        assert.equal(server.stderr.filter((l) => l.includes("warning")).length, 0);
        for (const path of ["/", "/api/library", "/media/sample.mp4"]) {
          for (const auth of [[], ["-u", "bob:wrong"], ["-u", "alice:hunter2 : long"]]) {
            const r = await curl([...auth, "-i", server.url + path]);
            const head = text(r.stdout);
            assert.match(head, /^HTTP\/1\.1 401/, `${engine} ${path} ${auth}`);
            assert.match(
              head,
              /\r\nwww-authenticate: Basic realm="zerocast", charset="UTF-8"\r\n/i,
            );
          }
          const ok = await fetchBytes(server.url + path, ["-u", "bob:hunter2 : long"]);
          assert.equal(ok.status, 200, path);
        }
        const media = await fetchBytes(`${server.url}/media/sample.mp4`, [
          "-u",
          "bob:hunter2 : long",
        ]);
        assert.deepEqual(media.body, await Deno.readFile(`${MEDIA}sample.mp4`));
        assert.equal((await fetchBytes(`${server.url}/healthz`)).status, 200);
        assert.equal((await fetchBytes(`${server.url}/metrics`)).status, 200);
      } finally {
        assert.equal(await server.close(), 0);
      }
    }
  },
});

async function runMain(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "--quiet", ...args],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("auth cli: --basic-auth on a non-loopback address warns on stderr at start", async () => {
  const salt = btoa("saltsalt");
  const hash = btoa("h".repeat(32));
  // 192.0.2.1 (TEST-NET-1, RFC 5737) is not on this machine: the warning comes, then the listener
  // fails, so the test never listens beyond loopback.
  const r = await runMain([
    ...["--host", "192.0.2.1", "--port", "0"],
    ...["--basic-auth", `bob:pbkdf2-sha256$1000$${salt}$${hash}`],
  ]);
  const lines = r.stderr.trim().split("\n");
  assert.equal(
    lines[0],
    "zerocast: warning: --basic-auth over plain HTTP on http://192.0.2.1: passwords cross the " +
      "network readable; serve logins over HTTPS (--tls-port) or a TLS proxy, and keep this port private",
  );
  assert.match(
    lines[1],
    /^zerocast: cannot listen on http:\/\/192\.0\.2\.1:0: address not available/,
  );
  assert.equal(r.code, 2);
  // Without --basic-auth: no warning.
  const plain = await runMain(["--host", "192.0.2.1", "--port", "0"]);
  assert.ok(!plain.stderr.includes("warning"), plain.stderr);
});

for (
  const [name, args, pattern] of [
    ["short sign key", ["--sign-key", "short"], /^zerocast: --sign-key must be at least 16/],
    [
      "plain password",
      ["--basic-auth", "bob:secret"],
      /^zerocast: --basic-auth must be USER:HASH \(hash must be pbkdf2-sha256/,
    ],
    ["no user", ["--basic-auth", "nocolon"], /^zerocast: --basic-auth must be USER:HASH/],
  ] as const
) {
  Deno.test(`auth cli: ${name} -> one line, exit 2`, async () => {
    const r = await runMain([...args]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, pattern);
    assert.ok(!r.stderr.includes(args[1]), "a credential is never echoed");
  });
}

Deno.test("auth cli: deno task sign refuses bad input with exit 2", async () => {
  for (
    const [args, env, pattern] of [
      [["--prefix", "/media/a/"], {}, /no key/],
      [["--prefix", "/media/a/", "--key", "short"], {}, /at least 16/],
      [["--key", KEY], {}, /--prefix is required/],
      [["--prefix", "/api/", "--key", KEY], {}, /must be under \/media\/, \/hls\/, \/dash\//],
      [["--prefix", "/media/a b/", "--key", KEY], {}, /percent-encoded/],
      [["--prefix", "/media/a/", "--ttl", "0", "--key", KEY], {}, /--ttl must be/],
      [["--prefix", "/media/a/", "--base", "ftp://x", "--key", KEY], {}, /--base must be/],
    ] as const
  ) {
    const r = await task("sign", [...args], env);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, pattern);
  }
  const ok = await task("sign", ["--prefix", "/media/a/", "--key", KEY, "--ttl", "60"], {});
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^http:\/\/127\.0\.0\.1:8080\/s\/\d+\.2\.[\w-]{43}\/media\/a\/\n$/);
});
