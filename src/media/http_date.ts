/**
 * HTTP-date (RFC 9110 §5.6.7): formatting as IMF-fixdate and parsing of all three forms
 * (IMF-fixdate, the obsolete RFC 850 form and ANSI C asctime). Parsing is strict and
 * case-sensitive as the grammar is; anything else is "not a date" (null), which callers treat as
 * an absent header, as RFC 9110 §13.1.3/§13.1.4 require for invalid dates.
 *
 * @module
 */

const DAY_NAMES = new Set(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
const DAY_NAMES_LONG = new Set([
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
  "Sunday",
]);
const MONTHS = new Map([
  ["Jan", 0],
  ["Feb", 1],
  ["Mar", 2],
  ["Apr", 3],
  ["May", 4],
  ["Jun", 5],
  ["Jul", 6],
  ["Aug", 7],
  ["Sep", 8],
  ["Oct", 9],
  ["Nov", 10],
  ["Dec", 11],
]);

let lastFormattedSecond = NaN;
let lastFormatted = "";

/** Formats `ms` (truncated to whole seconds) as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
export function formatHttpDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  // One-entry memo: a burst of requests for the same file formats the same second.
  if (second !== lastFormattedSecond) {
    lastFormatted = new Date(second * 1000).toUTCString();
    lastFormattedSecond = second;
  }
  return lastFormatted;
}

/**
 * Parses an HTTP-date; returns milliseconds since the epoch (a whole second) or null when
 * `value` is not a valid HTTP-date. `nowMs` anchors RFC 850 two-digit years (§5.6.7: a year
 * more than 50 years in the future means the most recent past year with those digits).
 */
export function parseHttpDate(value: string, nowMs: number = Date.now()): number | null {
  if (value.length === 29 && value.charCodeAt(3) === 0x2c) return parseImfFixdate(value);
  if (value.length === 24 && value.charCodeAt(3) === 0x20) return parseAsctime(value);
  return parseRfc850(value, nowMs);
}

/** `Sun, 06 Nov 1994 08:49:37 GMT` */
function parseImfFixdate(s: string): number | null {
  if (!DAY_NAMES.has(s.slice(0, 3)) || s[4] !== " " || s[7] !== " " || s[11] !== " ") return null;
  if (s[16] !== " " || !s.endsWith(" GMT")) return null;
  const day = digits(s, 5, 2);
  const month = MONTHS.get(s.slice(8, 11));
  const year = digits(s, 12, 4);
  if (month === undefined) return null;
  return build(year, month, day, s, 17);
}

/** `Sunday, 06-Nov-94 08:49:37 GMT` */
function parseRfc850(s: string, nowMs: number): number | null {
  const comma = s.indexOf(", ");
  if (comma < 0 || !DAY_NAMES_LONG.has(s.slice(0, comma))) return null;
  const rest = comma + 2;
  if (s.length !== rest + 22 || s[rest + 2] !== "-" || s[rest + 6] !== "-") return null;
  if (s[rest + 9] !== " " || !s.endsWith(" GMT")) return null;
  const day = digits(s, rest, 2);
  const month = MONTHS.get(s.slice(rest + 3, rest + 6));
  const yy = digits(s, rest + 7, 2);
  if (month === undefined || yy < 0) return null;
  const nowYear = new Date(nowMs).getUTCFullYear();
  let year = nowYear - (nowYear % 100) + yy;
  if (year > nowYear + 50) year -= 100;
  return build(year, month, day, s, rest + 10);
}

/** `Sun Nov  6 08:49:37 1994` */
function parseAsctime(s: string): number | null {
  if (!DAY_NAMES.has(s.slice(0, 3)) || s[7] !== " " || s[10] !== " " || s[19] !== " ") {
    return null;
  }
  const month = MONTHS.get(s.slice(4, 7));
  const day = s[8] === " " ? digits(s, 9, 1) : digits(s, 8, 2);
  const year = digits(s, 20, 4);
  if (month === undefined) return null;
  return build(year, month, day, s, 11);
}

/** Reads `hh:mm:ss` at `at`, validates every field and returns the epoch ms or null. */
function build(year: number, month: number, day: number, s: string, at: number): number | null {
  if (s[at + 2] !== ":" || s[at + 5] !== ":") return null;
  const hour = digits(s, at, 2);
  const minute = digits(s, at + 3, 2);
  const second = digits(s, at + 6, 2);
  if (year < 0 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    return null;
  }
  if (second < 0 || second > 60) return null; // 60: leap second (RFC 9110 §5.6.7)
  // setUTCFullYear, unlike Date.UTC, keeps years 0-99 as written.
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  // Rejects days that do not exist in the month (Feb 30 would roll into March).
  if (date.getUTCMonth() !== month || date.getUTCDate() !== day) return null;
  return date.setUTCHours(hour, minute, second);
}

/** Parses exactly `n` ASCII digits at `at`; -1 when any is not a digit. */
function digits(s: string, at: number, n: number): number {
  let value = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (!(c >= 0 && c <= 9)) return -1;
    value = value * 10 + c;
  }
  return value;
}
