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
