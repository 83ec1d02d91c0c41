/**
 * Correctness gate before timing a server: a few random ranges and one whole file, each
 * compared byte for byte with the file on disk. A server that fails is not timed.
 *
 * @module
 */
import { readRange } from "./data.ts";

/** A file the server is expected to serve at `/media/<name>`. */
export interface ServedFile {
  /** Name under the media root. */
  readonly name: string;
  /** Absolute path on disk. */
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Fetches `[start, start + length)` of `file` from `url` and compares it with the disk. */
export async function checkRange(
  url: string,
  file: ServedFile,
  start: number,
  length: number,
): Promise<string | null> {
  const end = start + length - 1;
  const response = await fetch(`${url}/media/${file.name}`, {
    headers: { range: `bytes=${start}-${end}` },
  });
  const body = new Uint8Array(await response.arrayBuffer());
  const where = `${file.name} bytes=${start}-${end}`;
  if (response.status !== 206) return `${where}: status ${response.status}, expected 206`;
  const contentRange = response.headers.get("content-range");
  if (contentRange !== `bytes ${start}-${end}/${file.size}`) {
    return `${where}: Content-Range ${contentRange}`;
  }
  if (!equalBytes(body, await readRange(file.path, start, length))) {
    return `${where}: body differs from the file (${body.byteLength} bytes received)`;
  }
  return null;
}

/** Fetches the whole `file` and compares it with the disk. */
export async function checkWhole(url: string, file: ServedFile): Promise<string | null> {
  const response = await fetch(`${url}/media/${file.name}`);
  const body = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 200) return `${file.name}: status ${response.status}, expected 200`;
  if (!equalBytes(body, await readRange(file.path, 0, file.size))) {
    return `${file.name}: body differs from the file (${body.byteLength} bytes received)`;
  }
  return null;
}

/** Checks `GET /healthz` answers 200 with a body. */
export async function checkRoute(url: string, path: string): Promise<string | null> {
  const response = await fetch(`${url}${path}`);
  const text = await response.text();
  if (response.status !== 200 || text.length === 0) {
    return `${path}: status ${response.status}, body ${JSON.stringify(text.slice(0, 40))}`;
  }
  return null;
}

/**
 * Runs every check: `samples` random ranges of each length in `big` (plus its last bytes) and the
 * whole `small` file. Returns the failures (empty = correct).
 */
export async function verifyFiles(
  url: string,
  big: ServedFile,
  small: ServedFile,
  lengths: readonly number[],
  samples = 3,
): Promise<string[]> {
  const failures: string[] = [];
  const note = (failure: string | null) => failure !== null && failures.push(failure);
  for (const length of lengths) {
    for (let i = 0; i < samples; i++) {
      const start = Math.floor(Math.random() * (big.size - length + 1));
      note(await checkRange(url, big, start, length));
    }
    note(await checkRange(url, big, big.size - length, length));
  }
  note(await checkWhole(url, small));
  return failures;
}
