/**
 * The settings table: every option of zerocast, one declarative row each (name, CLI flag, env
 * var, default, bounds, help, owning layer). Everything else derives from it: `parseConfig` and
 * `--help` (src/config.ts), the README flag tables (src/settings_docs.ts, checked by
 * test/settings_test.ts), and the defaults of the app (src/options.ts), ingest
 * (src/routes/ingest.ts) and engine (src/server/engine/options.ts) resolvers. A default written
 * anywhere else is a bug.
 *
 * @module
 */
import { DEFAULT_CODEC_LIMITS } from "./http1/limits.ts";
import { parseBasicAuth } from "./auth/basic_auth.ts";
import { MIN_SIGN_KEY_LENGTH } from "./auth/signed_url.ts";
import { parseCidr } from "./net/trust_proxy.ts";

/** Which part of zerocast consumes a setting. */
export type Layer = "cli" | "tls" | "server" | "app" | "ingest" | "engine";

/** URL prefix the media root is served under (fixed, not a setting). */
export const MEDIA_MOUNT = "/media/";

/** Longest delay a JS timer honours (2^31 - 1 ms); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_INT = Number.MAX_SAFE_INTEGER;
const GIB = 1024 ** 3;

/** Fields every row has. */
interface Row {
  /** Owning layer. */
  readonly layer: Layer;
  /** One-line help; Markdown code spans allowed (shown as plain text by `--help`). */
  readonly help: string;
  /** Long flag without the leading `--`; absent for library-only settings. */
  readonly flag?: string;
  /** One-letter alias without the `-`. */
  readonly short?: string;
  /** Name of the flag's argument in `--help` and the README (`N`, `MS`, `DIR`...). */
  readonly arg?: string;
  /** Environment variable read when the flag is absent. */
  readonly env?: string;
  /** Name in the owning layer's library options, when it differs from the row's key. */
  readonly option?: string;
  /** How the default is shown when it is absent or not a plain value ("off", "none"...). */
  readonly shownDefault?: string;
  /** Help for library users when the flag's help does not fit the option (switches). */
  readonly optionHelp?: string;
  /** A credential: error messages never repeat the value. */
  readonly secret?: boolean;
}

/** A whole number within bounds (sizes, counts, milliseconds). */
export interface IntSetting extends Row {
  /** Discriminant. */
  readonly kind: "int";
  /** Default value. */
  readonly default?: number;
  /** Smallest allowed value. */
  readonly min: number;
  /** Largest allowed value. */
  readonly max: number;
}

/** A number within bounds that may have a fraction (library-only tuning knobs). */
export interface NumberSetting extends Row {
  /** Discriminant. */
  readonly kind: "number";
  /** Default value. */
  readonly default: number;
  /** Smallest allowed value. */
  readonly min: number;
  /** Largest allowed value. */
  readonly max: number;
}

/** A TCP port, 0-65535 (0: the kernel picks one). */
export interface PortSetting extends Row {
  /** Discriminant. */
  readonly kind: "port";
  /** Default port; absent = listener off. */
  readonly default?: number;
}

/** Free text, optionally with a minimum length and an extra check. */
export interface TextSetting extends Row {
  /** Discriminant. */
  readonly kind: "text";
  /** Default value; absent = off. */
  readonly default?: string;
  /** Fewest characters allowed (default 0). */
  readonly minLength?: number;
  /** Returns what the value "must be" when it is not acceptable, else null. */
  readonly check?: (value: string) => string | null;
  /** Rewrites an accepted value into its canonical form. */
  readonly normalize?: (value: string) => string;
}

/** One of a fixed list of words. */
export interface ChoiceSetting extends Row {
  /** Discriminant. */
  readonly kind: "choice";
  /** Allowed values. */
  readonly choices: readonly string[];
  /** Default value. */
  readonly default: string;
}

/** An on/off setting; giving its flag (which takes no value) flips the default. */
export interface SwitchSetting extends Row {
  /** Discriminant. */
  readonly kind: "switch";
  /** Value when the flag is absent. */
  readonly default: boolean;
}

/** A path on disk: a directory, or a file whose contents are read. */
export interface PathSetting extends Row {
  /** Discriminant. */
  readonly kind: "dir" | "file";
  /** Default path. */
  readonly default?: string;
}

/**
 * A repeatable flag: every occurrence adds items (split at `separator` when set); in a config
 * file an array of strings (or one string). Given on the command line, it replaces the file's.
 */
