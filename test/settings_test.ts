/**
 * The settings table (src/settings.ts) is the only source of flags, defaults and bounds: README's
 * tables, `--help`, `parseConfig` and the app, ingest and engine resolvers must all agree with it.
 */
import assert from "node:assert/strict";
import {
  type IntSetting,
  MAX_TIMER_MS,
  type PortSetting,
  type Setting,
  type SettingKey,
  settingRows,
  SETTINGS,
} from "../src/settings.ts";
import {
  flagTable,
  libraryTable,
  type MarkdownTable,
  parseTableLine,
  README_MARKERS,
  renderTable,
} from "../src/settings_docs.ts";
import { CliError, type Config, HELP, HelpRequested, parseConfig } from "../src/config.ts";
import { resolveAppOptions } from "../src/options.ts";
import { ENGINE_DEFAULTS, resolveEngineOptions } from "../src/server/engine/options.ts";
import {
  DEFAULT_INGEST_IDLE_TIMEOUT_MS,
  DEFAULT_INGEST_MAX_BYTES,
  DEFAULT_INGEST_PREFIX,
} from "../src/routes/ingest.ts";
import { DEFAULT_MAX_RANGES } from "../src/media/range.ts";
import { DEFAULT_STREAM_CHUNK_SIZE } from "../src/file_body.ts";

const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));
const ROOT = await Deno.makeTempDir({ prefix: "zerocast-settings-" });
const NO_ENV = () => undefined;

/** Rows of the README table between `begin` and `end`, as trimmed cells (header excluded). */
function readmeRows(begin: string, end: string): string[][] {
  const from = README.indexOf(begin);
  const to = README.indexOf(end);
  assert.ok(from >= 0 && to > from, `README.md lacks the ${begin} ... ${end} section`);
  const lines = README.slice(from + begin.length, to).split("\n").filter((l) => l.startsWith("|"));
  return lines.slice(2).map(parseTableLine);
}

/** Compares README's table with the generated one row by row, keyed by the first cell. */
function checkTable(name: keyof typeof README_MARKERS, expected: MarkdownTable) {
  const [begin, end] = README_MARKERS[name];
  const actual = readmeRows(begin, end);
  const hint = `README.md is out of date; run \`deno task docs:flags\`. Expected:\n${
    renderTable(expected)
  }`;
  const want = new Map(expected.rows.map((r) => [r[0], r]));
  const have = new Map(actual.map((r) => [r[0], r]));
  for (const key of want.keys()) assert.ok(have.has(key), `${key} missing from README. ${hint}`);
  for (const key of have.keys()) assert.ok(want.has(key), `${key} in README only. ${hint}`);
  for (const [key, row] of want) assert.deepEqual(have.get(key), [...row], `${key}: ${hint}`);
  assert.deepEqual(actual.map((r) => r[0]), expected.rows.map((r) => r[0]), `order: ${hint}`);
}

Deno.test("settings: README flag table matches the settings table row by row", () => {
  const table = flagTable();
  // Sanity: the generated table really has one row per flag, with the default cell filled in.
  const flagged = settingRows().filter(([, row]) => row.flag !== undefined);
  assert.equal(table.rows.length, flagged.length);
  assert.deepEqual(
    table.rows.find((r) => r[0] === "`--max-ranges N`"),
    ["`--max-ranges N`", "`16`", "more ranges than this in one request get the whole file (200)"],
  );
  checkTable("flags", table);
});

Deno.test("settings: README library-option table matches the settings table row by row", () => {
  checkTable("library", libraryTable());
});

Deno.test("settings: a README row that disagrees is caught", () => {
  const table = flagTable();
  const edited: MarkdownTable = {
    header: table.header,
    rows: table.rows.map((r) => r[0] === "`--port N`" ? [r[0], "`8081`", r[2]] : r),
  };
  assert.throws(() => checkTable("flags", edited), /--port N/);
});

Deno.test("settings: --help lists every flag with its default, generated from the table", () => {
  for (const [, row] of settingRows()) {
    if (row.flag === undefined) continue;
    assert.ok(HELP.includes(`  --${row.flag}`), `--${row.flag} in --help`);
  }
  assert.match(HELP, /\n {2}--max-ranges N +more ranges .* \(default 16\)\n/);
  assert.match(HELP, /--help, -h/);
  assert.match(HELP, /or env\s+ZEROCAST_INGEST_TOKEN/);
  for (const line of HELP.split("\n")) assert.ok(line.length <= 100, line);
});

