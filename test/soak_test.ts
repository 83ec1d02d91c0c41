/**
 * `deno task bench:soak`: the leak verdict on made-up samples (each criterion can fail), the
 * flags, and one very short real run against the zero-copy engine that must pass and print its
 * table.
 */
import assert from "node:assert/strict";
import { MiB } from "../bench/support/data.ts";
import { FlagError } from "../bench/support/flags.ts";
import { parseSoakFlags } from "../bench/support/soak_flags.ts";
import {
  FD_SLACK,
  judgeSoak,
  percentile,
  type SoakSample,
  soakTable,
} from "../bench/support/soak_judge.ts";

const SOAK = new URL("../bench/soak.ts", import.meta.url).pathname;

function sample(label: string, rssMiB: number, fds: number, extra: Partial<SoakSample> = {}) {
  return {
    label,
    requests: 100,
    errors: 0,
    aborted: 3,
    p50Ms: 1,
    p99Ms: 9,
    healthzP99Ms: 2,
    healthzMaxMs: 3,
    rssBytes: rssMiB * MiB,
    fds,
    mediaFds: 0,
    openConnections: 1,
    ...extra,
  };
}

/** A run whose samples have these RSS values (MiB) and fds after the `start` row. */
function run(rss: number[], fds: number[] = rss.map(() => 30)): SoakSample[] {
  return [sample("start", 60, 30), ...rss.map((r, i) => sample(String(i + 1), r, fds[i]))];
}

Deno.test("soak verdict: a flat run passes", () => {
  const verdict = judgeSoak(run([70, 72, 71, 73, 72, 72]));
  assert.deepEqual(verdict.findings, []);
  assert.equal(verdict.ok, true);
});

Deno.test("soak verdict: fds gained after warm-up beyond the slack fail", () => {
  assert.equal(judgeSoak(run([70, 70, 70], [30, 31, 30 + FD_SLACK])).ok, true);
  const grown = judgeSoak(run([70, 70, 70], [30, 31, 31 + FD_SLACK]));
  assert.equal(grown.ok, false);
  assert.match(grown.findings[0], /fds grew from 30 to 35/);
  // fds opened during the warm-up interval are not a leak
  assert.equal(judgeSoak(run([70, 70, 70], [50, 50, 50])).ok, true);
});

Deno.test("soak verdict: RSS rising at each of the last samples fails, noise does not", () => {
  const climbing = judgeSoak(run([70, 70, 71, 75, 80, 86]));
  assert.equal(climbing.ok, false);
  assert.match(climbing.findings[0], /rose at each of the last 4 samples/);
  // rising, but by less than the bound
  assert.equal(judgeSoak(run([70, 70, 70.5, 71, 71.5, 72])).ok, true);
  // a big rise that then falls back is not climbing
  assert.equal(judgeSoak(run([70, 70, 90, 95, 99, 80])).ok, true);
  const few = judgeSoak(run([70, 80, 90]));
  assert.ok(few.notes.some((n) => /RSS trend not judged/.test(n)));
});

Deno.test("soak verdict: a large total RSS growth fails even when not monotonic", () => {
  const jump = judgeSoak(run([70, 140, 130, 150]));
  assert.equal(jump.ok, false);
  assert.match(jump.findings[0], /grew by 80\.0 MiB/);
});

Deno.test("soak verdict: request errors and media files left open fail", () => {
  const samples = run([70, 70, 70]);
  samples[2] = { ...samples[2], errors: 2 };
  samples[3] = { ...samples[3], mediaFds: 1 };
  const verdict = judgeSoak(samples);
  assert.equal(verdict.findings.length, 2);
  assert.match(verdict.findings.join("\n"), /2 request\(s\) failed/);
  assert.match(verdict.findings.join("\n"), /1 media file\(s\) still open/);
  const unsettled = judgeSoak(run([70, 70, 70]).map((s) => ({ ...s, mediaFds: 3 })), false);
  assert.equal(unsettled.ok, true);
});

Deno.test("soak table and percentiles", () => {
  const table = soakTable(run([70.25]));
  const lines = table.split("\n");
  assert.equal(lines.length, 4);
  assert.match(lines[0], /^\| min +\| requests \|/);
  assert.match(lines[3], /^\| 1 +\| +100 \|.*\| +70\.3 \| +30 \| +0 \| +1 \|$/);
  assert.equal(percentile([], 0.99), null);
  assert.equal(percentile([5, 1, 3], 0.5), 3);
  assert.equal(percentile(Array.from({ length: 200 }, (_, i) => i + 1), 0.99), 198);
});

Deno.test("soak flags: defaults, fractions of minutes, bad values", () => {
  const defaults = parseSoakFlags([])!;
  assert.equal(defaults.seconds, 600);
  assert.equal(defaults.interval, 60);
  assert.equal(defaults.settle, 15);
  const short = parseSoakFlags(["--minutes", "0.05", "--interval", "10", "--settle", "0"])!;
  assert.equal(short.seconds, 3);
  assert.equal(short.interval, 3, "the interval is at most the run");
  assert.equal(short.settle, 0);
  assert.equal(parseSoakFlags(["--help"]), null);
  assert.throws(() => parseSoakFlags(["--minutes", "0"]), FlagError);
  assert.throws(() => parseSoakFlags(["--workers", "1.5"]), FlagError);
  assert.throws(() => parseSoakFlags(["--bogus"]), FlagError);
});

Deno.test("bench:soak: a short real run passes and prints its table", async () => {
  const report = await Deno.makeTempFile({ prefix: "zerocast-soak-report-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        SOAK,
        "--minutes",
        "0.05",
        "--interval",
        "1",
        "--settle",
        "0",
        "--report",
        report,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `${stdout}\n${stderr}`);
    const written = await Deno.readTextFile(report);
    assert.ok(stdout.includes(written.trim()), "the report file is what was printed last");
    assert.match(written, /^Verdict: pass$/m);
    const rows = written.split("\n").filter((l) => /^\| (start|[0-9.]+) /.test(l));
    assert.deepEqual(rows.map((r) => r.split("|")[1].trim()), ["start", "0.02", "0.03", "0.05"]);
    for (const row of rows.slice(1)) {
      const cells = row.split("|").map((c) => c.trim());
      assert.ok(Number(cells[2]) > 0, `requests in ${row}`);
      assert.equal(cells[3], "0", `errors in ${row}`);
    }
  } finally {
    await Deno.remove(report);
  }
});

Deno.test("bench:soak: a bad flag is one clear line and exit code 2", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", SOAK, "--minutes", "soon"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /^bench:soak: --minutes needs a positive/);
});
