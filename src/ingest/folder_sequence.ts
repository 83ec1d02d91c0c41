/**
 * Per-folder commit order for uploads: what arrives in order becomes visible in that order.
 *
 * ffmpeg's HLS muxer does not wait for the reply to a segment's PUT before it PUTs the playlist
 * that lists the segment. Without ordering, the segment's fsync + rename could finish after the
 * playlist's, and a player polling the playlist would get 404 for a segment already listed.
 *
 * Every upload (and DELETE) into a directory takes a {@linkcode FolderTicket} when its request
 * head is handled, before any await, so tickets follow the order in which requests arrived.
 * The rename that makes an upload visible waits until every earlier ticket of that directory
 * has settled (committed, failed or aborted). This applies to every upload, not only to
 * playlists: it is simpler, and the same reasoning covers a DELETE that must not remove a
 * segment before the playlist that stops listing it is visible (ffmpeg's `delete_segments`),
 * and an init segment replaced before a playlist that needs it. Bodies are still received and
 * fsynced in parallel; only the renames are ordered.
 *
 * It cannot deadlock: a ticket only waits for earlier tickets, and every ticket settles: a body
 * that stops arriving fails after the ingest idle timeout, and the wait itself gives up after
 * `limitMs` (an upload trickling in for longer does not hold its successors forever; the order is
 * then not guaranteed for that one upload).
 *
 * @module
 */

/** One request's place in its directory's commit order. */
export interface FolderTicket {
  /**
   * Resolves once every earlier ticket of the same directory has settled, or after `limitMs`;
   * resolves to false when it gave up waiting.
   */
  turn(limitMs: number, temp?: string): Promise<boolean>;
  /** Marks this ticket settled (committed, failed or aborted); idempotent. */
  settle(): void;
}

/** What a ticket will do in its directory (used by the cross-worker sequencer). */
export interface FolderEntry {
  /** File name in the directory. */
  readonly name: string;
  /** A PUT (rename of a temp file into place) or a DELETE. */
  readonly op: "put" | "delete";
}

interface Entry {
  readonly settled: Promise<void>;
  readonly resolve: () => void;
  done: boolean;
}

/** Hands out tickets per directory, in the order {@linkcode FolderSequencer.enter} is called. */
export class FolderSequencer {
  readonly #queues = new Map<string, Entry[]>();

  /** Takes the next ticket for `dir` (a real path). Synchronous: call it as the request arrives. */
  enter(dir: string, _entry?: FolderEntry): FolderTicket {
    const { promise, resolve } = Promise.withResolvers<void>();
    const entry: Entry = { settled: promise, resolve, done: false };
    let queue = this.#queues.get(dir);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(dir, queue);
    }
    queue.push(entry);
    return {
      turn: (limitMs) => this.#turn(dir, entry, limitMs),
      settle: () => this.#settle(dir, entry),
    };
  }

  /** Number of unsettled tickets for `dir` (for tests and metrics). */
  pending(dir: string): number {
    return this.#queues.get(dir)?.length ?? 0;
  }

  async #turn(dir: string, entry: Entry, limitMs: number): Promise<boolean> {
    const queue = this.#queues.get(dir) ?? [];
    const index = queue.indexOf(entry);
    const earlier = index < 0 ? [] : queue.slice(0, index).map((e) => e.settled);
    if (earlier.length === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), limitMs);
    });
    try {
      return await Promise.race([Promise.all(earlier).then(() => true), gaveUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  #settle(dir: string, entry: Entry): void {
    if (entry.done) return;
    entry.done = true;
    entry.resolve();
    const queue = this.#queues.get(dir);
    if (queue === undefined) return;
    const index = queue.indexOf(entry);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(dir);
  }
}
