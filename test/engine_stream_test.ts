/**
 * Response streams on the zero-copy engine: backpressure from a client that stops reading
 * (EAGAIN → wait for EPOLLOUT, the stream is not pulled ahead), the send timeout closing a
 * stalled client and cancelling the stream, and the request's abort signal on disconnect.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { Metrics } from "../src/metrics.ts";
import { collect, startEngine, waitFor, writeAll } from "./engine_support.ts";

const enc = new TextEncoder();
const CHUNK = 64 * 1024;

interface StreamStats {
  pulled: number;
  cancelled: boolean;
}

/** GET /endless streams 64 KiB chunks forever, counting what was pulled. */
function endlessApp(stats: StreamStats): Hono {
  const app = new Hono();
  const chunk = new Uint8Array(CHUNK).fill(0x61);
  app.get("/endless", () =>
    new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          stats.pulled += CHUNK;
          controller.enqueue(chunk);
        },
        cancel() {
          stats.cancelled = true;
        },
      }, { highWaterMark: 0 }),
    ));
  return app;
}

Deno.test("stream: a client that stops reading stops the pulls (backpressure)", async () => {
  const stats: StreamStats = { pulled: 0, cancelled: false };
  const metrics = new Metrics();
  await using server = startEngine(endlessApp(stats), { metrics });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await writeAll(conn, enc.encode("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n"));
    const buf = new Uint8Array(CHUNK);
    let read = 0;
    while (read < 1024 * 1024) read += (await conn.read(buf)) ?? 0;
    // stop reading: the socket buffers fill, sends hit EAGAIN, pulls stop
    await waitFor(() => metrics.eagainWaits > 0, 5000, "an EAGAIN wait");
    await new Promise((r) => setTimeout(r, 300));
    const pulledWhilePaused = stats.pulled;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stats.pulled, pulledWhilePaused, "no pulls while the client is not reading");
    // what was pulled is what was read plus the kernel's socket buffers, not more
    assert.ok(stats.pulled - read < 64 * 1024 * 1024, `pulled ${stats.pulled}, read ${read}`);
    // reading again resumes the stream
    let more = 0;
    while (more < 8 * 1024 * 1024) more += (await conn.read(buf)) ?? 0;
    await waitFor(() => stats.pulled > pulledWhilePaused, 5000, "pulls to resume");
  } finally {
    conn.close();
  }
  await waitFor(() => stats.cancelled, 5000, "the stream to be cancelled on disconnect");
});

Deno.test("stream: the send timeout closes a stalled client and cancels its stream", async () => {
  const stats: StreamStats = { pulled: 0, cancelled: false };
  await using server = startEngine(endlessApp(stats), { sendTimeoutMs: 300 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await writeAll(conn, enc.encode("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n"));
    await waitFor(() => stats.cancelled, 10_000, "the stalled stream to be cancelled");
    await waitFor(() => server.handle.connections === 0, 5000, "the connection to close");
  } finally {
    conn.close();
  }
});

Deno.test("stream: the request signal aborts when the client disconnects", async () => {
  let aborted = false;
  let started = false;
  const app = new Hono();
  app.get("/wait", async (c) => {
    started = true;
    const signal = c.req.raw.signal;
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
    aborted = signal.aborted;
    return c.text("too late");
  });
  await using server = startEngine(app);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await writeAll(conn, enc.encode("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"));
  await waitFor(() => started, 5000, "the handler to start");
  conn.close();
  await waitFor(() => aborted, 5000, "the signal to abort");
  void collect;
});
