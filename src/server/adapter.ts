/**
 * A Hono adapter for the zero-copy engine, in the spirit of `@hono/node-server`: any object with
 * Hono's `fetch(request, env)` runs on sockets owned through libc, with file bodies
 * ({@linkcode FileBody}) sent by `sendfile(2)`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { serve } from "./src/server/adapter.ts";
 * const app = new Hono().get("/", (c) => c.text("hi"));
 * const server = serve(app, { hostname: "127.0.0.1", port: 8080 });
 * console.log(`listening on http://${server.hostname}:${server.port}`);
 * await server.shutdown();
 * ```
 * @module
 */
import { libcAvailable } from "../../ffi/libc.ts";
import { type EngineOptions, EngineServer } from "./engine/server.ts";
import type { FetchApp, ServerHandle } from "./types.ts";

export type { EngineOptions } from "./engine/options.ts";
export { ENGINE_DEFAULTS } from "./engine/options.ts";

/** A server started by {@linkcode serve}. */
export interface EngineHandle extends ServerHandle {
  /** Open client connections now. */
  readonly connections: number;
}

/** Returns true when the zero-copy engine can run here (Linux x86_64, FFI allowed). */
export function zeroCopyAvailable(): boolean {
  return libcAvailable();
}

/**
 * Starts `app` on the zero-copy engine at `options.hostname:options.port` (port 0: an ephemeral
 * port, see `port` of the result). Listening has begun when this returns; throws when the
 * address cannot be bound or FFI is unavailable.
 */
export function serve(app: FetchApp, options: EngineOptions): EngineHandle {
  const server = new EngineServer(app, options);
  return {
    hostname: server.listener.hostname,
    port: server.listener.port,
    finished: server.finished,
    get connections() {
      return server.connectionCount;
    },
    shutdown: (graceMs?: number) => server.shutdown(graceMs),
  };
}
