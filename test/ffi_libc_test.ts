/**
 * The libc bindings over real fds: socketpairs, a loopback listener, epoll with an eventfd,
 * sendfile of a temp file, splice through a pipe, errno values and struct layouts.
 */
import assert from "node:assert/strict";
import { errno, libc, libcAvailable, MAX_IO } from "../ffi/libc.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  EAGAIN,
  EBADF,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  ENOENT,
  EPIPE,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLLET,
  EPOLLIN,
  EPOLLOUT,
  errnoName,
  O_CLOEXEC,
  O_RDONLY,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
} from "../ffi/constants.ts";
import {
  decodeSockaddr,
  decodeStat,
  encodeSockaddr,
  EPOLL_EVENT_SIZE,
  epollEvents,
  epollToken,
  formatIPv6,
  parseIPv6,
  STAT_SIZE,
  writeEpollEvent,
} from "../ffi/structs.ts";
import { listenTcp } from "../src/server/engine/listener.ts";
import { SocketToFileSplicer, SPLICE_AGAIN, SPLICE_EOF } from "../src/server/engine/splice.ts";

const c = libc();
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A non-blocking AF_UNIX stream socketpair. */
function socketpair(): [number, number] {
  const fds = new Int32Array(2);
  const r = c.socketpair(
    AF_UNIX,
    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
    0,
    new Uint8Array(fds.buffer),
  );
  assert.equal(r, 0, `socketpair: ${errnoName(errno())}`);
  return [fds[0], fds[1]];
}

function readAll(fd: number, max = 1 << 20): Uint8Array {
  const buf = new Uint8Array(max);
  let at = 0;
  for (;;) {
    const n = c.read(fd, buf.subarray(at), BigInt(buf.byteLength - at));
    if (n <= 0) break;
    at += n;
  }
  return buf.subarray(0, at);
}

Deno.test("ffi: libc is available on this Linux x86_64 host", () => {
  assert.equal(libcAvailable(), true);
  assert.ok(MAX_IO < 2 ** 31);
});

Deno.test("ffi: write/read over a socketpair, EAGAIN when empty, EPIPE after close", () => {
  const [a, b] = socketpair();
  try {
    const msg = enc.encode("hello over ffi");
    assert.equal(c.write(a, msg, BigInt(msg.byteLength)), msg.byteLength);
    const buf = new Uint8Array(64);
    const n = c.read(b, buf, 64n);
    assert.equal(dec.decode(buf.subarray(0, n)), "hello over ffi");
    assert.equal(c.read(b, buf, 64n), -1);
    assert.equal(errno(), EAGAIN);
    assert.equal(errnoName(EAGAIN), "EAGAIN");
    c.close(b);
    // Deno ignores SIGPIPE: writing to a closed peer is an error, not a signal
    assert.equal(c.send(a, msg, BigInt(msg.byteLength), 0), -1);
    assert.equal(errno(), EPIPE);
  } finally {
    c.close(a);
  }
  assert.equal(c.close(-5), -1);
  assert.equal(errno(), EBADF);
});

Deno.test("ffi: open of a missing file sets ENOENT", () => {
  const fd = c.open(enc.encode("/nonexistent/zerocast\0"), O_RDONLY | O_CLOEXEC, 0);
  assert.equal(fd, -1);
  assert.equal(errno(), ENOENT);
});

