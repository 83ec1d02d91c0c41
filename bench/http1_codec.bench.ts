/**
 * Micro benchmarks of the HTTP/1.1 codec: ns per request head parsed, per response head
 * serialized, per chunked body decoded. Run: `deno bench bench/http1_codec.bench.ts`.
 * Each iteration handles BATCH messages, so divide the reported time by BATCH.
 *
 * @module
 */

import { ChunkedDecoder, parseRequestHead, serializeResponseHead } from "../src/http1/mod.ts";

/** Messages per bench iteration; divide time/iter by this for ns per message. */
const BATCH = 1000;
const encoder = new TextEncoder();

const CURL_GET = encoder.encode(
  "GET /media/sample.mp4 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\n" +
    "Accept: */*\r\nRange: bytes=0-65535\r\n\r\n",
);
const CHROME_GET = encoder.encode(
  "GET /media/sample.mp4 HTTP/1.1\r\nHost: localhost:8080\r\nConnection: keep-alive\r\n" +
    'sec-ch-ua: "Chromium";v="120", "Not?A_Brand";v="8"\r\nsec-ch-ua-mobile: ?0\r\n' +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) " +
    'Chrome/120.0.0.0 Safari/537.36\r\nsec-ch-ua-platform: "Linux"\r\nAccept: */*\r\n' +
    "Sec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: video\r\n" +
    "Referer: http://localhost:8080/\r\nAccept-Encoding: identity;q=1, *;q=0\r\n" +
    "Accept-Language: en-US,en;q=0.9\r\nRange: bytes=0-\r\n" +
    'If-Range: "5f3e-18c2a9b1e40"\r\n\r\n',
);
const WRK_GET = encoder.encode("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
const PIPELINED = new Uint8Array(WRK_GET.length * 16);
for (let i = 0; i < 16; i++) PIPELINED.set(WRK_GET, i * WRK_GET.length);

function parseBench(buf: Uint8Array) {
  return () => {
    for (let i = 0; i < BATCH; i++) {
      const r = parseRequestHead(buf, 0, buf.length);
      if (r.kind !== "head") throw new Error("not a head");
    }
  };
}

Deno.bench(`parse wrk GET (${WRK_GET.length} B) x${BATCH}`, parseBench(WRK_GET));
Deno.bench(`parse curl GET (${CURL_GET.length} B) x${BATCH}`, parseBench(CURL_GET));
Deno.bench(`parse Chrome video GET (${CHROME_GET.length} B) x${BATCH}`, parseBench(CHROME_GET));
Deno.bench(`parse 16 pipelined wrk GETs x${BATCH / 16}`, () => {
  for (let i = 0; i < BATCH / 16; i++) {
    let at = 0;
    while (at < PIPELINED.length) {
      const r = parseRequestHead(PIPELINED, at, PIPELINED.length);
      if (r.kind !== "head") throw new Error("not a head");
      at = r.headEnd;
    }
  }
});
Deno.bench(`incomplete Chrome GET (half) x${BATCH}`, () => {
  const half = CHROME_GET.length >> 1;
  for (let i = 0; i < BATCH; i++) {
    if (parseRequestHead(CHROME_GET, 0, half).kind !== "incomplete") throw new Error("?");
  }
});

const MEDIA_HEADERS = new Headers({
  "content-type": "video/mp4",
  "accept-ranges": "bytes",
  "etag": '"5f3e-18c2a9b1e40"',
  "last-modified": "Tue, 05 Nov 2024 10:00:00 GMT",
  "content-range": "bytes 0-65535/4194304",
});
const MEDIA_ARRAY: [string, string][] = [...MEDIA_HEADERS];
const OPTS = { keepAlive: true, versionMinor: 1 as const, contentLength: 65536 };

Deno.bench(`serialize 206 head from Headers x${BATCH}`, () => {
  for (let i = 0; i < BATCH; i++) serializeResponseHead(206, MEDIA_HEADERS, OPTS);
});
Deno.bench(`serialize 206 head from array x${BATCH}`, () => {
  for (let i = 0; i < BATCH; i++) serializeResponseHead(206, MEDIA_ARRAY, OPTS);
});
Deno.bench(`serialize tiny 200 head x${BATCH}`, () => {
  const h: [string, string][] = [["content-type", "text/plain; charset=UTF-8"]];
  for (let i = 0; i < BATCH; i++) {
    serializeResponseHead(200, h, { keepAlive: true, versionMinor: 1, contentLength: 13 });
  }
});

/** 64 KiB body in 4 KiB chunks with one extension and a trailer. */
function chunkedBody(): Uint8Array {
  const parts: Uint8Array[] = [];
  const data = new Uint8Array(4096).fill(0x61);
  for (let i = 0; i < 16; i++) {
    parts.push(encoder.encode("1000;ext=1\r\n"), data, encoder.encode("\r\n"));
  }
  parts.push(encoder.encode("0\r\nx-checksum: abc\r\n\r\n"));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
const CHUNKED = chunkedBody();

Deno.bench(`decode 64 KiB chunked body (16 chunks) x${BATCH / 10}`, () => {
  for (let i = 0; i < BATCH / 10; i++) {
    const dec = new ChunkedDecoder(1 << 20);
    let at = 0;
    let payload = 0;
    while (at < CHUNKED.length) {
      const step = dec.decode(CHUNKED, at, CHUNKED.length);
      payload += step.dataLength;
      at += step.consumed;
      if (step.done) break;
    }
    if (payload !== 65536) throw new Error("payload");
  }
});
