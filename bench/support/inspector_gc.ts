/**
 * Full garbage collections in another Deno process through its V8 inspector (started with
 * `--inspect=127.0.0.1:PORT`): `HeapProfiler.collectGarbage` over the Chrome DevTools Protocol.
 * The server needs no hook of its own, and its RSS can be read after a GC.
 *
 * @module
 */

/** The `ws://` URL a process started with `--inspect` printed on stderr, or null. */
export function inspectorUrl(stderrLines: readonly string[]): string | null {
  for (const line of stderrLines) {
    const match = /(ws:\/\/\S+)/.exec(line);
    if (match) return match[1];
  }
  return null;
}

/** A DevTools protocol session with one process. */
export class InspectorSession {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<number, (reply: { error?: { message: string } }) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (event) => {
      const reply = JSON.parse(String(event.data));
      if (typeof reply.id === "number") {
        this.#pending.get(reply.id)?.(reply);
        this.#pending.delete(reply.id);
      }
    };
  }

  /** Connects to `url`; rejects after `timeoutMs`. */
  static connect(url: string, timeoutMs = 10_000): Promise<InspectorSession> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`inspector ${url}: no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(new InspectorSession(ws));
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`inspector ${url}: connection failed`));
      };
    });
  }

  /** Sends `method` and resolves with its reply; rejects on an error reply or after `timeoutMs`. */
  call(method: string, timeoutMs = 30_000): Promise<void> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`inspector: ${method} unanswered after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.error) reject(new Error(`inspector: ${method}: ${reply.error.message}`));
        else resolve();
      });
      this.#ws.send(JSON.stringify({ id, method }));
    });
  }

  /** Runs a full garbage collection in the process. */
  collectGarbage(): Promise<void> {
    return this.call("HeapProfiler.collectGarbage");
  }

  /** Closes the session. */
  close(): void {
    this.#ws.close();
  }
}
