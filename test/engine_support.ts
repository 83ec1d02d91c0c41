/**
 * Helpers of the engine tests: start an app on the zero-copy engine, talk raw HTTP/1.1 over
 * `Deno.connect`, parse responses byte-exactly, count this process's open fds.
 *
 * @module
 */
import { serve } from "../src/server/adapter.ts";
import type { EngineHandle, EngineOptions } from "../src/server/adapter.ts";
import type { FetchApp } from "../src/server/types.ts";
import { concat, randomBytes } from "./support/bytes.ts";
export { concat, randomBytes };

/** A started engine with its base URL. */
export interface TestEngine extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  /** The port. */
  readonly port: number;
  /** The handle returned by serve(). */
  readonly handle: EngineHandle;
}

/** Starts `app` on 127.0.0.1:0; dispose (or `handle.shutdown()`) to stop. */
export function startEngine(
  app: FetchApp,
  options: Partial<EngineOptions> = {},
): TestEngine {
  const handle = serve(app, { hostname: "127.0.0.1", port: 0, ...options });
  return {
    base: `http://127.0.0.1:${handle.port}`,
    port: handle.port,
    handle,
    async [Symbol.asyncDispose]() {
      await handle.shutdown(1000);
    },
  };
}

/** A parsed HTTP/1.1 response. */
export interface RawResponse {
  /** Status code. */
  status: number;
  /** Header fields, names lower-cased (last value wins). */
  headers: Map<string, string>;
  /** Body bytes (de-chunked). */
  body: Uint8Array;
  /** Raw head text. */
  head: string;
}

const enc = new TextEncoder();
const latin1 = (b: Uint8Array) => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
};

/**
 * Parses complete responses from `data`; `headOnly` lists indexes of responses to HEAD requests
 * (no body). Returns the responses and how many bytes they used.
 */
export function parseResponses(
  data: Uint8Array,
  headOnly: ReadonlySet<number> = new Set(),
): { responses: RawResponse[]; used: number; closeDelimited?: boolean } {
  const responses: RawResponse[] = [];
  let p = 0;
  for (;;) {
    let end = -1;
    for (let i = p; i + 3 < data.length; i++) {
      if (data[i] === 13 && data[i + 1] === 10 && data[i + 2] === 13 && data[i + 3] === 10) {
        end = i;
        break;
      }
    }
    if (end < 0) break;
    const head = latin1(data.subarray(p, end));
    const lines = head.split("\r\n");
    const status = Number(lines[0].split(" ")[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    let q = end + 4;
    let body: Uint8Array = new Uint8Array(0);
    const noBody = headOnly.has(responses.length) || status === 204 || status === 304 ||
      status < 200;
    if (!noBody) {
      if (headers.has("content-length")) {
        const n = Number(headers.get("content-length"));
        if (q + n > data.length) break;
        body = data.slice(q, q + n);
        q += n;
      } else if (headers.get("transfer-encoding") === "chunked") {
        const parts: Uint8Array[] = [];
        let complete = false;
        for (;;) {
          let le = -1;
          for (let i = q; i + 1 < data.length; i++) {
            if (data[i] === 13 && data[i + 1] === 10) {
              le = i;
              break;
            }
          }
          if (le < 0) break;
          const size = parseInt(latin1(data.subarray(q, le)), 16);
          if (size === 0) {
            if (le + 4 > data.length) break;
            q = le + 4;
            complete = true;
            break;
          }
          if (le + 2 + size + 2 > data.length) break;
          parts.push(data.subarray(le + 2, le + 2 + size));
          q = le + 2 + size + 2;
        }
        if (!complete) break;
        body = concat(parts);
      } else {
        body = data.slice(q);
        q = data.length;
        responses.push({ status, headers, body, head });
        p = q;
        return { responses, used: p, closeDelimited: true };
      }
    }
    responses.push({ status, headers, body, head });
    p = q;
  }
  return { responses, used: p };
}

/** Options of {@linkcode rawExchange}. */
export interface RawOptions {
  /** Stop once this many complete responses arrived (default: read until the server closes). */
  responses?: number;
  /** Indexes of responses to HEAD requests. */
  headOnly?: Set<number>;
  /** Give up after this many ms (default 10 s) and return what arrived. */
  timeoutMs?: number;
}

/** Result of {@linkcode rawExchange}. */
export interface RawResult {
  /** Parsed responses. */
  responses: RawResponse[];
  /** Everything received. */
  bytes: Uint8Array;
  /** The server closed the connection. */
  closed: boolean;
}

/** Sends `request` (text or bytes) on a new connection and collects the responses. */
export async function rawExchange(
  port: number,
  request: string | Uint8Array,
  options: RawOptions = {},
): Promise<RawResult> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, typeof request === "string" ? enc.encode(request) : request);
    return await collect(conn, options);
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** A read still in flight when {@linkcode collect} timed out; the next call takes it over. */
const pendingReads = new WeakMap<Deno.Conn, Promise<Uint8Array | null>>();

function readChunk(conn: Deno.Conn): Promise<Uint8Array | null> {
  let pending = pendingReads.get(conn);
  if (pending === undefined) {
    const buf = new Uint8Array(256 * 1024);
    pending = conn.read(buf).then((n) => (n === null ? null : buf.slice(0, n)), () => null);
    pendingReads.set(conn, pending);
  }
  return pending;
}

/** Reads from `conn` until enough responses arrived, EOF, or the timeout. */
export async function collect(conn: Deno.Conn, options: RawOptions = {}): Promise<RawResult> {
  const chunks: Uint8Array[] = [];
  let closed = false;
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const data = concat(chunks);
    if (options.responses !== undefined) {
      const parsed = parseResponses(data, options.headOnly);
      if (parsed.responses.length >= options.responses) {
        return { responses: parsed.responses, bytes: data, closed };
      }
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const chunk = await Promise.race([
      readChunk(conn),
      new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), left)),
    ]);
    clearTimeout(timer);
    if (chunk === "timeout") break;
    pendingReads.delete(conn);
    if (chunk === null) {
      closed = true;
      break;
    }
    chunks.push(chunk);
  }
  const data = concat(chunks);
  return { responses: parseResponses(data, options.headOnly).responses, bytes: data, closed };
}

/** Writes all of `data`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.byteLength) at += await conn.write(data.subarray(at));
}

/** Number of fds open in this process. */
export function openFdCount(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n;
}

/** Waits until `check()` is true, polling every 10 ms, failing after `ms`. */
export async function waitFor(check: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Turns an app's `fetch` into a {@linkcode FetchApp}. */
export function fetchApp(fetch: FetchApp["fetch"]): FetchApp {
  return { fetch };
}
