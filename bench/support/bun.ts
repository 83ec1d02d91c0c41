/**
 * Finds Bun for the Bun peer: `bun` on PATH, else the npm package `bun` installed once with npm
 * into `bench/data/bun/` (git-ignored; the package ships the Linux binary as an optional
 * dependency from the npm registry).
 *
 * @module
 */
import { onPath } from "./child.ts";

/** Where the npm-installed Bun lives. */
const PREFIX = new URL("../data/bun/", import.meta.url).pathname;
const INSTALLED = `${PREFIX}node_modules/.bin/bun`;

/** The npm version range installed. */
export const BUN_NPM_SPEC = "bun@1";

function works(path: string): string | null {
  try {
    const out = new Deno.Command(path, { args: ["--version"], stdout: "piped", stderr: "null" })
      .outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** Returns the path and version of a working Bun, installing it with npm when needed. */
export async function ensureBun(log: (line: string) => void): Promise<
  { path: string; version: string } | { error: string }
> {
  if (onPath("bun")) {
    const version = works("bun");
    if (version !== null) return { path: "bun", version };
  }
  let version = works(INSTALLED);
  if (version !== null) return { path: INSTALLED, version };
  if (!onPath("npm")) return { error: "bun not on PATH and npm not available to install it" };
  log(`installing ${BUN_NPM_SPEC} with npm into ${PREFIX} (once)...`);
  await Deno.mkdir(PREFIX, { recursive: true });
  const out = await new Deno.Command("npm", {
    args: ["install", "--no-audit", "--no-fund", "--prefix", PREFIX, BUN_NPM_SPEC],
    stdout: "piped",
    stderr: "piped",
  }).output();
  version = works(INSTALLED);
  if (!out.success || version === null) {
    return { error: `npm install ${BUN_NPM_SPEC} failed: ${new TextDecoder().decode(out.stderr)}` };
  }
  return { path: INSTALLED, version };
}
