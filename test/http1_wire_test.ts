/**
 * The codec against real clients: a minimal server built only from the codec (Deno.listen for
 * the socket, parseRequestHead, ChunkedDecoder, serializeResponseHead, encodeChunk) talks to
 * fetch, curl and raw TCP, so both directions are checked against independent implementations.
 */
import assert from "node:assert/strict";
import {
  ChunkedDecoder,
  CONTINUE_100,
  encodeChunk,
  errorResponseBytes,
  LAST_CHUNK,
  parseRequestHead,
  type ResponseHeadOptions,
  responseKeepsAlive,
  serializeResponseHead,
} from "../src/http1/mod.ts";
import { curl, have } from "./support/server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** What the test server echoes for each request. */
interface Echo {
  method: string;
  target: string;
  versionMinor: number;
  chunked: boolean;
  expectContinue: boolean;
  bodyLength: number;
  body: string;
}

interface CodecServer {
  url: string;
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

function startCodecServer(): CodecServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const open = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  const server: CodecServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    accepted: 0,
    async close() {
      listener.close();
      for (const conn of open) {
        open.delete(conn);
        conn.close();
      }
      await acceptLoop;
      await Promise.all(tasks);
    },
  };
  const acceptLoop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      server.accepted++;
      open.add(conn);
      tasks.push(
        serveConnection(conn).catch(() => {}).finally(() => {
          if (open.delete(conn)) conn.close();
        }),
      );
    }
  })();
  return server;
}

async function serveConnection(conn: Deno.Conn): Promise<void> {
  let buf = new Uint8Array(4096);
  let start = 0;
  let end = 0;
  const read = async (): Promise<boolean> => {
    if (start === end) start = end = 0;
    if (end === buf.length) {
      if (start > 0) {
        buf.copyWithin(0, start, end);
        end -= start;
        start = 0;
      } else {
        const grown = new Uint8Array(buf.length * 2);
        grown.set(buf);
        buf = grown;
      }
    }
    const n = await conn.read(buf.subarray(end));
    if (n === null) return false;
    end += n;
    return true;
  };

  for (;;) {
    let parsed = parseRequestHead(buf, start, end);
    while (parsed.kind === "incomplete") {
      if (!await read()) return;
      parsed = parseRequestHead(buf, start, end);
    }
    if (parsed.kind === "error") {
      await writeAll(conn, errorResponseBytes(parsed.status, parsed.reason));
      return;
    }
    const { head } = parsed;
    start = parsed.headEnd;
    if (head.expectContinue) await writeAll(conn, CONTINUE_100);

    const body: Uint8Array[] = [];
    if (head.contentLength !== null) {
      let need = head.contentLength;
      while (need > 0) {
        if (start === end && !await read()) return;
        const n = Math.min(need, end - start);
        body.push(buf.slice(start, start + n));
        start += n;
        need -= n;
      }
    } else if (head.chunked) {
      const dec = new ChunkedDecoder(1 << 24);
      while (!dec.done) {
        if (start === end && !await read()) return;
        const step = dec.decode(buf, start, end);
        if (step.error !== undefined) {
          await writeAll(conn, errorResponseBytes(step.errorStatus, step.error));
          return;
        }
        if (step.dataLength > 0) {
          body.push(buf.slice(step.dataStart, step.dataStart + step.dataLength));
        }
        start += step.consumed;
      }
    }

    const bodyBytes = new Uint8Array(body.reduce((n, b) => n + b.length, 0));
    body.reduce((at, b) => (bodyBytes.set(b, at), at + b.length), 0);
    const echo: Echo = {
      method: head.method,
      target: head.target,
      versionMinor: head.versionMinor,
      chunked: head.chunked,
      expectContinue: head.expectContinue,
      bodyLength: bodyBytes.length,
      body: bodyBytes.length <= 1024 ? decoder.decode(bodyBytes) : "",
    };
    const payload = encoder.encode(JSON.stringify(echo));
    const isHead = head.method === "HEAD";
    let opts: ResponseHeadOptions;
    const streamed = head.target.startsWith("/chunked");
    if (streamed) {
      opts = { keepAlive: head.keepAlive, versionMinor: head.versionMinor, contentLength: null };
      opts.chunked = true;
    } else {
      opts = {
        keepAlive: head.keepAlive,
        versionMinor: head.versionMinor,
        contentLength: payload.length,
      };
    }
    opts.head = isHead;
    const status = 200;
    await writeAll(
      conn,
      serializeResponseHead(status, [["Content-Type", "application/json"]], opts),
    );
    if (!isHead) {
      if (streamed && opts.versionMinor === 1) {
        // Send the echo in three chunks to exercise the encoder.
        const third = Math.ceil(payload.length / 3);
        for (let at = 0; at < payload.length; at += third) {
          for (const part of encodeChunk(payload.subarray(at, at + third))) {
            await writeAll(conn, part);
          }
        }
        await writeAll(conn, LAST_CHUNK);
      } else {
        await writeAll(conn, payload);
      }
    }
    if (!responseKeepsAlive(status, opts)) return;
  }
}

