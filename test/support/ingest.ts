/**
 * Helpers for the live-ingest suites (`test/ingest_*_test.ts`): a server with ingest enabled on
 * a fresh temp root, raw-socket requests (for paths and framings fetch would not send), metrics,
 * file listings and hashes.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { curl, type Engine, type RunningServer, startServer } from "./server.ts";
import { concat } from "./bytes.ts";
export { concat };

/** Bearer token the ingest servers are started with. */
export const TOKEN = "test-ingest-token-0123456789";
/** `Authorization` header carrying {@linkcode TOKEN}. */
export const AUTH = `Bearer ${TOKEN}`;

/** A running server with ingest on, and its directories. */
export interface IngestServer {
  /** The server process. */
  readonly server: RunningServer;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Temp directory holding `root` (escapes from the root would land here). */
  readonly base: string;
  /** Media root (real path), `base/root`. */
  readonly root: string;
  /** Stops the server and removes `base`. */
  close(): Promise<void>;
}

/**
 * Starts main.ts on `engine` with `--ingest-token token` (ingest off when `token` is null) and
 * `args` on a new temp root; `prepare` may fill the root first.
 */
export async function startIngestServer(
  engine: Engine,
  args: string[] = [],
  token: string | null = TOKEN,
  prepare?: (root: string) => void | Promise<void>,
): Promise<IngestServer> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "zerocast-ingest-" }));
  const root = `${base}/root`;
  await Deno.mkdir(root);
  let server: RunningServer;
  try {
    await prepare?.(root);
    const tokenArgs = token === null ? [] : ["--ingest-token", token];
    server = await startServer({ engine, root, args: [...tokenArgs, ...args] });
  } catch (error) {
    await Deno.remove(base, { recursive: true });
    throw error;
  }
  return {
    server,
    url: server.url,
    base,
    root,
    async close() {
      await server.close();
      await Deno.remove(base, { recursive: true });
    },
  };
}

/** Parsed status and the raw text of one raw-socket exchange. */
export interface RawResponse {
  /** Status code of the first (non-1xx) response, or 0 when the server sent none. */
  readonly status: number;
  /** Everything the server sent, as Latin-1 text. */
  readonly text: string;
}

/**
 * Sends `request` on a new TCP connection, then reads until the server closes it (requests
 * should say `Connection: close`) or `limitMs` passes; returns the first final status.
 */
export async function rawExchange(
  url: string,
  request: string | Uint8Array,
  limitMs = 15_000,
): Promise<RawResponse> {
  const conn = await connect(url);
  try {
    await writeAll(conn, typeof request === "string" ? latin1(request) : request);
    return await readResponse(conn, limitMs);
  } finally {
    conn.close();
  }
}

/** Opens a TCP connection to the host and port of `url`. */
export function connect(url: string): Promise<Deno.TcpConn> {
  const { hostname, port } = new URL(url);
  return Deno.connect({ hostname, port: Number(port) });
}

/** Writes all of `bytes` to `conn`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) offset += await conn.write(bytes.subarray(offset));
}

/**
 * Reads from `conn` until the first final response is complete (head plus Content-Length body),
 * EOF, a reset, or `limitMs`; parses its status.
 */
export async function readResponse(conn: Deno.Conn, limitMs = 15_000): Promise<RawResponse> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  const deadline = Date.now() + limitMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<null>((r) => timer = setTimeout(() => r(null), limitMs));
  try {
    while (Date.now() < deadline) {
      let n: number | null;
      try {
        n = await Promise.race([conn.read(buffer), timedOut]);
      } catch {
        break; // reset by the server
      }
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      if (finalResponseComplete(new TextDecoder("latin1").decode(concat(chunks)))) break;
    }
  } finally {
    clearTimeout(timer);
  }
  const text = new TextDecoder("latin1").decode(concat(chunks));
  const statuses = [...text.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)].map((m) => Number(m[1]));
  return { status: statuses.find((s) => s >= 200) ?? 0, text };
}

/** True when `text` holds a whole final (non-1xx) response with a Content-Length body. */
function finalResponseComplete(text: string): boolean {
  const re = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const end = text.indexOf("\r\n\r\n", m.index);
    if (end < 0) return false;
    if (Number(m[1]) < 200) continue;
    const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(m.index, end + 2));
    return length !== null && text.length - (end + 4) >= Number(length[1]);
  }
  return false;
}

/** Latin-1 bytes of `text` (request heads are ASCII). */
export function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

/** Reads `/metrics` with curl (a fresh connection each time) into `name{labels}` → value. */
export async function readMetrics(url: string): Promise<Map<string, number>> {
  const out = await curl([`${url}/metrics`]);
  if (out.code !== 0) throw new Error(`curl /metrics failed: ${out.stderr}`);
  const metrics = new Map<string, number>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = /^(\S+) (\S+)$/.exec(line);
    if (m && !line.startsWith("#")) metrics.set(m[1], Number(m[2]));
  }
  return metrics;
}

/** Polls `condition` until it holds; throws naming `what` when it never does within `limitMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every file and directory under `dir` (hidden ones included), as sorted relative paths. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string, prefix: string) => {
    for (const entry of Deno.readDirSync(path)) {
      const relative = prefix + entry.name;
      out.push(entry.isDirectory ? `${relative}/` : relative);
      if (entry.isDirectory) walk(`${path}/${entry.name}`, `${relative}/`);
    }
  };
  walk(dir, "");
  return out.sort();
}

/** Names under `dir` (recursively) that look like upload temp files. */
export function tempFilesUnder(dir: string): string[] {
  return listTree(dir).filter((p) => /(^|\/)\.[^/]*\.upload-[0-9a-f]+$/.test(p));
}

/** Hex SHA-256 of the file at `path`, read in 1 MiB pieces. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buffer = new Uint8Array(1024 * 1024);
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
  }
  return hash.digest("hex");
}

/** Hex SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Open file descriptors of process `pid` (Linux `/proc`). */
export function fdCount(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

/** True when `path` exists (without following a final symlink). */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
