/**
 * `--workers N`: the supervisor process. It starts N worker processes (`main.ts` again, with the
 * same Deno and server flags), each with its own SO_REUSEPORT listener and event loop, and:
 *
 * - prints one `listening on …` line per listener once every worker accepts connections;
 * - relays the workers' stdout (the access log) in whole lines and their stderr;
 * - restarts a worker that dies (one line on stderr), with a back-off when one dies at start;
 * - SIGINT/SIGTERM: asks every worker to drain (each finishes in-flight responses within
 *   `--shutdown-grace`), then exits 0;
 * - SIGHUP: replaces the workers one at a time: a new worker (new code, flags re-read) starts and
 *   listens before the old one is told to drain, so a connection is never refused and no transfer
 *   in flight is cut.
 *
 * The shared metrics table (src/server/workers/metrics_table.ts) and the upload order markers
 * (src/server/workers/shared_sequencer.ts) live under /dev/shm; the supervisor creates and
 * removes them.
 *
 * @module
 */
import { CliError, type Config } from "../../config.ts";
import { describeListenError } from "../../listeners.ts";
import { availableCpus } from "./cpus.ts";
import { workerArgs } from "./command.ts";
import { MetricsTable } from "./metrics_table.ts";
import { type PortReservation, reservePort } from "./port_reservation.ts";
import { CONTROL_PREFIX, WORKER_ENV, type WorkerAssignment } from "./protocol.ts";
import { type LogSink, openAccessLogSink, reopenOnSigusr1 } from "../../log.ts";
import { readLines, relayLines, writeAllSync } from "./relay.ts";

/** How many workers to run, and why. */
export interface WorkerPlan {
  /** Number of worker processes (1 = no supervisor, one process as before). */
  readonly count: number;
  /** Where the number came from, for the start-up line. */
  readonly why: string;
}

/** Longest wait for a new worker to listen. */
const START_TIMEOUT_MS = 30_000;
/** A worker that dies sooner than this after it started is restarted after a back-off. */
const QUICK_DEATH_MS = 2_000;
/** Longest restart back-off. */
const MAX_BACKOFF_MS = 10_000;

/** Decides the number of workers from `--workers` and what this process may do. */
export function planWorkers(config: Config): WorkerPlan {
  const missing = missingForWorkers();
  if (config.workers === "auto") {
    const cpus = availableCpus();
    if (cpus === 1) return { count: 1, why: "auto: 1 CPU" };
    if (missing !== undefined) return { count: 1, why: `auto: ${missing}` };
    return { count: cpus, why: `auto: ${cpus} CPUs` };
  }
  if (config.workers > 1 && missing !== undefined) {
    throw new CliError(`--workers ${config.workers} needs ${missing.replace(/ not granted$/, "")}`);
  }
  return { count: config.workers, why: "--workers" };
}

/** Why several workers cannot run here, or undefined when they can. */
function missingForWorkers(): string | undefined {
  if (Deno.build.os !== "linux") return "not Linux";
  for (const name of ["run", "ffi", "env"] as const) {
    if (Deno.permissions.querySync({ name }).state !== "granted") {
      return `--allow-${name} not granted`;
    }
  }
  return undefined;
}

/**
 * Runs the supervisor when more than one worker is wanted; returns the exit code, or null when
 * this process should serve by itself (one worker).
 */
export async function superviseIfWanted(config: Config, args: string[]): Promise<number | null> {
  let plan: WorkerPlan;
  try {
    plan = planWorkers(config);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    console.error(`zerocast: ${error.message}`);
    return 2;
  }
  if (plan.count <= 1) {
    // auto wanted more CPUs than this process may use workers for: say why, once
    if (config.workers === "auto" && plan.why !== "auto: 1 CPU") {
      console.error(`zerocast: workers: 1 (${plan.why})`);
    }
    return null;
  }
  // One process owns the log file (the one logrotate signals): the workers log to their
  // stdout and the supervisor's relay appends their whole lines to the file.
  let accessLog: LogSink | undefined;
  if (!config.quiet && config.accessLog !== "-") {
    const report = (error: unknown) =>
      console.error(`zerocast: --access-log ${config.accessLog}: ${(error as Error).message}`);
    try {
      accessLog = openAccessLogSink(config.accessLog, report);
    } catch (error) {
      report(error);
      return 2;
    }
  }
  return await new Supervisor(config, args, plan, { accessLog }).run();
}

/** Options of {@linkcode Supervisor} beyond the config. */
export interface SupervisorOptions {
  /** Module each worker runs (default: this program's main module). */
  readonly entry?: string;
  /** The `--access-log` file the workers' log lines are appended to (default: stdout). */
  readonly accessLog?: LogSink;
}

