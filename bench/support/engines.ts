/**
 * Starts the app in this process on both engines for `deno bench`: the stream engine always,
 * the zero-copy engine when `src/server/adapter.ts` can be loaded (it is imported by a computed
 * URL so the suite still type-checks and runs, stream only, without it).
 *
 * @module
 */
import { serveStream } from "../../src/server/stream.ts";
import type { FetchApp, ServerHandle } from "../../src/server/types.ts";
import { LOOPBACK } from "./ports.ts";

/** The shape of the adapter module this file relies on. */
interface AdapterModule {
  serve(
    app: FetchApp,
    options: { hostname: string; port: number },
  ): ServerHandle | Promise<ServerHandle>;
}

/** Both engines serving one app. */
export interface EngineServers {
  /** The Deno.serve + ReadableStream engine. */
  readonly stream: ServerHandle;
  /** The zero-copy engine, or null when it could not be started. */
  readonly zeroCopy: ServerHandle | null;
  /** Why the zero-copy engine is missing. */
  readonly zeroCopyError: string | null;
  /** Shuts both down. */
  close(): Promise<void>;
}

/** Starts `app` on ephemeral loopback ports on each engine available. */
export async function startEngines(app: FetchApp): Promise<EngineServers> {
  const stream = await serveStream(app, { hostname: LOOPBACK, port: 0 });
  let zeroCopy: ServerHandle | null = null;
  let zeroCopyError: string | null = null;
  try {
    const url = new URL("../../src/server/adapter.ts", import.meta.url).href;
    const adapter = await import(url) as AdapterModule;
    zeroCopy = await adapter.serve(app, { hostname: LOOPBACK, port: 0 });
  } catch (error) {
    zeroCopyError = error instanceof Error ? error.message.split("\n")[0] : String(error);
  }
  return {
    stream,
    zeroCopy,
    zeroCopyError,
    async close() {
      await Promise.all([stream.shutdown(1000), zeroCopy?.shutdown(1000)]);
    },
  };
}
