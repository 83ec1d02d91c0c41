/**
 * CPU per request of the zero-copy engine's request path without sockets: parse the head, answer
 * through the app's file route (path checks, stat, RFC rules, header values), plan the response
 * and serialize its head into a staging buffer — everything the engine does per request except
 * the send/sendfile syscalls. Eight requests share a stat window, as in a batch under load.
 * Process CPU time (`process.cpuUsage`), so other load on the machine changes little; the least
 * of nine rounds is printed per stage (differences between stages are the cost of each).
 *
 * `deno run -A bench/request_cost.ts [requests per round]`
 *
 * @module
 */
import process from "node:process";
import { createApp } from "../src/app.ts";
import { fileRouteOf } from "../src/file_route.ts";
import { parseRequestHead, writeResponseHead } from "../src/http1/mod.ts";
import { Exchange } from "../src/server/engine/exchange.ts";
import { planAnswer } from "../src/server/engine/response_plan.ts";
import { closeStatWindow, openStatWindow } from "../src/media/stat.ts";
import { ensureDataFile, MiB } from "./support/data.ts";

const FILE = { name: "64m.bin", size: 64 * MiB };
const path = await ensureDataFile(FILE.name, FILE.size);
const root = Deno.realPathSync(path.slice(0, path.lastIndexOf("/")));
const app = createApp({ root });
const route = fileRouteOf(app)!;
const staging = new Uint8Array(128 * 1024);
const encoder = new TextEncoder();
const N = Number(Deno.args[0] ?? 30_000);
const RANGE = 64 * 1024;

const heads = Array.from({ length: 256 }, (_, i) => {
  const start = (i * 7919 * RANGE) % (FILE.size - RANGE);
  return encoder.encode(
    `GET /media/${FILE.name} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n` +
      `Range: bytes=${start}-${start + RANGE - 1}\r\n\r\n`,
  );
});

/** One request up to `stage`: 1 parse, 2 + answer, 3 + plan, 4 + head. */
function request(i: number, stage: number): void {
  const buf = heads[i & 255];
  const parsed = parseRequestHead(buf, 0, buf.length);
  if (parsed.kind !== "head") throw new Error("unparsable head");
  if (stage === 1) return;
  const head = parsed.head;
  // the engine answers a batch's requests in one stat window (src/media/stat.ts): 8 per batch
  if ((i & 7) === 0) {
    closeStatWindow();
    openStatWindow();
  }
  const answer = route.answer(new Exchange(head, null, false)); // --quiet: no clock read
  if (answer === null || answer.status !== 206) throw new Error("no 206 answer");
  if (stage === 2) return;
  const plan = planAnswer(answer, { method: "GET", versionMinor: 1, keepAlive: true });
  if (stage === 3) return;
  if (writeResponseHead(staging, 0, plan.status, plan.fields, plan.head) < 0) throw new Error();
}

const names = ["parse head", "+ file route answer", "+ response plan", "+ head serialized"];
let previous = 0;
for (let stage = 1; stage <= 4; stage++) {
  for (let i = 0; i < 5_000; i++) request(i, stage);
  let best = Infinity;
  for (let round = 0; round < 9; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < N; i++) request(i, stage);
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / N);
  }
  console.log(
    `${names[stage - 1].padEnd(22)} ${best.toFixed(2).padStart(6)} µs/request ` +
      `(this stage ${(best - previous).toFixed(2)})`,
  );
  previous = best;
}