/** One worker process. */
interface WorkerProcess {
  readonly worker: number;
  readonly slot: number;
  readonly child: Deno.ChildProcess;
  readonly startedAt: number;
  /** Resolves with its listeners once it reported all of them; rejects when it exits first. */
  readonly ready: Promise<void>;
  /** Resolves when the process has exited and its output is relayed. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** Its `engine: …` line. */
  engineLine?: string;
  /** Listener URLs it reported, by scheme. */
  readonly urls: Map<string, string>;
  /** Told to drain (reload or shutdown): its exit is expected. */
  draining: boolean;
  /** Its stderr lines held back during the first start (null: passed through). */
  held: string[] | null;
}

/** The supervisor of one multi-worker server. */
export class Supervisor {
  readonly #config: Config;
  readonly #args: string[];
  readonly #plan: WorkerPlan;
  readonly #entry: string;
  readonly #tablePath: string;
  readonly #table: MetricsTable;
  readonly #seqDir: string;
  #spawned = 0;
  /** Serving workers by number. */
  readonly #current = new Map<number, WorkerProcess>();
  /** Every worker process still running (serving, starting or draining). */
  readonly #running = new Set<WorkerProcess>();
  /** The ports, held by the supervisor (port 0 picks once, all workers share it). */
  readonly #reserved: PortReservation[] = [];
  #portArgs: string[] = [];
  #stopping = false;
  #reloading: Promise<void> | null = null;
  #reloadAgain = false;
  readonly #quickDeaths = new Map<number, number>();
  readonly #stdout = Deno.stdout;
  /** Where the workers' access-log lines go: stdout, or the `--access-log` file this owns. */
  readonly #accessLog: { writeSync(p: Uint8Array): number };
  /** Stops reopening the log file on SIGUSR1. */
  #stopReopening: () => void = () => {};
  readonly #stderr = Deno.stderr;
  readonly #encoder = new TextEncoder();

