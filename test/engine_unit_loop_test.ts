/**
 * The epoll loop (src/server/engine/loop.ts) with eventfds instead of sockets: under continuous
 * readiness it polls several times in a row (`syncRounds`) but still yields to the JS event loop,
 * so timers and promise continuations run; answers queued with `afterEvents` run after every
 * handler of the batch, inside the after-events phase.
 */
import assert from "node:assert/strict";
import { libc } from "../ffi/libc.ts";
import { EFD_CLOEXEC, EFD_NONBLOCK, EPOLLIN } from "../ffi/constants.ts";
import { EpollLoop } from "../src/server/engine/loop.ts";

/** A level-triggered eventfd that stays readable: every poll reports it. */
function alwaysReady(): number {
  const fd = libc().eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
  assert.ok(fd >= 0);
  return fd;
}

for (const syncRounds of [1, 4]) {
  Deno.test(`loop: timers still run while every poll finds events (syncRounds ${syncRounds})`, async () => {
    let events = 0;
    const order: string[] = [];
    const loop = new EpollLoop({
      syncRounds,
      afterEventsPhase: { begin: () => order.push("begin"), end: () => order.push("end") },
    });
    const fd = alwaysReady();
    loop.add(fd, EPOLLIN, {
      onEpollEvent: () => {
        events++;
        if (events === 1) {
          loop.afterEvents(() => order.push("after"));
          order.push("handler");
        }
      },
    });
    loop.start();
    try {
      // a timer and a promise continuation get their turn although the fd never stops being ready
      await new Promise((resolve) => setTimeout(resolve, 5));
      await Promise.resolve();
      assert.ok(events > 0);
      assert.deepEqual(order.slice(0, 4), ["handler", "begin", "after", "end"]);
    } finally {
      loop.remove(fd);
      await loop.close();
      libc().close(fd);
    }
  });
}

Deno.test("loop: a client in the same isolate does not pay a blocking wait per request", async () => {
  // The client below can only write while the JS thread is free, so every blocking wait of the
  // loop times out: without the back-off each of the 40 requests would pay one (40 x 30 ms).
  const c = libc();
  const loop = new EpollLoop({ spinMs: 0, blockMs: 30 });
  const fd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  assert.ok(fd >= 0);
  const counter = new Uint8Array(8);
  const one = new Uint8Array(new BigUint64Array([1n]).buffer);
  let answered: (() => void) | null = null;
  loop.add(fd, EPOLLIN, {
    onEpollEvent: () => {
      while (c.read(fd, counter, 8n) > 0) { /* drain */ }
      answered?.();
    },
  });
  loop.start();
  try {
    for (let i = 0; i < 40; i++) {
      // the client's next write waits for a timer, as a socket client waits for its I/O
      await new Promise((resolve) => setTimeout(resolve, 0));
      const done = new Promise<void>((resolve) => answered = resolve);
      assert.equal(c.write(fd, one, 8n), 8);
      await done;
    }
    // back-off 1, 2, 4, 8, 16 idle periods after each timed-out wait: at most 6 in 40 requests
    assert.ok(loop.blockTimeouts >= 1, "the loop did block");
    assert.ok(loop.blockTimeouts <= 6, `timed-out blocking waits: ${loop.blockTimeouts}`);
  } finally {
    loop.remove(fd);
    await loop.close();
    c.close(fd);
  }
});
