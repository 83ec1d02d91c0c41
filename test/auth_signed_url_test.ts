/**
 * Unit tests of signed paths (`src/auth/signed_url.ts`): round trips, the expiry boundary (no
 * grace), wrong keys, prefix boundaries, tampered and malformed tokens, the exact token format
 * (checked against an HMAC computed here with WebCrypto, independently of the code under test),
 * and properties over random prefixes and paths (fast-check).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  depthOf,
  prefixOf,
  prefixProblem,
  signature,
  signKeyBytes,
  signPath,
  signUrl,
  staysInside,
  verifySignedPath,
} from "../src/auth/signed_url.ts";

const KEY = "test-key-0123456789abcdef";
const KEY_BYTES = signKeyBytes(KEY);
const NOW = 1_800_000_000;

function sign(prefix: string, path = "", expires = NOW + 60): string {
  return signPath({ key: KEY, prefix, path, expires });
}

function check(path: string, now = NOW, key: Uint8Array = KEY_BYTES) {
  return verifySignedPath(key, path, now);
}

/** base64url of HMAC-SHA256 by WebCrypto, to pin the documented format. */
async function webCryptoSig(key: string, message: string): Promise<string> {
  const k = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(message)),
  );
  return btoa(String.fromCharCode(...mac)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

Deno.test("signed path: format is /s/<exp>.<depth>.<base64url HMAC(exp\\nprefix)><prefix><path>", async () => {
  const path = sign("/media/show/", "index.m3u8", 1_900_000_000);
  const sig = await webCryptoSig(KEY, "1900000000\n/media/show/");
  assert.equal(path, `/s/1900000000.2.${sig}/media/show/index.m3u8`);
  assert.equal(sig.length, 43);
  assert.equal(signature(KEY_BYTES, "1900000000", "/media/show/"), sig);
  assert.equal(
    signUrl("http://h:1/", { key: KEY, prefix: "/media/a.mp4", expires: 5 }),
    `http://h:1/s/5.2.${await webCryptoSig(KEY, "5\n/media/a.mp4")}/media/a.mp4`,
  );
});

Deno.test("signed path: a directory prefix covers everything below it", () => {
  const token = sign("/media/show/").slice(0, -"/media/show/".length);
  for (const rest of ["index.m3u8", "segment000.ts", "sub/deeper/x.ts", "", "a%20b.ts"]) {
    const result = check(`${token}/media/show/${rest}`);
    assert.deepEqual(result, {
      kind: "ok",
      path: `/media/show/${rest}`,
      prefix: "/media/show/",
    });
  }
});

Deno.test("signed path: prefix boundary: /media/show/ does not cover /media/showx/ or /media/show", () => {
  const token = sign("/media/show/").slice(0, -"/media/show/".length);
  for (
    const other of [
      "/media/showx/index.m3u8",
      "/media/show",
      "/media/sho/index.m3u8",
      "/media/Show/index.m3u8",
      "/media/%73how/index.m3u8", // the raw text is signed, never a decoded form
      "/media/other/show/index.m3u8",
      "/hls/show/index.m3u8",
      "/media/",
      "/media",
      "/",
    ]
  ) {
    assert.deepEqual(check(`${token}${other}`), { kind: "forbidden" }, other);
  }
});

Deno.test("signed path: an exact prefix covers that one path only", () => {
  const path = sign("/media/sample.mp4");
  assert.equal(check(path).kind, "ok");
  const token = path.slice(0, -"/media/sample.mp4".length);
  for (
    const other of [
      "/media/sample.mp4/",
      "/media/sample.mp4/x",
      "/media/sample.mp44",
      "/media/sample.mp",
    ]
  ) {
    assert.equal(check(`${token}${other}`).kind, "forbidden", other);
  }
});

Deno.test("signed path: expiry has no grace: ok until exp, forbidden at and after exp", () => {
  const exp = NOW + 100;
  const path = sign("/media/show/", "i.m3u8", exp);
  assert.equal(check(path, exp - 1).kind, "ok");
  assert.equal(check(path, exp - 0.001).kind, "ok");
  assert.equal(check(path, exp).kind, "forbidden");
  assert.equal(check(path, exp + 0.001).kind, "forbidden");
  assert.equal(check(path, exp + 86400 * 365).kind, "forbidden");
});

Deno.test("signed path: wrong key is forbidden", () => {
  const path = sign("/media/show/", "i.m3u8");
  assert.equal(check(path, NOW, signKeyBytes("another-key-0123456789")).kind, "forbidden");
  assert.equal(check(path, NOW, signKeyBytes(KEY + "x")).kind, "forbidden");
});

Deno.test("signed path: tampered exp, depth or signature is forbidden", () => {
  const path = sign("/media/show/", "i.m3u8", 1_900_000_000);
  const [, , token, ...rest] = path.split("/");
  const tail = "/" + rest.join("/");
  const [exp, depth, sig] = token.split(".");
  const variants = [
    `${Number(exp) + 1}.${depth}.${sig}`,
    `${Number(exp) - 1}.${depth}.${sig}`,
    `0${exp}.${depth}.${sig}`,
    `${exp}.1.${sig}`,
    `${exp}.3.${sig}`,
    `${exp}.02.${sig}`,
    `${exp}.${depth}.${sig.slice(0, -1)}${sig.endsWith("A") ? "B" : "A"}`,
    `${exp}.${depth}.${sig.slice(1)}A`,
    `${exp}.${depth}.${sig.toUpperCase()}`,
    `${exp}.${depth}.${sig}=`,
  ];
  for (const variant of variants) {
    assert.equal(check(`/s/${variant}${tail}`, NOW).kind, "forbidden", variant);
  }
  assert.equal(check(path, NOW).kind, "ok");
});

Deno.test("signed path: malformed tokens are forbidden, never thrown", () => {
  const good = sign("/media/show/", "i.m3u8");
  const sig = good.split("/")[2].split(".")[2];
  for (
    const path of [
      "/s/",
      "/s//media/show/i.m3u8",
      `/s/${NOW + 60}.2.${sig}`,
      `/s/${NOW + 60}.2/media/show/i.m3u8`,
      `/s/${NOW + 60}.2.${sig}.x/media/show/i.m3u8`,
      `/s/.2.${sig}/media/show/i.m3u8`,
      `/s/${NOW + 60}..${sig}/media/show/i.m3u8`,
      `/s/${NOW + 60}.0.${sig}/media/show/i.m3u8`,
      `/s/${NOW + 60}.-1.${sig}/media/show/i.m3u8`,
      `/s/${NOW + 60}.99.${sig}/media/show/i.m3u8`,
      `/s/${NOW + 60}.1e1.${sig}/media/show/i.m3u8`,
      `/s/-${NOW + 60}.2.${sig}/media/show/i.m3u8`,
      `/s/1e10.2.${sig}/media/show/i.m3u8`,
      `/s/123456789012.2.${sig}/media/show/i.m3u8`,
      `/s/${NOW + 60}.2.${sig}%2F/media/show/i.m3u8`,
      `/s/${NOW + 60}.2.${"A".repeat(44)}/media/show/i.m3u8`,
      `/s/${NOW + 60}.2.${"é".repeat(43)}/media/show/i.m3u8`,
      `/s/${NOW + 60}.2.${sig}`.padEnd(5000, "x") + "/media/show/i.m3u8",
    ]
  ) {
    assert.deepEqual(check(path), { kind: "forbidden" }, path.slice(0, 80));
  }
});

Deno.test("signed path: paths without /s/ are unsigned", () => {
  for (const path of ["/media/show/i.m3u8", "/", "/s", "/sx/1.2.x/media/a", "/S/1.2.x/media/a"]) {
    assert.deepEqual(check(path), { kind: "unsigned" }, path);
  }
});

Deno.test("signed path: a path that normalisation could lead out of the prefix is forbidden", () => {
  const token = sign("/media/show/").slice(0, -"/media/show/".length);
  for (
    const rest of [
      "../secret.mp4",
      "./a.mp4",
      "sub/../../x.mp4",
      "%2e%2e/secret.mp4",
      "%2E%2e/secret.mp4",
      ".%2e/secret.mp4",
      "%2e/a.mp4",
      "..%2fsecret.mp4",
      "..%2Fsecret.mp4",
      "..%5csecret.mp4",
      "..\\secret.mp4",
      "a\\b.mp4",
      "%zz.mp4",
      "..",
      ".",
    ]
  ) {
    assert.deepEqual(check(`${token}/media/show/${rest}`), { kind: "forbidden" }, rest);
  }
  assert.equal(staysInside("/media/show/a..b.mp4"), true);
  assert.equal(staysInside("/media/show/...mp4"), true);
  assert.equal(staysInside("/media/show/%252e%252e/x"), true); // one decode: `%2e%2e`, a name
});

Deno.test("signed path: other odd paths are passed on unchanged for the routes to judge", () => {
  const token = sign("/media/show/").slice(0, -"/media/show/".length);
  for (const rest of ["a//b", ".hidden", "a%00.mp4", "a%20b.mp4", "x..y.mp4", "%252e%252e/x"]) {
    const result = check(`${token}/media/show/${rest}`);
    assert.equal(result.kind, "ok", rest);
    assert.equal(result.kind === "ok" && result.path, `/media/show/${rest}`);
  }
});

Deno.test("prefixOf / depthOf", () => {
  assert.equal(prefixOf("/media/show/index.m3u8", 1), "/media/");
  assert.equal(prefixOf("/media/show/index.m3u8", 2), "/media/show/");
  assert.equal(prefixOf("/media/show/index.m3u8", 3), "/media/show/index.m3u8");
  assert.equal(prefixOf("/media/show/index.m3u8", 4), undefined);
  assert.equal(prefixOf("/media/show/", 2), "/media/show/");
  assert.equal(prefixOf("/media", 2), undefined);
  assert.equal(depthOf("/media/show/"), 2);
  assert.equal(depthOf("/media/a.mp4"), 2);
  assert.equal(depthOf("/hls/show/movie.mp4/"), 3);
});

Deno.test("signPath: refuses bad prefixes, paths, expiries and short keys", () => {
  assert.equal(prefixProblem("/media/show/"), undefined);
  assert.equal(prefixProblem("/media/a%20b.mp4"), undefined);
  for (
    const prefix of [
      "media/",
      "/",
      "//",
      "/media//x/",
      "/media/../x/",
      "/media/./",
      "/media/a b/",
      "/media/a?b",
      "/media/a#b",
      "/media/%zz/",
    ]
  ) {
    assert.notEqual(prefixProblem(prefix), undefined, prefix);
    assert.throws(() => signPath({ key: KEY, prefix, expires: NOW }), RangeError, prefix);
  }
  assert.throws(() => signPath({ key: "short", prefix: "/media/", expires: NOW }), RangeError);
  assert.throws(
    () => signPath({ key: KEY, prefix: "/media/a.mp4", path: "x", expires: NOW }),
    RangeError,
  );
  assert.throws(
    () => signPath({ key: KEY, prefix: "/media/", path: "../x", expires: NOW }),
    RangeError,
  );
  assert.throws(() => signPath({ key: KEY, prefix: "/media/", expires: 1.5 }), RangeError);
  assert.throws(() => signPath({ key: KEY, prefix: "/media/", expires: 0 }), RangeError);
  assert.throws(() => signPath({ key: KEY, prefix: "/media/", expires: 1e12 }), RangeError);
  // ttl counts from now, rounded up to whole seconds.
  assert.match(
    signPath({ key: KEY, prefix: "/media/", ttlSeconds: 10, nowSeconds: 100.2 }),
    /^\/s\/111\.1\./,
  );
});

const segment = fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/).filter((s) => s !== "." && s !== "..");