Deno.test("settings: every key is unique as flag and as library option name per layer", () => {
  const flags = new Set<string>();
  const options = new Set<string>();
  for (const [key, row] of settingRows()) {
    if (row.flag !== undefined) {
      assert.ok(!flags.has(row.flag), row.flag);
      flags.add(row.flag);
    }
    const option = `${row.layer}.${row.option ?? key}`;
    assert.ok(!options.has(option), option);
    options.add(option);
    if (row.kind === "int" || row.kind === "number") {
      assert.ok(row.min <= row.max, key);
      if (row.default !== undefined) assert.ok(row.default >= row.min && row.default <= row.max);
    }
    if (key.endsWith("Ms") && row.kind === "int") assert.ok(row.max <= MAX_TIMER_MS, key);
  }
});

Deno.test("settings: parseConfig with no flags yields every table default", () => {
  const config = parseConfig(["--root", ROOT], NO_ENV) as unknown as Record<string, unknown>;
  for (const [key, row] of settingRows()) {
    if (row.flag === undefined || !(key in config) || key === "root") continue;
    assert.equal(config[key], row.default, key);
  }
  assert.equal(config.root, Deno.realPathSync(ROOT));
  assert.deepEqual(config.engineSettings, {});
});

for (const [key, row] of settingRows()) {
  if (row.flag === undefined || (row.kind !== "int" && row.kind !== "port")) continue;
  const numeric = row as IntSetting | PortSetting;
  const [min, max] = numeric.kind === "port" ? [0, 65535] : [numeric.min, numeric.max];
  const top = max < Number.MAX_SAFE_INTEGER;
  Deno.test(`settings: --${row.flag} accepts its bounds and names itself when out of them`, () => {
    const parse = (text: string) => {
      const config = parseConfig(["--root", ROOT, `--${row.flag}`, text], NO_ENV);
      const values = { ...config, ...config.engineSettings } as Record<string, unknown>;
      return values[key];
    };
    if (key === "tlsPort") return; // needs --cert and --key; covered by test/cli_test.ts
    assert.equal(parse(String(min)), min);
    assert.equal(parse(String(top ? max : min + 7)), top ? max : min + 7);
    const bad = [String(min - 1), "abc", "1.5", "", "0x10", "1e3"];
    if (top) bad.push(String(max + 1));
    for (const text of bad) {
      assert.throws(
        () => parse(text),
        (e: unknown) =>
          e instanceof CliError && e.message.startsWith(`--${row.flag} must be `) &&
          e.hint === undefined,
        `--${row.flag} ${text}`,
      );
    }
  });
}

Deno.test("settings: engine flags reach engineSettings only when given", () => {
  const config = parseConfig(
    ["--root", ROOT, "--max-connections", "5", "--pread-threshold=0"],
    NO_ENV,
  );
  assert.deepEqual(config.engineSettings, { maxConnections: 5, preadThreshold: 0 });
});

Deno.test("settings: switches, text checks, choices, env var", () => {
  const base = ["--root", ROOT];
  const c = (args: string[], env: (n: string) => string | undefined = NO_ENV): Config =>
    parseConfig([...base, ...args], env);
  assert.equal(c(["--quiet"]).quiet, true);
  assert.equal(c(["--no-ingest-fsync"]).ingestFsync, false);
  assert.equal(c(["--engine", "stream"]).engine, "stream");
  assert.equal(c(["--ingest-prefix", "/media/up"]).ingestPrefix, "/media/up/");
  assert.throws(() => c(["--ingest-prefix", "/etc/"]), /--ingest-prefix must be a path under/);
  assert.throws(() => c(["--ingest-prefix", "/media/../x/"]), /--ingest-prefix must be/);
  assert.throws(() => c(["--host", ""]), /--host must not be empty/);
  assert.throws(() => c(["--quiet=yes"]), /--quiet takes no value/);
  assert.throws(() => c(["--port"]), /--port needs a value \(N\)/);
  assert.throws(() => c(["--port", "--quiet"]), /--port needs a value/);
  const env = (name: string) => name === "ZEROCAST_INGEST_TOKEN" ? "from-env-0123" : undefined;
  assert.equal(c([], env).ingestToken, "from-env-0123");
  assert.equal(c(["--ingest-token", "from-flag-0123"], env).ingestToken, "from-flag-0123");
  assert.throws(
    () => c([], () => "short"),
    /^CliError: env ZEROCAST_INGEST_TOKEN must be at least 8 characters$/,
  );
  assert.throws(() => c(["-h"]), HelpRequested);
  assert.throws(() => c(["--help"]), HelpRequested);
});

