/**
 * Starts every listener of a run, or none: when one fails, the ones already started are shut
 * down and a {@linkcode StartError} carries one line for the user. main.ts prints its
 * `listening on` lines only after this returns, so a script that waits for them never sees a
 * listener that is about to go away (e.g. a TLS key that does not match its certificate).
 *
 * @module
 */
import { EACCES, EADDRINUSE, EADDRNOTAVAIL } from "../ffi/constants.ts";
import { type Config, type EngineSettings, listenUrl } from "./config.ts";
import { serveStream } from "./server/stream.ts";
import type { CommonServerOptions, FetchApp, ServerHandle } from "./server/types.ts";

/** The engine that serves plain HTTP. */
export type PlainEngine = "zero-copy" | "stream";

/** One started listener. */
export interface Listener {
  /** `http` or `https`. */
  readonly scheme: "http" | "https";
  /** The running server. */
  readonly server: ServerHandle;
}

/** What {@linkcode startListeners} started. */
export interface Started {
  /** Every listener, plain HTTP first. */
  readonly listeners: readonly Listener[];
  /** Engine of the plain listener. */
  readonly engine: PlainEngine;
  /** Why that engine (`--engine`, or the `auto` reasoning). */
  readonly why: string;
}

/** A listener could not start; `message` is one line for the user. */
export class StartError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "StartError";
  }
}

/** Decides which engine serves plain HTTP; returns the choice and why. */
export function chooseEngine(config: Config): { engine: PlainEngine; why: string } {
  if (config.engine !== "auto") return { engine: config.engine, why: "--engine" };
  if (Deno.build.os !== "linux") return { engine: "stream", why: "auto: not Linux" };
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return { engine: "stream", why: "auto: --allow-ffi not granted" };
  }
  return { engine: "zero-copy", why: "auto: Linux with FFI" };
}

/** Starts the plain HTTP listener on `engine`. */
async function startPlain(
  engine: PlainEngine,
  app: FetchApp,
  options: CommonServerOptions,
  settings: EngineSettings,
): Promise<ServerHandle> {
  if (engine === "stream") return await serveStream(app, { ...settings, ...options });
  const { serve } = await import("./server/adapter.ts");
  return serve(app, { ...settings, ...options });
}

/** The OS refused the address itself (in use, not local, not allowed): no engine can help. */
function addressProblem(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Deno.errors.AddrInUse || code === EADDRINUSE) {
    return "address already in use";
  }
  if (error instanceof Deno.errors.AddrNotAvailable || code === EADDRNOTAVAIL) {
    return "address not available on this machine";
  }
  if (error instanceof Deno.errors.PermissionDenied || code === EACCES) {
    return "permission denied (ports below 1024 need privileges)";
  }
  return null;
}

/** First line of an error's message. */
function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

/** Turns a listen/TLS failure into one line naming the listener. */
export function describeListenError(
  error: unknown,
  scheme: "http" | "https",
  host: string,
  port: number,
): string {
  const url = listenUrl(scheme, host, port);
  const address = addressProblem(error);
  if (address !== null) return `cannot listen on ${url}: ${address}`;
  if (scheme === "https" && /KeyMismatch|keys may not be consistent/i.test(firstLine(error))) {
    return `--key does not match the certificate in --cert (${firstLine(error)})`;
  }
  return `cannot listen on ${url}: ${firstLine(error)}`;
}

/**
 * Starts the plain listener (with `auto`, falling back to the stream engine when the zero-copy
 * engine cannot run here) and the TLS listener when configured. All or nothing: on failure the
 * started ones are shut down and a {@linkcode StartError} is thrown.
 */
export async function startListeners(
  config: Config,
  app: FetchApp,
  common: CommonServerOptions,
): Promise<Started> {
  const listeners: Listener[] = [];
  let { engine, why } = chooseEngine(config);
  let scheme: "http" | "https" = "http";
  let port = config.port;
  try {
    let plain: ServerHandle;
    try {
      plain = await startPlain(engine, app, common, config.engineSettings);
    } catch (error) {
      if (config.engine !== "auto" || engine === "stream" || addressProblem(error) !== null) {
        throw error;
      }
      why = `auto: zero-copy unavailable: ${firstLine(error)}`;
      engine = "stream";
      plain = await startPlain(engine, app, common, config.engineSettings);
    }
    listeners.push({ scheme, server: plain });
    if (config.tlsPort !== undefined) {
      scheme = "https";
      port = config.tlsPort;
      const tls = await serveStream(app, {
        ...config.engineSettings,
        ...common,
        port,
        tls: { cert: config.cert!, key: config.key! },
      });
      listeners.push({ scheme, server: tls });
    }
  } catch (error) {
    await Promise.all(listeners.map((l) => l.server.shutdown(0)));
    throw new StartError(describeListenError(error, scheme, config.host, port));
  }
  return { listeners, engine, why };
}
