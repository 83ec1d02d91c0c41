/**
 * Command-line flags -> {@linkcode Config}. The flags, their defaults, bounds and help are rows of
 * the settings table (src/settings.ts); a bad flag is a {@linkcode CliError} (one line on stderr,
 * exit code 2), never a stack trace.
 *
 * @module
 */
import {
  type KeysOf,
  parseSettingText,
  type Setting,
  SettingError,
  type SettingKey,
  settingRows,
  SETTINGS,
  splitMount,
  type ValueOf,
} from "./settings.ts";
import { renderHelp } from "./settings_docs.ts";
import { type GivenValue, parseConfigText } from "./config_file.ts";

/** Which server runs plain HTTP. */
export type EngineChoice = ValueOf<"engine">;

/** Everything main.ts needs to start the servers (defaults and meaning: src/settings.ts). */
export interface Config {
  /** Absolute real path of the media root. */
  readonly root: string;
  /** Address to listen on. */
  readonly host: string;
  /** Plain HTTP port (0 = ephemeral). */
  readonly port: number;
  /** HTTPS port, when a TLS listener is wanted. */
  readonly tlsPort: number | undefined;
  /** PEM certificate chain (contents) for TLS. */
  readonly cert: string | undefined;
  /** PEM private key (contents) for TLS. */
  readonly key: string | undefined;
  /** Access-Control-Allow-Origin. */
  readonly cors: string;
  /** Cache-Control for media responses (undefined: none sent). */
  readonly cacheControl: string | undefined;
  /** Suppress the access log. */
  readonly quiet: boolean;
  /** Quiet time (ms) before memory is given back after growth (0 = off; src/server/idle_release.ts). */
  readonly idleReleaseMs: number;
  /** Engine for plain HTTP. */
  readonly engine: EngineChoice;
  /** Most ranges per request before serving the whole file. */
  readonly maxRanges: number;
  /** Target HLS/DASH segment duration in seconds (the app's `segmentDurationS`). */
  readonly segmentDuration: number;
  /** Grace period for in-flight responses on SIGINT/SIGTERM, in ms. */
  readonly shutdownGraceMs: number;
  /** Bearer token enabling live ingest (flag or ZEROCAST_INGEST_TOKEN). */
  readonly ingestToken: string | undefined;
  /** URL prefix for ingest, ending in `/`. */
  readonly ingestPrefix: string;
  /** Largest upload in bytes. */
  readonly ingestMaxBytes: number;
  /** fsync uploads before rename. */
  readonly ingestFsync: boolean;
  /** Abort an upload when no body byte arrives for this long, in ms. */
  readonly ingestIdleTimeoutMs: number;
  /** End idle live playlists and remove unlisted segments after this many ms (0 = off). */
  readonly ingestStaleAfterMs: number;
  /** Folder listings at `/media/<dir>/` (default on; `--no-dir-listing`). */
  readonly dirListing: boolean;
  /** Poster cache folder (`--poster-cache`; default: `zerocast-posters` in the OS temp dir). */
  readonly posterCache: string | undefined;
  /** Key of signed paths (flag or ZEROCAST_SIGN_KEY); media then needs a signature. */
  readonly signKey: string | undefined;
  /** `USER:HASH` login for the pages, API and media (flag or ZEROCAST_BASIC_AUTH). */
  readonly basicAuth: string | undefined;
  /** Zero-copy engine settings given on the command line (the others keep ENGINE_DEFAULTS). */
  readonly engineSettings: EngineSettings;
  /** `--mount` roots besides `--root`, in the order given. */
  readonly mounts: readonly MountConfig[];
  /** `--trust-proxy` CIDRs (each checked). */
  readonly trustProxy: readonly string[];
  /** Access log line format. */
  readonly logFormat: ValueOf<"logFormat">;
  /** Access log file, or `-` for stdout. */
  readonly accessLog: string;
  /** The `--config` file read, if any. */
  readonly configFile: string | undefined;
  /** Worker processes: a number, or `auto` = the CPUs this process may use (default auto). */
  readonly workers: number | "auto";
}

/** One `--mount /PREFIX=DIR`. */
export interface MountConfig {
  /** The URL prefix without slashes (`movies` for `/movies/`). */
  readonly name: string;
  /** Absolute real path of the directory. */
  readonly root: string;
}

/** Zero-copy engine settings that were given as flags. */
export type EngineSettings = { -readonly [K in KeysOf<"engine">]?: number };

/** A user error on the command line: printed as one line (plus `hint`), exit code 2. */
export class CliError extends Error {
  /** Creates the error with the message shown to the user and an optional second line. */
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = "CliError";
  }
}

/** Thrown by {@linkcode parseConfig} for `--help`/`-h`: print {@linkcode HELP} and exit 0. */
export class HelpRequested extends Error {
  /** Creates the signal. */
  constructor() {
    super("help requested");
    this.name = "HelpRequested";
  }
}

