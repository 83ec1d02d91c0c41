/**
 * Access log, filled by whichever server answered: nginx's "combined" format
 *
 * `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
 * "$http_referer" "$http_user_agent"`
 *
 * or JSON lines (`--log-format json`, {@linkcode formatJson}), to stdout or appended to a file
 * that `SIGUSR1` reopens (`--access-log`, {@linkcode fileLogSink}).
 *
 * @module
 */

/** One answered request, as a server reports it. */
export interface AccessLogEntry {
  /** Client address (IPv4 or IPv6 literal). */
  readonly remoteAddr: string;
  /** Request method. */
  readonly method: string;
  /** Request target as received (path and query). */
  readonly target: string;
  /** The protocol as spoken: `HTTP/1.0`, `HTTP/1.1` or `HTTP/2.0` (ALPN `h2`). */
  readonly protocol: string;
  /** Response status. */
  readonly status: number;
  /**
   * Response body bytes written (a response cut short reports what left, not its length; for
   * HTTP/2, what was handed to Deno's HTTP/2 stack).
   */
  readonly bytes: number;
  /** Referer header, if any. */
  readonly referer: string | null;
  /** User-Agent header, if any. */
  readonly userAgent: string | null;
  /** When the response was finished (ms since epoch; default now). */
  readonly time?: number;
  /** Time from the complete request head to the end of the response, in ms. */
  readonly durationMs?: number;
  /** Which server answered: the zero-copy engine or the stream server (HTTPS, `--engine stream`). */
  readonly engine?: "zero-copy" | "stream";
  /** The Range header, if any. */
  readonly range?: string | null;
  /** The X-Forwarded-For header, if any (read only for peers in `--trust-proxy`). */
  readonly forwardedFor?: string | null;
}

/** Called by a server once per answered request. */
export type ResponseHook = (entry: AccessLogEntry) => void;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

let logTimeSecond = NaN;
let logTime = "";

/**
 * Formats `ms` as nginx's `$time_local` in UTC, e.g. `25/Nov/2026:07:42:26 +0000` (formatted at
 * most once per second: every line of a busy second shares it).
 */
export function formatLogTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second === logTimeSecond) return logTime;
  const d = new Date(second * 1000);
  const p = (n: number) => (n < 10 ? "0" + n : String(n));
  logTime = `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
  logTimeSecond = second;
  return logTime;
}

/** True for a char the log escapes: `"`, `\`, C0 controls, DEL and above. */
function needsEscape(c: number): boolean {
  return c === 0x22 || c === 0x5c || c < 0x20 || c >= 0x7f;
}

/**
 * Escapes a request-derived string like nginx does (`"`, `\` and non-printable bytes as \xHH);
 * a string with nothing to escape (the usual case) is returned as it is.
 */
export function escapeLogField(value: string): string {
  const n = value.length;
  let i = 0;
  while (i < n && !needsEscape(value.charCodeAt(i))) i++;
  if (i === n) return value;
  let out = value.slice(0, i);
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (needsEscape(c)) out += "\\x" + (c & 0xff).toString(16).toUpperCase().padStart(2, "0");
    else out += value[i];
  }
  return out;
}

/**
 * Formats one entry as a combined-format line (no trailing newline); `remote` replaces the peer
 * address (the client behind a trusted proxy).
 */
export function formatCombined(e: AccessLogEntry, remote: string = e.remoteAddr): string {
  // the parts joined by spaces, escaped one by one (a space is never escaped)
  const request = escapeLogField(e.method) + " " + escapeLogField(e.target) + " " +
    escapeLogField(e.protocol);
  const referer = e.referer ? escapeLogField(e.referer) : "-";
  const agent = e.userAgent ? escapeLogField(e.userAgent) : "-";
  return `${escapeLogField(remote)} - - [${formatLogTime(e.time ?? Date.now())}] "${request}" ` +
    `${e.status} ${e.bytes} "${referer}" "${agent}"`;
}

/**
 * Formats one entry as a JSON object on one line (no trailing newline): `time` (ISO 8601),
 * `remote`, `method`, `path` (the target as received), `status`, `bytes`, `duration_ms`,
 * `engine`, `protocol`, `range`, `user_agent`, `referer`; absent values are null.
 */
export function formatJson(e: AccessLogEntry, remote: string = e.remoteAddr): string {
  return JSON.stringify({
    time: new Date(e.time ?? Date.now()).toISOString(),
    remote,
    method: e.method,
    path: e.target,
    status: e.status,
    bytes: e.bytes,
    duration_ms: e.durationMs === undefined ? null : Math.round(e.durationMs * 1000) / 1000,
    engine: e.engine ?? null,
    protocol: e.protocol,
    range: e.range ?? null,
    user_agent: e.userAgent,
    referer: e.referer,
  });
}

