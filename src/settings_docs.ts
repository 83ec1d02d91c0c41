/**
 * Text derived from the settings table (src/settings.ts): the `--help` screen and the README's
 * flag and library-option tables (rewritten by `deno task docs:flags`, checked by
 * test/settings_test.ts).
 *
 * @module
 */
import { type Setting, type SettingKey, settingRows } from "./settings.ts";

/** One table: a header row and body rows of Markdown cells. */
export interface MarkdownTable {
  /** Column titles. */
  readonly header: readonly string[];
  /** Cells of each row (Markdown, `|` already escaped). */
  readonly rows: readonly (readonly string[])[];
}

/** A row that has a command-line flag. */
type FlagRow = Setting & { readonly flag: string };

function hasFlag(row: Setting): row is FlagRow {
  return row.flag !== undefined;
}

/** `--flag ARG` as typed on the command line (`-h` aliases after a comma). */
function usage(row: FlagRow): string {
  const arg = row.kind === "choice" ? row.choices.join("|") : row.arg;
  const long = arg === undefined ? `--${row.flag}` : `--${row.flag} ${arg}`;
  return row.short === undefined ? long : `${long}, -${row.short}`;
}

/** The default as shown to users; null when there is nothing to show. */
function shownDefault(row: Setting): { text: string; code: boolean } | null {
  if (row.shownDefault !== undefined) {
    return row.shownDefault === "" ? null : { text: row.shownDefault, code: false };
  }
  if (row.default === undefined) return null;
  return { text: String(row.default), code: true };
}

/** Removes Markdown code-span backticks. */
function plain(markdown: string): string {
  return markdown.replaceAll("`", "");
}

/** Escapes `|` for a Markdown table cell. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** Word-wraps `text` to `width` columns. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

const HELP_INDENT = 2;
const HELP_COLUMN = 26;
const HELP_WIDTH = 100;

/** The `--help` screen. */
export function renderHelp(): string {
  const out = [
    "zerocast: zero-copy HTTP media server",
    "",
    "Usage: deno task serve [flags]",
    "",
    "Flags:",
  ];
  for (const [, row] of settingRows()) {
    if (!hasFlag(row)) continue;
    let text = plain(row.help);
    if (row.env !== undefined) text += ` (or env ${row.env})`;
    const shown = row.kind === "switch" ? null : shownDefault(row);
    if (shown !== null) text += ` (default ${shown.text})`;
    const head = " ".repeat(HELP_INDENT) + usage(row);
    const body = wrap(text, HELP_WIDTH - HELP_COLUMN);
    const pad = " ".repeat(HELP_COLUMN);
    if (head.length < HELP_COLUMN - 1) {
      out.push(head.padEnd(HELP_COLUMN) + body[0], ...body.slice(1).map((l) => pad + l));
    } else {
      out.push(head, ...body.map((l) => pad + l));
    }
  }
  return out.join("\n") + "\n";
}

/** The README "Flags" table: one row per flag. */
export function flagTable(): MarkdownTable {
  const rows: string[][] = [];
  for (const [, row] of settingRows()) {
    if (!hasFlag(row)) continue;
    const flags = usage(row).split(", ").map((f) => `\`${f}\``).join(", ");
    const shown = shownDefault(row);
    const meaning = row.env === undefined ? row.help : `${row.help} (also env \`${row.env}\`)`;
    rows.push([
      cell(flags),
      shown === null ? "" : shown.code ? `\`${cell(shown.text)}\`` : cell(shown.text),
      cell(meaning),
    ]);
  }
  return { header: ["flag", "default", "meaning"], rows };
}

/** Where a layer's options are passed in the library API. */
const LIBRARY_HOME: Partial<Record<Setting["layer"], string>> = {
  app: "`createApp`",
  ingest: "`createApp` `ingest`",
  engine: "`serve`",
  server: "`serve`",
};

/** The README library table: every option of `createApp` / `serve` with its default and flag. */
export function libraryTable(): MarkdownTable {
  const rows: string[][] = [];
  for (const [key, row] of settingRows()) {
    const home = LIBRARY_HOME[row.layer];
    if (home === undefined) continue;
    const shown = row.kind === "switch"
      ? { text: String(row.default), code: true }
      : shownDefault(row);
    rows.push([
      `\`${optionName(key, row)}\``,
      home,
      shown === null ? "" : shown.code ? `\`${cell(shown.text)}\`` : cell(shown.text),
      row.flag === undefined ? "" : `\`--${row.flag}\``,
      cell(row.optionHelp ?? row.help),
    ]);
  }
  return { header: ["option", "of", "default", "flag", "meaning"], rows };
}

/** Name of a setting in its layer's library options. */
export function optionName(key: SettingKey, row: Setting): string {
  return row.option ?? key;
}

/** Renders a table as Markdown, columns padded the way `deno fmt` pads them. */
export function renderTable(table: MarkdownTable): string {
  const all = [table.header, ...table.rows];
  const widths = table.header.map((_, i) => Math.max(3, ...all.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [
    line(table.header),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...table.rows.map(line),
  ].join("\n");
}

/** Splits a Markdown table line into trimmed cells (`\|` stays inside a cell). */
export function parseTableLine(line: string): string[] {
  const inner = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  return inner.split(/(?<!\\)\|/).map((c) => c.trim());
}

/** Markers around a generated table in README.md. */
export const README_MARKERS = {
  flags: ["<!-- flags:begin (generated by deno task docs:flags) -->", "<!-- flags:end -->"],
  library: ["<!-- options:begin (generated by deno task docs:flags) -->", "<!-- options:end -->"],
} as const;

/** The generated tables by marker name. */
export function generatedTables(): Record<keyof typeof README_MARKERS, MarkdownTable> {
  return { flags: flagTable(), library: libraryTable() };
}

/** Returns `readme` with each marked table replaced by the generated one; throws on no markers. */
export function rewriteReadme(readme: string): string {
  let out = readme;
  for (const [name, table] of Object.entries(generatedTables())) {
    const [begin, end] = README_MARKERS[name as keyof typeof README_MARKERS];
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md has no ${begin} ... ${end} section`);
    out = `${out.slice(0, from + begin.length)}\n\n${renderTable(table)}\n\n${out.slice(to)}`;
  }
  return out;
}
