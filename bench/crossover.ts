/**
 * `deno task bench:crossover`: where does `pread` + one `send` (head and body in one syscall)
 * stop beating `send(head)` + `sendfile(body)`? The zero-copy engine's `preadThreshold` default
 * is chosen from this table.
 *
 * For each body size, the same server is started twice, pinned to CPU 0: once with
 * `preadThreshold: 0` (every body by sendfile) and once with a threshold above the size (every
 * body by pread + send). The project's load client (bench/loadgen, bodies discarded in the kernel)
 * runs on CPU 1 with random single ranges of that size of a page-cached 1 GiB file. Reported:
 * requests/s and the server's CPU µs per request (utime + stime of its process tree).
 *
 * Flags: `--sizes 4,8,16,32,64` (KiB; the staging buffer holds at most 128 KiB of head + body), `--duration S` (default 2), `--runs N` (default 2),
 * `--out FILE` (default bench/CROSSOVER.md; `--no-write` prints only).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runLoadProcess } from "./loadgen/run.ts";
import { spawnChild } from "./support/child.ts";
import { DATA_ROOT, ensureDataFile, GiB, warmPageCache } from "./support/data.ts";
import { freePort } from "./support/ports.ts";
import { treeCpuSeconds } from "./support/proc.ts";

const PEER = new URL("./peers/zerocast_threshold.ts", import.meta.url).pathname;
const FILE = { name: "1g.bin", size: GiB };

interface Row {
  readonly sizeKiB: number;
  readonly mode: "sendfile" | "pread+send";
  readonly run: number;
  readonly requestsPerSecond: number;
  readonly cpuMicrosPerRequest: number;
}

async function measureOne(sizeKiB: number, threshold: number, duration: number, run: number) {
  const port = await freePort();
  const server = spawnChild(Deno.execPath(), [
    "run",
    "--allow-all",
    PEER,
    "--port",
    String(port),
    "--root",
    DATA_ROOT,
    "--threshold",
    String(threshold),
  ], { cpu: 0 });
  try {
    await server.waitForLine(/^listening on /, 20_000);
    let cpuStart = 0;
    let cpuEnd = 0;
    const result = await runLoadProcess({
      hostname: "127.0.0.1",
      port,
      path: `/media/${FILE.name}`,
      range: { fileSize: FILE.size, length: sizeKiB * 1024 },
      connections: 32,
      warmupSeconds: 0.5,
      durationSeconds: duration,
      seed: run,
    }, {
      onMeasureStart: () => cpuStart = treeCpuSeconds(server.pid),
      onMeasureEnd: () => cpuEnd = treeCpuSeconds(server.pid),
    }, 1);
    const errors = Object.values(result.errors).reduce((a, b) => a + b, 0);
    if (errors > 0) throw new Error(`${errors} errors at ${sizeKiB} KiB (threshold ${threshold})`);
    return {
      sizeKiB,
      mode: threshold === 0 ? "sendfile" : "pread+send",
      run,
      requestsPerSecond: result.requests / result.seconds,
      cpuMicrosPerRequest: (cpuEnd - cpuStart) * 1e6 / result.requests,
    } satisfies Row;
  } finally {
    await server.stop();
  }
}

/** Renders the rows as a markdown table, one line per size, both modes side by side. */
function render(rows: Row[], sizes: number[], runs: number): string {
  const lines = [
    "| body | sendfile req/s | pread+send req/s | sendfile CPU µs/req | pread+send CPU µs/req | faster |",
    "| ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const size of sizes) {
    const pick = (mode: Row["mode"]) => rows.filter((r) => r.sizeKiB === size && r.mode === mode);
    const s = pick("sendfile");
    const p = pick("pread+send");
    const sRate = mean(s.map((r) => r.requestsPerSecond));
    const pRate = mean(p.map((r) => r.requestsPerSecond));
    const sCpu = mean(s.map((r) => r.cpuMicrosPerRequest));
    const pCpu = mean(p.map((r) => r.cpuMicrosPerRequest));
    lines.push(
      `| ${size} KiB | ${Math.round(sRate).toLocaleString("en-US")} | ${
        Math.round(pRate).toLocaleString("en-US")
      } | ${sCpu.toFixed(1)} | ${pCpu.toFixed(1)} | ${
        pRate > sRate
          ? `pread+send ×${(pRate / sRate).toFixed(2)}`
          : `sendfile ×${(sRate / pRate).toFixed(2)}`
      } |`,
    );
  }
  return `Mean of ${runs} run(s) per cell; server on CPU 0, load client on CPU 1, 32 keep-alive ` +
    `connections, random single ranges of a page-cached 1 GiB file.\n\n${lines.join("\n")}\n`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sizes: { type: "string", default: "4,8,16,32,64" },
      duration: { type: "string", default: "2" },
      runs: { type: "string", default: "2" },
      out: { type: "string", default: new URL("./CROSSOVER.md", import.meta.url).pathname },
      "no-write": { type: "boolean" },
    },
  });
  const sizes = values.sizes.split(",").map(Number);
  const duration = Number(values.duration);
  const runs = Number(values.runs);
  await warmPageCache(await ensureDataFile(FILE.name, FILE.size));
  const rows: Row[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const size of sizes) {
      // sendfile first, then pread+send, alternating per size so drift hits both alike
      for (const threshold of [0, size * 1024]) {
        const row = await measureOne(size, threshold, duration, run);
        console.log(
          `run ${run} ${size} KiB ${row.mode}: ${Math.round(row.requestsPerSecond)} req/s, ` +
            `${row.cpuMicrosPerRequest.toFixed(1)} µs CPU/req`,
        );
        rows.push(row);
      }
    }
  }
  const table = render(rows, sizes, runs);
  const text = `# pread + send vs sendfile: the crossover\n\nMeasured by ` +
    `\`deno task bench:crossover\` on ${new Date().toISOString().slice(0, 10)} ` +
    `(Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs).\n\n${table}`;
  console.log("\n" + table);
  if (!values["no-write"]) {
    await Deno.writeTextFile(values.out, text);
    await new Deno.Command(Deno.execPath(), { args: ["fmt", values.out] }).output();
    console.log(`written to ${values.out}`);
  }
}
