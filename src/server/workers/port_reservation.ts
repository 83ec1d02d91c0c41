/**
 * Holds a TCP port for the workers while the supervisor runs: a socket bound with SO_REUSEPORT
 * that never listens. Every worker binds the same port with SO_REUSEPORT and listens; the kernel
 * gives connections only to listening sockets, so the reservation receives none. With `--port 0`
 * it picks the port before any worker starts (so all start at once), and the port stays the
 * server's even at a moment when no worker listens.
 *
 * @module
 */
import { errno, libc } from "../../../ffi/libc.ts";
import {
  AF_INET6,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  SOL_SOCKET,
} from "../../../ffi/constants.ts";
import { decodeSockaddr, encodeSockaddr, SOCKADDR_STORAGE_SIZE } from "../../../ffi/structs.ts";

/** A reserved port. */
export interface PortReservation {
  /** The port (the one picked when 0 was asked). */
  readonly port: number;
  /** Releases the port. */
  close(): void;
}

/** Reserves `host:port` (0 = a free port); throws Deno.errors.AddrInUse when it is taken. */
export function reservePort(host: string, port: number): PortReservation {
  const c = libc();
  const literal = host === "localhost" ? "127.0.0.1" : host === "" ? "0.0.0.0" : host;
  const addr = encodeSockaddr(literal, port);
  const family = addr[0] | (addr[1] << 8);
  const fd = c.socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket failed (errno ${errno()})`);
  const one = new Uint8Array(new Int32Array([1]).buffer);
  try {
    c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4);
    if (c.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, one, 4) < 0) {
      throw new Error(`setsockopt(SO_REUSEPORT) failed (errno ${errno()})`);
    }
    if (family === AF_INET6) c.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, one, 4);
    if (c.bind(fd, addr, addr.byteLength) < 0) {
      const code = errno();
      if (code === 98) throw new Deno.errors.AddrInUse(`address in use: ${host}:${port}`);
      if (code === 99) throw new Deno.errors.AddrNotAvailable(`address not available: ${host}`);
      throw new Error(`bind ${host}:${port} failed (errno ${code})`);
    }
    const buf = new Uint8Array(SOCKADDR_STORAGE_SIZE);
    const len = new Uint32Array([SOCKADDR_STORAGE_SIZE]);
    if (c.getsockname(fd, buf, new Uint8Array(len.buffer)) < 0) {
      throw new Error(`getsockname failed (errno ${errno()})`);
    }
    const bound = decodeSockaddr(buf).port;
    let open = true;
    return {
      port: bound,
      close() {
        if (open) c.close(fd);
        open = false;
      },
    };
  } catch (error) {
    c.close(fd);
    throw error;
  }
}
