/**
 * CLI entry: flags -> config -> servers. `deno task serve [flags]`; `--help` lists the flags.
 *
 * Prints one `listening on http(s)://HOST:PORT` line per listener once it accepts connections;
 * scripts and tests wait for it.
 *
 * @module
 */
import {
  CliError,
  type Config,
  type EngineSettings,
  HELP,
  HelpRequested,
  listenUrl,
  parseConfig,
} from "./src/config.ts";
import { createApp } from "./src/app.ts";
import { Metrics } from "./src/metrics.ts";
import { stdoutAccessLog } from "./src/log.ts";
import { serveStream } from "./src/server/stream.ts";
import type { CommonServerOptions, FetchApp, ServerHandle } from "./src/server/types.ts";
import { superviseIfWanted } from "./src/server/workers/supervisor.ts";
import { workerRuntime } from "./src/server/workers/worker.ts";

/** Decides which engine serves plain HTTP; returns the choice and why. */
function chooseEngine(config: Config): { engine: "zero-copy" | "stream"; why: string } {
  if (config.engine !== "auto") return { engine: config.engine, why: "--engine" };
  if (Deno.build.os !== "linux") return { engine: "stream", why: "auto: not Linux" };
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return { engine: "stream", why: "auto: --allow-ffi not granted" };
  }
  return { engine: "zero-copy", why: "auto: Linux with FFI" };
}

/** Starts the plain HTTP listener on the chosen engine. */
async function startPlain(
  engine: "zero-copy" | "stream",
  app: FetchApp,
  options: CommonServerOptions,
  settings: EngineSettings,
): Promise<ServerHandle> {
  if (engine === "stream") return await serveStream(app, options);
  const { serve } = await import("./src/server/adapter.ts");
  return await serve(app, { ...settings, ...options });
}

async function main(args: string[]): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(args, (name) => Deno.env.get(name));
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(HELP);
      return 0;
    }
    if (error instanceof CliError) {
      console.error(`zerocast: ${error.message}`);
      console.error("Try --help for the list of flags.");
      return 2;
    }
    throw error;
  }

  // --workers: a supervisor starts worker processes (this file again, see src/server/workers/).
  const worker = workerRuntime();
  if (worker === null) {
    const supervised = await superviseIfWanted(config, args);
    if (supervised !== null) return supervised;
  }
  const announce = worker?.announce ?? console.log;
  const metrics = worker?.metrics ?? new Metrics();
  // Stops the app's timers (the stale-stream sweeper) at shutdown.
  const appLifetime = new AbortController();
  const app = createApp({
    root: config.root,
    cors: config.cors,
    cacheControl: config.cacheControl,
    maxRanges: config.maxRanges,
    metrics,
    ingest: config.ingestToken === undefined ? undefined : {
      token: config.ingestToken,
      prefix: config.ingestPrefix,
      maxBytes: config.ingestMaxBytes,
      fsync: config.ingestFsync,
      idleTimeoutMs: config.ingestIdleTimeoutMs,
      staleAfterMs: config.ingestStaleAfterMs,
      signal: appLifetime.signal,
      ...worker?.ingest,
    },
  });
  const onResponse = config.quiet ? undefined : stdoutAccessLog();
  const common = {
    hostname: config.host,
    port: config.port,
    metrics,
    onResponse,
    reusePort: worker !== null,
  };
  const { engine, why } = chooseEngine(config);

  const servers: ServerHandle[] = [];
  try {
    let plain: ServerHandle;
    let used = engine;
    let reason = why;
    try {
      plain = await startPlain(engine, app, common, config.engineSettings);
    } catch (error) {
      // auto falls back to the stream engine when the zero-copy engine cannot start here.
      if (config.engine !== "auto" || engine === "stream") throw error;
      used = "stream";
      reason = `auto: zero-copy unavailable: ${describeStartError(error, config)}`;
      plain = await startPlain("stream", app, common, config.engineSettings);
    }
    servers.push(plain);
    announce(`engine: ${used} (${reason}); root: ${config.root}`);
    announce(`listening on ${listenUrl("http", plain.hostname, plain.port)}`);
    if (config.tlsPort !== undefined) {
      const tls = await serveStream(app, {
        ...common,
        port: config.tlsPort,
        tls: { cert: config.cert!, key: config.key! },
      });
      servers.push(tls);
      announce(`listening on ${listenUrl("https", tls.hostname, tls.port)}`);
    }
  } catch (error) {
    appLifetime.abort();
    await Promise.all(servers.map((s) => s.shutdown(0)));
    console.error(`zerocast: cannot start: ${describeStartError(error, config)}`);
    return 2;
  }

  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      appLifetime.abort();
      Promise.all(servers.map((s) => s.shutdown(config.shutdownGraceMs))).finally(resolve);
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    worker?.stopWithSupervisor(stop);
  });
  await stopped;
  return 0;
}

/** Turns a listen/TLS failure into one readable line. */
function describeStartError(error: unknown, config: Config): string {
  if (error instanceof Deno.errors.AddrInUse) {
    return `address in use (${config.host}, port ${config.port}/${config.tlsPort ?? "-"})`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) return `address not available: ${config.host}`;
  if (error instanceof Deno.errors.PermissionDenied) return `permission denied: ${error.message}`;
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0];
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
