/**
 * Atomic file replacement shared by both upload paths (splice and stream): the body is written
 * to a temp file in the target's directory, optionally fsync'ed, then renamed over the target.
 * rename(2) within one directory is atomic, so a reader opens either the old file or the new
 * one, never a half-written file; on any failure the temp file is removed, so an interrupted
 * upload leaves nothing behind.
 *
 * The temp name starts with a dot (`.name.upload-<random>`): media GET answers 404 for dotfiles,
 * so an upload in progress is never served.
 *
 * @module
 */

/** Options of {@linkcode replaceFileAtomically}. */
export interface AtomicWriteOptions {
  /** fsync the file before the rename and the directory after it. */
  readonly fsync: boolean;
  /** Awaited after the body is written (and fsynced), right before the rename. */
  readonly beforeRename?: (temp: string) => Promise<unknown>;
  /** Called right after the rename (the new file is visible) or when the write failed. */
  readonly settled?: () => void;
}

/** Writes the body into a new file at `tempPath` and resolves to its byte count. */
export type BodyWriter = (tempPath: string) => Promise<number>;

/** What {@linkcode replaceFileAtomically} did. */
export interface AtomicWriteResult {
  /** Bytes written. */
  readonly bytes: number;
  /** True when an existing file was replaced, false when the target was created (201 vs 204). */
  readonly replaced: boolean;
}

/** Longest part of the target name kept in the temp name, so the temp name fits NAME_MAX (255). */
const MAX_NAME_IN_TEMP = 200;

/** Returns a fresh dotfile temp name for uploads to `name`: `.name.upload-<hex>`. */
export function tempNameFor(name: string): string {
  const random = crypto.getRandomValues(new Uint8Array(8));
  const hex = Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
  return `.${truncateUtf8(name, MAX_NAME_IN_TEMP)}.upload-${hex}`;
}

/** True for names {@linkcode tempNameFor} produces. */
export function isTempName(name: string): boolean {
  return name.startsWith(".") && /\.upload-[0-9a-f]{16}$/.test(name);
}

/**
 * Writes a new version of `dir/name` with `write`, then renames it into place. `dir` must be an
 * existing directory (already checked to be inside the media root). With `fsync`, the file is
 * flushed before the rename and the directory after it, so a crash never leaves a renamed but
 * empty file. On failure the temp file is removed and the error is rethrown. `beforeRename`
 * and `settled` let the caller order the renames of concurrent uploads (`folder_sequence.ts`).
 */
export async function replaceFileAtomically(
  dir: string,
  name: string,
  write: BodyWriter,
  options: AtomicWriteOptions,
): Promise<AtomicWriteResult> {
  const target = `${dir}/${name}`;
  const temp = `${dir}/${tempNameFor(name)}`;
  let renamed = false;
  try {
    const bytes = await write(temp);
    if (options.fsync) await syncPath(temp);
    await options.beforeRename?.(temp);
    const replaced = await exists(target);
    await Deno.rename(temp, target);
    renamed = true;
    options.settled?.();
    if (options.fsync) await syncPath(dir);
    return { bytes, replaced };
  } catch (error) {
    if (!renamed) await removeIfPresent(temp);
    throw error;
  } finally {
    options.settled?.();
  }
}

/** fsync(2) on `path` (a file or a directory); fsync acts on the inode, so any fd will do. */
async function syncPath(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.sync();
  } finally {
    file.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      console.error(`zerocast: cannot remove upload temp file ${path}: ${error}`);
    }
  }
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes without splitting a character. */
function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}
