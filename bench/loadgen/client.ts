/**
 * The project's own HTTP/1.1 load client: N keep-alive connections, one request in flight on
 * each, random byte ranges, bodies discarded inside the kernel with `recv(MSG_TRUNC)` so the
 * client never copies file bytes and the server stays the bottleneck (wrk copies every byte).
 *
 * Built on the project's libc bindings (ffi/). It blocks its thread in `epoll_wait`, so it runs
 * in its own process ({@link ./main.ts}), never in the server's.
 *
 * @module
 */
import { errno, libc, MAX_IO } from "../../ffi/libc.ts";
import {
  AF_INET,
  EAGAIN,
  EINTR,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLLIN,
  IPPROTO_TCP,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  TCP_NODELAY,
} from "../../ffi/constants.ts";
import {
  encodeSockaddr,
  EPOLL_EVENT_SIZE,
  epollToken,
  SOCKADDR_IN_SIZE,
  writeEpollEvent,
} from "../../ffi/structs.ts";
import { selfCpuSeconds } from "../support/proc.ts";
import { LatencyRecorder, type LatencySummary } from "./latency.ts";

/** recv(2) flag: for TCP, discard the data instead of copying it (tcp(7), since Linux 2.4). */
const MSG_TRUNC = 0x20;

/** What to request. */
export interface LoadTarget {
  /** Server address (loopback). */
  readonly hostname: string;
  /** Server port. */
  readonly port: number;
  /** Request path, e.g. `/media/1g.bin` or `/healthz`. */
  readonly path: string;
  /** Random single ranges of `length` bytes inside a file of `fileSize` bytes; none = no Range. */
  readonly range?: { readonly fileSize: number; readonly length: number };
  /** When set, every request asks for one of these paths, picked at random (instead of `path`). */
  readonly paths?: readonly string[];
  /** Status every response must have (default 206 with a range, else 200). */
  readonly expectStatus?: number;
  /** Content-Length every response must have (default: the range length; unchecked otherwise). */
  readonly expectLength?: number;
}

/** Options of {@linkcode runLoad}. */
export interface LoadOptions extends LoadTarget {
  /** Number of keep-alive connections. */
  readonly connections: number;
  /** Seconds of load before measuring starts. */
  readonly warmupSeconds: number;
  /** Seconds measured. */
  readonly durationSeconds: number;
  /** Seed of the range offsets (same seed, same sequence). */
  readonly seed?: number;
  /** Called when the measured window starts (after the warm-up). */
  readonly onMeasureStart?: () => void;
  /** Called when the measured window ends, before connections are closed. */
  readonly onMeasureEnd?: () => void;
}

/** Errors seen in the measured window, by kind. */
export interface LoadErrors {
  /** Responses with another status than expected. */
  status: number;
  /** Responses with another Content-Length than expected. */
  length: number;
  /** Responses that could not be parsed (no Content-Length, oversized header, chunked...). */
  parse: number;
  /** Connections closed or reset by the server while a response was awaited. */
  closed: number;
}

/** What one load run measured. */
export interface LoadResult {
  /** Complete responses in the measured window. */
  readonly requests: number;
  /** Body bytes received (and discarded) in the measured window. */
  readonly bodyBytes: number;
  /** Length of the measured window in seconds. */
  readonly seconds: number;
  /** Response latency: request sent to last body byte received, in microseconds. */
  readonly latencyUs: LatencySummary;
  /** Errors in the measured window. */
  readonly errors: LoadErrors;
  /** CPU seconds this client process used in the measured window. */
  readonly clientCpuSeconds: number;
  /** Number of connections the client reopened after the server closed one. */
  readonly reconnects: number;
}

const STATE_HEAD = 0;
const STATE_BODY = 1;

/** One keep-alive connection and its in-flight request. */
interface Connection {
  fd: number;
  state: number;
  /** Header bytes of a response whose header block did not arrive in one recv. */
  partial: Uint8Array | null;
  remaining: number;
  bodyLength: number;
  closeAfter: boolean;
  sentAt: number;
  /** The response's status differs from the expected one (counted when it completes). */
  wrongStatus: boolean;
  /** The response's Content-Length differs from the expected one. */
  wrongLength: boolean;
}

