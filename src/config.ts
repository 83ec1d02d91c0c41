/**
 * Command-line flags -> {@linkcode Config}. Every flag has a documented default; a bad flag is a
 * {@linkcode CliError} (one line on stderr, exit code 2), never a stack trace.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Which server runs plain HTTP. */
export type EngineChoice = "auto" | "zero-copy" | "stream";

/** Everything main.ts needs to start the servers. */
export interface Config {
  /** Absolute real path of the media root. */
  readonly root: string;
  /** Address to listen on (default 127.0.0.1). */
  readonly host: string;
  /** Plain HTTP port (default 8080, 0 = ephemeral). */
  readonly port: number;
  /** HTTPS port, when a TLS listener is wanted. */
  readonly tlsPort: number | undefined;
  /** PEM certificate chain (contents) for TLS. */
  readonly cert: string | undefined;
  /** PEM private key (contents) for TLS. */
  readonly key: string | undefined;
  /** Access-Control-Allow-Origin (default `*`). */
  readonly cors: string;
  /** Cache-Control for media responses (default none). */
  readonly cacheControl: string | undefined;
  /** Suppress the access log. */
  readonly quiet: boolean;
  /** Engine for plain HTTP (default auto). */
  readonly engine: EngineChoice;
  /** Most ranges per request before serving the whole file (default 16). */
  readonly maxRanges: number;
  /** Grace period for in-flight responses on SIGINT/SIGTERM, in ms (default 5000). */
  readonly shutdownGraceMs: number;
  /** Bearer token enabling live ingest (flag or ZEROCAST_INGEST_TOKEN). */
  readonly ingestToken: string | undefined;
  /** URL prefix for ingest (default /media/live/). */
  readonly ingestPrefix: string;
  /** Largest upload in bytes (default 1 GiB). */
  readonly ingestMaxBytes: number;
  /** fsync uploads before rename (default on). */
  readonly ingestFsync: boolean;
  /** Abort an upload when no body byte arrives for this long, in ms (default 30000). */
  readonly ingestIdleTimeoutMs: number;
  /** End idle live playlists and remove unlisted segments after this many ms (0 = off). */
  readonly ingestStaleAfterMs: number;
  /** Zero-copy engine settings given on the command line (defaults: ENGINE_DEFAULTS). */
  readonly engineSettings: EngineSettings;
  /** Worker processes: a number, or `auto` = the CPUs this process may use (default auto). */
  readonly workers: number | "auto";
}

/** Zero-copy engine settings that have flags; unset ones keep the engine's defaults. */
export interface EngineSettings {
  maxConnections?: number;
  headerTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  maxBodyBytes?: number;
  sendfileMaxChunk?: number;
  preadThreshold?: number;
}

/** Engine flags: flag name -> (setting, smallest allowed value). */
const ENGINE_FLAGS = {
  "max-connections": ["maxConnections", 1],
  "header-timeout": ["headerTimeoutMs", 1],
  "keepalive-timeout": ["keepAliveTimeoutMs", 1],
  "max-body-bytes": ["maxBodyBytes", 0],
  "sendfile-max-chunk": ["sendfileMaxChunk", 4096],
  "pread-threshold": ["preadThreshold", 0],
} as const satisfies Record<string, readonly [keyof EngineSettings, number]>;