export interface ListSetting extends Row {
  /** Discriminant. */
  readonly kind: "list";
  /** Default: no items. */
  readonly default?: undefined;
  /** Splits one occurrence into several items (e.g. `,`). */
  readonly separator?: string;
  /** Returns what an item "must be" when it is not acceptable, else null. */
  readonly check?: (item: string) => string | null;
}

/** Any row of the table. */
export type Setting =
  | IntSetting
  | ListSetting
  | NumberSetting
  | PortSetting
  | TextSetting
  | ChoiceSetting
  | SwitchSetting
  | PathSetting;

/** Checks an ingest prefix: a path below a mount (`/media/live/`) without `..`. */
function checkIngestPrefix(value: string): string | null {
  // Which mounts exist is checked by parseConfig (`--mount`); here only the shape.
  return /^\/[^/]+\/./.test(value) && !value.includes("..")
    ? null
    : `a path under ${MEDIA_MOUNT} or a --mount prefix`;
}

/**
 * First path segments of built-in routes: a `--mount` prefix may not be one of them (`media` is
 * the `--root` mount).
 */
export const RESERVED_MOUNT_NAMES: readonly string[] = [
  "media",
  "hls",
  "dash",
  "api",
  "assets",
  "s",
  "play",
  "poster",
  "posters",
  "metrics",
  "healthz",
  "login",
  "logout",
  "favicon.ico",
  "robots.txt",
];

/** Characters allowed in a mount name (RFC 3986 §2.3 unreserved). */
const MOUNT_NAME = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;

/**
 * Splits `/PREFIX=DIR` into the mount name (`PREFIX` without slashes) and the directory, or
 * returns what it must be.
 */
