/**
 * Peer: a Bun range server answering with `Bun.file(path).slice(start, end + 1)`, which Bun
 * sends with sendfile(2) (plain HTTP, slices ≥ 1 MiB) or with pread + write otherwise.
 *
 * Run by Bun, not Deno: `bun bench/peers/bun_server.ts --port P --root DIR` serves
 * `DIR/<name>` at `/media/<name>` and `ok` at `/healthz`; prints `listening on http://...`.
 * `--reuse-port` sets SO_REUSEPORT, so several processes can serve one port.
 *
 * @module
 */
import { parseSingleRange } from "./range.ts";

/** The slice of Bun's API this server uses (declared here so `deno check` passes). */
interface BunFile extends Blob {
  slice(start?: number, end?: number): Blob;
  exists(): Promise<boolean>;
}
declare const Bun: {
  file(path: string): BunFile;
  serve(options: {
    hostname: string;
    port: number;
    reusePort?: boolean;
    fetch(request: Request): Response | Promise<Response>;
  }): { hostname: string; port: number };
};
declare const process: { argv: string[] };

/** Reads `--name value` from argv. */
function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const root = flag("root", ".");
const files = new Map<string, BunFile>();

/** Answers one request. */
async function handle(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === "/healthz") return new Response("ok\n");
  const name = pathname.startsWith("/media/") ? pathname.slice(7) : "";
  if (name === "" || name.includes("/") || name.startsWith(".")) {
    return new Response("not found\n", { status: 404 });
  }
  let file = files.get(name);
  if (file === undefined) {
    const candidate = Bun.file(`${root}/${name}`);
    if (!(await candidate.exists())) return new Response("not found\n", { status: 404 });
    files.set(name, candidate);
    file = candidate;
  }
  const size = file.size;
  const range = parseSingleRange(request.headers.get("range"), size);
  if (range === "invalid") {
    return new Response(null, { status: 416, headers: { "content-range": `bytes */${size}` } });
  }
  const headers: Record<string, string> = {
    "content-type": "application/octet-stream",
    "accept-ranges": "bytes",
  };
  if (range === "none") return new Response(file, { status: 200, headers });
  headers["content-range"] = `bytes ${range.start}-${range.end}/${size}`;
  return new Response(file.slice(range.start, range.end + 1), { status: 206, headers });
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(flag("port", "0")),
  // several processes on one port (the workers dimension of bench:compare)
  reusePort: process.argv.includes("--reuse-port"),
  fetch: handle,
});
console.log(`listening on http://${server.hostname}:${server.port}`);