/** A user error on the command line: printed as one line, exit code 2. */
export class CliError extends Error {
  /** Creates the error with the message shown to the user. */
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** Default media root, relative to the working directory. */
export const DEFAULT_ROOT = "./media";
/** Default listen address: loopback only, so nothing is exposed by accident. */
export const DEFAULT_HOST = "127.0.0.1";
/** Default plain HTTP port. */
export const DEFAULT_PORT = 8080;
/** Default grace period for in-flight responses at shutdown. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 5000;
/** Default per-upload idle timeout. */
export const DEFAULT_INGEST_IDLE_TIMEOUT_MS = 30_000;
/** Default idle time after which a live stream is ended. */
export const DEFAULT_INGEST_STALE_AFTER_MS = 60_000;
/** Default per-upload size limit. */
export const DEFAULT_INGEST_MAX_BYTES = 1024 ** 3;

/** The text printed by `--help`. */
export const HELP = `zerocast: zero-copy HTTP media server

Usage: deno task serve [flags]

Flags:
  --root DIR             media root served under /media/ (default ./media)
  --host ADDR            listen address, IPv4 or IPv6 (default 127.0.0.1)
  --port N               plain HTTP port, 0 = ephemeral (default 8080)
  --tls-port N           also listen for HTTPS on this port, 0 = ephemeral (needs --cert, --key)
  --cert FILE            PEM certificate chain for HTTPS
  --key FILE             PEM private key for HTTPS
  --engine NAME          plain HTTP engine: auto | zero-copy | stream (default auto:
                         zero-copy on Linux when FFI is allowed, else stream)
  --cors ORIGIN          Access-Control-Allow-Origin for media (default *)
  --cache-control VALUE  Cache-Control header for media responses (default none)
  --max-ranges N         ranges per request before the whole file is sent (default 16)
  --shutdown-grace MS    time in-flight responses get on SIGINT/SIGTERM (default 5000)
  --ingest-token TOKEN   enable PUT/DELETE uploads with this Bearer token
                         (or env ZEROCAST_INGEST_TOKEN; off by default)
  --ingest-prefix PATH   URL prefix that accepts uploads (default /media/live/)
  --ingest-max-bytes N   largest upload in bytes (default 1073741824)
  --no-ingest-fsync      do not fsync uploads before renaming them into place
  --ingest-idle-timeout MS
                         abort an upload after this many ms without a body byte (default 30000)
  --ingest-stale-after MS
                         a live playlist with no upload this long gets #EXT-X-ENDLIST; after as
                         long again its unlisted segments are removed (default 60000; 0 = off)
  --max-connections N    zero-copy engine: open connections before accept pauses (default 10000)
  --header-timeout MS    zero-copy engine: time to receive a request head, then 408 (default 10000)
  --keepalive-timeout MS zero-copy engine: idle keep-alive connections close after (default 10000)
  --max-body-bytes N     zero-copy engine: largest request body, else 413 (default 1073741824)
  --sendfile-max-chunk N zero-copy engine: bytes per sendfile call and turn (default 2097152)
  --pread-threshold N    zero-copy engine: file bodies up to N bytes go out with the head via
                         pread + one send instead of sendfile (default 32768; 0 = never)
  --workers N|auto       worker processes, each with its own SO_REUSEPORT listener and event
                         loop (default auto = the CPUs this process may use; 1 = one process)
  --quiet                no access log
  --help                 show this help
`;

function parsePort(flag: string, value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new CliError(`--${flag} must be a port number from 0 to 65535, got "${value}"`);
  }
  return Number(value);
}

function parsePositiveInt(flag: string, value: string, min: number): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < min) {
    throw new CliError(`--${flag} must be a whole number >= ${min}, got "${value}"`);
  }
  return Number(value);
}

function readTextFile(flag: string, path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new CliError(`--${flag} ${path}: cannot read (${why})`);
  }
}

