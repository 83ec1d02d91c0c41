/**
 * Peer: the `Deno.serve` + `ReadableStream` range server (deno_stream_server.ts) as a
 * `deno serve` module, for Deno's own multi-core serving:
 * `DENO_JOBS=N ZEROCAST_BENCH_ROOT=DIR deno serve --parallel --allow-all --host 127.0.0.1
 * --port P bench/peers/deno_serve_parallel.ts` runs N copies on one port.
 *
 * @module
 */
import { handle } from "./deno_stream_server.ts";

const root = Deno.realPathSync(Deno.env.get("ZEROCAST_BENCH_ROOT") ?? ".");

export default {
  fetch: (request: Request) => handle(request, root),
} satisfies Deno.ServeDefaultExport;
