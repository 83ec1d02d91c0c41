/**
 * The per-folder commit order of uploads (src/ingest/folder_sequence.ts) across worker
 * processes. With `--workers N`, consecutive PUTs of one ffmpeg publisher (a segment, then the
 * playlist that lists it) can reach different workers, and the in-process order alone cannot
 * keep the playlist from becoming visible before its segment.
 *
 * Each upload or DELETE leaves a marker file, named by its arrival time on the machine-wide
 * monotonic clock (then a per-process counter and the pid), in a directory per target folder
 * under a directory the supervisor owns (/dev/shm). Its rename waits, as before, for the earlier
 * tickets of its own process, then until no marker that sorts before its own remains (polled every
 * few ms, bounded by the same limit as the in-process wait). A marker is removed when its upload
 * settles; markers of processes that died are ignored and removed, so a crash never blocks a
 * folder.
 *
 * @module
 */
import { FolderSequencer, type FolderTicket } from "../../ingest/folder_sequence.ts";
import { monotonicNs } from "./shm.ts";

/** Poll interval while an earlier upload of another worker is still open. */
const POLL_MS = 2;

/** A {@linkcode FolderSequencer} whose order holds across the processes sharing `root`. */
export class SharedFolderSequencer extends FolderSequencer {
  readonly #root: string;
  #counter = 0;

  /** Uses `root` (an existing directory every worker can write) for the markers. */
  constructor(root: string) {
    super();
    this.#root = root;
  }

  /** Takes the next ticket for `dir`, in this process and across the others. */
  override enter(dir: string): FolderTicket {
    const local = super.enter(dir);
    let marker: string | undefined;
    let folder: string | undefined;
    let mine = "";
    try {
      const info = Deno.statSync(dir);
      folder = `${this.#root}/${info.dev}-${info.ino}`;
      Deno.mkdirSync(folder, { recursive: true });
      mine = `${monotonicNs().toString().padStart(20, "0")}-` +
        `${(this.#counter++).toString().padStart(12, "0")}-${Deno.pid}`;
      marker = `${folder}/${mine}`;
      Deno.writeFileSync(marker, new Uint8Array(0));
    } catch (error) {
      // without a marker this upload is ordered within its process only
      console.error(`zerocast: upload order marker for ${dir}: ${error}`);
      marker = undefined;
    }
    let settled = false;
    return {
      turn: async (limitMs) => {
        const deadline = Date.now() + limitMs;
        if (!(await local.turn(limitMs))) return false;
        if (marker === undefined || folder === undefined) return true;
        while (hasEarlier(folder, mine)) {
          if (Date.now() >= deadline) return false;
          await new Promise((r) => setTimeout(r, POLL_MS));
        }
        return true;
      },
      settle: () => {
        if (settled) return;
        settled = true;
        local.settle();
        if (marker !== undefined) {
          try {
            Deno.removeSync(marker);
          } catch { /* already gone */ }
        }
      },
    };
  }
}

/** True when a live process's marker in `folder` sorts before `mine`. */
function hasEarlier(folder: string, mine: string): boolean {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(folder)];
  } catch {
    return false;
  }
  for (const entry of entries) {
    if (entry.name >= mine) continue;
    const pid = Number(entry.name.slice(entry.name.lastIndexOf("-") + 1));
    if (pid === Deno.pid || processAlive(pid)) return true;
    try {
      Deno.removeSync(`${folder}/${entry.name}`); // left by a worker that died
    } catch { /* removed by another worker */ }
  }
  return false;
}

/** True while process `pid` exists. */
function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
