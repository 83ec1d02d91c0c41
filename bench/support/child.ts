/**
 * Child processes of the benchmark: servers and clients, optionally pinned to one CPU with
 * `taskset` (which execs the command, so the PID we hold is the server's own), their output
 * kept line by line, stopped by their own PID only.
 *
 * @module
 */

/** Returns true when `command` is on PATH. */
export function onPath(command: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v '${command}'`], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Options of {@linkcode spawnChild}. */
export interface SpawnOptions {
  /** CPU to pin the process (and every thread and child it starts) to; none = unpinned. */
  readonly cpu?: number;
  /** Working directory. */
  readonly cwd?: string;
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
  /** Keep stdin open as a pipe (closed by {@linkcode Child.closeStdin}). */
  readonly stdin?: boolean;
}

/** A running child process. */
export interface Child {
  /** Its PID (the command's own, also when pinned through taskset). */
  readonly pid: number;
  /** stdout lines so far. */
  readonly stdout: string[];
  /** stderr lines so far. */
  readonly stderr: string[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number>;
  /** True until the process has exited. */
  alive(): boolean;
  /** Resolves with the first stdout line (past or future) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Calls `listener` for every future stdout line. */
  onLine(listener: (line: string) => void): void;
  /** Closes its stdin (when it was opened as a pipe). */
  closeStdin(): Promise<void>;
  /** Sends `signal` to its PID, waits up to `graceMs`, then SIGKILL; resolves with the exit code. */
  stop(signal?: Deno.Signal, graceMs?: number): Promise<number>;
}

let tasksetAvailable: boolean | undefined;

/** Returns true when `taskset` (util-linux) can pin processes here. */
export function canPin(): boolean {
  tasksetAvailable ??= onPath("taskset") && navigator.hardwareConcurrency >= 2;
  return tasksetAvailable;
}

/** Starts `command args` (pinned to `options.cpu` when taskset is available). */
export function spawnChild(command: string, args: string[], options: SpawnOptions = {}): Child {
  const pinned = options.cpu !== undefined && canPin();
  const process = new Deno.Command(pinned ? "taskset" : command, {
    args: pinned ? ["-c", String(options.cpu), command, ...args] : args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  let running = true;
  const exited = process.status.then((status) => {
    running = false;
    return status.code;
  });
  const pump = async (stream: ReadableStream<Uint8Array>, sink: string[], notify: boolean) => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, newline);
        rest = rest.slice(newline + 1);
        sink.push(line);
        if (notify) { for (const listener of listeners) listener(line); }
      }
    }
    if (rest !== "") {
      sink.push(rest);
      if (notify) { for (const listener of listeners) listener(rest); }
    }
  };
  const pumps = Promise.all([
    pump(process.stdout, stdout, true),
    pump(process.stderr, stderr, false),
  ]).catch(() => {});
  let stdinClosed = !options.stdin;
  let stopping: Promise<number> | undefined;

  const child: Child = {
    pid: process.pid,
    stdout,
    stderr,
    exited: exited.then(async (code) => {
      await pumps;
      return code;
    }),
    alive: () => running,
    waitForLine(pattern, timeoutMs) {
      for (const line of stdout) {
        const match = pattern.exec(line);
        if (match) return Promise.resolve(match);
      }
      return new Promise((resolve, reject) => {
        let done = false;
        const timer = setTimeout(
          () => finish(new Error(`timed out waiting for ${pattern}`)),
          timeoutMs,
        );
        const finish = (error: Error | null, match?: RegExpExecArray) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(match!);
        };
        listeners.push((line) => {
          const match = pattern.exec(line);
          if (match) finish(null, match);
        });
        exited.then(() => pumps).then(() => {
          const tail = [...stdout.slice(-5), ...stderr.slice(-20)].join("\n");
          finish(new Error(`process exited while waiting for ${pattern}:\n${tail}`));
        });
      });
    },
    onLine(listener) {
      listeners.push(listener);
    },
    async closeStdin() {
      if (stdinClosed) return;
      stdinClosed = true;
      await process.stdin.close().catch(() => {});
    },
    stop(signal: Deno.Signal = "SIGTERM", graceMs = 5000) {
      stopping ??= (async () => {
        if (!stdinClosed) await child.closeStdin();
        if (running) {
          try {
            Deno.kill(process.pid, signal);
          } catch { /* already gone */ }
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = await Promise.race([
          exited.then(() => false),
          new Promise<boolean>((r) => timer = setTimeout(() => r(true), graceMs)),
        ]);
        clearTimeout(timer);
        if (late && running) {
          try {
            Deno.kill(process.pid, "SIGKILL");
          } catch { /* already gone */ }
        }
        const code = await exited;
        await pumps;
        return code;
      })();
      return stopping;
    },
  };
  return child;
}
