/**
 * The servers the comparison starts, one at a time, each on a loopback port checked free first,
 * pinned to the server CPU, and stopped by its own PID.
 *
 * @module
 */
import { type Child, onPath, spawnChild } from "./child.ts";
import { ensureBun } from "./bun.ts";
import { nginxConfig } from "./nginx.ts";
import { SERVER_V8_FLAGS } from "../../src/server/idle_release.ts";
import { LOOPBACK, waitForPort } from "./ports.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const MAIN = `${REPO}main.ts`;
/**
 * The V8 flag `deno task serve` passes (see README "Memory"): zerocast gives memory back when
 * traffic stops with a memory-reducing GC, which needs it. Workers inherit it.
 */
const ADAPTER = `${REPO}src/server/adapter.ts`;
const DENO_STREAM_PEER = new URL("../peers/deno_stream_server.ts", import.meta.url).pathname;
const DENO_APP_PEER = new URL("../peers/deno_app_server.ts", import.meta.url).pathname;
const BUN_PEER = new URL("../peers/bun_server.ts", import.meta.url).pathname;
const DENO_PARALLEL_PEER = new URL("../peers/deno_serve_parallel.ts", import.meta.url).pathname;

/** The servers of a default run, each on one CPU. */
export const DEFAULT_SERVER_IDS = [
  "zerocast-zero-copy",
  "zerocast-stream",
  "nginx-nopush-on",
  "nginx-nopush-off",
  "bun",
  "deno-stream",
  "deno-app",
] as const;

/** The workers dimension: each server with 1 and with 2 workers, started on all CPUs. */
export const WORKER_SERVER_IDS = [
  "zerocast-w1",
  "zerocast-w2",
  "nginx-w1",
  "nginx-w2",
  "bun-w1",
  "bun-w2",
  "deno-parallel-w1",
  "deno-parallel-w2",
] as const;

/** Every server the comparison knows. */
export const SERVER_IDS = [...DEFAULT_SERVER_IDS, ...WORKER_SERVER_IDS] as const;

/** One of {@linkcode SERVER_IDS}. */
export type ServerId = typeof SERVER_IDS[number];

/** A server that is running. */
export interface StartedServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** PID whose process tree is measured. */
  readonly pid: number;
  /** Its process. */
  readonly child: Child;
  /** Stops it by PID and removes its temp files. */
  stop(): Promise<void>;
}

/** How to run one server. */
export interface ServerSpec {
  /** Identifier used in flags and tables. */
  readonly id: ServerId;
  /** What the table calls it. */
  readonly label: string;
  /** Serves `/media/<file>` with ranges (workloads W1-W3). */
  readonly servesFiles: boolean;
  /** Serves the small Hono route `/healthz` through the app (workload W4). */
  readonly servesRoute: boolean;
  /**
   * Workers dimension: how many workers it runs. Such servers are never pinned (they get every
   * CPU, and so does the client), and the report puts 1 and 2 workers of one family side by side.
   */
  readonly workers?: { readonly family: string; readonly count: number };
  /** Returns its version text, or why it cannot run here. */
  prepare(log: (line: string) => void): Promise<{ version: string } | { skip: string }>;
  /** Starts it on `port` serving `root`, pinned to `cpu`; resolves once it accepts connections. */
  start(port: number, root: string, cpu?: number): Promise<StartedServer>;
}

function commandVersion(command: string, args: string[]): string {
  try {
    const out = new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).outputSync();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return text.trim().split("\n")[0];
  } catch {
    return "unknown";
  }
}

/** The Deno version line, e.g. `deno 2.9.6`. */
export function denoVersion(): string {
  return `deno ${Deno.version.deno}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Spawns and waits until the port accepts connections; stops the child if that fails. */
async function launch(
  command: string,
  args: string[],
  port: number,
  cpu: number | undefined,
  cleanup: () => Promise<void> = async () => {},
  signal: Deno.Signal = "SIGTERM",
): Promise<StartedServer> {
  const child = spawnChild(command, args, { cpu });
  const stop = async () => {
    await child.stop(signal);
    await cleanup();
  };
  try {
    await waitForPort(port, () => child.alive());
  } catch (error) {
    await stop();
    const tail = [...child.stdout.slice(-10), ...child.stderr.slice(-20)].join("\n");
    throw new Error(`${error instanceof Error ? error.message : error}\n${tail}`);
  }
  return { url: `http://${LOOPBACK}:${port}`, pid: child.pid, child, stop };
}