/** Most header bytes accepted. */
const HEADER_LIMIT = 16 * 1024;
/** Bytes copied per header read: a typical header block, so little body is copied with it. */
const HEAD_READ = 1024;
const CRLFCRLF = [13, 10, 13, 10];

/** Index just past the first CRLFCRLF in `bytes[0, end)`, or -1. */
function headerEnd(bytes: Uint8Array, end: number): number {
  for (let i = 3; i < end; i++) {
    if (
      bytes[i] === CRLFCRLF[3] && bytes[i - 1] === CRLFCRLF[2] && bytes[i - 2] === CRLFCRLF[1] &&
      bytes[i - 3] === CRLFCRLF[0]
    ) return i + 1;
  }
  return -1;
}

/** The fields of a response header block the client needs. */
interface ParsedHead {
  readonly status: number;
  readonly contentLength: number;
  readonly close: boolean;
}

const LOWER = 0x20;
const CONTENT_LENGTH = [..."content-length:"].map((ch) => ch.charCodeAt(0));
const TRANSFER_ENCODING = [..."transfer-encoding:"].map((ch) => ch.charCodeAt(0));
const CONNECTION = [..."connection:"].map((ch) => ch.charCodeAt(0));

/** True when the header line at `at` starts with `name` (ASCII, case-insensitive). */
function nameAt(bytes: Uint8Array, at: number, end: number, name: readonly number[]): boolean {
  if (at + name.length > end) return false;
  for (let i = 0; i < name.length; i++) {
    const b = bytes[at + i];
    if (b !== name[i] && (b | LOWER) !== name[i]) return false;
  }
  return true;
}

/** Index of the next CR at or after `from` (or `end`). */
function lineEnd(bytes: Uint8Array, from: number, end: number): number {
  let i = from;
  while (i < end && bytes[i] !== 13) i++;
  return i;
}

/**
 * Parses a response header block (RFC 9112 §4 status line, §6.3 body length, §9.3 persistence)
 * straight from the bytes, without decoding it to a string; null when unusable.
 */
function parseHead(bytes: Uint8Array, end: number): ParsedHead | null {
  // "HTTP/1.x SSS "
  if (end < 12 || bytes[0] !== 72 || bytes[5] !== 49 || bytes[6] !== 46) return null;
  const http10 = bytes[7] === 48;
  const status = (bytes[9] - 48) * 100 + (bytes[10] - 48) * 10 + (bytes[11] - 48);
  if (!(status >= 100 && status <= 999)) return null;
  let contentLength = -1;
  let close = http10;
  let at = lineEnd(bytes, 0, end) + 2;
  while (at < end - 2) {
    const stop = lineEnd(bytes, at, end);
    if (nameAt(bytes, at, stop, CONTENT_LENGTH)) {
      let value = 0;
      let digits = 0;
      for (let i = at + CONTENT_LENGTH.length; i < stop; i++) {
        const b = bytes[i];
        if (b >= 48 && b <= 57) {
          value = value * 10 + (b - 48);
          digits++;
        } else if (b !== 32 && b !== 9) return null;
      }
      if (digits === 0) return null;
      contentLength = value;
    } else if (nameAt(bytes, at, stop, TRANSFER_ENCODING)) {
      return null; // chunked bodies are not supported
    } else if (nameAt(bytes, at, stop, CONNECTION)) {
      const value = latin1.decode(bytes.subarray(at + CONNECTION.length, stop)).toLowerCase();
      if (value.includes("close")) close = true;
      else if (value.includes("keep-alive")) close = false;
    }
    at = stop + 2;
  }
  if (contentLength < 0 || !Number.isSafeInteger(contentLength)) return null;
  return { status, contentLength, close };
}

const latin1 = new TextDecoder("latin1");

