/**
 * Listening sockets (IPv4 and IPv6) owned through libc.
 *
 * @module
 */
import { errno, libc } from "../../../ffi/libc.ts";
import {
  AF_INET,
  AF_INET6,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
} from "../../../ffi/constants.ts";
import {
  decodeSockaddr,
  encodeSockaddr,
  SOCKADDR_STORAGE_SIZE,
  type SocketAddress,
} from "../../../ffi/structs.ts";
import { SyscallError } from "./loop.ts";
import { SETTINGS } from "../../settings.ts";

/** A bound, listening, non-blocking socket. */
export interface ListenSocket extends SocketAddress {
  /** The socket fd. */
  readonly fd: number;
  /** AF_INET or AF_INET6. */
  readonly family: number;
}

/** Resolves the names a listener accepts besides IP literals. */
function literalFor(hostname: string): string {
  if (hostname === "localhost") return "127.0.0.1";
  if (hostname === "") return "0.0.0.0";
  return hostname;
}

/**
 * Creates a non-blocking listening socket on `hostname:port` (port 0 picks a free port, read back
 * with getsockname). SO_REUSEADDR so a restart binds while old connections sit in TIME_WAIT; an
 * IPv6 socket is v6-only so `::` and `0.0.0.0` can be bound side by side. `reusePort` sets
 * SO_REUSEPORT: worker processes each bind the port and the kernel spreads connections.
 */
export function listenTcp(
  hostname: string,
  port: number,
  backlog: number = SETTINGS.backlog.default,
  reusePort = false,
): ListenSocket {
  const c = libc();
  const addr = encodeSockaddr(literalFor(hostname), port);
  const family = addr[0] | (addr[1] << 8);
  const fd = c.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SyscallError("socket", errno());
  const one = new Uint8Array(new Int32Array([1]).buffer);
  const fail = (call: string): never => {
    const code = errno();
    c.close(fd);
    throw new SyscallError(call, code);
  };
  if (c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4) < 0) fail("setsockopt(SO_REUSEADDR)");
  if (reusePort && c.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, one, 4) < 0) {
    fail("setsockopt(SO_REUSEPORT)");
  }
  if (family === AF_INET6 && c.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, one, 4) < 0) {
    fail("setsockopt(IPV6_V6ONLY)");
  }
  if (c.bind(fd, addr, addr.byteLength) < 0) fail(`bind ${hostname}:${port}`);
  if (c.listen(fd, backlog) < 0) fail("listen");
  const bound = localAddress(fd);
  return { fd, family: family === AF_INET ? AF_INET : AF_INET6, ...bound };
}

/** The local address of a socket (getsockname). */
export function localAddress(fd: number): SocketAddress {
  const c = libc();
  const buf = new Uint8Array(SOCKADDR_STORAGE_SIZE);
  const len = new Uint32Array([SOCKADDR_STORAGE_SIZE]);
  if (c.getsockname(fd, buf, new Uint8Array(len.buffer)) < 0) {
    throw new SyscallError("getsockname", errno());
  }
  const { hostname, port } = decodeSockaddr(buf);
  return { hostname, port };
}
