/**
 * The edge-triggered epoll loop of the zero-copy engine.
 *
 * Two modes:
 * - busy: `epoll_wait(timeout 0)` called synchronously, events dispatched, deferred tasks run,
 *   then the loop yields to the JS event loop ({@linkcode yieldToEventLoop}) so timers, promise
 *   continuations and async app handlers run between batches, and polls again;
 * - idle: when a poll found nothing and no task is deferred, one `epoll_wait(timeout -1)` runs on
 *   a worker thread (`nonblocking: true`), so the JS event loop is free while no socket is ready.
 *   Deferring a task or stopping the loop writes to an eventfd to end that wait.
 *
 * Handlers are registered per fd; the fd is the epoll token. fd numbers are reused at once after
 * close, so handlers must never act on a closed connection (connections check their own state).
 *
 * @module
 */
import { errno, libc, type LibcSymbols } from "../../../ffi/libc.ts";
import {
  EAGAIN,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EINTR,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLLET,
  EPOLLIN,
  errnoName,
} from "../../../ffi/constants.ts";
import {
  EPOLL_EVENT_SIZE,
  epollEvents,
  epollToken,
  writeEpollEvent,
} from "../../../ffi/structs.ts";
import { yieldToEventLoop } from "./yield.ts";
import { SETTINGS } from "../../settings.ts";

/** Something that reacts to readiness of one fd. */
export interface EpollHandler {
  /** Called with the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLERR, EPOLLHUP...). */
  onEpollEvent(events: number): void;
}

/** Error of a failed libc call, with its errno. */
export class SyscallError extends Error {
  /** Creates the error for `call` failing with `code`. */
  constructor(readonly call: string, readonly code: number) {
    super(`${call} failed: ${errnoName(code)}`);
    this.name = "SyscallError";
  }
}

/** Options of {@linkcode EpollLoop}. */
export interface EpollLoopOptions {
  /** Most events taken per epoll_wait (default 512). */
  readonly maxEvents?: number;
  /**
   * How long the loop keeps polling (yielding between polls) after the last event before it
   * blocks in the off-thread epoll_wait (default 0.2 ms). Going idle and waking again costs
   * ~80-160 µs of CPU here (a thread hand-off and a runtime wake-up), so under load a short spin
   * keeps the loop busy and catches a client's next request without that latency.
   */
  readonly spinMs?: number;
  /**
   * When nothing is ready and no JS work the loop waits for is in flight (see `jsPending`),
   * block in epoll_wait on the JS thread for up to this long before going idle off-thread
   * (default 0: off). Measured here: an off-thread wait costs ~80-160 µs of CPU per wake-up, a
   * blocking wait ~40 µs. Timers and other async work run between such waits, at most this much
   * late; a wait that times out backs off (1, 2, 4 ... 64 idle periods off-thread).
   */
  readonly blockMs?: number;
  /**
   * Polls in a row, each finding events, before the loop yields to the JS event loop (default
   * 4; 1 = yield after every batch; see `EngineOptions.syncRounds`).
   */
  readonly syncRounds?: number;
  /** True while JS work the server waits for is in flight (app promises, stream reads). */
  readonly jsPending?: () => boolean;
  /** Called when a handler throws; the loop keeps running. */
  readonly onError?: (error: unknown) => void;
  /**
   * Brackets the run of a batch's {@linkcode EpollLoop.afterEvents} tasks, which only answer
   * requests already read (the engine opens a stat window there: src/media/stat.ts).
   */
  readonly afterEventsPhase?: { begin(): void; end(): void };
}

/** Most idle periods the loop waits off-thread after a blocking wait that timed out. */
export const MAX_BLOCK_BACKOFF = 64;