/** Extra `main.ts` flags for both zerocast engines (compare's `--zerocast-args`). */
let zerocastExtraArgs: string[] = [];

/** Sets extra `main.ts` flags, e.g. engine tuning, for every later zerocast start. */
export function setZerocastArgs(args: string[]): void {
  zerocastExtraArgs = [...args];
}

function zerocast(engine: "zero-copy" | "stream"): ServerSpec {
  return {
    id: engine === "zero-copy" ? "zerocast-zero-copy" : "zerocast-stream",
    label: `zerocast ${engine}`,
    servesFiles: true,
    servesRoute: true,
    async prepare() {
      if (!(await exists(MAIN))) return { skip: "main.ts not found" };
      if (engine === "zero-copy" && !(await exists(ADAPTER))) {
        return { skip: "zero-copy engine (src/server/adapter.ts) not there yet" };
      }
      const extra = zerocastExtraArgs.length > 0 ? ` ${zerocastExtraArgs.join(" ")}` : "";
      return { version: `${denoVersion()}, --engine ${engine}${extra}` };
    },
    start(port, root, cpu) {
      return launch(
        Deno.execPath(),
        [
          "run",
          SERVER_V8_FLAGS,
          "--allow-all",
          MAIN,
          "--host",
          LOOPBACK,
          "--port",
          String(port),
          "--root",
          root,
          "--engine",
          engine,
          "--workers",
          "1",
          "--quiet",
          ...zerocastExtraArgs,
        ],
        port,
        cpu,
      );
    },
  };
}

function nginx(nopush: boolean): ServerSpec {
  return {
    id: nopush ? "nginx-nopush-on" : "nginx-nopush-off",
    label: `nginx tcp_nopush ${nopush ? "on" : "off"}`,
    servesFiles: true,
    servesRoute: false,
    prepare() {
      return Promise.resolve(
        onPath("nginx")
          ? { version: commandVersion("nginx", ["-v"]).replace(/^nginx version: /, "") }
          : { skip: "nginx not on PATH" },
      );
    },
    async start(port, root, cpu) {
      const dir = await Deno.makeTempDir({ prefix: "zerocast-nginx-" });
      const conf = `${dir}/nginx.conf`;
      await Deno.writeTextFile(conf, nginxConfig({ dir, port, root, nopush }));
      // SIGQUIT = graceful stop of master and worker; the child is stopped by its own PID.
      return launch(
        "nginx",
        ["-p", dir, "-c", conf, "-e", `${dir}/error.log`],
        port,
        cpu,
        () => Deno.remove(dir, { recursive: true }),
        "SIGQUIT",
      );
    },
  };
}

function bun(): ServerSpec {
  let binary = "bun";
  return {
    id: "bun",
    label: "Bun",
    servesFiles: true,
    servesRoute: false,
    async prepare(log) {
      const found = await ensureBun(log);
      if ("error" in found) return { skip: found.error };
      binary = found.path;
      return { version: `bun ${found.version}` };
    },
    start(port, root, cpu) {
      return launch(binary, [BUN_PEER, "--port", String(port), "--root", root], port, cpu);
    },
  };
}

function denoPeer(id: "deno-stream" | "deno-app"): ServerSpec {
  const stream = id === "deno-stream";
  return {
    id,
    label: stream ? "Deno.serve + ReadableStream" : "Deno.serve(app.fetch)",
    servesFiles: stream,
    servesRoute: !stream,
    prepare() {
      return Promise.resolve({ version: denoVersion() });
    },
    start(port, root, cpu) {
      return launch(
        Deno.execPath(),
        [
          "run",
          "--allow-all",
          stream ? DENO_STREAM_PEER : DENO_APP_PEER,
          "--port",
          String(port),
          "--root",
          root,
        ],
        port,
        cpu,
      );
    },
  };
}

/** Shell-quotes one word. */
function shellWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function zerocastWorkers(count: 1 | 2): ServerSpec {
  return {
    id: count === 1 ? "zerocast-w1" : "zerocast-w2",
    label: `zerocast zero-copy --workers ${count}`,
    servesFiles: true,
    servesRoute: true,
    workers: { family: "zerocast zero-copy", count },
    async prepare() {
      if (!(await exists(ADAPTER))) return { skip: "zero-copy engine not there" };
      return { version: `${denoVersion()}, --engine zero-copy --workers ${count}` };
    },
    start(port, root) {
      return launch(
        Deno.execPath(),
        [
          ...["run", SERVER_V8_FLAGS, "--allow-all", MAIN, "--host", LOOPBACK],
          ...["--port", String(port), "--root", root, "--engine", "zero-copy"],
          ...["--workers", String(count), "--quiet"],
          ...zerocastExtraArgs,
        ],
        port,
        undefined,
      );
    },
  };
}

