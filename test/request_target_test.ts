/**
 * Unit tests of the request-target module (`src/http1/request_target.ts`, RFC 9112 §3.2-§3.3),
 * the rejected-request-line reader (`src/http1/request_line.ts`), the one path function
 * (`rawPathOf`) and the app routing on it, fed hostile URLs through `app.fetch` directly (as any
 * server, `Deno.serve` or a library user's own, could hand them over). The same forms run over
 * raw sockets on both engines in `request_target_http_test.ts`.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { getPath as honoGetPath } from "hono/utils/url";
import {
  isTargetError,
  parseRequestTarget,
  type RequestTarget,
  requestUrl,
  validAuthority,
} from "../src/http1/request_target.ts";
import { peekRequestLine } from "../src/http1/request_line.ts";
import { errorResponseBytes } from "../src/http1/error_response.ts";
import { rawPathOf } from "../src/media/path.ts";
import { createApp } from "../src/app.ts";
import { Hono } from "hono";

const MEDIA = Deno.realPathSync(new URL("../media/", import.meta.url).pathname);

function target(method: string, text: string): RequestTarget {
  const t = parseRequestTarget(method, text);
  if (isTargetError(t)) throw new Error(`refused ${method} ${text}: ${t.error}`);
  return t;
}

function refused(method: string, text: string): string {
  const t = parseRequestTarget(method, text);
  assert.ok(isTargetError(t), `${method} ${text} must be refused`);
  return t.error;
}

Deno.test("target: origin-form keeps path and query as sent (RFC 9112 §3.2.1)", () => {
  assert.deepEqual(target("GET", "/media/a%20b.mp4?x=/metrics"), {
    form: "origin",
    authority: null,
    pathAndQuery: "/media/a%20b.mp4?x=/metrics",
  });
  assert.equal(target("GET", "/").pathAndQuery, "/");
  assert.equal(target("GET", "//x/y").pathAndQuery, "//x/y");
  assert.equal(target("GET", "/a/../b").pathAndQuery, "/a/../b"); // unnormalised: path.ts judges
});

Deno.test("target: absolute-form takes its own authority, empty path is / (§3.2.2)", () => {
  assert.deepEqual(target("GET", "http://other?x=/media/f"), {
    form: "absolute",
    authority: "other",
    pathAndQuery: "/?x=/media/f",
  });
  assert.deepEqual(target("GET", "http://h"), {
    form: "absolute",
    authority: "h",
    pathAndQuery: "/",
  });
  assert.deepEqual(target("GET", "HTTPS://Other:8443/p?q"), {
    form: "absolute",
    authority: "Other:8443",
    pathAndQuery: "/p?q",
  });
  assert.equal(target("GET", "http://[::1]:80/m").authority, "[::1]:80");
  assert.equal(target("GET", "http://h:/x").authority, "h:");
  for (
    const bad of [
      "http:///anything/metrics", // empty host (RFC 9110 §4.2.1)
      "http://:80/x",
      "http://u@h/x", // userinfo (RFC 9110 §4.2.4)
      "http://u:p@h/x",
      "ftp://h/x", // not an http(s) URI
      "ws://h/x",
      "http://a b/x".replace(" ", "%20"), // no percent-encoding in hosts
      "http://h\\x/y",
      "http://h:123456/",
      "http://[zz]/",
      "http://h:8a/",
      "http:/x",
      "http:x",
      "1http://x/",
      "://x",
      "foo",
      "@evil/x",
      "?q",
    ]
  ) refused("GET", bad);
});

Deno.test("target: authority-form only for CONNECT, asterisk only for OPTIONS (§3.2.3-4)", () => {
  assert.deepEqual(target("CONNECT", "example.com:443"), {
    form: "authority",
    authority: "example.com:443",
    pathAndQuery: "/",
  });
  assert.equal(target("CONNECT", "[::1]:8443").authority, "[::1]:8443");
  for (const bad of ["example.com", ":443", "/x", "http://h/", "*", "h:", "u@h:1"]) {
    assert.match(refused("CONNECT", bad), /CONNECT/);
  }
  refused("GET", "example.com:443");
  assert.deepEqual(target("OPTIONS", "*"), {
    form: "asterisk",
    authority: null,
    pathAndQuery: "/*",
  });
  assert.match(refused("GET", "*"), /OPTIONS/);
  refused("HEAD", "*");
  refused("OPTIONS", "**");
});

Deno.test("target: a fragment is refused in every form", () => {
  for (const t of ["/a#b", "/#", "http://h/a#b", "http://h#x"]) {
    assert.match(refused("GET", t), /fragment/);
  }
});

Deno.test("target: Host validation (RFC 9112 §3.2, RFC 3986 §3.2.2)", () => {
  for (
    const good of [
      "",
      "example.com",
      "EXAMPLE.com:8080",
      "127.0.0.1:80",
      "[::1]:8080",
      "[2001:db8::7]",
      "xn--caf-dma.example",
      "h:",
    ]
  ) assert.ok(validAuthority(good), good);
  for (
    const bad of [
      "a b",
      "a/b",
      "a?b",
      "a#b",
      "a\\b",
      "user@host",
      ":80",
      "h:99999",
      "h:1:2",
      "[::1",
      "[v1.x]",
      "a%00b",
      "a%2fb",
      "\xe9",
      "1.2.3.999", // ends in a number: an IPv4 address that is not one
    ]
  ) assert.equal(validAuthority(bad), false, bad);
  // the verdict cache gives the same answer the second time
  assert.equal(validAuthority("a b"), false);
  assert.equal(validAuthority("example.com"), true);
});

Deno.test("target: requestUrl never has an empty authority (RFC 9112 §3.3)", () => {
  const origin = target("GET", "/anything/metrics");
  assert.equal(requestUrl(origin, "h:1", "127.0.0.1:9"), "http://h:1/anything/metrics");
  assert.equal(requestUrl(origin, "", "127.0.0.1:9"), "http://127.0.0.1:9/anything/metrics");
  assert.equal(requestUrl(origin, null, "[::1]:9"), "http://[::1]:9/anything/metrics");
  const absolute = target("GET", "http://other?x=/media/f");
  assert.equal(requestUrl(absolute, "ignored", "l:1"), "http://other/?x=/media/f");
  assert.equal(requestUrl(target("OPTIONS", "*"), "h", "l:1"), "http://h/*");
  assert.equal(requestUrl(target("CONNECT", "a:443"), "b", "l:1"), "http://a:443/");
});

Deno.test("target: every URL built is read alike by rawPathOf, Hono's getPath and WHATWG", () => {
  const pathChar = fc.constantFrom(..."abz09-._~!$&'()*+,;=:@/?".split(""));
  const path = fc.array(pathChar, { maxLength: 20 }).map((cs) => cs.join(""));
  const host = fc.constantFrom("", "h", "example.com:8080", "[::1]:1", "10.0.0.1");
  fc.assert(
    fc.property(
      fc.constantFrom("/", "http://h", "http://h/", "HTTP://x:1", "https://y?", "http://z/p"),
      path,
      host,
      (prefix, rest, hostValue) => {
        const text = prefix.startsWith("/") ? "/" + rest : prefix + rest;
        const t = parseRequestTarget("GET", text);
        if (isTargetError(t)) return; // e.g. "http://h" + "@..." (userinfo)
        const url = requestUrl(t, hostValue, "127.0.0.1:8080");
        const pathOnly = t.pathAndQuery.split("?")[0];
        assert.equal(rawPathOf(url), pathOnly, url);
        assert.equal(honoGetPath({ url } as Request), rawPathOf(url), url);
        const parsed = new URL(url);
        assert.notEqual(parsed.host, "", url);
        // WHATWG resolves dot segments; elsewhere it reads the same path
        if (!/(^|\/)\.\.?(\/|$)/.test(pathOnly)) assert.equal(parsed.pathname, pathOnly, url);
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("rawPathOf: hostile URLs from any server give one well-defined path", () => {
  assert.equal(rawPathOf("http:///anything/metrics"), "/anything/metrics");
  assert.equal(rawPathOf("http://other?x=/media/f"), "/");
  assert.equal(rawPathOf("http://other#/media/f"), "/");
  assert.equal(rawPathOf("http://h/p?x=/media/f#/y"), "/p");
  assert.equal(rawPathOf("http://h"), "/");
  assert.equal(rawPathOf("http://h/"), "/");
  assert.equal(rawPathOf("http:/x/y"), "/x/y");
  assert.equal(rawPathOf("http://a b/media/x"), "/media/x");
});

/** Fetches `url` from the app as a server that builds such URLs would. */
async function appFetch(url: string, method = "GET", app: Hono = createApp({ root: MEDIA })) {
  return await app.fetch(new RequestLike(url, method) as unknown as Request);
}

