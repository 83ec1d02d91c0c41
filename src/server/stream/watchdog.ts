/**
 * One timer for all connections of a server: every connection keeps its deadlines as numbers
 * (cheap to move on every read and write) and a periodic sweep acts on the ones that passed.
 * Deadlines fire up to one period late, which is fine for timeouts of seconds.
 *
 * @module
 */

/** Anything the sweep looks after. */
export interface Timed {
  /** Called on every sweep with the current time (ms since epoch). */
  checkDeadlines(now: number): void;
}

/** A periodic sweep over a set of {@linkcode Timed} objects; does not keep the process alive. */
export class Watchdog {
  readonly #items = new Set<Timed>();
  readonly #periodMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Creates a sweep running every `periodMs` while anything is registered. */
  constructor(periodMs = 250) {
    this.#periodMs = periodMs;
  }

  /** Starts looking after `item`. */
  add(item: Timed): void {
    this.#items.add(item);
    if (this.#timer === undefined) {
      const timer = setInterval(() => this.#sweep(), this.#periodMs);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Stops looking after `item`. */
  delete(item: Timed): void {
    this.#items.delete(item);
    if (this.#items.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const item of this.#items) {
      try {
        item.checkDeadlines(now);
      } catch (error) {
        console.error(`zerocast: deadline check failed: ${error}`);
      }
    }
  }
}
