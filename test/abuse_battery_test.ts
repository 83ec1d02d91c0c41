/**
 * Slow-client and abort battery against `main.ts` on both engines (one worker process, short
 * timeouts): slowloris heads trickled a byte at a time, a 64 MiB download read slowly, stalled
 * and resumed (the server must not buffer the file: its RSS stays bounded, the bytes stay exact),
 * aborts at every stage of a download and of an upload, a reset in the middle of a large
 * `sendfile`, a burst of connections opened and dropped together, and clients that half-close
 * after their requests (RFC 9112 §9.6: the answers must still arrive).
 *
 * After every group the server's open fds (`/proc/PID/fd`) return to their baseline, its open
 * connections (metrics) to the one asking, no upload temp file is left, and it still answers.
 * Every wait is for a condition with a deadline; nothing asserts on elapsed time.
 */
import assert from "node:assert/strict";
import { ENGINES, type RunningServer, startServer } from "./support/server.ts";
import { fdCount, readMetrics, tempFilesUnder, waitUntil } from "./support/ingest.ts";
import { collect, concat, parseResponses, rawExchange, writeAll } from "./engine_support.ts";

const TOKEN = "abuse-battery-token-0123";
const BIG = 64 * 1024 * 1024;
const MEDIUM = 1024 * 1024;
const GIB = 1024 * 1024 * 1024;
const enc = new TextEncoder();

/** Deterministic content where every 4-byte word names its own offset (misplaced bytes show). */
function patterned(size: number, salt: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  const words = new Uint32Array(bytes.buffer);
  for (let i = 0; i < words.length; i++) words[i] = (i * 2654435761 + salt) >>> 0;
  return bytes;
}

interface Fixture {
  readonly base: string;
  readonly root: string;
  readonly big: Uint8Array<ArrayBuffer>;
  readonly medium: Uint8Array<ArrayBuffer>;
  cleanup(): Promise<void>;
}

async function makeFixture(): Promise<Fixture> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "zerocast-abuse-" }));
  const root = `${base}/root`;
  await Deno.mkdir(`${root}/live`, { recursive: true });
  const big = patterned(BIG, 1);
  const medium = patterned(MEDIUM, 2);
  await Deno.writeFile(`${root}/big.bin`, big);
  await Deno.writeFile(`${root}/medium.bin`, medium);
  using sparse = await Deno.create(`${root}/sparse.bin`);
  await sparse.truncate(GIB);
  return { base, root, big, medium, cleanup: () => Deno.remove(base, { recursive: true }) };
}

/** The server's resident set in bytes (`VmRSS` of `/proc/PID/status`). */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  assert.ok(m, "no VmRSS");
  return Number(m[1]) * 1024;
}

const port = (server: RunningServer) => Number(new URL(server.url).port);
const connect = (server: RunningServer) =>
  Deno.connect({ hostname: "127.0.0.1", port: port(server) });
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads until the server closes (or `limitMs`); returns the bytes and whether it closed. */
async function readToEnd(conn: Deno.Conn, limitMs = 15_000) {
  const got = await collect(conn, { timeoutMs: limitMs });
  return {
    text: new TextDecoder("latin1").decode(got.bytes),
    closed: got.closed,
    bytes: got.bytes,
  };
}

/** Closes `conn`, ignoring a connection the server already closed. */
function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed */ }
}

/** The server holds no client connection but the one asking, no extra fd, and answers. */
async function settled(server: RunningServer, root: string, baseline: number): Promise<void> {
  const pid = server.process.pid;
  const active = async () => (await readMetrics(server.url)).get("zerocast_active_connections");
  await waitUntil(async () => (await active()) === 1, "every client connection closed");
  await waitUntil(() => fdCount(pid) <= baseline, `server fds back to ${baseline}`);
  assert.deepEqual(tempFilesUnder(root), [], "upload temp files left behind");
  const res = await request(server, "GET /healthz HTTP/1.1\r\nHost: a\r\n");
  assert.equal(res.status, 200);
  assert.equal(new TextDecoder().decode(res.body), "ok\n");
}