Deno.test("ffi: sendfile of a temp file with an off_t* offset, fstat layout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zerocast-ffi-" });
  const [a, b] = socketpair();
  try {
    const path = `${dir}/data.bin`;
    const data = crypto.getRandomValues(new Uint8Array(50_000));
    await Deno.writeFile(path, data);
    const fd = c.open(enc.encode(path + "\0"), O_RDONLY | O_CLOEXEC, 0);
    assert.ok(fd >= 0);
    try {
      const statBuf = new Uint8Array(STAT_SIZE);
      assert.equal(c.fstat(fd, statBuf), 0);
      const st = decodeStat(new DataView(statBuf.buffer));
      const ds = await Deno.stat(path);
      assert.equal(st.size, 50_000);
      assert.equal(st.ino, ds.ino);
      assert.equal(st.dev, ds.dev);
      assert.equal(st.mtimeNs / 1_000_000n, BigInt(ds.mtime!.getTime()));
      const offset = new BigInt64Array([1000n]);
      const n = c.sendfile(a, fd, new Uint8Array(offset.buffer), 20_000n);
      assert.equal(n, 20_000);
      assert.equal(offset[0], 21_000n, "sendfile advances the offset it was given");
      const got = readAll(b);
      assert.deepEqual(got, data.subarray(1000, 21_000));
      // past the end: 0 bytes, which the engine treats as a truncated file
      offset[0] = 50_000n;
      assert.equal(c.sendfile(a, fd, new Uint8Array(offset.buffer), 10n), 0);
      // pread at a 64-bit offset argument
      const small = new Uint8Array(16);
      assert.equal(c.pread(fd, small, 16n, 49_990n), 10);
      assert.deepEqual(small.subarray(0, 10), data.subarray(49_990));
    } finally {
      c.close(fd);
    }
  } finally {
    c.close(a);
    c.close(b);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ffi: splice socket → pipe → file moves bytes exactly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zerocast-splice-" });
  const [a, b] = socketpair();
  const splicer = new SocketToFileSplicer();
  try {
    const path = `${dir}/upload.bin`;
    await Deno.writeFile(path, new Uint8Array(0));
    const fd = c.open(enc.encode(path + "\0"), 1 /* O_WRONLY */ | O_CLOEXEC, 0);
    assert.ok(fd >= 0);
    try {
      assert.equal(splicer.step(b, fd, 1 << 20), SPLICE_AGAIN, "nothing to read yet");
      const data = crypto.getRandomValues(new Uint8Array(60_000));
      let sent = 0;
      let moved = 0;
      while (moved < data.byteLength) {
        if (sent < data.byteLength) {
          const n = c.write(a, data.subarray(sent), BigInt(data.byteLength - sent));
          if (n > 0) sent += n;
        }
        const m = splicer.step(b, fd, data.byteLength - moved);
        if (m > 0) moved += m;
      }
      assert.equal(moved, 60_000);
      c.close(a);
      assert.equal(splicer.step(b, fd, 100), SPLICE_EOF);
      assert.ok(splicer.calls >= 2);
      assert.deepEqual(await Deno.readFile(path), data);
    } finally {
      c.close(fd);
    }
  } finally {
    splicer.close();
    c.close(b);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ffi: edge-triggered epoll reports an eventfd and a socket once per edge", () => {
  const ep = c.epoll_create1(EPOLL_CLOEXEC);
  const efd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  const [a, b] = socketpair();
  try {
    const ev = new Uint8Array(EPOLL_EVENT_SIZE * 8);
    const view = new DataView(ev.buffer);
    writeEpollEvent(view, 0, EPOLLIN | EPOLLET, efd);
    assert.equal(c.epoll_ctl(ep, EPOLL_CTL_ADD, efd, ev), 0);
    writeEpollEvent(view, 0, EPOLLIN | EPOLLOUT | EPOLLET, b);
    assert.equal(c.epoll_ctl(ep, EPOLL_CTL_ADD, b, ev), 0);
    // b is writable at once
    let n = c.epoll_wait(ep, ev, 8, 0);
    assert.equal(n, 1);
    assert.equal(epollToken(view, 0), b);
    assert.ok((epollEvents(view, 0) & EPOLLOUT) !== 0);
    assert.equal(c.epoll_wait(ep, ev, 8, 0), 0, "edge-triggered: no repeat");
    c.write(efd, new Uint8Array(new BigUint64Array([1n]).buffer), 8n);
    c.write(a, enc.encode("x"), 1n);
    n = c.epoll_wait(ep, ev, 8, 0);
    assert.equal(n, 2);
    const tokens = new Set([epollToken(view, 0), epollToken(view, 1)]);
    assert.deepEqual(tokens, new Set([efd, b]));
  } finally {
    c.close(a);
    c.close(b);
    c.close(efd);
    c.close(ep);
  }
});

Deno.test("ffi: the nonblocking epoll_wait runs off-thread and is woken by an eventfd", async () => {
  const ep = c.epoll_create1(EPOLL_CLOEXEC);
  const efd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  try {
    const ev = new Uint8Array(EPOLL_EVENT_SIZE * 4);
    const view = new DataView(ev.buffer);
    writeEpollEvent(view, 0, EPOLLIN | EPOLLET, efd);
    assert.equal(c.epoll_ctl(ep, EPOLL_CTL_ADD, efd, ev), 0);
    const out = new Uint8Array(EPOLL_EVENT_SIZE * 4);
    const waiting = c.epoll_wait_async(ep, out, 4, -1);
    let ticked = false;
    await new Promise((r) => setTimeout(r, 20));
    ticked = true; // the JS event loop ran while epoll_wait blocked
    c.write(efd, new Uint8Array(new BigUint64Array([1n]).buffer), 8n);
    assert.equal(await waiting, 1);
    assert.equal(epollToken(new DataView(out.buffer), 0), efd);
    assert.ok(ticked);
  } finally {
    c.close(efd);
    c.close(ep);
  }
});

Deno.test("ffi: listeners on IPv4 and IPv6 with port 0 report their port", () => {
  const v4 = listenTcp("127.0.0.1", 0);
  try {
    assert.equal(v4.family, AF_INET);
    assert.equal(v4.hostname, "127.0.0.1");
    assert.ok(v4.port > 0);
  } finally {
    c.close(v4.fd);
  }
  let v6;
  try {
    v6 = listenTcp("::1", 0);
  } catch {
    return; // no IPv6 loopback in this sandbox
  }
  try {
    assert.equal(v6.family, AF_INET6);
    assert.equal(v6.hostname, "::1");
    assert.ok(v6.port > 0);
  } finally {
    c.close(v6.fd);
  }
});

Deno.test("ffi: sockaddr and IPv6 text round trips", () => {
  const a4 = decodeSockaddr(encodeSockaddr("10.1.2.3", 8080));
  assert.deepEqual(a4, { family: AF_INET, hostname: "10.1.2.3", port: 8080 });
  const a6 = decodeSockaddr(encodeSockaddr("2001:db8::1", 443));
  assert.deepEqual(a6, { family: AF_INET6, hostname: "2001:db8::1", port: 443 });
  assert.equal(formatIPv6(parseIPv6("::")!), "::");
  assert.equal(formatIPv6(parseIPv6("::1")!), "::1");
  assert.equal(formatIPv6(parseIPv6("1:0:0:2:0:0:0:3")!), "1:0:0:2::3");
  assert.equal(formatIPv6(parseIPv6("::ffff:1.2.3.4")!), "::ffff:1.2.3.4");
  assert.equal(parseIPv6("1::2::3"), null);
  assert.throws(() => encodeSockaddr("not an address", 1), TypeError);
});
