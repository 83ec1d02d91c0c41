/** Types shared by the servers (stream and zero-copy engine). @module */
import type { Metrics } from "../metrics.ts";
import type { ResponseHook } from "../log.ts";

/** Anything with Hono's `fetch` signature: a Hono app, or a plain handler object. */
export interface FetchApp {
  /** Answers one request; `env` carries `{ remoteAddr }` from the server. */
  fetch(request: Request, env?: ServerEnv): Response | Promise<Response>;
}

/** What a server passes to the app as Hono's `c.env`. */
export interface ServerEnv {
  /** The client's address. */
  readonly remoteAddr: { readonly hostname: string; readonly port: number };
}

/** Options every server takes. */
export interface CommonServerOptions {
  /** Address to listen on. */
  readonly hostname: string;
  /** Port, 0 = ephemeral. */
  readonly port: number;
  /** Counters to update (requests by status, bytes sent...). */
  readonly metrics?: Metrics;
  /** Called once per answered request (the access log). */
  readonly onResponse?: ResponseHook;
  /** Set SO_REUSEPORT on the listener, so several worker processes share the port. */
  readonly reusePort?: boolean;
}

/** A started server. */
export interface ServerHandle {
  /** Address it listens on. */
  readonly hostname: string;
  /** Port it listens on (the real one when 0 was asked). */
  readonly port: number;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops accepting, lets in-flight responses finish for up to `graceMs`, then closes all. */
  shutdown(graceMs?: number): Promise<void>;
}