/** An epoll instance driving registered handlers, cooperating with the JS event loop. */
export class EpollLoop {
  /** The epoll fd. */
  readonly epfd: number;
  readonly #c: LibcSymbols = libc();
  readonly #wakeFd: number;
  readonly #wakeBuf = new Uint8Array(new BigUint64Array([1n]).buffer);
  readonly #handlers: (EpollHandler | undefined)[] = [];
  readonly #maxEvents: number;
  readonly #syncEvents: Uint8Array;
  readonly #syncView: DataView;
  readonly #asyncEvents: Uint8Array;
  readonly #asyncView: DataView;
  readonly #ctl = new Uint8Array(EPOLL_EVENT_SIZE * 2);
  readonly #ctlView = new DataView(this.#ctl.buffer);
  readonly #spinMs: number;
  readonly #blockMs: number;
  readonly #jsPending: () => boolean;
  /**
   * Idle periods left to wait off-thread before the loop blocks on the JS thread again: 0 while
   * blocking waits end with events; after one that timed out (nothing came: a quiet server, or a
   * client in this isolate that cannot run while the thread is blocked) it doubles, up to
   * {@linkcode MAX_BLOCK_BACKOFF}, so such a client pays one timed-out wait per that many idle
   * periods, not one per request.
   */
  #blockSkip = 0;
  #blockBackoff = 0;
  #blockTimeouts = 0;
  readonly #onError: (error: unknown) => void;
  readonly #phase: { begin(): void; end(): void } | undefined;
  readonly #syncRounds: number;
  #deferred: (() => void)[] = [];
  #afterEvents: (() => void)[] = [];
  #dispatching = false;
  #running = false;
  #idle = false;
  #woken = false;
  #lastActive = 0;
  #scheduled = false;
  #stopped: Promise<void> | null = null;
  #resolveStopped: (() => void) | null = null;
  #closed = false;

  /** Creates the epoll instance and its wake-up eventfd. */
  constructor(options: EpollLoopOptions = {}) {
    this.#maxEvents = options.maxEvents ?? 512;
    this.#spinMs = options.spinMs ?? SETTINGS.spinMs.default;
    this.#blockMs = options.blockMs ?? SETTINGS.blockMs.default;
    this.#jsPending = options.jsPending ?? (() => false);
    this.#phase = options.afterEventsPhase;
    this.#syncRounds = options.syncRounds ?? SETTINGS.syncRounds.default;
    this.#onError = options.onError ??
      ((error) => console.error("zerocast engine: handler error:", error));
    this.#syncEvents = new Uint8Array(this.#maxEvents * EPOLL_EVENT_SIZE);
    this.#syncView = new DataView(this.#syncEvents.buffer);
    this.#asyncEvents = new Uint8Array(this.#maxEvents * EPOLL_EVENT_SIZE);
    this.#asyncView = new DataView(this.#asyncEvents.buffer);
    const epfd = this.#c.epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) throw new SyscallError("epoll_create1", errno());
    this.epfd = epfd;
    const wakeFd = this.#c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd < 0) {
      const code = errno();
      this.#c.close(epfd);
      throw new SyscallError("eventfd", code);
    }
    this.#wakeFd = wakeFd;
    const drain = new Uint8Array(8);
    this.add(wakeFd, EPOLLIN | EPOLLET, {
      onEpollEvent: () => {
        this.#woken = false;
        while (this.#c.read(wakeFd, drain, 8n) > 0) { /* drain the counter */ }
      },
    });
  }

  /** Blocking waits (`blockMs`) that timed out with nothing ready: for tests and diagnostics. */
  get blockTimeouts(): number {
    return this.#blockTimeouts;
  }