  /** Prepares a supervisor for `plan.count` workers running `args`. */
  constructor(config: Config, args: string[], plan: WorkerPlan, options: SupervisorOptions = {}) {
    this.#config = config;
    // with a log file, workers log to their stdout (`--access-log -` comes last, so it wins)
    this.#args = options.accessLog ? [...args, "--access-log", "-"] : args;
    this.#accessLog = options.accessLog ?? Deno.stdout;
    if (options.accessLog) this.#stopReopening = reopenOnSigusr1(options.accessLog);
    this.#plan = plan;
    this.#entry = options.entry ?? Deno.mainModule;
    this.#tablePath = tablePath();
    this.#table = MetricsTable.create(this.#tablePath, plan.count * 2 + 2);
    this.#seqDir = this.#tablePath.replace(/\.metrics$/, ".seq");
    Deno.mkdirSync(this.#seqDir, { mode: 0o700 });
  }

  /** Starts the workers and supervises them until SIGINT/SIGTERM; returns the exit code. */
  async run(): Promise<number> {
    // Signals are handled before any `listening on` line (a script may stop us right away).
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => stop = resolve);
    const onStop = () => {
      if (this.#stopping) return;
      this.#stopping = true;
      stop();
    };
    const onReload = () => {
      if (this.#current.size > 0 && !this.#stopping) void this.reload();
    };
    Deno.addSignalListener("SIGINT", onStop);
    Deno.addSignalListener("SIGTERM", onStop);
    Deno.addSignalListener("SIGHUP", onReload);
    try {
      const code = await this.#startAll();
      if (code !== 0) return code;
      await stopped;
      Deno.removeSignalListener("SIGHUP", onReload);
      await this.#drainAll();
      return 0;
    } finally {
      Deno.removeSignalListener("SIGINT", onStop);
      Deno.removeSignalListener("SIGTERM", onStop);
      Deno.removeSignalListener("SIGHUP", onReload);
      this.#stopReopening();
      for (const reservation of this.#reserved) reservation.close();
      for (const path of [this.#tablePath, this.#seqDir]) {
        try {
          Deno.removeSync(path, { recursive: true });
        } catch { /* already gone */ }
      }
    }
  }

  async #startAll(): Promise<number> {
    try {
      this.#reserved.push(reservePort(this.#config.host, this.#config.port));
      this.#portArgs = ["--port", String(this.#reserved[0].port)];
      if (this.#config.tlsPort !== undefined) {
        this.#reserved.push(reservePort(this.#config.host, this.#config.tlsPort));
        this.#portArgs.push("--tls-port", String(this.#reserved[1].port));
      }
    } catch (error) {
      const scheme = this.#reserved.length === 0 ? "http" : "https";
      const port = scheme === "http" ? this.#config.port : this.#config.tlsPort!;
      // the same line a single process prints for the same failure
      this.#error(describeListenError(error, scheme, this.#config.host, port));
      return 2;
    }
    // Start-up lines are held back: on failure every worker would say the same thing once.
    const all: WorkerProcess[] = [];
    for (let n = 1; n <= this.#plan.count; n++) all.push(this.#spawn(n, true));
    const results = await Promise.allSettled(all.map((w) => w.ready));
    const failed = results.findIndex((r) => r.status === "rejected");
    if (failed >= 0) {
      for (const w of all) this.#signal(w, "SIGTERM");
      const statuses = await Promise.all(all.map((w) => w.exited));
      for (const line of all[failed].held ?? []) this.#errLine(line);
      const code = statuses[failed].code;
      return code === 0 ? 2 : code;
    }
    for (const w of all) {
      for (const line of w.held ?? []) this.#errLine(line);
      w.held = null;
    }
    for (const w of all) this.#current.set(w.worker, w);
    const first = all[0];
    const engine = first.engineLine ?? "engine: ?";
    this.#out(`${engine}; workers: ${this.#plan.count} (${this.#plan.why})`);
    this.#out(`listening on ${first.urls.get("http")}`);
    const https = first.urls.get("https");
    if (https !== undefined) this.#out(`listening on ${https}`);
    return 0;
  }

  /** Tells every worker to drain and waits for them (killing any still there after the grace). */
  async #drainAll(): Promise<void> {
    const all = [...this.#running];
    for (const w of all) {
      w.draining = true;
      this.#signal(w, "SIGTERM");
    }
    // Each worker ends itself within the grace period; a stuck one is killed a little later.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#config.shutdownGraceMs + 5_000);
    });
    await Promise.race([Promise.all(all.map((w) => w.exited)), deadline]);
    clearTimeout(timer);
    for (const w of this.#running) this.#signal(w, "SIGKILL");
    await Promise.all(all.map((w) => w.exited));
  }

  /** SIGHUP: replaces every worker, one at a time (a reload asked during one runs after it). */
  reload(): Promise<void> {
    if (this.#reloading !== null) {
      this.#reloadAgain = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      do {
        this.#reloadAgain = false;
        await this.#replaceAll();
      } while (this.#reloadAgain && !this.#stopping);
      this.#reloading = null;
    })();
    return this.#reloading;
  }

  async #replaceAll(): Promise<void> {
    this.#error(`reload: replacing ${this.#current.size} workers one at a time`);
    for (const number of [...this.#current.keys()].sort((a, b) => a - b)) {
      if (this.#stopping) return;
      const old = this.#current.get(number);
      if (old === undefined) continue;
      const fresh = this.#spawn(number);
      try {
        await fresh.ready;
      } catch {
        this.#error(`reload failed: new worker ${number} did not start; the running workers stay`);
        return;
      }
      if (this.#stopping) return;
      // The new worker accepts before the old one stops: the port is never without a listener.
      this.#current.set(number, fresh);
      if (this.#current.get(number) === fresh && old.child.pid !== fresh.child.pid) {
        old.draining = true;
        this.#signal(old, "SIGTERM");
        this.#error(`reload: worker ${number} pid ${old.child.pid} -> pid ${fresh.child.pid}`);
      }
    }
    this.#error(`reload done: ${this.#current.size} workers`);
  }

  /** Starts worker number `worker`. */
  #spawn(worker: number, holdLines = false): WorkerProcess {
    const slot = this.#table.freeSlot();
    if (slot < 0) throw new Error("no free metrics slot");
    this.#table.claim(slot, worker);
    const assignment: WorkerAssignment = {
      worker,
      slot,
      table: this.#tablePath,
      seq: this.#seqDir,
      initial: this.#spawned++ === 0,
    };
    const child = new Deno.Command(Deno.execPath(), {
      args: workerArgs(this.#entry, [...this.#args, ...this.#portArgs]),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { [WORKER_ENV]: JSON.stringify(assignment) },
    }).spawn();
    this.#table.setPid(slot, child.pid);
    const expected = this.#config.tlsPort === undefined ? 1 : 2;
    let resolveReady!: () => void;
    let rejectReady!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    ready.catch(() => {});
    const proc: WorkerProcess = {
      worker,
      slot,
      child,
      startedAt: Date.now(),
      ready,
      exited: undefined as unknown as Promise<Deno.CommandStatus>,
      urls: new Map(),
      draining: false,
      held: holdLines ? [] : null,
    };
    const onLine = (line: string) => {
      if (!line.startsWith(CONTROL_PREFIX)) {
        if (proc.held !== null) proc.held.push(line);
        else this.#errLine(line);
        return;
      }
      const text = line.slice(CONTROL_PREFIX.length);
      const listening = /^listening on (https?):\/\/\S+$/.exec(text);
      if (listening) {
        proc.urls.set(listening[1], text.slice("listening on ".length));
        if (proc.urls.size === expected) resolveReady();
      } else if (text.startsWith("engine: ")) proc.engineLine = text;
    };
    const relays = Promise.all([
      relayLines(child.stdout, this.#accessLog),
      readLines(child.stderr, onLine),
    ]);
    const startTimer = setTimeout(() => {
      rejectReady(new Error("start timeout"));
      this.#signal(proc, "SIGKILL");
    }, START_TIMEOUT_MS);
    (proc as { exited: Promise<Deno.CommandStatus> }).exited = (async () => {
      const status = await child.status;
      await relays;
      clearTimeout(startTimer);
      rejectReady(new Error(`exited (${describeStatus(status)})`));
      this.#onExit(proc, status);
      return status;
    })();
    ready.then(() => clearTimeout(startTimer), () => {});
    // stdin stays open and unused: the worker sees EOF when the supervisor is gone.
    this.#running.add(proc);
    return proc;
  }

  #onExit(proc: WorkerProcess, status: Deno.CommandStatus): void {
    this.#running.delete(proc);
    this.#table.retire(proc.slot);
    const serving = this.#current.get(proc.worker) === proc;
    if (!serving || proc.draining || this.#stopping) return;
    this.#current.delete(proc.worker);
    this.#table.countRestart();
    const lived = Date.now() - proc.startedAt;
    const deaths = lived < QUICK_DEATH_MS ? (this.#quickDeaths.get(proc.worker) ?? 0) + 1 : 0;
    this.#quickDeaths.set(proc.worker, deaths);
    const delay = deaths === 0 ? 0 : Math.min(MAX_BACKOFF_MS, 250 * 2 ** (deaths - 1));
    this.#error(
      `worker ${proc.worker} pid ${proc.child.pid} died (${describeStatus(status)}); ` +
        `restarting${delay > 0 ? ` in ${delay} ms` : ""}`,
    );
    setTimeout(() => this.#restart(proc.worker), delay);
  }

  async #restart(worker: number): Promise<void> {
    if (this.#stopping || this.#current.has(worker)) return;
    const fresh = this.#spawn(worker);
    this.#current.set(worker, fresh);
    try {
      await fresh.ready;
      this.#error(`worker ${worker} restarted: pid ${fresh.child.pid}`);
    } catch {
      // its exit handler schedules the next attempt
    }
  }

  #signal(proc: WorkerProcess, signal: Deno.Signal): void {
    try {
      proc.child.kill(signal);
    } catch { /* already gone */ }
  }

  #out(line: string): void {
    writeAllSync(this.#stdout, this.#encoder.encode(line + "\n"));
  }

  #errLine(line: string): void {
    writeAllSync(this.#stderr, this.#encoder.encode(line + "\n"));
  }

  #error(message: string): void {
    writeAllSync(this.#stderr, this.#encoder.encode(`zerocast: ${message}\n`));
  }
}

/** A path for the shared metrics table: /dev/shm when there is one, else the temp directory. */
function tablePath(): string {
  const name = `zerocast-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.metrics`;
  try {
    if (Deno.statSync("/dev/shm").isDirectory) {
      removeOrphans("/dev/shm");
      return `/dev/shm/${name}`;
    }
  } catch { /* no /dev/shm */ }
  return Deno.makeTempFileSync({ prefix: "zerocast-", suffix: ".metrics" });
}

/** Removes tables and marker directories of supervisors that were killed (SIGKILL, crash). */
function removeOrphans(dir: string): void {
  try {
    for (const entry of Deno.readDirSync(dir)) {
      const m = /^zerocast-(\d+)-[0-9a-f]{8}\.(metrics|seq)$/.exec(entry.name);
      if (m === null) continue;
      try {
        Deno.statSync(`/proc/${m[1]}`);
        continue; // its supervisor still runs
      } catch { /* gone */ }
      try {
        Deno.removeSync(`${dir}/${entry.name}`, { recursive: true });
      } catch { /* removed by another start */ }
    }
  } catch { /* cannot list: leave them */ }
}

/** `exit code 1` or `signal SIGKILL`. */
function describeStatus(status: Deno.CommandStatus): string {
  return status.signal !== null ? `signal ${status.signal}` : `exit code ${status.code}`;
}
