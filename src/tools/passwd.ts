/**
 * `deno task passwd [--user NAME] [--iterations N]`: reads a password and prints the hash for
 * `--basic-auth` (`pbkdf2-sha256$ITERATIONS$SALT$HASH`, see `src/auth/basic_auth.ts`), or
 * `NAME:HASH` with `--user`. On a terminal the password is asked twice without echo; otherwise it
 * is read from stdin (one trailing newline removed), e.g. `printf %s "$PW" | deno task passwd`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  DEFAULT_ITERATIONS,
  makePasswordHash,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
} from "../auth/basic_auth.ts";

/** Reads one line from a terminal without echoing it. */
async function readHidden(question: string): Promise<string> {
  const encoder = new TextEncoder();
  // Raw (no echo) before the question shows, so nothing typed after it is ever echoed.
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  try {
    await Deno.stderr.write(encoder.encode(question));
    const buffer = new Uint8Array(1);
    while (true) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      const b = buffer[0];
      if (b === 0x0d || b === 0x0a) break;
      if (b === 0x03) throw new Error("cancelled");
      if (b === 0x7f || b === 0x08) bytes.pop();
      else bytes.push(b);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Reads the password from the terminal (twice) or from stdin. */
async function readPassword(): Promise<string> {
  if (Deno.stdin.isTerminal()) {
    const first = await readHidden("password: ");
    const second = await readHidden("again: ");
    if (first !== second) throw new Error("the passwords differ");
    return first;
  }
  const text = new TextDecoder().decode(await new Response(Deno.stdin.readable).arrayBuffer());
  return text.replace(/\r?\n$/, "");
}

async function main(): Promise<number> {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      strict: true,
      allowPositionals: false,
      options: { user: { type: "string" }, iterations: { type: "string" } },
    });
    const user = values.user;
    if (user !== undefined && (user === "" || user.includes(":"))) {
      throw new Error("--user must be non-empty and contain no ':' (RFC 7617 §2)");
    }
    const iterations = Number(values.iterations ?? DEFAULT_ITERATIONS);
    if (
      !Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS
    ) {
      throw new Error(`--iterations must be ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`);
    }
    const password = await readPassword();
    if (password === "") throw new Error("empty password");
    const hash = await makePasswordHash(password, iterations);
    console.log(user === undefined ? hash : `${user}:${hash}`);
    return 0;
  } catch (error) {
    console.error(`passwd: ${error instanceof Error ? error.message.split("\n")[0] : error}`);
    return 2;
  }
}

if (import.meta.main) Deno.exit(await main());
