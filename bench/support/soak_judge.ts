/**
 * Samples of a soak run, the markdown table they make, and the leak verdict.
 *
 * Every sample is taken with the traffic paused and all client connections closed (quiesced),
 * after a full garbage collection in the server: so its fds and RSS are the server's baseline
 * at that moment, not the traffic's working set.
 *
 * @module
 */

import { MiB } from "./data.ts";

/** One row: the traffic of one interval and the server's state after it. */
export interface SoakSample {
  /** `start` (before any traffic) or the interval's end in minutes, e.g. `3` or `0.5`. */
  readonly label: string;
  /** HTTP requests completed in the interval (aborted transfers included). */
  readonly requests: number;
  /** Requests that failed: wrong status, wrong bytes, closed early, timed out. */
  readonly errors: number;
  /** Transfers the client aborted on purpose (closed mid-body). */
  readonly aborted: number;
  /** Median and 99th percentile of the completed requests' latencies, ms (null: none). */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** 99th percentile and maximum of the `/healthz` probe latencies, ms (null: none). */
  readonly healthzP99Ms: number | null;
  readonly healthzMaxMs: number | null;
  /** Server RSS after a full GC, bytes. */
  readonly rssBytes: number;
  /** Open file descriptors of the server, without the media files it holds open. */
  readonly fds: number;
  /**
   * Media files (under the root) the server holds open: its file cache keeps idle fds for a
   * while (bounded), so they count separately; the final sample waits for them to close.
   */
  readonly mediaFds: number;
  /** The server's `zerocast_active_connections` while quiesced (the probe's own included). */
  readonly openConnections: number;
}

/** File descriptors the server may gain between the first and last judged sample. */
export const FD_SLACK = 4;
/** Number of last samples that must all rise for RSS to count as climbing. */
export const RSS_TREND_SAMPLES = 4;
/** The rise across those samples must exceed this many bytes ... */
export const RSS_TREND_MIN_BYTES = 8 * MiB;
/** ... and this fraction of the first of them. */
export const RSS_TREND_MIN_FRACTION = 0.05;
/** Total RSS growth after warm-up above this fraction plus {@linkcode RSS_JUMP_BYTES} fails. */
export const RSS_JUMP_FRACTION = 0.25;
/** See {@linkcode RSS_JUMP_FRACTION}. */
export const RSS_JUMP_BYTES = 32 * MiB;

/** Outcome of {@linkcode judgeSoak}. */
export interface SoakVerdict {
  /** No finding. */
  readonly ok: boolean;
  /** Why the run failed, one line each. */
  readonly findings: string[];
  /** What could not be judged, and facts worth knowing. */
  readonly notes: string[];
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/**
 * Judges a run: `samples[0]` is the start, `samples[1]` the end of the warm-up interval; the
 * judged samples are `samples[1..]`, the last one taken after the server's file cache had time
 * to close its idle fds. Fails on request errors, on more than {@linkcode FD_SLACK} fds gained
 * from the first judged sample to the last, on media files still open at the end, when the last
 * {@linkcode RSS_TREND_SAMPLES} RSS values each rise and together by more than
 * max({@linkcode RSS_TREND_MIN_BYTES}, {@linkcode RSS_TREND_MIN_FRACTION} of the first), or when
 * RSS grew by more than {@linkcode RSS_JUMP_FRACTION} + {@linkcode RSS_JUMP_BYTES} in total.
 * `settled` false: the last sample did not wait for the file cache, so media fds are not judged.
 */
export function judgeSoak(samples: readonly SoakSample[], settled = true): SoakVerdict {
  const findings: string[] = [];
  const notes: string[] = [];
  const errors = samples.reduce((n, s) => n + s.errors, 0);
  if (errors > 0) findings.push(`${errors} request(s) failed (see the error lines above)`);
  const judged = samples.slice(1);
  if (judged.length < 2) {
    notes.push("fds and RSS not judged: fewer than two samples after the warm-up interval");
    return { ok: findings.length === 0, findings, notes };
  }
  const first = judged[0];
  const last = judged[judged.length - 1];
  if (last.fds - first.fds > FD_SLACK) {
    findings.push(
      `fds grew from ${first.fds} to ${last.fds} after warm-up (slack ${FD_SLACK}): a leak`,
    );
  }
  if (!settled) notes.push("media files open at the end not judged (no settle time)");
  else if (last.mediaFds > 0) {
    findings.push(`${last.mediaFds} media file(s) still open when the run ended quiet`);
  }
  if (last.openConnections > 1) {
    notes.push(`${last.openConnections - 1} connection(s) still open at the last quiet sample`);
  }
  const rss = judged.map((s) => s.rssBytes);
  const growth = last.rssBytes - first.rssBytes;
  if (growth > first.rssBytes * RSS_JUMP_FRACTION + RSS_JUMP_BYTES) {
    findings.push(
      `RSS after GC grew by ${mib(growth)} after warm-up (${mib(first.rssBytes)} →` +
        ` ${mib(last.rssBytes)})`,
    );
  }
  if (rss.length < RSS_TREND_SAMPLES) {
    notes.push(
      `RSS trend not judged: ${rss.length} sample(s) after warm-up, ${RSS_TREND_SAMPLES} needed`,
    );
  } else {
    const window = rss.slice(-RSS_TREND_SAMPLES);
    const rising = window.every((v, i) => i === 0 || v > window[i - 1]);
    const rise = window[window.length - 1] - window[0];
    const bound = Math.max(RSS_TREND_MIN_BYTES, window[0] * RSS_TREND_MIN_FRACTION);
    if (rising && rise > bound) {
      findings.push(
        `RSS after GC rose at each of the last ${RSS_TREND_SAMPLES} samples, by ${mib(rise)}` +
          ` (bound ${mib(bound)}): ${window.map(mib).join(" → ")}`,
      );
    }
  }
  return { ok: findings.length === 0, findings, notes };
}

const ms = (value: number | null) => value === null ? "–" : value.toFixed(1);

/** The samples as a markdown table (the healthz columns are the event-loop delay proxy). */
export function soakTable(samples: readonly SoakSample[]): string {
  const header = [
    "min",
    "requests",
    "errors",
    "aborted",
    "p50 ms",
    "p99 ms",
    "healthz p99 ms",
    "healthz max ms",
    "RSS after GC (MiB)",
    "fds",
    "media fds",
    "open conns",
  ];
  const rows = samples.map((s) => [
    s.label,
    String(s.requests),
    String(s.errors),
    String(s.aborted),
    ms(s.p50Ms),
    ms(s.p99Ms),
    ms(s.healthzP99Ms),
    ms(s.healthzMaxMs),
    (s.rssBytes / MiB).toFixed(1),
    String(s.fds),
    String(s.mediaFds),
    String(s.openConnections),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ")} |`;
  const rule = `| ${
    widths.map((w, i) => i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":").join(" | ")
  } |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** Nearest-rank percentile of `values` (0 < q ≤ 1); null when empty. */
export function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