export function splitMount(value: string): { name: string; dir: string } | string {
  const eq = value.indexOf("=");
  if (eq < 0) return "/PREFIX=DIR (e.g. /movies=/srv/movies)";
  const prefix = value.slice(0, eq);
  const dir = value.slice(eq + 1);
  const name = prefix.replace(/^\//, "").replace(/\/$/, "");
  if (!prefix.startsWith("/") || !MOUNT_NAME.test(name)) {
    return `/PREFIX=DIR with PREFIX one path segment of letters, digits, "-", "_", "." or "~" (e.g. /movies=/srv/movies)`;
  }
  if (RESERVED_MOUNT_NAMES.includes(name.toLowerCase())) {
    return `a prefix other than the built-in routes (${
      RESERVED_MOUNT_NAMES.map((n) => `/${n}`).join(", ")
    }); /media/ is --root`;
  }
  if (dir === "") return "/PREFIX=DIR with a directory after =";
  return { name, dir };
}

function checkMount(value: string): string | null {
  const split = splitMount(value);
  return typeof split === "string" ? split : null;
}

function checkBasicAuth(value: string): string | null {
  const parsed = parseBasicAuth(value);
  if (typeof parsed !== "string") return null;
  return parsed.startsWith("must be ") ? parsed.slice("must be ".length) : `USER:HASH (${parsed})`;
}

/** The table, in `--help` order. Keys are the names in {@linkcode Config} (src/config.ts). */
export const SETTINGS = {
  config: {
    layer: "cli",
    kind: "file",
    flag: "config",
    arg: "FILE",
    shownDefault: "none",
    help:
      "JSON or JSONC file of flags (keys are flag names without `--`); flags on the command line win (see Config file)",
  },
  root: {
    layer: "cli",
    kind: "dir",
    flag: "root",
    arg: "DIR",
    default: "./media",
    help: `media root, served under \`${MEDIA_MOUNT}\``,
  },
  mount: {
    layer: "cli",
    kind: "list",
    flag: "mount",
    arg: "/PREFIX=DIR",
    shownDefault: "none",
    check: checkMount,
    help:
      "also serve DIR under `/PREFIX/` like `/media/` (files, library, pages, ingest, `/hls/PREFIX/…`); repeatable",
  },
  host: {
    layer: "cli",
    kind: "text",
    flag: "host",
    arg: "ADDR",
    default: "127.0.0.1",
    minLength: 1,
    help: "listen address (IPv4 or IPv6)",
  },
  port: {
    layer: "cli",
    kind: "port",
    flag: "port",
    arg: "N",
    default: 8080,
    help: "plain HTTP port; `0` picks a free one",
  },
  tlsPort: {
    layer: "tls",
    kind: "port",
    flag: "tls-port",
    arg: "N",
    shownDefault: "off",
    help: "also listen for HTTPS (needs `--cert`, `--key`); `0` picks a free one",
  },
  cert: {
    layer: "tls",
    kind: "file",
    flag: "cert",
    arg: "FILE",
    shownDefault: "",
    help: "PEM certificate chain for HTTPS",
  },
  key: {
    layer: "tls",
    kind: "file",
    flag: "key",
    arg: "FILE",
    shownDefault: "",
    help: "PEM private key for HTTPS; must match `--cert`",
  },
  engine: {
    layer: "cli",
    kind: "choice",
    flag: "engine",
    choices: ["auto", "zero-copy", "stream"],
    default: "auto",
    help:
      "plain-HTTP engine; `auto` = zero-copy on Linux with `--allow-ffi`, else stream (the choice is printed at start)",
  },
  cors: {
    layer: "app",
    kind: "text",
    flag: "cors",
    arg: "ORIGIN",
    default: "*",
    minLength: 1,
    help: "`Access-Control-Allow-Origin` on media responses",
  },
  cacheControl: {
    layer: "app",
    kind: "text",
    flag: "cache-control",
    arg: "VALUE",
    shownDefault: "none",
    help: "`Cache-Control` on media responses",
  },
  maxRanges: {
    layer: "app",
    kind: "int",
    flag: "max-ranges",
    arg: "N",
    default: 16,
    min: 1,
    max: MAX_INT,
    help: "more ranges than this in one request get the whole file (200)",
  },
  segmentDuration: {
    layer: "app",
    option: "segmentDurationS",
    kind: "number",
    flag: "segment-duration",
    arg: "S",
    default: 6,
    min: 1,
    max: 60,
    help: "target HLS/DASH segment duration in seconds",
  },
  streamChunkSize: {
    layer: "app",
    kind: "int",
    default: 64 * 1024,
    min: 1,
    max: MAX_INT,
    help: "bytes read per pull when a file body is streamed (stream engine, TLS)",
  },
  shutdownGraceMs: {
    layer: "server",
    kind: "int",
    flag: "shutdown-grace",
    arg: "MS",
    default: 5_000,
    min: 0,
    max: MAX_TIMER_MS,
    help: "on SIGINT/SIGTERM: stop accepting, let in-flight responses finish this long, exit 0",
    optionHelp: "grace period of `shutdown()` for in-flight responses",
  },
  ingestToken: {
    layer: "ingest",
    option: "token",
    kind: "text",
    flag: "ingest-token",
    arg: "TOKEN",
    env: "ZEROCAST_INGEST_TOKEN",
    secret: true,
    minLength: 8,
    shownDefault: "off",
    help: "enables PUT/DELETE uploads with this Bearer token",
  },
  ingestPrefix: {
    layer: "ingest",
    option: "prefix",
    kind: "text",
    flag: "ingest-prefix",
    arg: "PATH",
    default: `${MEDIA_MOUNT}live/`,
    check: checkIngestPrefix,
    normalize: (value: string) => value.endsWith("/") ? value : `${value}/`,
    help: "where uploads are allowed",
  },
  ingestMaxBytes: {
    layer: "ingest",
    option: "maxBytes",
    kind: "int",
    flag: "ingest-max-bytes",
    arg: "N",
    default: GIB,
    min: 0,
    max: MAX_INT,
    help: "largest upload (413 above)",
  },
  ingestFsync: {
    layer: "ingest",
    option: "fsync",
    kind: "switch",
    flag: "no-ingest-fsync",
    default: true,
    shownDefault: "fsync on",
    help: "skip fsync before an upload is renamed into place",
    optionHelp: "fsync each upload before it is renamed into place",
  },
  ingestIdleTimeoutMs: {
    layer: "ingest",
    option: "idleTimeoutMs",
    kind: "int",
    flag: "ingest-idle-timeout",
    arg: "MS",
    default: 30_000,
    min: 1,
    max: MAX_TIMER_MS,
    help: "abort an upload (408) when no body byte arrives this long",
  },
  ingestStaleAfterMs: {
    layer: "ingest",
    option: "staleAfterMs",
    kind: "int",
    flag: "ingest-stale-after",
    arg: "MS",
    default: 60_000,
    min: 0,
    max: MAX_TIMER_MS,
    help:
      "a live playlist with no upload this long gets `#EXT-X-ENDLIST`; after as long again its unlisted segments are removed; `0` = off",
  },
  dirListing: {
    layer: "app",
    kind: "switch",
    flag: "no-dir-listing",
    default: true,
    shownDefault: "listings on",
    help: "no folder listings at `/media/<dir>/` (404 instead)",
    optionHelp: "folder listings (HTML and JSON) at `/media/<dir>/`",
  },
  posterCache: {
    layer: "app",
    kind: "text",
    flag: "poster-cache",
    arg: "DIR",
    minLength: 1,
    shownDefault: "`zerocast-posters` in the OS temp dir",
    help: "where video posters (ffmpeg frame grabs) are cached; created when missing",
  },
  signKey: {
    layer: "app",
    kind: "text",
    flag: "sign-key",
    arg: "KEY",
    env: "ZEROCAST_SIGN_KEY",
    secret: true,
    minLength: MIN_SIGN_KEY_LENGTH,
    shownDefault: "off",
    help:
      "media, `/hls/` and `/dash/` need a signed path `/s/<exp>.<depth>.<sig>/…` (`deno task sign`); pages and API then need `--basic-auth`",
  },
  basicAuth: {
    layer: "app",
    kind: "text",
    flag: "basic-auth",
    arg: "USER:HASH",
    env: "ZEROCAST_BASIC_AUTH",
    secret: true,
    check: checkBasicAuth,
    shownDefault: "off",
    help: "login for the pages, the API and media; HASH from `deno task passwd`",
  },
  maxConnections: {
    layer: "engine",
    kind: "int",
    flag: "max-connections",
    arg: "N",
    default: 10_000,
    min: 1,
    max: MAX_INT,
    help:
      "both servers: open connections per worker before accepting pauses (also backs off on EMFILE)",
  },
  headerTimeoutMs: {
    layer: "engine",
    kind: "int",
    flag: "header-timeout",
    arg: "MS",
    default: 10_000,
    min: 1,
    max: MAX_TIMER_MS,
    help: "both servers: time to receive a request head, then `408` and close (slowloris)",
  },
  keepAliveTimeoutMs: {
    layer: "engine",
    kind: "int",
    flag: "keepalive-timeout",
    arg: "MS",
    default: 10_000,
    min: 1,
    max: MAX_TIMER_MS,
    help: "both servers: idle keep-alive connections are closed after this",
  },
  maxBodyBytes: {
    layer: "engine",
    kind: "int",
    flag: "max-body-bytes",
    arg: "N",
    default: GIB,
    min: 0,
    max: MAX_INT,
    help: "both servers: larger request bodies get `413`",
  },
  sendfileMaxChunk: {
    layer: "engine",
    kind: "int",
    flag: "sendfile-max-chunk",
    arg: "N",
    default: 2 * 1024 * 1024,
    min: 4096,
    max: GIB,
    help:
      "zero-copy engine: bytes per `sendfile` call and per loop turn (nginx's `sendfile_max_chunk`)",
  },
  preadThreshold: {
    layer: "engine",
    kind: "int",
    flag: "pread-threshold",
    arg: "N",
    default: 32 * 1024,
    min: 0,
    max: MAX_INT,
    help:
      "zero-copy engine: file bodies up to N bytes leave with the head in one `send` (pread) instead of `sendfile`; `0` = never",
  },
  backlog: {
    layer: "engine",
    kind: "int",
    default: 511,
    min: 1,
    max: 65_535,
    help: "`listen(2)` backlog (nginx's default)",
  },
  acceptBackoffMs: {
    layer: "engine",
    kind: "int",
    default: 100,
    min: 1,
    max: MAX_TIMER_MS,
    help: "pause before accepting again after `EMFILE`/`ENFILE`",
  },
  maxRequestLineBytes: {
    layer: "engine",
    kind: "int",
    default: DEFAULT_CODEC_LIMITS.maxRequestLineBytes,
    min: 16,
    max: MAX_INT,
    help: "longest request line; longer gets `414` and close",
  },
  maxHeaderBytes: {
    layer: "engine",
    kind: "int",
    default: DEFAULT_CODEC_LIMITS.maxHeaderBytes,
    min: 16,
    max: MAX_INT,
    help: "largest request head; larger gets `431` and close",
  },
  maxHeaderCount: {
    layer: "engine",
    kind: "int",
    default: DEFAULT_CODEC_LIMITS.maxHeaderCount,
    min: 1,
    max: MAX_INT,
    help: "most header fields; more get `431` and close",
  },
  bodyTimeoutMs: {
    layer: "engine",
    kind: "int",
    default: 30_000,
    min: 1,
    max: MAX_TIMER_MS,
    help: "idle time while a request body is expected (`408` when no response yet)",
  },
  sendTimeoutMs: {
    layer: "engine",
    kind: "int",
    default: 60_000,
    min: 1,
    max: MAX_TIMER_MS,
    help: "time a response may make no write progress (peer not reading) before close",
  },
  fileCacheSize: {
    layer: "engine",
    kind: "int",
    default: 256,
    min: 0,
    max: MAX_INT,
    help: "open file descriptors kept for reuse; `0` disables the cache",
  },
  fileCacheTtlMs: {
    layer: "engine",
    kind: "int",
    default: 10_000,
    min: 0,
    max: MAX_TIMER_MS,
    help: "a cached file descriptor unused this long is closed",
  },
  spinMs: {
    layer: "engine",
    kind: "number",
    default: 0.2,
    min: 0,
    max: 1_000,
    help:
      "how long the loop keeps polling after the last event before it waits off-thread (worker processes of `--workers` 2+: 0, see `WORKER_IDLE_WAIT`)",
  },
  syncRounds: {
    layer: "engine",
    kind: "number",
    default: 4,
    min: 1,
    max: 64,
    help: "polls in a row, each finding events, before the loop yields to the JS event loop",
  },
  blockMs: {
    layer: "engine",
    kind: "number",
    default: 0,
    min: 0,
    max: 1_000,
    help:
      "how long the loop may block the JS thread in `epoll_wait` when idle; `0` = never (worker processes of `--workers` 2+: 1)",
  },
  trustProxy: {
    layer: "cli",
    kind: "list",
    flag: "trust-proxy",
    arg: "CIDR",
    separator: ",",
    shownDefault: "none",
    check: (value: string) =>
      parseCidr(value) === null ? "an IPv4 or IPv6 CIDR (e.g. 10.0.0.0/8, ::1/128)" : null,
    help:
      "peers in these CIDRs are proxies: the client is the right-most untrusted `X-Forwarded-For` address; repeatable or comma list",
  },
  logFormat: {
    layer: "cli",
    kind: "choice",
    flag: "log-format",
    choices: ["combined", "json"],
    default: "combined",
    help: 'access log lines: nginx "combined", or JSON lines (see Access log)',
  },
  accessLog: {
    layer: "cli",
    kind: "text",
    flag: "access-log",
    arg: "FILE",
    default: "-",
    minLength: 1,
    help: "append the access log to FILE (`-` = stdout); `SIGUSR1` reopens it (logrotate)",
  },
  workers: {
    layer: "cli",
    kind: "text",
    flag: "workers",
    arg: "N|auto",
    default: "auto",
    check: (value) =>
      value === "auto" || (/^\d{1,3}$/.test(value) && Number(value) >= 1 && Number(value) <= 256)
        ? null
        : "auto or a whole number from 1 to 256",
    help:
      "worker processes, each with its own `SO_REUSEPORT` listener and event loop; `auto` = the CPUs this process may use, `1` = one process (see All cores)",
  },
  idleReleaseMs: {
    layer: "cli",
    kind: "int",
    flag: "idle-release",
    arg: "MS",
    default: 100,
    min: 0,
    max: MAX_TIMER_MS,
    help:
      "after this long without traffic, give memory back once RSS grew 4 MiB (GC with `--v8-flags=--expose-gc`, `malloc_trim`); `0` = off (see Memory)",
  },
  quiet: {
    layer: "cli",
    kind: "switch",
    flag: "quiet",
    default: false,
    shownDefault: "log on",
    help: "no access log",
  },
  help: {
    layer: "cli",
    kind: "switch",
    flag: "help",
    short: "h",
    default: false,
    shownDefault: "",
    help: "lists the flags",
  },
} as const satisfies Record<string, Setting>;

/**
 * The idle wait of the worker processes of `--workers` 2+ (unless set explicitly): no spin, block
 * in `epoll_wait` for up to 1 ms. Workers share the machine's cores with each other and often with
 * clients, where a spinning loop takes CPU the others need: with 2 workers and the load client on
 * 2 cores, W2 went from 30.8–33.9k to 38.8–39.0k req/s (bench/RESULTS.md, "Third pass"). A single
 * process keeps the spin, which answers a lone client's next request sooner.
 */
export const WORKER_IDLE_WAIT = { spinMs: 0, blockMs: 1 } as const;

/** Name of a row of {@linkcode SETTINGS}. */
export type SettingKey = keyof typeof SETTINGS;

type RowOf<K extends SettingKey> = (typeof SETTINGS)[K];

/** The type of a setting's value. */
export type ValueOf<K extends SettingKey> = RowOf<K> extends { kind: "int" | "number" | "port" }
  ? number
  : RowOf<K> extends { kind: "switch" } ? boolean
  : RowOf<K> extends { kind: "list" } ? readonly string[]
  : RowOf<K> extends { kind: "choice"; choices: readonly (infer C)[] } ? C
  : string;

/** Keys of the rows owned by one of `L`. */
export type KeysOf<L extends Layer> = {
  [K in SettingKey]: RowOf<K>["layer"] extends L ? K : never;
}[SettingKey];

/** Every row as `[key, row]`, in table order. */
export function settingRows(): [SettingKey, Setting][] {
  return Object.entries(SETTINGS) as [SettingKey, Setting][];
}

/** A value that breaks a row's type or bounds; the message reads `<label> must be ...`. */
export class SettingError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SettingError";
  }
}