/** Where log text goes. */
export interface LogSink {
  /** Writes `text` completely (errors are swallowed: logging never takes the server down). */
  write(text: string): void;
  /**
   * Writes `bytes` completely and returns their length, so the sink can stand where a
   * `{ writeSync }` writer is expected (a supervisor relaying its workers' log lines).
   */
  writeSync(bytes: Uint8Array): number;
  /** Reopens the file at its path (after logrotate moved it); a no-op for stdout. */
  reopen(): void;
  /** Closes the file. */
  close(): void;
}

const encoder = new TextEncoder();

/** Writes all of `bytes` to `file`. */
function writeAll(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  while (bytes.byteLength > 0) bytes = bytes.subarray(file.writeSync(bytes));
}

/** The stdout sink. */
export function stdoutLogSink(): LogSink {
  const writeSync = (bytes: Uint8Array) => {
    try {
      writeAll(Deno.stdout, bytes);
    } catch {
      // stdout closed: logging must never take the server down
    }
    return bytes.byteLength;
  };
  return {
    write: (text) => void writeSync(encoder.encode(text)),
    writeSync,
    reopen() {},
    close() {},
  };
}

/** Opens `path` for appending, creating it (mode 0644). */
function openAppend(path: string): Deno.FsFile {
  return Deno.openSync(path, { append: true, create: true, mode: 0o644 });
}

/**
 * A sink appending to the file at `path` (opened now: throws when it cannot be). `reopen`
 * closes it and opens `path` again, so after logrotate renamed the file the next lines go to a
 * new one at the original path; when the new one cannot be opened, the old stays in use and
 * `onError` hears why. With several processes, only the one writing the log (the supervisor
 * that relays worker lines) should own the sink.
 */
export function fileLogSink(path: string, onError: (error: unknown) => void = () => {}): LogSink {
  let file = openAppend(path);
  const writeSync = (bytes: Uint8Array) => {
    try {
      writeAll(file, bytes);
    } catch (error) {
      onError(error);
    }
    return bytes.byteLength;
  };
  return {
    write: (text) => void writeSync(encoder.encode(text)),
    writeSync,
    reopen() {
      let next: Deno.FsFile;
      try {
        next = openAppend(path);
      } catch (error) {
        onError(error);
        return;
      }
      const old = file;
      file = next;
      try {
        old.close();
      } catch {
        // already closed
      }
    },
    close() {
      try {
        file.close();
      } catch {
        // already closed
      }
    },
  };
}

/**
 * The sink of `--access-log`: stdout for `-`, else {@linkcode fileLogSink} (throws when the file
 * cannot be opened).
 */
export function openAccessLogSink(
  path: string,
  onError: (error: unknown) => void = () => {},
): LogSink {
  return path === "-" ? stdoutLogSink() : fileLogSink(path, onError);
}

/** Options of {@linkcode accessLog}. */
export interface AccessLogOptions {
  /** Line format (default combined). */
  readonly format?: "combined" | "json";
  /** Where lines go (default stdout). */
  readonly sink?: LogSink;
  /** The client address to log for an entry (default its `remoteAddr`); see `--trust-proxy`. */
  readonly clientOf?: (entry: AccessLogEntry) => string;
}

/** Returns a hook that writes one line per entry to the sink, batched per event-loop turn. */
export function accessLog(options: AccessLogOptions = {}): ResponseHook {
  const sink = options.sink ?? stdoutLogSink();
  const format = options.format === "json" ? formatJson : formatCombined;
  const clientOf = options.clientOf;
  let pending: string[] = [];
  const flush = () => {
    const text = pending.join("");
    pending = [];
    sink.write(text);
  };
  return (entry) => {
    if (pending.length === 0) queueMicrotask(flush);
    pending.push(format(entry, clientOf ? clientOf(entry) : entry.remoteAddr) + "\n");
  };
}

/**
 * Reopens `sink` on every `SIGUSR1` (logrotate's `postrotate`); returns the remover. Where the
 * platform has no SIGUSR1 (Windows), nothing is registered.
 */
export function reopenOnSigusr1(sink: LogSink): () => void {
  const reopen = () => sink.reopen();
  try {
    Deno.addSignalListener("SIGUSR1", reopen);
  } catch {
    return () => {};
  }
  return () => Deno.removeSignalListener("SIGUSR1", reopen);
}

/** Returns a hook that writes combined-format lines to stdout, batched per event-loop turn. */
export function stdoutAccessLog(): ResponseHook {
  return accessLog();
}
