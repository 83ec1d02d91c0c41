/**
 * CLI entry: flags -> config -> servers. `deno task serve [flags]`; `--help` lists the flags.
 *
 * Prints one `listening on http(s)://HOST:PORT` line per listener once every listener accepts
 * connections; scripts and tests wait for them. When any listener fails to start, nothing is
 * printed on stdout: one `zerocast: ...` line goes to stderr and the exit code is 2.
 *
 * @module
 */
import {
  CliError,
  type Config,
  HELP,
  HelpRequested,
  listenUrl,
  parseConfig,
} from "./src/config.ts";
import { createApp } from "./src/app.ts";
import { basicAuthPlainHttpWarning } from "./src/auth/plain_http_warning.ts";
import { Metrics } from "./src/metrics.ts";
import { accessLog, type LogSink, openAccessLogSink, reopenOnSigusr1 } from "./src/log.ts";
import { TrustedProxies, withTrustedProxies } from "./src/net/trust_proxy.ts";
import { type Started, StartError, startListeners } from "./src/listeners.ts";
import { superviseIfWanted } from "./src/server/workers/supervisor.ts";
import { type WorkerRuntime, workerRuntime } from "./src/server/workers/worker.ts";
import { WORKER_IDLE_WAIT } from "./src/settings.ts";
import {
  IDLE_RELEASE_GROWTH,
  metricsActivity,
  startIdleRelease,
} from "./src/server/idle_release.ts";

/** Parses the flags; returns the config, or the exit code after printing help or an error. */
function readConfig(args: string[]): Config | number {
  try {
    return parseConfig(args, (name) => Deno.env.get(name));
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(HELP);
      return 0;
    }
    if (error instanceof CliError) {
      console.error(`zerocast: ${error.message}`);
      if (error.hint !== undefined) console.error(error.hint);
      return 2;
    }
    throw error;
  }
}

/**
 * Resolves on the first SIGINT/SIGTERM after stopping the app's timers (`appLifetime`) and every
 * listener gracefully.
 */
function stopOnSignal(
  started: Started,
  graceMs: number,
  appLifetime: AbortController,
  worker: WorkerRuntime | null,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      appLifetime.abort();
      Promise.all(started.listeners.map((l) => l.server.shutdown(graceMs))).finally(resolve);
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    worker?.stopWithSupervisor(stop);
  });
}

async function main(args: string[]): Promise<number> {
  const config = readConfig(args);
  if (typeof config === "number") return config;

  // --workers: a supervisor starts worker processes (this file again, see src/server/workers/).
  const worker = workerRuntime();
  if (config.basicAuth !== undefined && worker === null) {
    // Before listening (and once, not per worker), so the warning is there even when the
    // listener then fails.
    const url = listenUrl("http", config.host, config.port).replace(/:0$/, "");
    const warning = basicAuthPlainHttpWarning(config.host, url);
    if (warning !== undefined) console.error(warning);
  }
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
    mounts: config.mounts,
    cors: config.cors,
    cacheControl: config.cacheControl,
    maxRanges: config.maxRanges,
    segmentDurationS: config.segmentDuration,
    dirListing: config.dirListing,
    posterCache: config.posterCache,
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
    signKey: config.signKey,
    basicAuth: config.basicAuth,
  });
  const proxies = new TrustedProxies(config.trustProxy);
  let sink: LogSink | undefined;
  if (!config.quiet) {
    try {
      sink = openAccessLogSink(config.accessLog, (error) => {
        console.error(`zerocast: --access-log ${config.accessLog}: ${(error as Error).message}`);
      });
    } catch (error) {
      appLifetime.abort();
      console.error(`zerocast: --access-log ${config.accessLog}: ${(error as Error).message}`);
      return 2;
    }
    reopenOnSigusr1(sink);
  }
  const onResponse = sink === undefined ? undefined : accessLog({
    format: config.logFormat,
    sink,
    clientOf: proxies.empty
      ? undefined
      : (entry) => proxies.clientOf(entry.remoteAddr, entry.forwardedFor ?? null),
  });
  const served = proxies.empty ? app : withTrustedProxies(app, proxies);

  let started: Started;
  try {
    // worker processes wait for events blocked, not spinning (src/settings.ts, WORKER_IDLE_WAIT)
    const engineSettings = worker === null
      ? config.engineSettings
      : { ...WORKER_IDLE_WAIT, ...config.engineSettings };
    started = await startListeners({ ...config, engineSettings }, served, {
      hostname: config.host,
      port: config.port,
      metrics,
      onResponse,
      reusePort: worker !== null,
    });
  } catch (error) {
    appLifetime.abort();
    if (!(error instanceof StartError)) throw error;
    console.error(`zerocast: ${error.message}`);
    return 2;
  }
  // Memory back to the OS when a burst of traffic ends (src/server/idle_release.ts).
  startIdleRelease(
    config.idleReleaseMs,
    IDLE_RELEASE_GROWTH,
    metricsActivity(metrics),
    appLifetime.signal,
  );
  // Signals are handled before anyone is told to connect (a script may stop us right away).
  const stopped = stopOnSignal(started, config.shutdownGraceMs, appLifetime, worker);
  // Only now, with every listener accepting connections.
  const mounts = config.mounts.map((m) => `; /${m.name}/: ${m.root}`).join("");
  announce(`engine: ${started.engine} (${started.why}); root: ${config.root}${mounts}`);
  for (const { scheme, server } of started.listeners) {
    announce(`listening on ${listenUrl(scheme, server.hostname, server.port)}`);
  }
  await stopped;
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