/** A seeded xorshift32 generator of floats in [0, 1). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 0x2545f491;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Opens a blocking TCP connection with TCP_NODELAY; I/O on it uses MSG_DONTWAIT per call. */
export function connectTcp(hostname: string, port: number): number {
  const c = libc();
  const fd = c.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket: errno ${errno()}`);
  const address = encodeSockaddr(hostname, port);
  if (c.connect(fd, address, SOCKADDR_IN_SIZE) < 0) {
    const code = errno();
    c.close(fd);
    throw new Error(`connect ${hostname}:${port}: errno ${code}`);
  }
  const one = new Int32Array([1]);
  c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, new Uint8Array(one.buffer), 4);
  return fd;
}

/** Runs the load for warm-up + duration seconds and returns what the measured window saw. */
export function runLoad(options: LoadOptions): LoadResult {
  const c = libc();
  const encoder = new TextEncoder();
  const rand = random(options.seed ?? 1);
  const range = options.range;
  const expectStatus = options.expectStatus ?? (range ? 206 : 200);
  const expectLength = options.expectLength ?? range?.length;
  const hostHeader = `${options.hostname}:${options.port}`;
  const requestPrefix = `GET ${options.path} HTTP/1.1\r\nHost: ${hostHeader}\r\n`;
  const fixedRequest = encoder.encode(`${requestPrefix}\r\n`);
  const requestBuffer = new Uint8Array(1024);
  const scratch = new Uint8Array(HEAD_READ);
  const truncSink = new Uint8Array(1);

  const epfd = c.epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) throw new Error(`epoll_create1: errno ${errno()}`);
  const maxEvents = 256;
  const events = new Uint8Array(maxEvents * EPOLL_EVENT_SIZE);
  const eventsView = new DataView(events.buffer);
  const registration = new Uint8Array(EPOLL_EVENT_SIZE);
  const registrationView = new DataView(registration.buffer);
  const byFd: (Connection | undefined)[] = [];

  let measuring = false;
  let requests = 0;
  let bodyBytes = 0;
  let reconnects = 0;
  const errors: LoadErrors = { status: 0, length: 0, parse: 0, closed: 0 };
  const latency = new LatencyRecorder();

  const open = (): Connection => {
    const fd = connectTcp(options.hostname, options.port);
    writeEpollEvent(registrationView, 0, EPOLLIN, fd);
    if (c.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, registration) < 0) {
      throw new Error(`epoll_ctl: errno ${errno()}`);
    }
    const conn: Connection = {
      fd,
      state: STATE_HEAD,
      partial: null,
      remaining: 0,
      bodyLength: 0,
      closeAfter: false,
      sentAt: 0,
      wrongStatus: false,
      wrongLength: false,
    };
    byFd[fd] = conn;
    return conn;
  };

  const dispose = (conn: Connection) => {
    c.epoll_ctl(epfd, EPOLL_CTL_DEL, conn.fd, registration);
    c.close(conn.fd);
    byFd[conn.fd] = undefined;
  };

  const paths = options.paths;
  const send = (conn: Connection) => {
    let bytes = fixedRequest;
    if (paths !== undefined && paths.length > 0) {
      const path = paths[Math.floor(rand() * paths.length)];
      const line = `GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\n\r\n`;
      const { written } = encoder.encodeInto(line, requestBuffer);
      bytes = requestBuffer.subarray(0, written);
    } else if (range) {
      const start = Math.floor(rand() * (range.fileSize - range.length + 1));
      const line = `${requestPrefix}Range: bytes=${start}-${start + range.length - 1}\r\n\r\n`;
      const { written } = encoder.encodeInto(line, requestBuffer);
      bytes = requestBuffer.subarray(0, written);
    }
    conn.state = STATE_HEAD;
    conn.partial = null;
    conn.sentAt = performance.now();
    const n = c.send(conn.fd, bytes, BigInt(bytes.byteLength), MSG_DONTWAIT | MSG_NOSIGNAL);
    // A fresh request on an idle keep-alive socket always fits the send buffer; anything else
    // means the connection is gone.
    if (n !== bytes.byteLength) restart(conn, true);
  };

  const restart = (conn: Connection, failed: boolean) => {
    dispose(conn);
    if (failed && measuring) errors.closed++;
    reconnects++;
    send(open());
  };

  const complete = (conn: Connection) => {
    if (measuring) {
      requests++;
      bodyBytes += conn.bodyLength;
      if (conn.wrongStatus) errors.status++;
      if (conn.wrongLength) errors.length++;
      latency.record((performance.now() - conn.sentAt) * 1000);
    }
    if (conn.closeAfter) restart(conn, false);
    else send(conn);
  };

  const onHead = (conn: Connection, n: number) => {
    let bytes = scratch.subarray(0, n);
    if (conn.partial !== null) {
      const joined = new Uint8Array(conn.partial.byteLength + n);
      joined.set(conn.partial);
      joined.set(bytes, conn.partial.byteLength);
      bytes = joined;
    }
    const end = headerEnd(bytes, bytes.byteLength);
    if (end < 0) {
      if (bytes.byteLength >= HEADER_LIMIT) {
        if (measuring) errors.parse++;
        restart(conn, false);
      } else {
        conn.partial = bytes.slice();
      }
      return;
    }
    conn.partial = null;
    const head = parseHead(bytes, end);
    if (head === null) {
      if (measuring) errors.parse++;
      restart(conn, false);
      return;
    }
    conn.wrongStatus = head.status !== expectStatus;
    conn.wrongLength = expectLength !== undefined && head.contentLength !== expectLength;
    conn.bodyLength = head.contentLength;
    conn.closeAfter = head.close;
    conn.remaining = head.contentLength - (bytes.byteLength - end);
    if (conn.remaining < 0) {
      // More bytes than one response: the client never pipelines, so this is a framing error.
      if (measuring) errors.parse++;
      restart(conn, false);
    } else if (conn.remaining === 0) {
      complete(conn);
    } else {
      conn.state = STATE_BODY;
      // The body usually arrived with the header: discard it now instead of after another wait.
      onReadable(conn);
    }
  };

  const onReadable = (conn: Connection) => {
    let n: number;
    if (conn.state === STATE_HEAD) {
      n = c.recv(conn.fd, scratch, BigInt(scratch.byteLength), MSG_DONTWAIT);
    } else {
      const want = Math.min(conn.remaining, MAX_IO);
      n = c.recv(conn.fd, truncSink, BigInt(want), MSG_DONTWAIT | MSG_TRUNC);
    }
    if (n < 0) {
      const code = errno();
      if (code === EAGAIN || code === EINTR) return;
      restart(conn, true);
      return;
    }
    if (n === 0) {
      restart(conn, true);
      return;
    }
    if (conn.state === STATE_HEAD) {
      onHead(conn, n);
    } else {
      conn.remaining -= n;
      if (conn.remaining === 0) complete(conn);
    }
  };

  const started = performance.now();
  const measureFrom = started + options.warmupSeconds * 1000;
  const measureUntil = measureFrom + options.durationSeconds * 1000;
  let cpuAtStart = 0;
  let measuredFrom = measureFrom;
  try {
    for (let i = 0; i < options.connections; i++) send(open());
    if (options.warmupSeconds <= 0) {
      measuring = true;
      measuredFrom = performance.now();
      cpuAtStart = selfCpuSeconds();
      options.onMeasureStart?.();
    }
    let now = performance.now();
    while (now < measureUntil) {
      const ready = c.epoll_wait(epfd, events, maxEvents, 20);
      if (ready < 0 && errno() !== EINTR) throw new Error(`epoll_wait: errno ${errno()}`);
      for (let i = 0; i < ready; i++) {
        const conn = byFd[epollToken(eventsView, i)];
        if (conn !== undefined) onReadable(conn);
      }
      now = performance.now();
      if (!measuring && now >= measureFrom) {
        measuring = true;
        measuredFrom = now;
        cpuAtStart = selfCpuSeconds();
        options.onMeasureStart?.();
      }
    }
    const seconds = (now - measuredFrom) / 1000;
    const clientCpuSeconds = selfCpuSeconds() - cpuAtStart;
    options.onMeasureEnd?.();
    return {
      requests,
      bodyBytes,
      seconds,
      latencyUs: latency.summary(),
      errors,
      clientCpuSeconds,
      reconnects,
    };
  } finally {
    for (const conn of byFd) if (conn !== undefined) dispose(conn);
    c.close(epfd);
  }
}
