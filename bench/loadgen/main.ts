/**
 * Entry point of the load client subprocess. Run by {@link ./run.ts}; one JSON argument:
 * `{"mode":"load", ...LoadOptions}` or `{"mode":"hold","hostname","port","path","count"}`.
 *
 * Protocol on stdout, one line each: `measure-start`, `measure-end`, then `result <json>`
 * (load); `holding <n>`, then it waits until stdin is closed (hold).
 *
 * @module
 */
import { type LoadOptions, runLoad } from "./client.ts";
import { holdConnections } from "./hold.ts";

/** The JSON argument of a hold run. */
interface HoldRequest {
  readonly mode: "hold";
  readonly hostname: string;
  readonly port: number;
  readonly path: string;
  readonly count: number;
}

/** The JSON argument of a load run. */
type LoadRequest = { readonly mode: "load" } & LoadOptions;

const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(`${line}\n`));

async function main(): Promise<void> {
  const request = JSON.parse(Deno.args[0]) as LoadRequest | HoldRequest;
  if (request.mode === "hold") {
    const held = holdConnections(request.hostname, request.port, request.path, request.count);
    say(`holding ${held.count}`);
    for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
    held.close();
    return;
  }
  const result = runLoad({
    ...request,
    onMeasureStart: () => say("measure-start"),
    onMeasureEnd: () => say("measure-end"),
  });
  say(`result ${JSON.stringify(result)}`);
}

if (import.meta.main) await main();
