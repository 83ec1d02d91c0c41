/**
 * Opens many keep-alive connections, completes one request on each and keeps them open: what
 * the "RSS with 1,000 open connections" measurement needs.
 *
 * @module
 */
import { errno, libc } from "../../ffi/libc.ts";
import { EINTR, MSG_NOSIGNAL } from "../../ffi/constants.ts";
import { connectTcp } from "./client.ts";

/** Connections held open by {@linkcode holdConnections}. */
export interface HeldConnections {
  /** Number of connections open. */
  readonly count: number;
  /** Closes every connection. */
  close(): void;
}

/**
 * Opens `count` connections to `hostname:port`, sends `GET path` on each and reads the whole
 * response (blocking; the path should answer a small body with Content-Length).
 */
export function holdConnections(
  hostname: string,
  port: number,
  path: string,
  count: number,
): HeldConnections {
  const c = libc();
  const request = new TextEncoder().encode(
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`,
  );
  const buffer = new Uint8Array(64 * 1024);
  const fds: number[] = [];
  const closeAll = () => {
    for (const fd of fds) c.close(fd);
    fds.length = 0;
  };
  try {
    for (let i = 0; i < count; i++) {
      const fd = connectTcp(hostname, port);
      fds.push(fd);
      if (c.send(fd, request, BigInt(request.byteLength), MSG_NOSIGNAL) !== request.byteLength) {
        throw new Error(`send on connection ${i}: errno ${errno()}`);
      }
      readOneResponse(fd, buffer);
    }
  } catch (error) {
    closeAll();
    throw error;
  }
  return { count: fds.length, close: closeAll };
}

/** Blocking read of one response with a Content-Length body into `buffer`. */
function readOneResponse(fd: number, buffer: Uint8Array): void {
  const c = libc();
  let got = 0;
  let need = -1;
  while (need < 0 || got < need) {
    const n = c.recv(fd, buffer.subarray(got), BigInt(buffer.byteLength - got), 0);
    if (n < 0 && errno() === EINTR) continue;
    if (n <= 0) throw new Error(`connection closed before a full response (errno ${errno()})`);
    got += n;
    if (need < 0) {
      const text = new TextDecoder("latin1").decode(buffer.subarray(0, got));
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) continue;
      const match = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
      if (!match) throw new Error("response without Content-Length");
      need = end + 4 + Number(match[1]);
      if (need > buffer.byteLength) throw new Error("response too large to hold");
    }
  }
}