/**
 * `new Request` normalises URLs (an empty authority takes the first segment as host), so a
 * server handing over a raw URL string is modelled with a plain object Hono reads the same way.
 */
class RequestLike {
  readonly headers = new Headers();
  readonly body = null;
  constructor(readonly url: string, readonly method: string) {}
}

Deno.test("app: routing and media resolution read the same path from hostile URLs", async () => {
  // Hono's default getPath reads "/metrics" from this URL, rawPathOf "/anything/metrics"
  let r = await appFetch("http:///anything/metrics");
  assert.equal(r.status, 404);
  assert.doesNotMatch(await r.text(), /zerocast_/);
  r = await appFetch("http:///x/healthz");
  assert.equal(r.status, 404);
  await r.body?.cancel();
  // a path only in the query is no path: "/" is the browser page, never a media file
  r = await appFetch("http://other?x=/media/sample.mp4");
  assert.equal(r.headers.get("content-type")?.startsWith("text/html"), true);
  assert.equal(r.headers.get("accept-ranges"), null);
  await r.body?.cancel();
  r = await appFetch("http://other?/metrics");
  assert.equal(r.headers.get("content-type")?.startsWith("text/html"), true);
  await r.body?.cancel();
  // well-formed URLs still route as before
  r = await appFetch("http://h/metrics");
  assert.equal(r.status, 200);
  assert.match(await r.text(), /zerocast_/);
  r = await appFetch("http://h/healthz?x=/media/y");
  assert.equal(await r.text(), "ok\n");
  // the router matches the raw path: an encoded route name is not that route
  r = await appFetch("http://h/%6Detrics");
  assert.equal(r.status, 404);
  await r.body?.cancel();
});