Deno.test("property: every path under a signed directory prefix verifies; every other path does not", () => {
  fc.assert(
    fc.property(
      fc.array(segment, { minLength: 1, maxLength: 4 }),
      fc.array(segment, { minLength: 0, maxLength: 3 }),
      fc.array(segment, { minLength: 1, maxLength: 5 }),
      (prefixSegments, rest, otherSegments) => {
        const prefix = `/${prefixSegments.join("/")}/`;
        const path = sign(prefix, rest.join("/"));
        assert.equal(check(path).kind, "ok");
        const token = path.slice(0, path.indexOf("/", 3));
        const other = `/${otherSegments.join("/")}`;
        const expected = other.startsWith(prefix) ? "ok" : "forbidden";
        assert.equal(check(token + other).kind, expected, other);
      },
    ),
  );
});

Deno.test("property: changing any one character of the token is forbidden", () => {
  const path = sign("/media/show/", "index.m3u8");
  const tokenEnd = path.indexOf("/", 3);
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: tokenEnd - 1 }),
      fc.constantFrom(..."0123456789.-_abcXYZ/%"),
      (index, char) => {
        fc.pre(path[index] !== char);
        const changed = path.slice(0, index) + char + path.slice(index + 1);
        assert.notEqual(check(changed).kind, "ok", changed);
      },
    ),
  );
});