/** What a number of `row` must be, e.g. "a whole number from 1 to 60". */
export function expectation(row: IntSetting | NumberSetting | PortSetting): string {
  if (row.kind === "port") return "a port number from 0 to 65535";
  const what = row.kind === "int" ? "a whole number" : "a number";
  return row.max === MAX_INT ? `${what} >= ${row.min}` : `${what} from ${row.min} to ${row.max}`;
}

/** Checks a number against `row`'s type and bounds; throws {@linkcode SettingError}. */
export function checkNumber(
  row: IntSetting | NumberSetting | PortSetting,
  value: number,
  label: string,
): number {
  const [min, max] = row.kind === "port" ? [0, 65_535] : [row.min, row.max];
  const whole = row.kind !== "number";
  if (
    typeof value !== "number" || !Number.isFinite(value) || (whole && !Number.isInteger(value)) ||
    value < min || value > max
  ) {
    throw new SettingError(`${label} must be ${expectation(row)}, got ${value}`);
  }
  return value;
}

/**
 * Parses the text given for `row` (from a flag or env var) into its value; throws
 * {@linkcode SettingError} naming `label`. Paths are returned as given (the caller reads them).
 */
export function parseSettingText(row: Setting, text: string, label: string): string | number {
  switch (row.kind) {
    case "int":
    case "port": {
      const number = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(number)) {
        throw new SettingError(`${label} must be ${expectation(row)}, got "${text}"`);
      }
      try {
        return checkNumber(row, number, label);
      } catch {
        throw new SettingError(`${label} must be ${expectation(row)}, got "${text}"`);
      }
    }
    case "number": {
      const number = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
      try {
        return checkNumber(row, number, label);
      } catch {
        throw new SettingError(`${label} must be ${expectation(row)}, got "${text}"`);
      }
    }
    case "choice": {
      if (row.choices.includes(text)) return text;
      const list = `${row.choices.slice(0, -1).join(", ")} or ${row.choices.at(-1)}`;
      throw new SettingError(`${label} must be ${list}, got "${text}"`);
    }
    case "text": {
      const min = row.minLength ?? 0;
      if (text.length < min) {
        throw new SettingError(
          min === 1 ? `${label} must not be empty` : `${label} must be at least ${min} characters`,
        );
      }
      const wrong = row.check?.(text) ?? null;
      if (wrong !== null) {
        const got = row.secret ? "" : `, got "${text}"`;
        throw new SettingError(`${label} must be ${wrong}${got}`);
      }
      return row.normalize ? row.normalize(text) : text;
    }
    case "dir":
    case "file":
      if (text.length === 0) throw new SettingError(`${label} must not be empty`);
      return text;
    case "switch":
      throw new SettingError(`${label} takes no value`);
    case "list": {
      if (text.length === 0) throw new SettingError(`${label} must not be empty`);
      const wrong = row.check?.(text) ?? null;
      if (wrong !== null) throw new SettingError(`${label} must be ${wrong}, got "${text}"`);
      return text;
    }
  }
}

/** The defaults of the rows owned by `layers`, keyed by row name (all numbers). */
export function numericDefaults<L extends Layer>(layers: readonly L[]): Record<KeysOf<L>, number> {
  const out: Record<string, number> = {};
  for (const [key, row] of settingRows()) {
    if (!(layers as readonly Layer[]).includes(row.layer)) continue;
    if (typeof row.default !== "number") {
      throw new TypeError(`setting ${key} has no numeric default`);
    }
    out[key] = row.default;
  }
  return out as Record<KeysOf<L>, number>;
}