/** Parses `args` (as given after the task name) into a Config, or throws CliError. */
export function parseConfig(args: string[], env: (name: string) => string | undefined): Config {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        root: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "tls-port": { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        engine: { type: "string" },
        cors: { type: "string" },
        "cache-control": { type: "string" },
        "max-ranges": { type: "string" },
        "shutdown-grace": { type: "string" },
        "ingest-token": { type: "string" },
        "ingest-prefix": { type: "string" },
        "ingest-max-bytes": { type: "string" },
        "no-ingest-fsync": { type: "boolean" },
        "ingest-idle-timeout": { type: "string" },
        "ingest-stale-after": { type: "string" },
        "max-connections": { type: "string" },
        "header-timeout": { type: "string" },
        "keepalive-timeout": { type: "string" },
        "max-body-bytes": { type: "string" },
        "sendfile-max-chunk": { type: "string" },
        "pread-threshold": { type: "string" },
        workers: { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean" },
      },
    });
  } catch (error) {
    // node:util's messages are one line already ("Unknown option '--x'").
    throw new CliError(error instanceof Error ? error.message.split("\n")[0] : String(error));
  }
  const v = parsed.values;
  if (v.help) throw new HelpRequested();

  const rootArg = v.root ?? DEFAULT_ROOT;
  let root: string;
  try {
    root = Deno.realPathSync(rootArg);
    if (!Deno.statSync(root).isDirectory) throw new CliError(`--root ${rootArg}: not a directory`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`--root ${rootArg}: no such directory`);
  }

  const engine = v.engine ?? "auto";
  if (engine !== "auto" && engine !== "zero-copy" && engine !== "stream") {
    throw new CliError(`--engine must be auto, zero-copy or stream, got "${engine}"`);
  }

  const host = v.host ?? DEFAULT_HOST;
  if (host.length === 0) throw new CliError("--host must not be empty");

  const tlsPort = v["tls-port"] !== undefined ? parsePort("tls-port", v["tls-port"]) : undefined;
  if (tlsPort === undefined && (v.cert !== undefined || v.key !== undefined)) {
    throw new CliError("--cert and --key need --tls-port");
  }
  if (tlsPort !== undefined && (v.cert === undefined || v.key === undefined)) {
    throw new CliError("--tls-port needs both --cert FILE and --key FILE");
  }
  const cert = v.cert !== undefined ? readTextFile("cert", v.cert) : undefined;
  const key = v.key !== undefined ? readTextFile("key", v.key) : undefined;
  if (cert !== undefined && !cert.includes("-----BEGIN CERTIFICATE-----")) {
    throw new CliError(`--cert ${v.cert}: not a PEM certificate`);
  }
  if (key !== undefined && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new CliError(`--key ${v.key}: not a PEM private key`);
  }

  const ingestToken = v["ingest-token"] ?? env("ZEROCAST_INGEST_TOKEN");
  if (ingestToken !== undefined && ingestToken.length < 8) {
    throw new CliError("--ingest-token must be at least 8 characters");
  }
  let ingestPrefix = v["ingest-prefix"] ?? "/media/live/";
  if (!ingestPrefix.startsWith("/media/") || ingestPrefix.includes("..")) {
    throw new CliError(`--ingest-prefix must be a path under /media/, got "${ingestPrefix}"`);
  }
  if (!ingestPrefix.endsWith("/")) ingestPrefix += "/";

  return {
    root,
    host,
    port: v.port !== undefined ? parsePort("port", v.port) : DEFAULT_PORT,
    tlsPort,
    cert,
    key,
    cors: v.cors ?? "*",
    cacheControl: v["cache-control"],
    quiet: v.quiet ?? false,
    engine,
    maxRanges: v["max-ranges"] !== undefined
      ? parsePositiveInt("max-ranges", v["max-ranges"], 1)
      : 16,
    shutdownGraceMs: v["shutdown-grace"] !== undefined
      ? parsePositiveInt("shutdown-grace", v["shutdown-grace"], 0)
      : DEFAULT_SHUTDOWN_GRACE_MS,
    ingestToken,
    ingestPrefix,
    ingestMaxBytes: v["ingest-max-bytes"] !== undefined
      ? parsePositiveInt("ingest-max-bytes", v["ingest-max-bytes"], 0)
      : DEFAULT_INGEST_MAX_BYTES,
    ingestFsync: !(v["no-ingest-fsync"] ?? false),
    ingestIdleTimeoutMs: v["ingest-idle-timeout"] !== undefined
      ? parsePositiveInt("ingest-idle-timeout", v["ingest-idle-timeout"], 1)
      : DEFAULT_INGEST_IDLE_TIMEOUT_MS,
    ingestStaleAfterMs: v["ingest-stale-after"] !== undefined
      ? parsePositiveInt("ingest-stale-after", v["ingest-stale-after"], 0)
      : DEFAULT_INGEST_STALE_AFTER_MS,
    engineSettings: parseEngineSettings(v),
    workers: parseWorkers(v.workers),
  };
}

/** Most worker processes `--workers` accepts. */
export const MAX_WORKERS = 256;

/** `--workers N|auto`. */
function parseWorkers(value: string | undefined): number | "auto" {
  if (value === undefined || value === "auto") return "auto";
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > MAX_WORKERS) {
    throw new CliError(
      `--workers must be auto or a whole number from 1 to ${MAX_WORKERS}, got "${value}"`,
    );
  }
  return Number(value);
}

/** Reads the engine flags that were given. */
function parseEngineSettings(values: Record<string, unknown>): EngineSettings {
  const settings: EngineSettings = {};
  for (const [flag, [key, min]] of Object.entries(ENGINE_FLAGS)) {
    const value = values[flag];
    if (typeof value === "string") settings[key] = parsePositiveInt(flag, value, min);
  }
  return settings;
}

/** Thrown by {@linkcode parseConfig} for `--help`: print {@linkcode HELP} and exit 0. */
export class HelpRequested extends Error {
  /** Creates the signal. */
  constructor() {
    super("help requested");
    this.name = "HelpRequested";
  }
}

/** Formats a listener URL, bracketing IPv6 literals. */
export function listenUrl(scheme: "http" | "https", host: string, port: number): string {
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