Deno.test("request line: a rejected head is logged as far as it was read", () => {
  const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const peek = (s: string) => peekRequestLine(bytes(s), 0, s.length);
  assert.deepEqual(peek("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), {
    method: "GET",
    target: "/",
    protocol: "HTTP/2.0",
  });
  assert.deepEqual(peek("\r\n\nHEAD /a b HTTP/1.1\n"), {
    method: "HEAD",
    target: "/a b",
    protocol: "HTTP/1.1",
  });
  // incomplete line (timeout or 414): everything after the method is target
  assert.deepEqual(peek("GET /very/long HTT"), {
    method: "GET",
    target: "/very/long HTT",
    protocol: "-",
  });
  assert.deepEqual(peek("\x16\x03\x01\x02"), {
    method: "\x16\x03\x01\x02",
    target: "-",
    protocol: "-",
  });
  assert.equal(peek(""), null);
  assert.equal(peek("\r\n"), null);
  const long = "GET /" + "a".repeat(5000) + " HTTP/1.1\r\n";
  const line = peek(long)!;
  assert.equal(line.method.length + 1 + line.target.length, 2048);
  assert.equal(line.protocol, "-");
  const s = "xxGET /p HTTP/1.1\r\n";
  assert.deepEqual(peekRequestLine(bytes(s), 2, s.length), {
    method: "GET",
    target: "/p",
    protocol: "HTTP/1.1",
  });
});

Deno.test("error response: HEAD gets the head with GET's Content-Length, no body", () => {
  const text = (b: Uint8Array) => String.fromCharCode(...b);
  const get = text(errorResponseBytes(404, "x"));
  const head = text(errorResponseBytes(404, "x", true));
  const [getHead, getBody] = get.split("\r\n\r\n");
  assert.equal(getBody, "404 Not Found: x\n");
  assert.ok(head.endsWith("\r\n\r\n"));
  assert.equal(head.split("\r\n\r\n")[1], "");
  const length = (h: string) => /content-length: (\d+)/.exec(h)![1];
  assert.equal(length(head), length(getHead));
  assert.equal(length(head), String(getBody.length));
});

Deno.test("app: mounted in a Hono app with the default getPath, hostile URLs still get 404", async () => {
  const outer = new Hono();
  outer.route("/", createApp({ root: MEDIA }));
  for (
    const url of [
      "http:///anything/metrics", // the default getPath reads /metrics
      "http:///x/healthz",
      "http:///x/api/library",
      "http:///x/play?path=sample.mp4",
      "http://h/%6Detrics", // the default getPath decodes to /metrics
      "http://h/%61pi/library",
    ]
  ) {
    const r = await appFetch(url, "GET", outer);
    assert.equal(r.status, 404, url);
    assert.doesNotMatch(await r.text(), /zerocast_|"entries"/, url);
  }
  // a query-smuggled media path reaches the media route there, which resolves "/" : 404
  const smuggled = await appFetch("http://other?x=/media/sample.mp4", "GET", outer);
  assert.equal(smuggled.status, 404);
  await smuggled.body?.cancel();
  for (const url of ["http://h/metrics", "http://h/healthz", "http://h/api/library"]) {
    const r = await appFetch(url, "GET", outer);
    assert.equal(r.status, 200, url);
    await r.body?.cancel();
  }
});
