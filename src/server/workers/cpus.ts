/**
 * How many CPUs this process may use: its scheduler affinity (`taskset`, cpusets) and, where a
 * cgroup v2 CPU quota is set (containers), that quota rounded up. `--workers auto` starts one
 * worker per such CPU, as nginx's `worker_processes auto` does.
 *
 * @module
 */

/** Counts the CPUs in a kernel CPU list such as `0-3,8,10-11`; 0 when it cannot be read. */
export function countCpuList(list: string): number {
  let n = 0;
  for (const part of list.trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return 0;
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) return 0;
    n += last - first + 1;
  }
  return n;
}

/** CPUs allowed by a cgroup v2 `cpu.max` line (`max 100000` = no limit → Infinity). */
export function cpusFromQuota(cpuMax: string): number {
  const [quota, period] = cpuMax.trim().split(/\s+/);
  if (quota === "max" || quota === undefined || period === undefined) return Infinity;
  const q = Number(quota);
  const p = Number(period);
  if (!(q > 0) || !(p > 0)) return Infinity;
  return Math.max(1, Math.ceil(q / p));
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** The CPUs this process may run on (at least 1). */
export function availableCpus(): number {
  let cpus = 0;
  const status = readText("/proc/self/status");
  const allowed = status && /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
  if (allowed) cpus = countCpuList(allowed);
  if (cpus === 0) cpus = navigator.hardwareConcurrency || 1;
  const cgroup = readText("/proc/self/cgroup");
  const path = cgroup && /^0::(\S*)$/m.exec(cgroup)?.[1];
  if (path !== undefined && path !== "") {
    const max = readText(`/sys/fs/cgroup${path === "/" ? "" : path}/cpu.max`);
    if (max !== undefined) cpus = Math.min(cpus, cpusFromQuota(max));
  }
  return Math.max(1, cpus);
}
