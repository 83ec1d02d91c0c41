/** Flags of `deno task bench:soak` (node:util parseArgs). @module */
import { parseArgs } from "node:util";
import { FlagError } from "./flags.ts";

/** The help text. */
export const SOAK_HELP = `deno task bench:soak [flags]

  --minutes N        length of the traffic run in minutes, fractions allowed (default 10)
  --interval S       seconds between samples (default 60; the first interval is the warm-up)
  --workers N        concurrent client loops (default 8)
  --rps N            target requests per second over all loops (default 150)
  --seed N           seed of the traffic mix (default 1)
  --settle S         at the end, wait up to S seconds for the server's file cache to close
                     its idle fds before the last sample (default 15; 0 = do not judge them)
  --report FILE      also write the final report (markdown) to FILE
  --help             this text
`;

/** Parsed flags. */
export interface SoakFlags {
  /** Traffic run length in seconds. */
  readonly seconds: number;
  /** Seconds between samples. */
  readonly interval: number;
  /** Concurrent client loops. */
  readonly workers: number;
  /** Target requests per second over all loops. */
  readonly rps: number;
  /** Seed of the traffic mix. */
  readonly seed: number;
  /** Seconds the last sample may wait for cached media fds to close (0 = not judged). */
  readonly settle: number;
  /** Where to write the final report, or null. */
  readonly report: string | null;
}

function positive(name: string, text: string | undefined, fallback: number, integer = false) {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new FlagError(
      `--${name} needs a positive ${integer ? "integer" : "number"}, got ${text}`,
    );
  }
  return n;
}

/** Parses the flags; returns null for `--help`. Throws {@linkcode FlagError} for bad values. */
export function parseSoakFlags(args: string[]): SoakFlags | null {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        minutes: { type: "string" },
        interval: { type: "string" },
        workers: { type: "string" },
        rps: { type: "string" },
        seed: { type: "string" },
        settle: { type: "string" },
        report: { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new FlagError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return null;
  const seconds = positive("minutes", values.minutes, 10) * 60;
  const interval = Math.min(positive("interval", values.interval, 60), seconds);
  return {
    seconds,
    interval,
    workers: positive("workers", values.workers, 8, true),
    rps: positive("rps", values.rps, 150),
    seed: positive("seed", values.seed, 1, true),
    settle: values.settle === "0" ? 0 : positive("settle", values.settle, 15),
    report: values.report ?? null,
  };
}
