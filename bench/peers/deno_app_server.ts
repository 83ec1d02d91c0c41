/**
 * Peer: zerocast's own Hono app on `Deno.serve(app.fetch)` with nothing in between, the
 * reference for the small-route target (the zero-copy engine must reach ≥ 0.9× of it).
 *
 * `deno run --allow-all bench/peers/deno_app_server.ts --port P --root DIR`; prints
 * `listening on http://...`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createApp } from "../../src/app.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { port: { type: "string" }, root: { type: "string" } },
  });
  const app = createApp({ root: Deno.realPathSync(values.root ?? ".") });
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(values.port ?? 0),
    onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}`),
  }, app.fetch);
}
