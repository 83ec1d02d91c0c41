/**
 * What the server loads at start (README "Memory"): `node:crypto` and `node:zlib` bring up
 * Deno's Node compatibility layer (~4 MB of resident memory), so they are loaded on first use
 * (src/auth/node_crypto.ts, src/routes/asset_store.ts), never by a static import reachable from
 * main.ts. Checked on the module graph `deno info` reports, and on the servers that need them.
 */
import assert from "node:assert/strict";

interface Dependency {
  readonly specifier: string;
  readonly code?: unknown;
  readonly isDynamic?: boolean;
}

/** Node built-ins statically imported (code, not types) anywhere in the graph of main.ts. */
async function staticNodeImports(): Promise<Map<string, string[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: new URL("../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; dependencies?: Dependency[] }[];
  };
  const found = new Map<string, string[]>();
  for (const module of graph.modules) {
    for (const dep of module.dependencies ?? []) {
      if (!dep.specifier.startsWith("node:") || dep.code === undefined || dep.isDynamic) continue;
      found.set(dep.specifier, [...found.get(dep.specifier) ?? [], module.specifier]);
    }
  }
  return found;
}

Deno.test("start-up modules: no static node:crypto or node:zlib import from main.ts", async () => {
  const found = await staticNodeImports();
  // the engine's setImmediate is there, so the check sees static node: imports at all
  assert.ok(found.has("node:timers"), `deno info lists node: imports: ${[...found.keys()]}`);
  for (const heavy of ["node:crypto", "node:zlib"]) {
    assert.equal(
      found.get(heavy),
      undefined,
      `${heavy} imported statically by ${found.get(heavy)}`,
    );
  }
});