  /** Registers `handler` for `fd` with the `events` mask; throws on failure. */
  add(fd: number, events: number, handler: EpollHandler): void {
    writeEpollEvent(this.#ctlView, 0, events, fd);
    if (this.#c.epoll_ctl(this.epfd, EPOLL_CTL_ADD, fd, this.#ctl) < 0) {
      throw new SyscallError("epoll_ctl(ADD)", errno());
    }
    this.#handlers[fd] = handler;
  }

  /** Changes the event mask of a registered fd. */
  modify(fd: number, events: number): void {
    writeEpollEvent(this.#ctlView, 0, events, fd);
    if (this.#c.epoll_ctl(this.epfd, EPOLL_CTL_MOD, fd, this.#ctl) < 0) {
      throw new SyscallError("epoll_ctl(MOD)", errno());
    }
  }

  /** Unregisters `fd` (call before closing it; closing alone also removes it from epoll). */
  remove(fd: number): void {
    if (this.#handlers[fd] !== undefined) this.#handlers[fd] = undefined;
    this.#c.epoll_ctl(this.epfd, EPOLL_CTL_DEL, fd, this.#ctl);
  }

  /** Forgets the handler of `fd` without a syscall (the fd is being closed). */
  forget(fd: number): void {
    this.#handlers[fd] = undefined;
  }

  /** Runs `task` in the next batch, after yielding to the event loop. */
  defer(task: () => void): void {
    this.#deferred.push(task);
    this.#wake();
  }

  /** Makes sure the loop polls soon (e.g. after async work changed what a handler wants). */
  nudge(): void {
    this.#wake();
  }

  /** Starts polling. */
  start(): void {
    if (this.#running || this.#closed) return;
    this.#running = true;
    this.#stopped = new Promise((resolve) => this.#resolveStopped = resolve);
    this.#schedule();
  }

  /** Stops polling; resolves once no epoll_wait is in flight. Handlers stay registered. */
  stop(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    this.#running = false;
    this.#wake();
    if (!this.#idle && !this.#scheduled) this.#finish();
    return this.#stopped!;
  }

  /** Stops, then closes the epoll fd and the eventfd. */
  async close(): Promise<void> {
    await this.stop();
    if (this.#closed) return;
    this.#closed = true;
    this.#c.close(this.#wakeFd);
    this.#c.close(this.epfd);
  }

  #finish(): void {
    const resolve = this.#resolveStopped;
    this.#resolveStopped = null;
    resolve?.();
  }

  #wake(): void {
    if (this.#idle && !this.#woken) {
      this.#woken = true;
      this.#c.write(this.#wakeFd, this.#wakeBuf, 8n);
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    yieldToEventLoop(this.#batch);
  }

  readonly #batch = (): void => {
    this.#scheduled = false;
    if (!this.#running) {
      this.#finish();
      return;
    }
    // tasks deferred while this batch runs wait for the next one (one write chunk per turn)
    const tasks = this.#takeDeferred();
    let n = this.#c.epoll_wait(this.epfd, this.#syncEvents, this.#maxEvents, 0);
    if (n < 0) {
      const code = errno();
      if (code !== EINTR && code !== EAGAIN) throw new SyscallError("epoll_wait", code);
      n = 0;
    }
    this.#dispatch(this.#syncView, n);
    const ran = this.#run(tasks);
    // Under load every poll finds a batch: poll again at once, without a turn of the JS event
    // loop (a turn costs about as much as a dozen requests), while nothing asynchronous waits
    // for that turn (app promises, stream reads, deferred writes), a few times at most, so
    // timers and other JS work are never held back for long.
    for (let round = 1; n > 0 && round < this.#syncRounds; round++) {
      if (this.#deferred.length > 0 || this.#jsPending()) break;
      n = this.#c.epoll_wait(this.epfd, this.#syncEvents, this.#maxEvents, 0);
      if (n <= 0) {
        n = 1; // EINTR or nothing now: the loop is still busy, schedule as for a batch
        break;
      }
      this.#dispatch(this.#syncView, n);
    }
    if (n > 0 || ran || this.#deferred.length > 0) {
      this.#lastActive = performance.now();
      this.#schedule();
    } else if (performance.now() - this.#lastActive < this.#spinMs) {
      // a short spin first: the next request of a busy client usually comes within it, and
      // polling catches it without the wake-up latency of a sleeping thread
      this.#schedule();
    } else if (this.#blockMs > 0 && this.#blockSkip === 0 && !this.#jsPending()) {
      this.#block();
    } else {
      if (this.#blockSkip > 0) this.#blockSkip--;
      void this.#waitIdle();
    }
  };

  /**
   * Blocks on the JS thread for up to `blockMs` waiting for events and handles them; while each
   * wait finds events and nothing asynchronous waits for a turn of the JS event loop, it waits
   * again at once, up to `syncRounds` times, then yields. A wait that times out backs off (see
   * `#blockSkip`): the next idle periods go off-thread, so a quiet server does not wake every
   * `blockMs` and other JS work is never held back for long.
   */
  #block(): void {
    for (let round = 1;; round++) {
      let n = this.#c.epoll_wait(this.epfd, this.#syncEvents, this.#maxEvents, this.#blockMs);
      if (n < 0) n = 0; // EINTR: treat as a timeout
      if (n === 0) {
        this.#blockTimeouts++;
        this.#blockBackoff = Math.min(MAX_BLOCK_BACKOFF, Math.max(1, this.#blockBackoff * 2));
        this.#blockSkip = this.#blockBackoff;
        break;
      }
      this.#blockBackoff = 0;
      this.#dispatch(this.#syncView, n);
      this.#lastActive = performance.now();
      if (round >= this.#syncRounds || this.#deferred.length > 0 || this.#jsPending()) break;
    }
    this.#schedule();
  }

  async #waitIdle(): Promise<void> {
    this.#idle = true;
    let n: number;
    try {
      n = await this.#c.epoll_wait_async(this.epfd, this.#asyncEvents, this.#maxEvents, -1);
    } finally {
      this.#idle = false;
      this.#woken = false;
    }
    if (!this.#running) {
      this.#finish();
      return;
    }
    // errno is not readable after a call on another thread; a failed wait (EINTR) is retried
    const tasks = this.#takeDeferred();
    if (n > 0) this.#dispatch(this.#asyncView, n);
    this.#run(tasks);
    this.#lastActive = performance.now();
    this.#schedule();
  }

  #dispatch(view: DataView, n: number): void {
    this.#dispatching = true;
    try {
      for (let i = 0; i < n; i++) {
        const handler = this.#handlers[epollToken(view, i)];
        if (handler === undefined) continue;
        try {
          handler.onEpollEvent(epollEvents(view, i));
        } catch (error) {
          this.#onError(error);
        }
      }
    } finally {
      this.#dispatching = false;
    }
    if (this.#afterEvents.length > 0) {
      const tasks = this.#afterEvents;
      this.#afterEvents = [];
      const phase = this.#phase;
      if (phase === undefined) this.#run(tasks);
      else {
        phase.begin();
        try {
          this.#run(tasks);
        } finally {
          phase.end();
        }
      }
    }
  }

  /**
   * Runs `task` once every event of the batch being dispatched has been handled, or at once
   * when no batch is being dispatched. The engine answers and sends through this: all reads of
   * a batch first, then all answers and writes back to back, so requests for the same file
   * share one stat (see `afterEventsPhase`) and a client woken by the first response is usually
   * still awake for the next ones (a wake-up of a sleeping peer is paid by the sender, in the
   * send syscall).
   */
  afterEvents(task: () => void): void {
    if (this.#dispatching) this.#afterEvents.push(task);
    else task();
  }

  #takeDeferred(): (() => void)[] | null {
    if (this.#deferred.length === 0) return null;
    const tasks = this.#deferred;
    this.#deferred = [];
    return tasks;
  }

  #run(tasks: (() => void)[] | null): boolean {
    if (tasks === null) return false;
    for (const task of tasks) {
      try {
        task();
      } catch (error) {
        this.#onError(error);
      }
    }
    return true;
  }
}