/** The text printed by `--help`, generated from the settings table. */
export const HELP: string = renderHelp();

/** Second line after a usage error. */
const TRY_HELP = "Try --help for the list of flags.";

/** `--flag` / `-x` -> row key. */
const FLAGS: ReadonlyMap<string, SettingKey> = new Map(
  settingRows().flatMap(([key, row]) => [
    ...(row.flag === undefined ? [] : [[`--${row.flag}`, key] as const]),
    ...(row.short === undefined ? [] : [[`-${row.short}`, key] as const]),
  ]),
);

/** Edit distance counting a swap of neighbours as one edit (for "did you mean"). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The unknown-flag error, suggesting the nearest known flag. */
function unknownFlag(name: string): CliError {
  let best: string | undefined;
  let bestDistance = name.length > 4 ? 3 : 0;
  for (const flag of FLAGS.keys()) {
    const d = distance(name, flag);
    if (d < bestDistance) [best, bestDistance] = [flag, d];
  }
  const suggestion = best === undefined ? "" : ` (did you mean ${best}?)`;
  return new CliError(`unknown flag ${name}${suggestion}`, TRY_HELP);
}

/**
 * Splits `args` into the flags given: row key -> text value (or `true` for a switch). Values
 * follow as `--flag VALUE` or `--flag=VALUE`; a value may start with one `-` (`--port -1` is a
 * bad port, not a missing value). The last occurrence of a flag wins, except for repeatable
 * (list) flags, whose occurrences add up.
 */
function readFlags(args: readonly string[]): Map<SettingKey, GivenValue> {
  const given = new Map<SettingKey, GivenValue>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-") || arg === "-" || arg === "--") {
      throw new CliError(`unexpected argument "${arg}" (every setting is a --flag)`, TRY_HELP);
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const key = FLAGS.get(name);
    if (key === undefined) throw unknownFlag(name);
    const row: Setting = SETTINGS[key];
    if (row.kind === "switch") {
      if (eq >= 0) throw new CliError(`${name} takes no value`, TRY_HELP);
      given.set(key, true);
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) {
        throw new CliError(`${name} needs a value (${row.arg ?? "VALUE"})`, TRY_HELP);
      }
      value = next;
      i++;
    }
    if (row.kind === "list") {
      const items = row.separator === undefined ? [value] : value.split(row.separator);
      const before = given.get(key);
      given.set(key, [...(Array.isArray(before) ? before : []), ...items.map((t) => t.trim())]);
    } else given.set(key, value);
  }
  return given;
}

/**
 * Reads each setting from its flag, else its env var, else the config file, else its default.
 */
class SettingValues {
  constructor(
    private readonly given: Map<SettingKey, GivenValue>,
    private readonly env: (name: string) => string | undefined,
    private readonly file: Map<SettingKey, GivenValue> = new Map(),
    private readonly fileLabel = "",
  ) {}

  /** True when the flag was on the command line or in the config file. */
  has(key: SettingKey): boolean {
    return this.given.has(key) || this.file.has(key);
  }

  /** The value of `key`, validated against its row; throws CliError naming the flag or key. */
  get<K extends SettingKey>(key: K): ValueOf<K> | undefined {
    const row: Setting = SETTINGS[key];
    let raw = this.given.get(key);
    let label = `--${row.flag}`;
    if (raw === undefined && row.env !== undefined) {
      raw = this.env(row.env);
      label = `env ${row.env}`;
    }
    if (raw === undefined && this.file.has(key)) {
      raw = this.file.get(key);
      label = `${this.fileLabel}"${row.flag}"`;
    }
    if (raw === undefined) {
      return (row.kind === "list" ? [] : row.default) as ValueOf<K> | undefined;
    }
    if (raw === true) return !row.default as ValueOf<K>;
    try {
      if (typeof raw !== "string") {
        return raw.map((item) => parseSettingText(row, item, label)) as ValueOf<K>;
      }
      return parseSettingText(row, raw, label) as ValueOf<K>;
    } catch (error) {
      if (error instanceof SettingError) throw new CliError(error.message);
      throw error;
    }
  }

  /** Like {@linkcode get} for a setting that always has a value. */
  need<K extends SettingKey>(key: K): ValueOf<K> {
    const value = this.get(key);
    if (value === undefined) throw new TypeError(`setting ${key} has no default`);
    return value;
  }
}

/** Reads and parses the `--config` file; throws CliError `config FILE: ...`. */
function readConfigFile(path: string): Map<SettingKey, GivenValue> {
  const text = readTextFile("config", path);
  try {
    return parseConfigText(text);
  } catch (error) {
    if (error instanceof SettingError) throw new CliError(`config ${path}: ${error.message}`);
    throw error;
  }
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

/** A folder given by a flag: created when missing; must then be a directory. */
function usableDirectory(flag: string, path: string): string {
  try {
    Deno.mkdirSync(path, { recursive: true });
    if (!Deno.statSync(path).isDirectory) throw new CliError(`--${flag} ${path}: not a directory`);
    return Deno.realPathSync(path);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`--${flag} ${path}: cannot create or use this folder`);
  }
}

