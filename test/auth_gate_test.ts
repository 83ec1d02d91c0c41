/**
 * The access gate (`src/auth/gate.ts`) as wired by `createApp` (`src/app.ts`), called in-process
 * through `app.fetch` with real files: who may watch in each mode (sign key, login, both,
 * neither), the token stripped before routing (so the media resolver still answers 400/404 for
 * traversal behind a valid token), identical refusals, HEAD, and the gate kept when the app is
 * mounted in a library user's Hono app. The same rules over real sockets: `auth_http_test.ts`.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { createApp, requestPath } from "../src/app.ts";
import { AccessGate, passTarget, type TargetRequest } from "../src/auth/gate.ts";
import { BasicAuth, type BasicCredential, parseBasicAuth } from "../src/auth/basic_auth.ts";
import { makePasswordHash } from "../src/auth/basic_auth.ts";
import { signKeyBytes, signPath } from "../src/auth/signed_url.ts";

const KEY = "gate-test-key-0123456789";
const ORIGIN = "http://zerocast.test";
const SHOW = new TextEncoder().encode("show bytes 0123456789");
const OTHER = new TextEncoder().encode("other title");

interface Fixture {
  root: string;
  login: string;
  cleanup(): Promise<void>;
}

async function makeFixture(): Promise<Fixture> {
  const root = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-gate-" }));
  await Deno.mkdir(`${root}/show`);
  await Deno.mkdir(`${root}/showx`);
  await Deno.mkdir(`${root}/live`);
  await Deno.writeFile(`${root}/show/a.mp4`, SHOW);
  await Deno.writeFile(`${root}/show/.hidden.mp4`, SHOW);
  await Deno.writeFile(`${root}/showx/a.mp4`, OTHER);
  await Deno.writeFile(`${root}/secret.mp4`, OTHER);
  const login = `bob:${await makePasswordHash("pw", 1000)}`;
  return { root, login, cleanup: () => Deno.remove(root, { recursive: true }) };
}

function signed(prefix: string, path = "", expires = Math.floor(Date.now() / 1000) + 600): string {
  return signPath({ key: KEY, prefix, path, expires });
}

function basic(user: string, password: string): string {
  return `Basic ${btoa(`${user}:${password}`)}`;
}

async function get(
  app: Hono,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Uint8Array; headers: Headers }> {
  const response = await app.fetch(new Request(ORIGIN + path, init));
  return {
    status: response.status,
    body: new Uint8Array(await response.arrayBuffer()),
    headers: response.headers,
  };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("gate, sign key: signed paths serve their prefix; everything else protected is 403", async () => {
  const fx = await makeFixture();
  try {
    const app = createApp({ root: fx.root, signKey: KEY });
    const ok = await get(app, signed("/media/show/", "a.mp4"));
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, SHOW);
    const range = await get(app, signed("/media/show/", "a.mp4"), {
      headers: { range: "bytes=5-9" },
    });
    assert.equal(range.status, 206);
    assert.deepEqual(range.body, SHOW.subarray(5, 10));
    assert.equal(range.headers.get("content-range"), `bytes 5-9/${SHOW.length}`);
    const exact = await get(app, signed("/media/secret.mp4"));
    assert.deepEqual(exact.body, OTHER);

    const refusals = [
      "/media/show/a.mp4", // unsigned
      "/media/secret.mp4",
      "/hls/show/a.mp4/master.m3u8",
      "/dash/show/a.mp4/manifest.mpd",
      "/",
      "/play?path=show/a.mp4",
      "/api/library",
      "/api/library?path=show",
      "/nothing-here",
      signed("/media/show/").slice(0, -"/media/show/".length) + "/media/showx/a.mp4", // out of prefix
      signed("/media/show/", "a.mp4", Math.floor(Date.now() / 1000) - 1), // expired
      signPath({
        key: "another-key-0123456789",
        prefix: "/media/show/",
        path: "a.mp4",
        expires: 4e9,
      }),
      signed("/api/library"), // a token only opens media, /hls/ and /dash/
      signed("/play"),
      "/s/garbage/media/show/a.mp4",
    ];
    for (const path of refusals) {
      const r = await get(app, path);
      assert.equal(r.status, 403, path);
      assert.equal(text(r.body), "forbidden\n", path);
      assert.equal(r.headers.get("content-length"), "10");
      assert.equal(r.headers.get("access-control-allow-origin"), "*");
      assert.equal(r.headers.get("www-authenticate"), null);
    }
    const head = await get(app, "/media/show/a.mp4", { method: "HEAD" });
    assert.equal(head.status, 403);
    assert.equal(head.body.length, 0);
    // Other methods with a token are refused; PUT without one is ingest's business (405 here).
    assert.equal((await get(app, signed("/media/show/", "a.mp4"), { method: "POST" })).status, 403);
    assert.equal(
      (await get(app, signed("/media/show/", "a.mp4"), { method: "DELETE" })).status,
      403,
    );
    assert.equal((await get(app, "/media/show/a.mp4", { method: "POST" })).status, 403);
    assert.equal((await get(app, "/media/live/x.ts", { method: "PUT", body: "x" })).status, 405);
    // Open in every mode.
    assert.equal((await get(app, "/healthz")).status, 200);
    assert.equal((await get(app, "/metrics")).status, 200);
    assert.equal((await get(app, "/assets/style.css")).status, 200);
    assert.equal((await get(app, "/media/show/a.mp4", { method: "OPTIONS" })).status, 204);
    assert.equal(
      (await get(app, signed("/media/show/", "a.mp4"), { method: "OPTIONS" })).status,
      204,
    );
    // Signed /hls/ and /dash/ paths reach the packaging routes, which refuse the fixture's
    // a.mp4 (not really an MP4) with 415 instead of the gate's 403.
    assert.equal((await get(app, signed("/hls/show/", "a.mp4/master.m3u8"))).status, 415);
    assert.equal((await get(app, signed("/dash/show/a.mp4/", "manifest.mpd"))).status, 415);
    assert.equal((await get(app, "/hls/show/a.mp4/master.m3u8")).status, 403);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("gate: behind a valid token, escapes from the prefix are 403; the media resolver judges the rest", async () => {
  const fx = await makeFixture();
  try {
    const app = createApp({ root: fx.root, signKey: KEY });
    const token = signed("/media/show/").slice(0, -"/media/show/".length);
    // `..`, `%2e%2e` and `.` are normalised by `new Request` itself; auth_http_test.ts sends them with curl.
    for (
      const [rest, status] of [
        ["..%2fsecret.mp4", 403],
        ["..%5csecret.mp4", 403],
        ["a.mp4%00", 400],
        ["sub//a.mp4", 400],
        [".hidden.mp4", 404],
        ["missing.mp4", 404],
        ["", 200], // the folder listing of the signed prefix itself
      ] as const
    ) {
      const r = await get(app, `${token}/media/show/${rest}`);
      assert.equal(r.status, status, rest);
      assert.ok(!text(r.body).includes("other title"), rest);
    }
  } finally {
    await fx.cleanup();
  }
});

Deno.test("gate, login: 401 with a Basic challenge until the right credentials; open routes stay open", async () => {
  const fx = await makeFixture();
  try {
    const app = createApp({
      root: fx.root,
      basicAuth: fx.login,
      ingest: { token: "ingest-token-123", prefix: "/media/live/", fsync: false },
    });
    for (
      const path of ["/", "/play?path=show/a.mp4", "/api/library", "/media/show/a.mp4", "/nothing"]
    ) {
      for (
        const authorization of [undefined, basic("bob", "wrong"), basic("alice", "pw"), "Bearer x"]
      ) {
        const r = await get(app, path, { headers: authorization ? { authorization } : {} });
        assert.equal(r.status, 401, `${path} ${authorization}`);
        assert.equal(text(r.body), "unauthorized\n");
        assert.equal(r.headers.get("www-authenticate"), 'Basic realm="zerocast", charset="UTF-8"');
      }
    }
    const headers = { authorization: basic("bob", "pw") };
    assert.equal((await get(app, "/", { headers })).status, 200);
    assert.equal((await get(app, "/api/library?path=show", { headers })).status, 200);
    const media = await get(app, "/media/show/a.mp4", { headers });
    assert.deepEqual(media.body, SHOW);
    assert.equal((await get(app, "/nothing", { headers })).status, 404);
    // A token means nothing without a sign key: 404 behind the login.
    assert.equal((await get(app, signed("/media/show/", "a.mp4"), { headers })).status, 404);
    assert.equal((await get(app, "/healthz")).status, 200);
    assert.equal((await get(app, "/metrics")).status, 200);
    assert.equal((await get(app, "/media/show/a.mp4", { method: "OPTIONS" })).status, 204);
    // Ingest keeps its Bearer token.
    const put = await get(app, "/media/live/x.ts", {
      method: "PUT",
      body: "segment",
      headers: { authorization: "Bearer ingest-token-123" },
    });
    assert.equal(put.status, 201);
    assert.equal(await Deno.readTextFile(`${fx.root}/live/x.ts`), "segment");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("gate, sign key and login: media by token or login, pages by login; a bad token is 403 even logged in", async () => {
  const fx = await makeFixture();
  try {
    const app = createApp({ root: fx.root, signKey: KEY, basicAuth: fx.login });
    const headers = { authorization: basic("bob", "pw") };
    assert.deepEqual((await get(app, signed("/media/show/", "a.mp4"))).body, SHOW);
    assert.deepEqual((await get(app, "/media/show/a.mp4", { headers })).body, SHOW);
    assert.equal((await get(app, "/media/show/a.mp4")).status, 401);
    assert.equal((await get(app, "/")).status, 401);
    assert.equal((await get(app, "/", { headers })).status, 200);
    const expired = signed("/media/show/", "a.mp4", Math.floor(Date.now() / 1000) - 1);
    assert.equal((await get(app, expired, { headers })).status, 403);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("gate: without a key or login the app is ungated; mounted in a user's app it stays gated", async () => {
  const fx = await makeFixture();
  try {
    const open = createApp({ root: fx.root });
    assert.deepEqual((await get(open, "/media/show/a.mp4")).body, SHOW);
    assert.equal((await get(open, signed("/media/show/", "a.mp4"))).status, 404);

    const user = new Hono({ getPath: requestPath });
    user.get("/mine", (c) => c.text("mine"));
    user.route("/", createApp({ root: fx.root, signKey: KEY }));
    assert.equal(text((await get(user, "/mine")).body), "mine");
    assert.equal((await get(user, "/media/show/a.mp4")).status, 403);
    assert.deepEqual((await get(user, signed("/media/show/", "a.mp4"))).body, SHOW);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("AccessGate.decide: the pure decision, token stripped, same refusal for every reason", () => {
  const gate = new AccessGate({ signKey: signKeyBytes(KEY) });
  const now = 1_800_000_000;
  const path = signPath({ key: KEY, prefix: "/media/show/", path: "a.mp4", expires: now + 10 });
  assert.deepEqual(gate.decide("GET", path, null, now), {
    kind: "pass",
    path: "/media/show/a.mp4",
  });
  assert.deepEqual(gate.decide("HEAD", path, null, now + 9.999), {
    kind: "pass",
    path: "/media/show/a.mp4",
  });
  assert.deepEqual(gate.decide("GET", path, null, now + 10), { kind: "forbidden" });
  assert.deepEqual(gate.decide("GET", "/media/show/a.mp4", null, now), { kind: "forbidden" });
  assert.deepEqual(gate.decide("GET", "/healthz", null, now), { kind: "pass", path: "/healthz" });
  assert.deepEqual(gate.decide("GET", "/healthz/", null, now), { kind: "forbidden" });
  assert.deepEqual(gate.decide("OPTIONS", "/media/x", null, now), {
    kind: "pass",
    path: "/media/x",
  });
  assert.deepEqual(gate.decide("PUT", "/media/live/x", null, now), {
    kind: "pass",
    path: "/media/live/x",
  });
});

Deno.test("passTarget: a prepared path answers only what the gate passes, with the token removed", async () => {
  const credential = parseBasicAuth(`bob:${await makePasswordHash("pw", 1000)}`) as BasicCredential;
  const gate = new AccessGate({ signKey: signKeyBytes(KEY), basicAuth: new BasicAuth(credential) });
  const now = 1_800_000_000;
  const request = (target: string, authorization: string | null = null): TargetRequest => ({
    method: "GET",
    target,
    get: (name) => name === "authorization" ? authorization : name === "range" ? "bytes=0-1" : null,
  });
  const signed = signPath({ key: KEY, prefix: "/media/show/", path: "a.mp4", expires: now + 10 });
  const passed = passTarget(gate, request(`${signed}?x=1`), now);
  assert.equal(passed?.target, "/media/show/a.mp4?x=1");
  assert.equal(passed?.method, "GET");
  assert.equal(passed?.get("range"), "bytes=0-1");
  // Refusals and unverified logins go to fetch (null); a verified login passes unchanged.
  assert.equal(passTarget(gate, request(signed), now + 10), null);
  assert.equal(passTarget(gate, request("/media/show/a.mp4"), now), null);
  const login = basic("bob", "pw");
  assert.equal(passTarget(gate, request("/media/show/a.mp4", login), now), null);
  const pending = gate.decide("GET", "/media/show/a.mp4", login, now);
  assert.ok(pending instanceof Promise);
  assert.equal((await pending).kind, "pass");
  const unchanged = request("/media/show/a.mp4", login);
  assert.equal(passTarget(gate, unchanged, now), unchanged);
});