Deno.test("settings: unknown flags and stray words are usage errors with a hint", () => {
  const err = (args: string[]) => {
    try {
      parseConfig(args, NO_ENV);
    } catch (e) {
      if (e instanceof CliError) return e;
      throw e;
    }
    assert.fail("no error");
  };
  assert.equal(err(["--prot", "1"]).message, "unknown flag --prot (did you mean --port?)");
  assert.equal(
    err(["--max-range", "1"]).message,
    "unknown flag --max-range (did you mean --max-ranges?)",
  );
  assert.equal(err(["-x"]).message, "unknown flag -x");
  assert.equal(err(["serve"]).message, 'unexpected argument "serve" (every setting is a --flag)');
  assert.equal(err(["--nope"]).hint, "Try --help for the list of flags.");
});

Deno.test("settings: app, ingest and range defaults come from the table", () => {
  const app = resolveAppOptions({ root: "/" });
  assert.equal(app.cors, SETTINGS.cors.default);
  assert.equal(app.maxRanges, SETTINGS.maxRanges.default);
  assert.equal(app.streamChunkSize, SETTINGS.streamChunkSize.default);
  assert.equal(app.cacheControl, undefined);
  assert.equal(DEFAULT_MAX_RANGES, SETTINGS.maxRanges.default);
  assert.equal(DEFAULT_STREAM_CHUNK_SIZE, SETTINGS.streamChunkSize.default);
  assert.equal(DEFAULT_INGEST_PREFIX, SETTINGS.ingestPrefix.default);
  assert.equal(DEFAULT_INGEST_MAX_BYTES, SETTINGS.ingestMaxBytes.default);
  assert.equal(DEFAULT_INGEST_IDLE_TIMEOUT_MS, SETTINGS.ingestIdleTimeoutMs.default);
  // A library user's own values win.
  assert.equal(resolveAppOptions({ root: "/", maxRanges: 3, cors: "https://a" }).maxRanges, 3);
});

Deno.test("settings: engine defaults and bounds come from the table", () => {
  const engineKeys = settingRows()
    .filter(([, row]) => row.layer === "engine" || row.layer === "server")
    .map(([key]) => key)
    .sort();
  assert.deepEqual(Object.keys(ENGINE_DEFAULTS).sort(), engineKeys);
  for (const key of engineKeys) {
    assert.equal(
      ENGINE_DEFAULTS[key as keyof typeof ENGINE_DEFAULTS],
      (SETTINGS[key as SettingKey] as Setting).default,
      key,
    );
  }
  assert.deepEqual(resolveEngineOptions({ hostname: "127.0.0.1", port: 0 }), ENGINE_DEFAULTS);
  assert.equal(
    resolveEngineOptions({ hostname: "127.0.0.1", port: 0, sendfileMaxChunk: 4096 })
      .sendfileMaxChunk,
    4096,
  );
  for (
    const [option, value] of [
      ["sendfileMaxChunk", 4095],
      ["sendfileMaxChunk", 2 * 1024 ** 3],
      ["maxConnections", 0],
      ["headerTimeoutMs", 1.5],
      ["keepAliveTimeoutMs", MAX_TIMER_MS + 1],
      ["spinMs", -1],
      ["backlog", Number.NaN],
    ] as const
  ) {
    assert.throws(
      () => resolveEngineOptions({ hostname: "127.0.0.1", port: 0, [option]: value }),
      (e: unknown) =>
        e instanceof RangeError && e.message.startsWith(`engine option ${option} must be `),
      `${option} ${value}`,
    );
  }
  assert.equal(resolveEngineOptions({ hostname: "h", port: 0, spinMs: 0.5 }).spinMs, 0.5);
});

globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
