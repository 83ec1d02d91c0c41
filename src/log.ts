/**
 * Access log in nginx's "combined" format, written to stdout by whichever server answered.
 *
 * `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
 * "$http_referer" "$http_user_agent"`
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
}

/** Called by a server once per answered request. */
export type ResponseHook = (entry: AccessLogEntry) => void;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Formats `ms` as nginx's `$time_local` in UTC, e.g. `25/Nov/2026:07:42:26 +0000`. */
export function formatLogTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => (n < 10 ? "0" + n : String(n));
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Escapes a request-derived string like nginx does (`"`, `\` and non-printable bytes as \xHH). */
export function escapeLogField(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c < 0x20 || c >= 0x7f) {
      out += "\\x" + (c & 0xff).toString(16).toUpperCase().padStart(2, "0");
    } else out += value[i];
  }
  return out;
}

/** Formats one entry as a combined-format line (no trailing newline). */
export function formatCombined(e: AccessLogEntry): string {
  const request = escapeLogField(`${e.method} ${e.target} ${e.protocol}`);
  const referer = e.referer ? escapeLogField(e.referer) : "-";
  const agent = e.userAgent ? escapeLogField(e.userAgent) : "-";
  return `${e.remoteAddr} - - [${formatLogTime(e.time ?? Date.now())}] "${request}" ${e.status} ` +
    `${e.bytes} "${referer}" "${agent}"`;
}

/** Returns a hook that writes combined-format lines to stdout, batched per event-loop turn. */
export function stdoutAccessLog(): ResponseHook {
  const encoder = new TextEncoder();
  let pending: string[] = [];
  const flush = () => {
    const text = pending.join("");
    pending = [];
    try {
      let bytes = encoder.encode(text);
      while (bytes.byteLength > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
    } catch {
      // stdout closed: logging must never take the server down
    }
  };
  return (entry) => {
    if (pending.length === 0) queueMicrotask(flush);
    pending.push(formatCombined(entry) + "\n");
  };
}
