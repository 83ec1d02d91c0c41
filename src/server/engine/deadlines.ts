/**
 * The deadline of a connection: what it waits for and until when, changed only through events
 * looked up in one table of transitions (the server's sweep calls the connection when `at`
 * has passed; the connection acts on `kind`).
 *
 * | event           | applies when    | becomes | timeout                            |
 * | --------------- | --------------- | ------- | ---------------------------------- |
 * | `accepted`      | always          | header  | header timeout                     |
 * | `head-bytes`    | idle            | header  | header timeout                     |
 * | `exchange`      | always          | none    | —                                  |
 * | `body-wait`     | always          | body    | the given ms (default body timeout) |
 * | `body-progress` | always          | (same)  | the given ms (default body timeout) |
 * | `body-done`     | body            | none    | —                                  |
 * | `sending`       | always          | send    | send timeout                       |
 * | `send-progress` | send            | (same)  | send timeout                       |
 * | `written`       | send            | none    | —                                  |
 * | `keep-alive`    | always          | idle    | keep-alive timeout                 |
 * | `linger`        | always          | linger  | linger time                        |
 *
 * @module
 */

/** What the connection waits for. */
export type DeadlineKind = "none" | "header" | "idle" | "body" | "send" | "linger";

/** Something that happened on the connection. */
export type DeadlineEvent =
  | "accepted"
  | "head-bytes"
  | "exchange"
  | "body-wait"
  | "body-progress"
  | "body-done"
  | "sending"
  | "send-progress"
  | "written"
  | "keep-alive"
  | "linger";

/** One row: the kinds it applies in (null: any) and the kind after it (null: unchanged). */
export type Transition = readonly [from: readonly DeadlineKind[] | null, to: DeadlineKind | null];

/** The table of transitions (see the module documentation). */
export const DEADLINE_TRANSITIONS: { readonly [E in DeadlineEvent]: Transition } = {
  "accepted": [null, "header"],
  "head-bytes": [["idle"], "header"],
  "exchange": [null, "none"],
  "body-wait": [null, "body"],
  "body-progress": [null, null],
  "body-done": [["body"], "none"],
  "sending": [null, "send"],
  "send-progress": [["send"], null],
  "written": [["send"], "none"],
  "keep-alive": [null, "idle"],
  "linger": [null, "linger"],
};

/** How long each wait may last, in ms. */
export interface DeadlineTimeouts {
  /** Receiving a request head. */
  readonly header: number;
  /** A keep-alive connection waiting for its next request. */
  readonly idle: number;
  /** Between request body bytes (an upload may give its own). */
  readonly body: number;
  /** A client not reading what is sent. */
  readonly send: number;
  /** Reading and dropping input after a closing response. */
  readonly linger: number;
}

/** Timeout of the rows whose time does not come from their target kind. */
const BODY_TIMED: ReadonlySet<DeadlineEvent> = new Set(["body-wait", "body-progress"]);

/** A connection's current deadline. */
export class Deadline {
  /** What the connection waits for. */
  kind: DeadlineKind = "none";
  /** Absolute deadline in ms since the epoch, 0 for none. */
  at = 0;

  /** Creates a deadline with no wait; `now` is the clock (ms since the epoch). */
  constructor(readonly timeouts: DeadlineTimeouts, readonly now: () => number) {}

  /**
   * Applies `event`; `ms` overrides the timeout of the body rows (an upload's own idle time).
   * Returns false when the event does not apply in the current kind (nothing changes).
   */
  on(event: DeadlineEvent, ms?: number): boolean {
    const [from, to] = DEADLINE_TRANSITIONS[event];
    if (from !== null && !from.includes(this.kind)) return false;
    const kind = to ?? this.kind;
    this.kind = kind;
    if (kind === "none") {
      this.at = 0;
      return true;
    }
    const timeout = BODY_TIMED.has(event) ? (ms ?? this.timeouts.body) : this.timeouts[kind];
    this.at = this.now() + timeout;
    return true;
  }
}