/** Resolves a directory to its absolute real path; `label` names it in errors. */
function realDirectory(path: string, label = "--root"): string {
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch {
    throw new CliError(`${label} ${path}: no such directory`);
  }
  if (!Deno.statSync(real).isDirectory) throw new CliError(`${label} ${path}: not a directory`);
  return real;
}

/** The `--mount` roots: names unique, directories real. */
function readMounts(items: readonly string[]): MountConfig[] {
  const mounts: MountConfig[] = [];
  for (const item of items) {
    const split = splitMount(item);
    if (typeof split === "string") throw new CliError(`--mount must be ${split}, got "${item}"`);
    if (mounts.some((m) => m.name.toLowerCase() === split.name.toLowerCase())) {
      throw new CliError(`--mount /${split.name}/ is given twice`);
    }
    mounts.push({ name: split.name, root: realDirectory(split.dir, `--mount /${split.name}=`) });
  }
  return mounts;
}

/** Parses `args` (as given after the task name) into a Config, or throws CliError. */
export function parseConfig(args: string[], env: (name: string) => string | undefined): Config {
  const given = readFlags(args);
  if (given.has("help")) throw new HelpRequested();
  const configFile = given.get("config");
  if (configFile !== undefined && typeof configFile !== "string") {
    throw new TypeError("--config is one path");
  }
  const file = configFile === undefined ? undefined : readConfigFile(configFile);
  const v = new SettingValues(given, env, file, `config ${configFile}: `);
  // Every value is checked against its row before anything touches the file system.
  for (const [key] of settingRows()) v.get(key);

  const tlsPort = v.get("tlsPort");
  const certPath = v.get("cert");
  const keyPath = v.get("key");
  if (tlsPort === undefined && (certPath !== undefined || keyPath !== undefined)) {
    throw new CliError("--cert and --key need --tls-port");
  }
  if (tlsPort !== undefined && (certPath === undefined || keyPath === undefined)) {
    throw new CliError("--tls-port needs both --cert FILE and --key FILE");
  }
  const root = realDirectory(v.need("root"));
  const mounts = readMounts(v.need("mount"));
  const ingestPrefix = v.need("ingestPrefix");
  const ingestMount = ingestPrefix.slice(1, ingestPrefix.indexOf("/", 1));
  if (ingestMount !== "media" && !mounts.some((m) => m.name === ingestMount)) {
    throw new CliError(
      `--ingest-prefix must be a path under /media/ or a --mount prefix, got "${ingestPrefix}"`,
    );
  }
  const posterCache = v.get("posterCache");
  const cert = certPath !== undefined ? readTextFile("cert", certPath) : undefined;
  const key = keyPath !== undefined ? readTextFile("key", keyPath) : undefined;
  if (cert !== undefined && !cert.includes("-----BEGIN CERTIFICATE-----")) {
    throw new CliError(`--cert ${certPath}: not a PEM certificate`);
  }
  if (key !== undefined && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new CliError(`--key ${keyPath}: not a PEM private key`);
  }

  const engineSettings: EngineSettings = {};
  for (const [name, row] of settingRows()) {
    if (row.layer !== "engine" || !v.has(name)) continue;
    const engineKey = name as KeysOf<"engine">;
    engineSettings[engineKey] = v.need(engineKey);
  }

  return {
    root,
    host: v.need("host"),
    port: v.need("port"),
    tlsPort,
    cert,
    key,
    cors: v.need("cors"),
    cacheControl: v.get("cacheControl"),
    quiet: v.need("quiet"),
    idleReleaseMs: v.need("idleReleaseMs"),
    engine: v.need("engine"),
    maxRanges: v.need("maxRanges"),
    segmentDuration: v.need("segmentDuration"),
    shutdownGraceMs: v.need("shutdownGraceMs"),
    ingestToken: v.get("ingestToken"),
    ingestPrefix,
    ingestMaxBytes: v.need("ingestMaxBytes"),
    ingestFsync: v.need("ingestFsync"),
    ingestIdleTimeoutMs: v.need("ingestIdleTimeoutMs"),
    ingestStaleAfterMs: v.need("ingestStaleAfterMs"),
    dirListing: v.need("dirListing"),
    posterCache: posterCache === undefined
      ? undefined
      : usableDirectory("poster-cache", posterCache),
    signKey: v.get("signKey"),
    basicAuth: v.get("basicAuth"),
    engineSettings,
    mounts,
    trustProxy: v.need("trustProxy"),
    logFormat: v.need("logFormat"),
    accessLog: v.need("accessLog"),
    configFile,
    workers: v.need("workers") === "auto" ? "auto" : Number(v.need("workers")),
  };
}

/** Formats a listener URL, bracketing IPv6 literals. */
export function listenUrl(scheme: "http" | "https", host: string, port: number): string {
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
