/**
 * `node:crypto`, loaded on first use instead of at start: importing it brings up Deno's Node
 * compatibility layer (~4 MB of resident memory, README "Memory"), which a server without
 * `--basic-auth`, `--sign-key` or `--ingest-token` never needs. `process.getBuiltinModule`
 * (Node 22.3, Deno 2) loads a built-in module synchronously, so the per-request callers stay
 * synchronous.
 *
 * @module
 */
import type * as NodeCrypto from "node:crypto";

let loaded: typeof NodeCrypto | undefined;

/** The `node:crypto` module (loaded by the first call). */
export function nodeCrypto(): typeof NodeCrypto {
  if (loaded === undefined) {
    const { process } = globalThis as unknown as {
      process: { getBuiltinModule(id: string): unknown };
    };
    loaded = process.getBuiltinModule("node:crypto") as typeof NodeCrypto;
  }
  return loaded;
}
