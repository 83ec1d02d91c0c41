/**
 * The command line that starts one worker: the same `deno` binary with the same Deno flags
 * (permissions, `--unstable-*`, V8 flags) the supervisor was started with, the same entry module
 * and the same server flags (plus `--unstable-net`, see {@linkcode workerArgs}). Read from `/proc/self/cmdline`; where that is not available, the
 * granted permissions are rebuilt as `--allow-*` flags.
 *
 * @module
 */
import { SERVER_V8_FLAGS } from "../idle_release.ts";

/** Permissions a worker may need, in `deno run` flag form. */
const PERMISSIONS = ["read", "write", "net", "env", "sys", "run", "ffi"] as const;

/** Deno's own flags before the entry module (e.g. `run --allow-net …`), as this process got them. */
export function denoFlags(): string[] {
  try {
    const argv = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
    if (argv.at(-1) === "") argv.pop();
    const tail = argv.slice(argv.length - Deno.args.length);
    const scriptIndex = argv.length - Deno.args.length - 1;
    if (scriptIndex >= 2 && tail.every((arg, i) => arg === Deno.args[i])) {
      return argv.slice(1, scriptIndex);
    }
  } catch {
    // not Linux, or no read permission for /proc: rebuild from the permissions below
  }
  const flags = ["run", "--no-prompt"];
  // the idle memory release's GC (src/server/idle_release.ts) is there only with this V8 flag
  if (typeof (globalThis as { gc?: unknown }).gc === "function") {
    flags.push(SERVER_V8_FLAGS);
  }
  for (const name of PERMISSIONS) {
    if (Deno.permissions.querySync({ name }).state === "granted") flags.push(`--allow-${name}`);
  }
  return flags;
}

/**
 * Returns `deno` arguments that run `entry` with `args` under this process's Deno flags, plus
 * `--unstable-net`: Deno 2.9 gates `reusePort` of `Deno.serve`/`Deno.listenTls` (the stream
 * engine and HTTPS in every worker) behind it.
 */
export function workerArgs(entry: string, args: readonly string[]): string[] {
  // The inspector flags belong to the supervisor: workers would fight for its port.
  const flags = denoFlags().filter((flag) => !/^--inspect(-brk|-wait)?(=|$)/.test(flag));
  if (!flags.includes("--unstable-net")) flags.splice(1, 0, "--unstable-net");
  return [...flags, entry, ...args];
}
