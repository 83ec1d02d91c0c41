/**
 * `--config FILE`: a JSON object (RFC 8259) of flags, with JSONC's `//` and `/* *\/` comments
 * and trailing commas allowed. Keys are the flag names without `--` (`"tls-port"`,
 * `"no-ingest-fsync"`); a camelCase key is refused with the flag name it means. Values are typed:
 * numbers as JSON numbers (or strings), switches as `true`/`false`, repeatable flags as arrays of
 * strings (`"mount"` also as an object `{ "/movies": "/srv/movies" }`), everything else as
 * strings. The file is read by `parseConfig` itself, so every process that parses the flags (each
 * worker started after `SIGHUP`) sees the file as it is then.
 *
 * @module
 */
import { type Setting, SettingError, type SettingKey, settingRows } from "./settings.ts";

/** What the file gives for a row, in the shape the command line gives it. */
export type GivenValue = string | true | readonly string[];

/**
 * Replaces the comments of JSONC `text` with spaces (newlines kept, so JSON.parse positions
 * still point at the right line) and drops trailing commas before `}` or `]`; strings are left
 * alone. Throws SettingError for an unterminated block comment.
 */
export function stripJsonc(text: string): string {
  let out = "";
  let i = 0;
  const n = text.length;
  /** Index of the next character that is not white space or inside a comment. */
  const nextSignificant = (from: number): number => {
    let j = from;
    while (j < n) {
      const c = text[j];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") j++;
      else if (c === "/" && text[j + 1] === "/") {
        while (j < n && text[j] !== "\n") j++;
      } else if (c === "/" && text[j + 1] === "*") {
        const end = text.indexOf("*/", j + 2);
        j = end < 0 ? n : end + 2;
      } else break;
    }
    return j;
  };
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      // A string, escapes included, copied as is.
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < n && text[i] !== "\n") {
        out += " ";
        i++;
      }
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new SettingError("has an unterminated /* comment");
      out += text.slice(i, end + 2).replace(/[^\n]/g, " ");
      i = end + 2;
    } else if (c === ",") {
      const next = text[nextSignificant(i + 1)];
      out += next === "}" || next === "]" ? " " : ",";
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Flag name -> row, for every row with a flag that may appear in a file. */
const FILE_KEYS: ReadonlyMap<string, [SettingKey, Setting]> = new Map(
  settingRows()
    .filter(([key, row]) => row.flag !== undefined && key !== "help" && key !== "config")
    .map(([key, row]) => [row.flag!, [key, row]]),
);

/** camelCase -> kebab-case (`tlsPort` -> `tls-port`). */
function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The unknown-key message, with the flag name meant when it is recognisable. */
function unknownKey(name: string): string {
  const meant = FILE_KEYS.has(kebab(name))
    ? kebab(name)
    : FILE_KEYS.has(name.replace(/^--?/, ""))
    ? name.replace(/^--?/, "")
    : FILE_KEYS.has(`no-${kebab(name)}`)
    ? `no-${kebab(name)}`
    : undefined;
  const hint = meant === undefined
    ? name === "config" || name === "help" ? ` (not allowed in a config file)` : ""
    : ` (keys are flag names without --: "${meant}")`;
  return `unknown key "${name}"${hint}`;
}

/** One value of the file in the command line's shape; throws SettingError naming `label`. */
function given(row: Setting, value: unknown, label: string): GivenValue | undefined {
  switch (row.kind) {
    case "switch":
      if (typeof value !== "boolean") throw new SettingError(`${label} must be true or false`);
      return value ? true : undefined;
    case "int":
    case "number":
    case "port":
      if (typeof value === "number") return String(value);
      if (typeof value === "string") return value;
      throw new SettingError(`${label} must be a number, got ${JSON.stringify(value)}`);
    case "list": {
      if (typeof value === "string") return [value];
      if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value;
      if (
        row.flag === "mount" && typeof value === "object" && value !== null &&
        !Array.isArray(value) && Object.values(value).every((dir) => typeof dir === "string")
      ) {
        return Object.entries(value).map(([prefix, dir]) => `${prefix}=${dir}`);
      }
      const what = row.flag === "mount"
        ? `an array of "/PREFIX=DIR" strings or an object { "/PREFIX": "DIR" }`
        : "a string or an array of strings";
      throw new SettingError(`${label} must be ${what}`);
    }
    default:
      if (typeof value === "string") return value;
      if (typeof value === "number" && row.kind === "text") return String(value);
      throw new SettingError(`${label} must be a string, got ${JSON.stringify(value)}`);
  }
}

/**
 * Parses the text of a config file into row key -> value as the command line would give it.
 * Throws SettingError with a message that reads after `config FILE: `.
 */
export function parseConfigText(text: string): Map<SettingKey, GivenValue> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stripJsonc(text.replace(/^\uFEFF/, "")));
  } catch (error) {
    if (error instanceof SettingError) throw error;
    throw new SettingError(`is not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new SettingError('must hold one JSON object, e.g. { "port": 8080 }');
  }
  const out = new Map<SettingKey, GivenValue>();
  for (const [name, value] of Object.entries(parsed)) {
    const entry = FILE_KEYS.get(name);
    if (entry === undefined) throw new SettingError(unknownKey(name));
    const [key, row] = entry;
    const converted = given(row, value, `"${name}"`);
    if (converted !== undefined) out.set(key, converted);
  }
  return out;
}