function nginxWorkers(count: 1 | 2): ServerSpec {
  return {
    id: count === 1 ? "nginx-w1" : "nginx-w2",
    label: `nginx worker_processes ${count} (tcp_nopush off)`,
    servesFiles: true,
    servesRoute: false,
    workers: { family: "nginx", count },
    prepare() {
      return Promise.resolve(
        onPath("nginx")
          ? { version: commandVersion("nginx", ["-v"]).replace(/^nginx version: /, "") }
          : { skip: "nginx not on PATH" },
      );
    },
    async start(port, root) {
      const dir = await Deno.makeTempDir({ prefix: "zerocast-nginx-" });
      const conf = `${dir}/nginx.conf`;
      await Deno.writeTextFile(
        conf,
        // tcp_nopush off: with it on, small keep-alive ranges stall ~40 ms each (see W2 above)
        nginxConfig({ dir, port, root, nopush: false, workers: count }),
      );
      return launch(
        "nginx",
        ["-p", dir, "-c", conf, "-e", `${dir}/error.log`],
        port,
        undefined,
        () => Deno.remove(dir, { recursive: true }),
        "SIGQUIT",
      );
    },
  };
}

function bunWorkers(count: 1 | 2): ServerSpec {
  let binary = "bun";
  return {
    id: count === 1 ? "bun-w1" : "bun-w2",
    label: `Bun reusePort × ${count}`,
    servesFiles: true,
    servesRoute: false,
    workers: { family: "Bun", count },
    async prepare(log) {
      const found = await ensureBun(log);
      if ("error" in found) return { skip: found.error };
      binary = found.path;
      return { version: `bun ${found.version}, ${count} process(es) with reusePort` };
    },
    start(port, root) {
      // One shell parent, so the measured process tree holds every Bun process; TERM stops all.
      const one = [binary, BUN_PEER, "--port", String(port), "--root", root, "--reuse-port"]
        .map(shellWord).join(" ");
      const starts = Array.from({ length: count }, () => `${one} & pids="$pids $!"`).join("; ");
      const script = `pids=""; trap 'kill $pids; wait; exit 0' TERM INT; ${starts}; wait`;
      return launch("sh", ["-c", script], port, undefined);
    },
  };
}

function denoParallel(count: 1 | 2): ServerSpec {
  return {
    id: count === 1 ? "deno-parallel-w1" : "deno-parallel-w2",
    label: `deno serve --parallel (DENO_JOBS=${count})`,
    servesFiles: true,
    servesRoute: false,
    workers: { family: "Deno.serve + ReadableStream", count },
    prepare() {
      return Promise.resolve({ version: `${denoVersion()}, deno serve --parallel` });
    },
    async start(port, root) {
      const child = spawnChild(
        Deno.execPath(),
        [
          ...["serve", "--parallel", "--allow-all", "--host", LOOPBACK, "--port", String(port)],
          DENO_PARALLEL_PEER,
        ],
        { env: { DENO_JOBS: String(count), ZEROCAST_BENCH_ROOT: root } },
      );
      try {
        await waitForPort(port, () => child.alive());
      } catch (error) {
        await child.stop("SIGTERM");
        throw error;
      }
      return {
        url: `http://${LOOPBACK}:${port}`,
        pid: child.pid,
        child,
        stop: async () => {
          await child.stop("SIGTERM");
        },
      };
    },
  };
}

/** The spec of every server, in table order. */
export function serverSpecs(): Map<ServerId, ServerSpec> {
  const specs: ServerSpec[] = [
    zerocast("zero-copy"),
    zerocast("stream"),
    nginx(true),
    nginx(false),
    bun(),
    denoPeer("deno-stream"),
    denoPeer("deno-app"),
    zerocastWorkers(1),
    zerocastWorkers(2),
    nginxWorkers(1),
    nginxWorkers(2),
    bunWorkers(1),
    bunWorkers(2),
    denoParallel(1),
    denoParallel(2),
  ];
  return new Map(specs.map((spec) => [spec.id, spec]));
}

/** Version of wrk, for the results header. */
export function wrkVersion(): string {
  return commandVersion("wrk", ["-v"]).replace(/\s+Copyright.*$/, "");
}
