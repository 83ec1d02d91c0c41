/**
 * Passes workers' output through the supervisor without ever mixing two workers' lines: each
 * worker's stdout is cut after its last complete line and written with synchronous writes (one
 * writer, the supervisor, so no other bytes can land inside a line). Access-log lines of any
 * length stay whole, whatever the size of the pipe buffer.
 *
 * @module
 */

/** Writes all of `bytes` to `sink` synchronously. */
export function writeAllSync(sink: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let rest = bytes;
  while (rest.byteLength > 0) rest = rest.subarray(sink.writeSync(rest));
}

/** Copies `source` to `sink` in whole lines; resolves at EOF (a last partial line is flushed). */
export async function relayLines(
  source: ReadableStream<Uint8Array>,
  sink: { writeSync(p: Uint8Array): number },
): Promise<void> {
  let pending: Uint8Array = new Uint8Array(0);
  try {
    for await (const chunk of source) {
      const data = pending.byteLength === 0 ? chunk : concat(pending, chunk);
      const end = data.lastIndexOf(0x0a);
      if (end < 0) {
        pending = data;
        continue;
      }
      safeWrite(sink, data.subarray(0, end + 1));
      pending = data.slice(end + 1);
    }
  } catch {
    // the worker's pipe broke: flush what is left
  }
  if (pending.byteLength > 0) safeWrite(sink, concat(pending, new Uint8Array([0x0a])));
}

/** Splits `source` into text lines (without the newline) and calls `onLine` for each. */
export async function readLines(
  source: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  try {
    for await (const chunk of source) {
      rest += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        onLine(line);
      }
    }
  } catch {
    // the worker's pipe broke
  }
  if (rest.length > 0) onLine(rest);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function safeWrite(sink: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  try {
    writeAllSync(sink, bytes);
  } catch {
    // our own stdout is closed: the workers keep serving, the lines are dropped
  }
}
