/**
 * Peer for `deno task bench:crossover`: zerocast's app on the zero-copy engine with a given
 * `preadThreshold` (bodies up to that size go out as pread + one send with the head; larger ones
 * with sendfile).
 *
 * `deno run --allow-all bench/peers/zerocast_threshold.ts --port P --root DIR --threshold N`;
 * prints `listening on http://...`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createApp } from "../../src/app.ts";
import { serve } from "../../src/server/adapter.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string" },
      root: { type: "string" },
      threshold: { type: "string" },
    },
  });
  const app = createApp({ root: Deno.realPathSync(values.root ?? ".") });
  const server = serve(app, {
    hostname: "127.0.0.1",
    port: Number(values.port ?? 0),
    preadThreshold: Number(values.threshold ?? 0),
  });
  console.log(`listening on http://${server.hostname}:${server.port}`);
  Deno.addSignalListener("SIGTERM", () => server.shutdown(0).then(() => Deno.exit(0)));
}
