/**
 * Peer: a plain `Deno.serve` range server whose bodies are `ReadableStream`s reading the file in
 * 64 KiB chunks: the path every Deno file server without socket access takes.
 *
 * `deno run --allow-all bench/peers/deno_stream_server.ts --port P --root DIR` serves
 * `DIR/<name>` at `/media/<name>` and `ok` at `/healthz`; prints `listening on http://...`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parseSingleRange } from "./range.ts";

const CHUNK = 64 * 1024;

/** A stream of `[start, end]` of the open `file`, closing it at the end or on cancel. */
function fileStream(file: Deno.FsFile, start: number, end: number): ReadableStream<Uint8Array> {
  let position = start;
  let seeked = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!seeked) {
          await file.seek(start, Deno.SeekMode.Start);
          seeked = true;
        }
        const buffer = new Uint8Array(Math.min(CHUNK, end + 1 - position));
        const n = await file.read(buffer);
        if (n === null) throw new Error("file truncated");
        position += n;
        controller.enqueue(n === buffer.byteLength ? buffer : buffer.subarray(0, n));
        if (position > end) {
          file.close();
          controller.close();
        }
      } catch (error) {
        try {
          file.close();
        } catch { /* closed */ }
        controller.error(error);
      }
    },
    cancel() {
      try {
        file.close();
      } catch { /* closed */ }
    },
  }, { highWaterMark: 0 });
}

/** Answers one request. */
export async function handle(request: Request, root: string): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === "/healthz") return new Response("ok\n");
  const name = pathname.startsWith("/media/") ? pathname.slice(7) : "";
  if (name === "" || name.includes("/") || name.startsWith(".")) {
    return new Response("not found\n", { status: 404 });
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(`${root}/${name}`, { read: true });
  } catch {
    return new Response("not found\n", { status: 404 });
  }
  const { size } = await file.stat();
  const range = parseSingleRange(request.headers.get("range"), size);
  if (range === "invalid") {
    file.close();
    return new Response(null, { status: 416, headers: { "content-range": `bytes */${size}` } });
  }
  const { start, end } = range === "none" ? { start: 0, end: size - 1 } : range;
  const headers: Record<string, string> = {
    "content-type": "application/octet-stream",
    "accept-ranges": "bytes",
    "content-length": String(end - start + 1),
  };
  if (range !== "none") headers["content-range"] = `bytes ${start}-${end}/${size}`;
  if (size === 0 || request.method === "HEAD") {
    file.close();
    return new Response(null, { status: range === "none" ? 200 : 206, headers });
  }
  return new Response(fileStream(file, start, end), {
    status: range === "none" ? 200 : 206,
    headers,
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { port: { type: "string" }, root: { type: "string" } },
  });
  const root = Deno.realPathSync(values.root ?? ".");
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(values.port ?? 0),
    onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}`),
  }, (request) => handle(request, root));
}
