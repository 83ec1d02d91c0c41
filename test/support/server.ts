/**
 * Starts `main.ts` as a real subprocess on ephemeral loopback ports and waits for its
 * `listening on ...` lines, so integration tests talk to the server exactly as users do.
 *
 * @module
 */

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Engines every engine-agnostic integration suite runs against. */
export const ENGINES: readonly Engine[] = ["stream", "zero-copy"];

/** Which server runs the app. */
export type Engine = "stream" | "zero-copy";

/** Options of {@linkcode startServer}. */
export interface StartOptions {
  /** Media root (default: the repo's `media/`). */
  root?: string;
  /** `--engine` value; omitted when undefined. */
  engine?: Engine;
  /** Start an HTTPS listener too with this cert/key pair. */
  tls?: { cert: string; key: string };
  /** More CLI flags. */
  args?: string[];
  /** Keep the access log (default: `--quiet`). */
  log?: boolean;
  /** Environment for the child. */
  env?: Record<string, string>;
  /** Program to run instead of main.ts (a test fixture with main.ts's flags). */
  entry?: string;
}

/** A running server process. */
export interface RunningServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `https://127.0.0.1:PORT` when TLS was requested. */
  readonly httpsUrl?: string;
  /** The child process. */
  readonly process: Deno.ChildProcess;
  /** Every stdout line so far (access log lines included). */
  readonly stdout: string[];
  /** Every stderr line so far. */
  readonly stderr: string[];
  /** SIGTERM, then waits for exit; resolves to the exit code. */
  close(): Promise<number>;
}

/** Starts the server and resolves once every listener has printed its `listening on` line. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const args = ["run", "--allow-all", options.entry ?? MAIN, "--host", "127.0.0.1", "--port", "0"];
  if (options.root !== undefined) args.push("--root", options.root);
  if (options.engine !== undefined) args.push("--engine", options.engine);
  if (options.tls) {
    args.push("--tls-port", "0", "--cert", options.tls.cert, "--key", options.tls.key);
  }
  if (!options.log) args.push("--quiet");
  args.push(...(options.args ?? []));
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const wanted = options.tls ? 2 : 1;
  let http: string | undefined;
  let https: string | undefined;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => resolveReady = r);
  const pump = async (stream: ReadableStream<Uint8Array>, sink: string[], watch: boolean) => {
    let rest = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        sink.push(line);
        if (watch) {
          const m = /^listening on (https?):\/\/(\S+)/.exec(line);
          if (m) {
            if (m[1] === "http") http = `http://${m[2]}`;
            else https = `https://${m[2]}`;
            if ((http ? 1 : 0) + (https ? 1 : 0) === wanted) resolveReady();
          }
        }
      }
    }
    if (rest) sink.push(rest);
  };
  const pumps = Promise.all([pump(child.stdout, stdout, true), pump(child.stderr, stderr, false)]);
  const exited = child.status.then((s) => s.code);
  const result = await Promise.race([
    ready.then(() => "ready" as const),
    exited.then(() => "exited" as const),
    new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 20_000)),
  ]);
  if (result !== "ready") {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await pumps.catch(() => {});
    throw new Error(
      `server did not start (${result}):\n${stdout.join("\n")}\n${stderr.join("\n")}`,
    );
  }
  let closing: Promise<number> | undefined;
  return {
    url: http!,
    httpsUrl: https,
    process: child,
    stdout,
    stderr,
    close() {
      closing ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        const code = await exited;
        await pumps.catch(() => {});
        return code;
      })();
      return closing;
    },
  };
}

/** Runs curl with `args` and returns status, stdout bytes and stderr text. */
export async function curl(
  args: string[],
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const out = await new Deno.Command("curl", { args: ["-sS", ...args], stdin: "null" }).output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

/** Returns true when `cmd` is on PATH. */
export function have(cmd: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
