/** The connection deadline table (src/server/engine/deadlines.ts), with a fake clock. */
import assert from "node:assert/strict";
import { Deadline, DEADLINE_TRANSITIONS } from "../src/server/engine/deadlines.ts";

const TIMEOUTS = { header: 100, idle: 200, body: 300, send: 400, linger: 500 };

function deadline(): { d: Deadline; tick: (ms: number) => void } {
  let now = 1_000;
  const d = new Deadline(TIMEOUTS, () => now);
  return { d, tick: (ms) => now += ms };
}

Deno.test("deadlines: a keep-alive request's life follows the table", () => {
  const { d, tick } = deadline();
  assert.equal(d.kind, "none");
  assert.equal(d.at, 0);
  d.on("accepted");
  assert.deepEqual([d.kind, d.at], ["header", 1_100]);
  tick(10);
  assert.equal(d.on("head-bytes"), false, "head-bytes only restarts an idle wait");
  assert.deepEqual([d.kind, d.at], ["header", 1_100]);
  d.on("exchange");
  assert.deepEqual([d.kind, d.at], ["none", 0]);
  d.on("sending");
  assert.deepEqual([d.kind, d.at], ["send", 1_410]);
  tick(5);
  d.on("send-progress");
  assert.equal(d.at, 1_415);
  d.on("written");
  assert.deepEqual([d.kind, d.at], ["none", 0]);
  d.on("keep-alive");
  assert.deepEqual([d.kind, d.at], ["idle", 1_215]);
  tick(1);
  assert.equal(d.on("head-bytes"), true);
  assert.deepEqual([d.kind, d.at], ["header", 1_116]);
  d.on("linger");
  assert.deepEqual([d.kind, d.at], ["linger", 1_516]);
});

Deno.test("deadlines: body waits take the given idle time; rows apply only where listed", () => {
  const { d, tick } = deadline();
  d.on("exchange");
  d.on("body-wait");
  assert.deepEqual([d.kind, d.at], ["body", 1_300]);
  tick(7);
  d.on("body-progress", 50);
  assert.deepEqual([d.kind, d.at], ["body", 1_057]);
  assert.equal(d.on("send-progress"), false, "send-progress outside a send wait");
  assert.equal(d.on("written"), false, "written outside a send wait");
  assert.equal(d.kind, "body");
  d.on("body-done");
  assert.deepEqual([d.kind, d.at], ["none", 0]);
  assert.equal(d.on("body-done"), false);
  // every event has a row
  for (const row of Object.values(DEADLINE_TRANSITIONS)) assert.equal(row.length, 2);
});
