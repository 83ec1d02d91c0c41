/**
 * Runs the load client ({@link ./main.ts}) as a separate Deno process, so it never shares the
 * server's thread, and lets the caller sample the server exactly when the measured window
 * starts and ends.
 *
 * @module
 */
import { type Child, spawnChild } from "../support/child.ts";
import type { LoadOptions, LoadResult } from "./client.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

/** Load options that can cross a process boundary (no callbacks). */
export type LoadSpec = Omit<LoadOptions, "onMeasureStart" | "onMeasureEnd">;

/** Callbacks at the edges of the measured window (called in this process). */
export interface WindowHooks {
  /** The client has finished warming up and starts counting. */
  readonly onMeasureStart?: () => void;
  /** The client has stopped counting. */
  readonly onMeasureEnd?: () => void;
}

function spawnLoadgen(request: unknown, cpu: number | undefined, stdin: boolean): Child {
  return spawnChild(
    Deno.execPath(),
    ["run", "--allow-all", "--quiet", MAIN, JSON.stringify(request)],
    { cpu, stdin },
  );
}

/** Runs one load in a subprocess (pinned to `cpu` when given) and returns its result. */
export async function runLoadProcess(
  spec: LoadSpec,
  hooks: WindowHooks = {},
  cpu?: number,
): Promise<LoadResult> {
  const child = spawnLoadgen({ mode: "load", ...spec }, cpu, false);
  child.onLine((line) => {
    if (line === "measure-start") hooks.onMeasureStart?.();
    else if (line === "measure-end") hooks.onMeasureEnd?.();
  });
  const timeoutMs = (spec.warmupSeconds + spec.durationSeconds) * 1000 + 60_000;
  try {
    const match = await child.waitForLine(/^result (.*)$/, timeoutMs);
    await child.exited;
    return JSON.parse(match[1]) as LoadResult;
  } catch (error) {
    throw new Error(`load client failed: ${error}\n${child.stderr.join("\n")}`);
  } finally {
    await child.stop();
  }
}

/** Connections held open by a load client subprocess. */
export interface HeldProcess {
  /** Number of connections open. */
  readonly count: number;
  /** Closes them and ends the subprocess. */
  release(): Promise<void>;
}

/** Opens `count` keep-alive connections (one `GET path` done on each) and keeps them open. */
export async function holdConnectionsProcess(
  hostname: string,
  port: number,
  path: string,
  count: number,
  cpu?: number,
): Promise<HeldProcess> {
  const child = spawnLoadgen({ mode: "hold", hostname, port, path, count }, cpu, true);
  try {
    const match = await child.waitForLine(/^holding (\d+)$/, 60_000);
    return {
      count: Number(match[1]),
      release: async () => {
        await child.closeStdin();
        await child.stop();
      },
    };
  } catch (error) {
    await child.stop();
    throw new Error(`holding connections failed: ${error}\n${child.stderr.join("\n")}`);
  }
}
