/** `--config FILE`: the JSONC stripper, typed values, precedence, errors naming the key. */
import assert from "node:assert/strict";
import { parseConfigText, stripJsonc } from "../src/config_file.ts";
import { CliError, parseConfig } from "../src/config.ts";
import { SettingError, settingRows } from "../src/settings.ts";
import { startServer } from "./support/server.ts";

const NO_ENV = () => undefined;
const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function withDir<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "zerocast-config-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("config file: JSONC comments and trailing commas are stripped, strings are not", () => {
  const text = `{
    // line comment "with quotes", and a comma,
    "a": "http://x//y /* not a comment */ \\" // still a string",
    /* block
       comment */ "b": [1, 2, /* inner */ 3,],
    "c": { "d": ",}" , },
  }`;
  const stripped = stripJsonc(text);
  assert.deepEqual(JSON.parse(stripped), {
    a: 'http://x//y /* not a comment */ " // still a string',
    b: [1, 2, 3],
    c: { d: ",}" },
  });
  // Newlines are kept, so JSON.parse positions stay on the right line.
  assert.equal(stripped.split("\n").length, text.split("\n").length);
  // A comma followed by a comment and then `}` is trailing too.
  assert.deepEqual(JSON.parse(stripJsonc('{"x": 1, // c\n}')), { x: 1 });
  assert.throws(() => stripJsonc('{"x": 1 /* open'), SettingError);
});

Deno.test("config file: values are typed by the row; keys are flag names", () => {
  const given = parseConfigText(`{
    "port": 9090, "segment-duration": "4", "no-ingest-fsync": true, "quiet": false,
    "mount": { "/movies": "/srv/movies" }, "trust-proxy": "10.0.0.0/8",
    "cors": "https://a.example"
  }`);
  assert.equal(given.get("port"), "9090");
  assert.equal(given.get("segmentDuration"), "4");
  assert.equal(given.get("ingestFsync"), true);
  assert.equal(given.has("quiet"), false); // false = the default
  assert.deepEqual(given.get("mount"), ["/movies=/srv/movies"]);
  assert.deepEqual(given.get("trustProxy"), ["10.0.0.0/8"]);
  assert.equal(given.get("cors"), "https://a.example");
});

Deno.test("config file: unknown keys, camelCase, wrong types and non-objects are refused by name", () => {
  const message = (text: string) => {
    try {
      parseConfigText(text);
    } catch (error) {
      assert.ok(error instanceof SettingError);
      return error.message;
    }
    assert.fail("no error");
  };
  assert.equal(message('{"x": 1}'), 'unknown key "x"');
  assert.equal(
    message('{"tlsPort": 1}'),
    'unknown key "tlsPort" (keys are flag names without --: "tls-port")',
  );
  assert.equal(
    message('{"--port": 1}'),
    'unknown key "--port" (keys are flag names without --: "port")',
  );
  assert.match(message('{"config": "x"}'), /unknown key "config" \(not allowed/);
  assert.equal(message('{"quiet": "yes"}'), '"quiet" must be true or false');
  assert.equal(message('{"port": true}'), '"port" must be a number, got true');
  assert.equal(message('{"cors": ["a"]}'), '"cors" must be a string, got ["a"]');
  assert.match(message('{"mount": 3}'), /"mount" must be an array of "\/PREFIX=DIR" strings/);
  assert.match(message("[1]"), /must hold one JSON object/);
  assert.match(message("{oops}"), /is not JSON/);
});

Deno.test("config file: parseConfig reads it; the command line wins; bad values name the key", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/zerocast.jsonc`;
    await Deno.mkdir(`${dir}/movies`);
    await Deno.writeTextFile(
      file,
      `{ "root": "${dir}", "port": 9090, "max-ranges": 3, // comment
         "mount": ["/movies=${dir}/movies"], "log-format": "json", }`,
    );
    const fromFile = parseConfig(["--config", file], NO_ENV);
    assert.equal(fromFile.port, 9090);
    assert.equal(fromFile.maxRanges, 3);
    assert.equal(fromFile.logFormat, "json");
    assert.equal(fromFile.root, Deno.realPathSync(dir));
    assert.deepEqual(fromFile.mounts, [{
      name: "movies",
      root: Deno.realPathSync(`${dir}/movies`),
    }]);
    const overridden = parseConfig(
      ["--config", file, "--port", "0", "--mount", `/tv=${dir}`],
      NO_ENV,
    );
    assert.equal(overridden.port, 0);
    assert.equal(overridden.maxRanges, 3);
    // A list flag on the command line replaces the file's list.
    assert.deepEqual(overridden.mounts.map((m) => m.name), ["tv"]);

    // Flag, then env var, then file.
    await Deno.writeTextFile(file, `{ "root": "${dir}", "ingest-token": "from-the-file" }`);
    const env = (name: string) => name === "ZEROCAST_INGEST_TOKEN" ? "from-the-env" : undefined;
    assert.equal(parseConfig(["--config", file], NO_ENV).ingestToken, "from-the-file");
    assert.equal(parseConfig(["--config", file], env).ingestToken, "from-the-env");
    assert.equal(
      parseConfig(["--config", file, "--ingest-token", "from-the-flag"], env).ingestToken,
      "from-the-flag",
    );

    await Deno.writeTextFile(file, `{ "root": "${dir}", "max-ranges": 0 }`);
    assert.throws(
      () => parseConfig(["--config", file], NO_ENV),
      (e: unknown) =>
        e instanceof CliError &&
        e.message === `config ${file}: "max-ranges" must be a whole number >= 1, got "0"`,
    );
    await Deno.writeTextFile(file, `{ "mount": ["/api=${dir}"] }`);
    assert.throws(
      () => parseConfig(["--config", file], NO_ENV),
      /config .*: "mount" must be a prefix other than the built-in routes/,
    );
    assert.throws(
      () => parseConfig(["--config", `${dir}/missing.json`], NO_ENV),
      /--config .*missing\.json: cannot read \(no such file\)/,
    );
  });
});

Deno.test("config file: main.ts prints one line naming the key and exits 2", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/bad.json`;
    await Deno.writeTextFile(file, '{ "prot": 80 }');
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "--config", file],
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(out.code, 2);
    assert.equal(new TextDecoder().decode(out.stdout), "");
    assert.equal(
      new TextDecoder().decode(out.stderr),
      `zerocast: config ${file}: unknown key "prot"\n`,
    );
  });
});

Deno.test("config file: a server started with one serves what it says", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.txt`, "hello");
    const file = `${dir}/zerocast.json`;
    await Deno.writeTextFile(file, JSON.stringify({ root: dir, "cache-control": "max-age=7" }));
    const server = await startServer({ args: ["--config", file] });
    try {
      const res = await fetch(`${server.url}/media/a.txt`);
      assert.equal(await res.text(), "hello");
      assert.equal(res.headers.get("cache-control"), "max-age=7");
    } finally {
      assert.equal(await server.close(), 0);
    }
  });
});

Deno.test("config file: the README example parses and names every flag", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const match = /## Config file[\s\S]*?```jsonc\n([\s\S]*?)```/.exec(readme);
  assert.ok(match, "README has a jsonc example under ## Config file");
  const example = match[1];
  const given = parseConfigText(example);
  assert.ok(given.size > 10);
  for (const [key, row] of settingRows()) {
    if (row.flag === undefined || key === "help" || key === "config") continue;
    assert.ok(example.includes(`"${row.flag}"`), `README config example lacks "${row.flag}"`);
  }
});
