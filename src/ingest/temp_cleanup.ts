/**
 * Start-up clean-up of upload temp files left by a crash (a killed server never reaches the
 * `catch` of `replaceFileAtomically`). Only names {@linkcode isTempName} recognises are removed,
 * only under the ingest prefix's directory; symlinks and dot directories are not entered (uploads
 * never go there), and the walk is bounded in depth and entries so a huge tree cannot stall the
 * start. One ingest server per media root is assumed: a second one's uploads in progress would
 * look like leftovers.
 *
 * @module
 */
import { isTempName } from "./atomic_write.ts";

/** Deepest directory level below the prefix directory that is searched. */
const MAX_DEPTH = 16;
/** Most directory entries looked at in one clean-up. */
const MAX_ENTRIES = 200_000;

/** Removes upload temp files under `dir` (a real path); returns how many were removed. */
export function removeTempFiles(dir: string): number {
  let removed = 0;
  let budget = MAX_ENTRIES;
  const walk = (path: string, depth: number) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(path)];
    } catch (error) {
      console.error(`zerocast: cannot scan ${path} for upload temp files: ${error}`);
      return;
    }
    for (const entry of entries) {
      if (--budget < 0) return;
      const child = `${path}/${entry.name}`;
      if (entry.isFile && isTempName(entry.name)) {
        try {
          Deno.removeSync(child);
          removed++;
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) {
            console.error(`zerocast: cannot remove upload temp file ${child}: ${error}`);
          }
        }
      } else if (entry.isDirectory && !entry.name.startsWith(".") && depth < MAX_DEPTH) {
        walk(child, depth + 1);
      }
    }
  };
  walk(dir, 0);
  if (removed > 0) console.log(`zerocast: removed ${removed} upload temp file(s) left by a crash`);
  return removed;
}