/** Sends raw bytes and reads until the server closes the connection. */
async function rawExchange(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, encoder.encode(request));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(16 * 1024);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    return chunks.map((c) => String.fromCharCode(...c)).join("");
  } finally {
    conn.close();
  }
}

Deno.test("wire: fetch keeps one connection alive across requests", async () => {
  const server = startCodecServer();
  const client = Deno.createHttpClient({});
  try {
    for (const path of ["/a", "/b?x=1", "/c"]) {
      const res = await fetch(server.url + path, { client });
      assert.equal(res.status, 200);
      const echo: Echo = await res.json();
      assert.equal(echo.target, path);
      assert.equal(echo.versionMinor, 1);
    }
    assert.equal(server.accepted, 1);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("wire: fetch uploads with Content-Length and chunked, reads a chunked response", async () => {
  const server = startCodecServer();
  const client = Deno.createHttpClient({});
  try {
    let res = await fetch(server.url + "/up", { method: "POST", body: "hello", client });
    let echo: Echo = await res.json();
    assert.deepEqual([echo.method, echo.chunked, echo.body], ["POST", false, "hello"]);

    const parts = ["first part, ", "second part, ", "third"];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = parts.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(encoder.encode(next));
      },
    });
    res = await fetch(server.url + "/up", { method: "PUT", body: stream, client });
    echo = await res.json();
    assert.equal(echo.chunked, true, "a stream body goes out chunked");
    assert.equal(echo.body, "first part, second part, third");

    res = await fetch(server.url + "/chunked", { client });
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    echo = await res.json();
    assert.equal(echo.target, "/chunked");

    res = await fetch(server.url + "/chunked", { method: "HEAD", client });
    assert.equal(await res.text(), "");
    assert.equal(server.accepted, 1, "HEAD without a body kept the connection usable");
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test({
  name: "wire: curl over HTTP/1.0 and 1.1, with Expect: 100-continue and a chunked upload",
  ignore: !have("curl"),
  async fn() {
    const server = startCodecServer();
    const dir = await Deno.makeTempDir();
    try {
      let out = await curl(["-i", "--http1.0", server.url + "/old"]);
      let text = decoder.decode(out.stdout);
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(text, /\r\nconnection: close\r\n/);
      assert.equal(JSON.parse(text.split("\r\n\r\n")[1]).versionMinor, 0);

      // HTTP/1.0 cannot take chunked: the body is delimited by closing the connection.
      out = await curl(["-i", "--http1.0", server.url + "/chunked"]);
      text = decoder.decode(out.stdout);
      assert.doesNotMatch(text, /transfer-encoding/i);
      assert.equal(JSON.parse(text.split("\r\n\r\n")[1]).target, "/chunked");

      const file = `${dir}/upload.bin`;
      const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
      await Deno.writeFile(file, data);
      out = await curl([
        "-v",
        "-H",
        "Transfer-Encoding: chunked",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        `@${file}`,
        server.url + "/upload",
      ]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stderr, /< HTTP\/1\.1 100 Continue/);
      const echo: Echo = JSON.parse(decoder.decode(out.stdout));
      assert.deepEqual(
        [echo.chunked, echo.expectContinue, echo.bodyLength],
        [true, true, data.length],
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
      await server.close();
    }
  },
});

Deno.test("wire: pipelined requests are answered in order", async () => {
  const server = startCodecServer();
  try {
    const text = await rawExchange(
      server.port,
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
        "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" +
        "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    const targets = [...text.matchAll(/"target":"([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual(targets, ["/1", "/2", "/3"]);
    assert.equal(text.match(/HTTP\/1\.1 200 OK/g)?.length, 3);
    assert.match(text, /"body":"abc"/);
  } finally {
    await server.close();
  }
});

Deno.test("wire: smuggling attempts get 400 and a closed connection", async () => {
  const server = startCodecServer();
  try {
    const attempts = [
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
    ];
    for (const request of attempts) {
      const text = await rawExchange(server.port, request);
      assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/, request);
      assert.match(text, /\r\nconnection: close\r\n/);
      assert.doesNotMatch(text, /smuggled/);
      assert.equal(text.match(/HTTP\/1\.1/g)?.length, 1, "exactly one response, then close");
    }
  } finally {
    await server.close();
  }
});