/** One request on its own connection (`Connection: close` added; no pooled connection stays). */
async function request(server: RunningServer, head: string, body?: Uint8Array) {
  const bytes = enc.encode(`${head}Connection: close\r\n\r\n`);
  const got = await rawExchange(port(server), body ? concat([bytes, body]) : bytes);
  assert.equal(got.responses.length, 1, "one response");
  return got.responses[0];
}

/** Connects to `server` and writes `text` (a request head, maybe more); returns the connection. */
async function sendText(server: RunningServer, text: string): Promise<Deno.Conn> {
  const conn = await connect(server);
  await writeAll(conn, enc.encode(text));
  return conn;
}

/** Reads a `GET` response head from `conn`; returns the bytes of body that came with it. */
async function readHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array }> {
  const buf = new Uint8Array(64 * 1024);
  let have = new Uint8Array(0);
  for (;;) {
    const n = await conn.read(buf);
    assert.ok(n !== null, "closed before the response head");
    const next = new Uint8Array(have.length + n);
    next.set(have);
    next.set(buf.subarray(0, n), have.length);
    have = next;
    for (let i = 3; i < have.length; i++) {
      if (have[i - 3] === 13 && have[i - 2] === 10 && have[i - 1] === 13 && have[i] === 10) {
        return {
          head: new TextDecoder("latin1").decode(have.subarray(0, i + 1)),
          rest: have.slice(i + 1),
        };
      }
    }
  }
}

