/**
 * Linux x86_64 constants for the libc bindings in {@link ./libc.ts}.
 *
 * @module
 */

/** Address families. */
export const AF_UNIX = 1;
/** IPv4. */
export const AF_INET = 2;
/** IPv6. */
export const AF_INET6 = 10;

/** Stream socket type. */
export const SOCK_STREAM = 1;
/** socket()/accept4() flag: non-blocking. */
export const SOCK_NONBLOCK = 0o4000;
/** socket()/accept4() flag: close on exec. */
export const SOCK_CLOEXEC = 0o2000000;

/** setsockopt levels. */
export const SOL_SOCKET = 1;
/** TCP level. */
export const IPPROTO_TCP = 6;
/** IPv6 level. */
export const IPPROTO_IPV6 = 41;
/** Reuse a TIME_WAIT address on bind. */
export const SO_REUSEADDR = 2;
/** setsockopt: several sockets bind one port; the kernel spreads connections over them. */
export const SO_REUSEPORT = 15;
/** Disable Nagle. */
export const TCP_NODELAY = 1;
/** Cork (unused on purpose: 40 ms delayed-ACK stalls on small keep-alive responses). */
export const TCP_CORK = 3;
/** IPv6 socket accepts only IPv6 (no v4-mapped addresses). */
export const IPV6_V6ONLY = 26;

/** send() flag: more data follows; the kernel holds a partial segment for the next call. */
export const MSG_MORE = 0x8000;
/** send() flag: no SIGPIPE (Deno ignores it anyway; kept for clarity). */
export const MSG_NOSIGNAL = 0x4000;
/** recv() flag: do not block. */
export const MSG_DONTWAIT = 0x40;

/** shutdown() how: shut down the write side (sends FIN). */
export const SHUT_WR = 1;
/** shutdown() how: both directions (ends a blocked TLS handshake read). */
export const SHUT_RDWR = 2;

/** epoll_create1 flag. */
export const EPOLL_CLOEXEC = 0o2000000;
/** epoll_ctl ops. */
export const EPOLL_CTL_ADD = 1;
/** Remove an fd from the interest list. */
export const EPOLL_CTL_DEL = 2;
/** Change an fd's events. */
export const EPOLL_CTL_MOD = 3;
/** Readable. */
export const EPOLLIN = 0x001;
/** Writable. */
export const EPOLLOUT = 0x004;
/** Error condition. */
export const EPOLLERR = 0x008;
/** Hang-up (both directions). */
export const EPOLLHUP = 0x010;
/** Peer shut down its write side. */
export const EPOLLRDHUP = 0x2000;
/** Edge-triggered (as a signed 32-bit value, for u32 writes use `>>> 0`). */
export const EPOLLET = 1 << 31;

/** eventfd flags. */
export const EFD_CLOEXEC = 0o2000000;
/** Non-blocking eventfd. */
export const EFD_NONBLOCK = 0o4000;

/** open()/pipe2()/fcntl() flags. */
export const O_RDONLY = 0;
/** Write only. */
export const O_WRONLY = 1;
/** Create when missing. */
export const O_CREAT = 0o100;
/** Fail when it exists (with O_CREAT). */
export const O_EXCL = 0o200;
/** Non-blocking. */
export const O_NONBLOCK = 0o4000;
/** Do not follow a final symlink. */
export const O_NOFOLLOW = 0o400000;
/** Close on exec. */
export const O_CLOEXEC = 0o2000000;

/** fcntl command: set pipe capacity. */
export const F_SETPIPE_SZ = 1031;
/** Get pipe capacity. */
export const F_GETPIPE_SZ = 1032;

/** splice() flags: move pages instead of copying (a hint). */
export const SPLICE_F_MOVE = 1;
/** Do not block on the pipe. */
export const SPLICE_F_NONBLOCK = 2;
/** More data follows. */
export const SPLICE_F_MORE = 4;

/** S_IFMT mask of st_mode. */
export const S_IFMT = 0o170000;
/** Regular file type. */
export const S_IFREG = 0o100000;

/** errno values (asm-generic). */
export const EPERM = 1;
/** No such file. */
export const ENOENT = 2;
/** Interrupted system call. */
export const EINTR = 4;
/** I/O error. */
export const EIO = 5;
/** Bad file descriptor. */
export const EBADF = 9;
/** Try again (same value as EWOULDBLOCK). */
export const EAGAIN = 11;
/** Out of memory. */
export const ENOMEM = 12;
/** Permission denied. */
export const EACCES = 13;
/** Bad address. */
export const EFAULT = 14;
/** Exists. */
export const EEXIST = 17;
/** Invalid argument. */
export const EINVAL = 22;
/** Too many open files in the system. */
export const ENFILE = 23;
/** Too many open files in this process. */
export const EMFILE = 24;
/** No space left. */
export const ENOSPC = 28;
/** Broken pipe. */
export const EPIPE = 32;
/** Operation not supported on socket. */
export const EOPNOTSUPP = 95;
/** Address in use. */
export const EADDRINUSE = 98;
/** Address not available. */
export const EADDRNOTAVAIL = 99;
/** Connection aborted (accept). */
export const ECONNABORTED = 103;
/** Connection reset by peer. */
export const ECONNRESET = 104;
/** No buffer space. */
export const ENOBUFS = 105;
/** Not connected. */
export const ENOTCONN = 107;
/** Timed out. */
export const ETIMEDOUT = 110;
/** Connection refused. */
export const ECONNREFUSED = 111;
/** Operation in progress (non-blocking connect). */
export const EINPROGRESS = 115;

const ERRNO_NAMES: Record<number, string> = {
  [EPERM]: "EPERM",
  [ENOENT]: "ENOENT",
  [EINTR]: "EINTR",
  [EIO]: "EIO",
  [EBADF]: "EBADF",
  [EAGAIN]: "EAGAIN",
  [ENOMEM]: "ENOMEM",
  [EACCES]: "EACCES",
  [EFAULT]: "EFAULT",
  [EEXIST]: "EEXIST",
  [EINVAL]: "EINVAL",
  [ENFILE]: "ENFILE",
  [EMFILE]: "EMFILE",
  [ENOSPC]: "ENOSPC",
  [EPIPE]: "EPIPE",
  [EOPNOTSUPP]: "EOPNOTSUPP",
  [EADDRINUSE]: "EADDRINUSE",
  [EADDRNOTAVAIL]: "EADDRNOTAVAIL",
  [ECONNABORTED]: "ECONNABORTED",
  [ECONNRESET]: "ECONNRESET",
  [ENOBUFS]: "ENOBUFS",
  [ENOTCONN]: "ENOTCONN",
  [ETIMEDOUT]: "ETIMEDOUT",
  [ECONNREFUSED]: "ECONNREFUSED",
  [EINPROGRESS]: "EINPROGRESS",
};

/** The symbolic name of an errno value (`"EAGAIN"`), or `errno N` when unknown. */
export function errnoName(code: number): string {
  return ERRNO_NAMES[code] ?? `errno ${code}`;
}
