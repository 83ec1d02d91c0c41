/**
 * Process accounting from `/proc` (Linux): CPU seconds and resident memory of a whole process
 * tree, so a server that forks workers (nginx) or runs helper threads (Deno, Bun) is measured in
 * full.
 *
 * @module
 */

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ; 100 on every Linux ABI). */
const TICKS_PER_SECOND = 100;

/** The fields of `/proc/<pid>/stat` this module needs. */
interface StatFields {
  readonly ppid: number;
  /** utime + stime + cutime + cstime, in ticks. */
  readonly ticks: number;
}

function readStat(pid: number): StatFields | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ")".
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state): field n is rest[n - 3].
  const ppid = Number(rest[1]);
  const ticks = Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]);
  return { ppid, ticks };
}

/** `pid` and all its live descendants. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    const child = Number(entry.name);
    if (!Number.isInteger(child)) continue;
    const stat = readStat(child);
    if (stat === null) continue;
    const list = children.get(stat.ppid);
    if (list) list.push(child);
    else children.set(stat.ppid, [child]);
  }
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.pop()!;
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** CPU seconds (user + system, including reaped children) used so far by the tree of `pid`. */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const member of processTree(pid)) ticks += readStat(member)?.ticks ?? 0;
  return ticks / TICKS_PER_SECOND;
}

/** CPU seconds (user + system) used so far by this process. */
export function selfCpuSeconds(): number {
  return (readStat(Deno.pid)?.ticks ?? 0) / TICKS_PER_SECOND;
}

function statusKb(pid: number, field: string): number {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Current resident set size of the tree of `pid`, in bytes (sum of each process's VmRSS). */
export function treeRssBytes(pid: number): number {
  let kb = 0;
  for (const member of processTree(pid)) kb += statusKb(member, "VmRSS");
  return kb * 1024;
}

/** Peak resident set size of the tree of `pid` since the last reset, in bytes (sum of VmHWM). */
export function treePeakRssBytes(pid: number): number {
  let kb = 0;
  for (const member of processTree(pid)) kb += statusKb(member, "VmHWM");
  return kb * 1024;
}

/**
 * Resets the peak RSS (VmHWM) of every process in the tree to its current RSS, so the next
 * {@linkcode treePeakRssBytes} covers one workload only (`/proc/<pid>/clear_refs`, value 5).
 * Returns false where the kernel or permissions do not allow it.
 */
export function resetTreePeakRss(pid: number): boolean {
  let ok = true;
  for (const member of processTree(pid)) {
    try {
      Deno.writeTextFileSync(`/proc/${member}/clear_refs`, "5");
    } catch {
      ok = false;
    }
  }
  return ok;
}

/**
 * CPU seconds of this process's children that have exited and been waited for (cutime + cstime):
 * the delta around one child's whole lifetime is that child's CPU, when no other child exits.
 */
export function selfChildrenCpuSeconds(): number {
  const text = Deno.readTextFileSync("/proc/self/stat");
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[13]) + Number(rest[14])) / TICKS_PER_SECOND;
}

/**
 * CPU seconds the whole machine has been busy (all CPUs; user, nice, system, irq, softirq and
 * steal from `/proc/stat`). Minus the server's and the client's share over a window, it tells
 * how much other work disturbed a measurement.
 */
export function machineBusySeconds(): number {
  const line = Deno.readTextFileSync("/proc/stat").split("\n", 1)[0];
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/)
    .slice(1).map(Number);
  return (user + nice + system + irq + softirq + (steal || 0)) / TICKS_PER_SECOND;
}