for (const engine of ENGINES) {
  Deno.test(`abuse battery [${engine}]: slow clients and aborts leak nothing`, async (t) => {
    const fx = await makeFixture();
    const server = await startServer({
      root: fx.root,
      engine,
      args: [
        "--workers",
        "1",
        "--ingest-token",
        TOKEN,
        "--no-ingest-fsync",
        "--header-timeout",
        "1000",
        "--keepalive-timeout",
        "2000",
        "--ingest-idle-timeout",
        "1000",
        "--idle-release",
        "0",
      ],
    });
    const pid = server.process.pid;
    try {
      // warm up every path (open-file cache, splice pipes, upload folder) before the baseline
      for (const path of ["/media/big.bin", "/media/medium.bin", "/media/sparse.bin"]) {
        const res = await request(
          server,
          `GET ${path} HTTP/1.1\r\nHost: a\r\nRange: bytes=0-0\r\n`,
        );
        assert.equal(res.status, 206);
      }
      const put = await request(
        server,
        `PUT /media/live/warm.bin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\n` +
          `Content-Length: ${fx.medium.length}\r\n`,
        fx.medium,
      );
      assert.equal(put.status, 201);
      await waitUntil(
        async () => (await readMetrics(server.url)).get("zerocast_active_connections") === 1,
        "warm-up connections closed",
      );
      const baseline = fdCount(pid);

      await t.step(
        "slowloris: heads trickled a byte at a time are cut at the header timeout",
        async () => {
          const trickle = async () => {
            const conn = await connect(server);
            const head = "GET /media/medium.bin HTTP/1.1\r\nHost: a\r\n" +
              Array.from({ length: 2000 }, (_, i) => `X-${i}: y\r\n`).join("");
            let closedEarly = false;
            const reading = readToEnd(conn, 20_000);
            const giveUp = Date.now() + 15_000; // never hang the suite if the server never cuts
            for (const byte of enc.encode(head)) {
              if (Date.now() > giveUp) break;
              // the head never completes within the header timeout; the server must end it
              const wrote = await conn.write(Uint8Array.of(byte)).then(() => true, () => false);
              if (!wrote) {
                closedEarly = true;
                break;
              }
              const done = await Promise.race([
                reading.then(() => true),
                tick(20).then(() => false),
              ]);
              if (done) {
                closedEarly = true;
                break;
              }
            }
            const got = await reading;
            close(conn);
            assert.ok(closedEarly && got.closed, "the trickled head was never cut");
            const statuses = parseResponses(got.bytes).responses.map((r) => r.status);
            assert.ok(statuses.length === 0 || statuses.join() === "408", `got ${statuses}`);
          };
          // several at once, while a normal client is still served
          const trickles = Array.from({ length: 8 }, trickle);
          const res = await request(server, "GET /media/medium.bin HTTP/1.1\r\nHost: a\r\n");
          assert.deepEqual(res.body, fx.medium);
          await Promise.all(trickles);
          await settled(server, fx.root, baseline);
        },
      );

      await t.step("silent connections and an idle keep-alive are closed", async () => {
        const silent = await connect(server);
        const idle = await connect(server);
        await writeAll(idle, enc.encode("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"));
        const [a, b] = await Promise.all([readToEnd(silent), readToEnd(idle)]);
        close(silent);
        close(idle);
        assert.ok(a.closed && b.closed);
        assert.equal(a.text, "");
        assert.deepEqual(parseResponses(b.bytes).responses.map((r) => r.status), [200]);
        await settled(server, fx.root, baseline);
      });

      await t.step(
        "a 64 MiB download read slowly, stalled, then resumed: bounded RSS, exact bytes",
        async () => {
          const rssBefore = rssOf(pid);
          let rssMax = rssBefore;
          const conn = await sendText(
            server,
            "GET /media/big.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
          );
          const { head, rest } = await readHead(conn);
          assert.match(head, /^HTTP\/1\.1 200 /);
          assert.match(head, new RegExp(`\r\ncontent-length: ${BIG}\r\n`, "i"));
          let at = 0;
          const check = (piece: Uint8Array) => {
            const expected = fx.big.subarray(at, at + piece.length);
            if (piece.length !== expected.length || !piece.every((b, i) => b === expected[i])) {
              throw new Error(`bytes differ in ${at}..${at + piece.length}`);
            }
            at += piece.length;
          };
          check(rest);
          const buf = new Uint8Array(16 * 1024);
          // slow: 16 KiB reads with pauses, for the first 4 MiB
          while (at < 4 * MEDIUM) {
            const n = await conn.read(buf);
            assert.ok(n !== null, "closed while reading slowly");
            check(buf.subarray(0, n));
            if (at % (256 * 1024) < n) rssMax = Math.max(rssMax, rssOf(pid));
            await tick(2);
          }
          // stalled: the socket buffers fill; the server waits instead of reading ahead
          for (let i = 0; i < 20; i++) {
            await tick(25);
            rssMax = Math.max(rssMax, rssOf(pid));
          }
          // while the client is slow or stalled the server waits instead of reading ahead
          assert.ok(
            rssMax - rssBefore < 24 * MEDIUM,
            `RSS grew ${((rssMax - rssBefore) / MEDIUM).toFixed(1)} MiB, 64 MiB download stalled`,
          );
          // resumed at full speed to the end (memory at full speed: see the 1 GiB step)
          const big = new Uint8Array(1024 * 1024);
          for (;;) {
            const n = await conn.read(big);
            if (n === null) break;
            check(big.subarray(0, n));
          }
          close(conn);
          assert.equal(at, BIG, "whole file received");
          await settled(server, fx.root, baseline);
        },
      );

      await t.step("a 1 GiB file at full speed: memory does not follow the file size", async () => {
        // the stream engine's file chunks are garbage until V8 collects them (its external
        // memory limit, ~64 MiB); buffering the file would grow with it instead
        const rssBefore = rssOf(pid);
        let rssMax = rssBefore;
        const conn = await sendText(
          server,
          "GET /media/sparse.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        );
        const { head, rest } = await readHead(conn);
        assert.match(head, new RegExp(`\r\ncontent-length: ${GIB}\r\n`, "i"));
        let at = rest.length;
        const buf = new Uint8Array(1024 * 1024);
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          at += n;
          if (at % (32 * MEDIUM) < n) rssMax = Math.max(rssMax, rssOf(pid));
        }
        close(conn);
        assert.equal(at, GIB);
        assert.ok(
          rssMax - rssBefore < 192 * MEDIUM,
          `RSS grew ${((rssMax - rssBefore) / MEDIUM).toFixed(1)} MiB while sending 1 GiB`,
        );
        await settled(server, fx.root, baseline);
      });

      await t.step("clients that stop reading a 64 MiB body and vanish", async () => {
        const rssBefore = rssOf(pid);
        const conns = await Promise.all(Array.from({ length: 6 }, () => connect(server)));
        for (const conn of conns) {
          await writeAll(conn, enc.encode("GET /media/big.bin HTTP/1.1\r\nHost: a\r\n\r\n"));
          await readHead(conn);
        }
        let rssMax = rssBefore;
        for (let i = 0; i < 20; i++) {
          await tick(25);
          rssMax = Math.max(rssMax, rssOf(pid));
        }
        // unread data in the receive buffer: close sends a reset mid-sendfile
        for (const conn of conns) close(conn);
        assert.ok(
          rssMax - rssBefore < 48 * MEDIUM,
          `RSS grew ${((rssMax - rssBefore) / MEDIUM).toFixed(1)} MiB for 6 stalled readers`,
        );
        await settled(server, fx.root, baseline);
      });

      await t.step("a pipelining client that never reads: input is not read ahead", async () => {
        // tens of thousands of 1 MiB GETs in a row, no response read: the server must stop
        // taking requests once its answers back up (RFC 9112 §9.3.2), not queue them in memory
        const rssBefore = rssOf(pid);
        const conn = await connect(server);
        const one = enc.encode("GET /media/medium.bin HTTP/1.1\r\nHost: a\r\n\r\n");
        const batch = concat(Array.from({ length: 256 }, () => one));
        let written = 0;
        let blocked = false;
        const writing = (async () => {
          try {
            for (let i = 0; i < 4096; i++) {
              await writeAll(conn, batch);
              written += 256;
            }
          } catch { /* closed by us below */ }
        })();
        // wait until the writes stop making progress (both directions' buffers are full)
        let last = -1;
        let still = 0;
        await waitUntil(
          async () => {
            await tick(50);
            still = written === last ? still + 1 : 0;
            last = written;
            blocked = still >= 6;
            return blocked;
          },
          "writes to stall",
          30_000,
        );
        const rssMax = rssOf(pid);
        assert.ok(written < 4096 * 256, "the server read every request without answering");
        close(conn);
        await writing;
        assert.ok(
          rssMax - rssBefore < 32 * MEDIUM,
          `RSS grew ${((rssMax - rssBefore) / MEDIUM).toFixed(1)} MiB under a pipeline flood`,
        );
        await settled(server, fx.root, baseline);
      });

      await t.step("aborts at every stage of downloads and uploads", async () => {
        const stages: Record<string, () => Promise<void>> = {
          "mid request line": async () => {
            const conn = await sendText(server, "GET /media/bi");
            close(conn);
          },
          "mid head": async () => {
            const conn = await sendText(server, "GET /media/big.bin HTTP/1.1\r\nHost: a\r\nRan");
            close(conn);
          },
          "head sent, response not read": async () => {
            const conn = await sendText(server, "GET /media/big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
            close(conn);
          },
          "mid body of a GET (one read)": async () => {
            const conn = await sendText(server, "GET /media/big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
            await conn.read(new Uint8Array(64 * 1024));
            close(conn);
          },
          "mid multipart range body": async () => {
            const conn = await sendText(
              server,
              "GET /media/big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9999999,20000000-29999999\r\n\r\n",
            );
            await conn.read(new Uint8Array(64 * 1024));
            close(conn);
          },
          "pipelined GETs, first answer read": async () => {
            const conn = await connect(server);
            const one = "GET /media/medium.bin HTTP/1.1\r\nHost: a\r\n\r\n";
            await writeAll(conn, enc.encode(one + one + one));
            await readHead(conn);
            close(conn);
          },
          "unread GET body cut mid-way (the server drops it after the answer)": async () => {
            const conn = await sendText(
              server,
              "GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n",
            );
            await writeAll(conn, fx.medium.subarray(0, 100_000));
            await readHead(conn);
            close(conn);
          },
          "upload head, no body": async () => {
            const conn = await sendText(
              server,
              `PUT /media/live/cut-a.bin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 100000\r\n\r\n`,
            );
            close(conn);
          },
          "mid Content-Length upload": async () => {
            const conn = await sendText(
              server,
              `PUT /media/live/cut-b.bin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1000000\r\n\r\n`,
            );
            await writeAll(conn, fx.medium.subarray(0, 300_000));
            close(conn);
          },
          "mid chunked upload": async () => {
            const conn = await sendText(
              server,
              `PUT /media/live/cut-c.bin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n`,
            );
            await writeAll(conn, fx.medium.subarray(0, 30_000));
            close(conn);
          },
          "mid upload with Expect: 100-continue, after the 100": async () => {
            const conn = await sendText(
              server,
              `PUT /media/live/cut-d.bin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n`,
            );
            const got = await conn.read(new Uint8Array(1024));
            assert.ok(got !== null && got > 0, "no 100 Continue");
            await writeAll(conn, fx.medium.subarray(0, 1000));
            close(conn);
          },
        };
        for (const [stage, run] of Object.entries(stages)) {
          await Promise.all(Array.from({ length: 6 }, run)).catch((error) => {
            throw new Error(`${stage}: ${error}`);
          });
          await settled(server, fx.root, baseline);
        }
        // aborted uploads left nothing under their names
        const names = [...Deno.readDirSync(`${fx.root}/live`)].map((e) => e.name).sort();
        assert.deepEqual(names, ["warm.bin"]);
      });

      await t.step("a burst of 200 connections opened and dropped together", async () => {
        const conns = await Promise.all(Array.from({ length: 200 }, () => connect(server)));
        await Promise.all(conns.map((conn, i) => {
          const parts = [
            "",
            "GET /media/big.bin HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /media/medium.bin HTTP/1.1\r\nHo",
            "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
          ];
          const text = parts[i % parts.length];
          return text === "" ? Promise.resolve() : writeAll(conn, enc.encode(text));
        }));
        for (const conn of conns) close(conn);
        await settled(server, fx.root, baseline);
      });

      await t.step("half-close after the request: the answers still arrive, whole", async () => {
        // RFC 9112 §9.6: a client may shut down its sending side once its request is sent
        const single = await connect(server);
        await writeAll(single, enc.encode("GET /media/medium.bin HTTP/1.1\r\nHost: a\r\n\r\n"));
        await single.closeWrite();
        const one = await readToEnd(single);
        close(single);
        assert.ok(one.closed);
        const r1 = parseResponses(one.bytes).responses;
        assert.deepEqual(r1.map((r) => r.status), [200]);
        assert.deepEqual(r1[0].body, fx.medium);

        const piped = await connect(server);
        await writeAll(
          piped,
          enc.encode(
            "GET /media/medium.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-99\r\n\r\n" +
              "HEAD /media/big.bin HTTP/1.1\r\nHost: a\r\n\r\n" +
              "GET /media/big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=-5000000\r\n\r\n",
          ),
        );
        await piped.closeWrite();
        const three = await readToEnd(piped);
        close(piped);
        const r3 = parseResponses(three.bytes, new Set([1])).responses;
        assert.deepEqual(r3.map((r) => r.status), [206, 200, 206]);
        assert.deepEqual(r3[0].body, fx.medium.subarray(0, 100));
        assert.equal(r3[1].headers.get("content-length"), String(BIG));
        assert.deepEqual(r3[2].body, fx.big.subarray(BIG - 5_000_000));

        // an upload whose client half-closes right after the body is stored and answered
        const body = fx.medium.subarray(0, 200_000);
        const upload = await connect(server);
        await writeAll(
          upload,
          enc.encode(
            `PUT /media/live/half.bin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${body.length}\r\n\r\n`,
          ),
        );
        await writeAll(upload, body);
        await upload.closeWrite();
        const answer = await readToEnd(upload);
        close(upload);
        assert.deepEqual(parseResponses(answer.bytes).responses.map((r) => r.status), [201]);
        assert.deepEqual(await Deno.readFile(`${fx.root}/live/half.bin`), body);
        await settled(server, fx.root, baseline);
      });
    } finally {
      await server.close();
      await fx.cleanup();
    }
  });
}
