/**
 * Closes the sockets of TLS connections whose handshake timed out, where Deno cannot.
 *
 * Deno 2.9.6 cannot cancel a TLS handshake in progress: `TlsConn.close()` rejects the pending
 * `handshake()` but the handshake keeps its socket open until the client sends something or
 * leaves, so a client that connects and stays silent would pin a socket forever (slowloris
 * before the first byte). Where FFI is granted on Linux, the reaper finds the socket's file
 * descriptor (the connection's addresses in `/proc/net/tcp{,6}` give its inode, `/proc/self/fd`
 * the descriptor with that inode) and calls `shutdown(2)` on it: the handshake then reads EOF,
 * fails, and Deno closes the socket. Elsewhere it does nothing and the limitation stands (README).
 *
 * The lookup and the `shutdown` run in one synchronous stretch of JavaScript after the
 * connection's handle was closed, while Deno's pending handshake still owns the descriptor, so
 * the descriptor cannot be closed and reused by another connection in between. Kills requested
 * in one turn share one scan of `/proc`.
 *
 * @module
 */
import { libc, libcAvailable } from "../../../ffi/libc.ts";
import { SHUT_RDWR } from "../../../ffi/constants.ts";

/** One connection to reap: our address and the peer's. */
interface Victim {
  readonly local: Deno.NetAddr;
  readonly remote: Deno.NetAddr;
}

let available: boolean | undefined;

/** True when sockets can be shut down here (Linux, FFI granted, /proc readable). */
export function reaperAvailable(): boolean {
  if (available === undefined) {
    try {
      available = Deno.build.os === "linux" &&
        Deno.permissions.querySync({ name: "ffi" }).state === "granted" &&
        Deno.permissions.querySync({ name: "read", path: "/proc" }).state === "granted" &&
        libcAvailable();
    } catch {
      available = false;
    }
  }
  return available;
}

const queue: Victim[] = [];

/**
 * Shuts down the socket of the connection `local` ↔ `remote` (after the current synchronous
 * code, together with others asked for in the same turn). Returns false when the reaper is not
 * available. Call it right after closing the connection's handle.
 */
export function reapSocket(local: Deno.NetAddr, remote: Deno.NetAddr): boolean {
  if (!reaperAvailable()) return false;
  if (queue.length === 0) queueMicrotask(flush);
  queue.push({ local, remote });
  return true;
}

/** Runs the queued kills with one scan of /proc. */
function flush(): void {
  const victims = queue.splice(0);
  try {
    const inodes = new Map<string, number>();
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      let text: string;
      try {
        text = Deno.readTextFileSync(table);
      } catch {
        continue;
      }
      for (const victim of victims) {
        const inode = findInode(text, victim);
        if (inode !== null) inodes.set(inode, 0);
      }
    }
    if (inodes.size === 0) return;
    let left = inodes.size;
    for (const entry of Deno.readDirSync("/proc/self/fd")) {
      let target: string;
      try {
        target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m === null || !inodes.has(m[1])) continue;
      libc().shutdown(Number(entry.name), SHUT_RDWR);
      if (--left === 0) break;
    }
  } catch (error) {
    console.error(`zerocast: cannot close stalled TLS sockets: ${error}`);
  }
}

/** Port of a `/proc/net/tcp` address field (`ADDR:PORT`, port in hex). */
function portOf(field: string): number {
  return parseInt(field.slice(field.lastIndexOf(":") + 1), 16);
}

/** IPv4 of a `/proc/net/tcp` address field (the address is in host byte order: little-endian). */
function ipv4Of(field: string): string {
  const n = parseInt(field.slice(0, 8), 16);
  return `${n & 255}.${(n >>> 8) & 255}.${(n >>> 16) & 255}.${n >>> 24}`;
}

/** The socket inode of `victim`'s connection in a `/proc/net/tcp{,6}` table, or null. */
function findInode(table: string, victim: Victim): string | null {
  const lines = table.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const cols = lines[i].trim().split(/\s+/);
    if (cols.length < 10) continue;
    const [local, remote, inode] = [cols[1], cols[2], cols[9]];
    if (portOf(local) !== victim.local.port || portOf(remote) !== victim.remote.port) continue;
    // IPv4 tables: check the peer's address too; IPv6 (and v4-mapped) ones match by ports
    if (local.length === 13 && ipv4Of(remote) !== victim.remote.hostname) continue;
    if (inode !== "0") return inode;
  }
  return null;
}
