/**
 * Struct layouts of Linux x86_64 used by the bindings: `sockaddr_in`, `sockaddr_in6`, the packed
 * 12-byte `epoll_event` and `struct stat`.
 *
 * @module
 */
import { AF_INET, AF_INET6 } from "./constants.ts";

/** Size of `struct sockaddr_in`. */
export const SOCKADDR_IN_SIZE = 16;
/** Size of `struct sockaddr_in6`. */
export const SOCKADDR_IN6_SIZE = 28;
/** Size of `struct sockaddr_storage` (enough for any address). */
export const SOCKADDR_STORAGE_SIZE = 128;

/** An IP socket address. */
export interface SocketAddress {
  /** Dotted IPv4 or textual IPv6 (no brackets). */
  readonly hostname: string;
  /** TCP port. */
  readonly port: number;
}

/** Parses an IPv4 address text into 4 bytes, or returns null. */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** Parses an IPv6 address text (with `::` and an optional trailing IPv4) into 16 bytes, or null. */
export function parseIPv6(text: string): Uint8Array | null {
  let s = text;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const out = new Uint8Array(16);
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const words: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (i === items.length - 1 && item.includes(".")) {
        const v4 = parseIPv4(item);
        if (v4 === null) return null;
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return null;
        words.push(parseInt(item, 16));
      }
    }
    return words;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 7) return null;
  const words = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i] >> 8;
    out[i * 2 + 1] = words[i] & 0xff;
  }
  return out;
}

/** Formats 16 bytes as RFC 5952 IPv6 text (longest zero run compressed, v4-mapped as a.b.c.d). */
export function formatIPv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[i * 2] << 8) | bytes[i * 2 + 1]);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** Encodes `hostname:port` as a sockaddr_in or sockaddr_in6; throws on an unparsable address. */
export function encodeSockaddr(hostname: string, port: number): Uint8Array {
  const v4 = parseIPv4(hostname);
  if (v4 !== null) {
    const buf = new Uint8Array(SOCKADDR_IN_SIZE);
    const view = new DataView(buf.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port, false);
    buf.set(v4, 4);
    return buf;
  }
  const v6 = parseIPv6(hostname);
  if (v6 === null) throw new TypeError(`not an IP address: ${hostname}`);
  const buf = new Uint8Array(SOCKADDR_IN6_SIZE);
  const view = new DataView(buf.buffer);
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, port, false);
  // flowinfo (4..8) = 0, address 8..24, scope id 24..28 = 0
  buf.set(v6, 8);
  return buf;
}

/** Decodes a sockaddr_in or sockaddr_in6 written by the kernel. */
export function decodeSockaddr(buf: Uint8Array): SocketAddress & { family: number } {
  const family = buf[0] | (buf[1] << 8);
  const port = (buf[2] << 8) | buf[3];
  if (family === AF_INET) {
    return { family, hostname: `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`, port };
  }
  if (family === AF_INET6) return { family, hostname: formatIPv6(buf.subarray(8, 24)), port };
  return { family, hostname: "", port: 0 };
}

/** Size of one packed `struct epoll_event` on x86_64 (u32 events + u64 data, no padding). */
export const EPOLL_EVENT_SIZE = 12;

/** Writes one epoll_event (`events`, data = `token` as a u32 in the low half) at `index`. */
export function writeEpollEvent(view: DataView, index: number, events: number, token: number) {
  const at = index * EPOLL_EVENT_SIZE;
  view.setUint32(at, events >>> 0, true);
  view.setUint32(at + 4, token >>> 0, true);
  view.setUint32(at + 8, 0, true);
}

/** Events of the epoll_event at `index`. */
export function epollEvents(view: DataView, index: number): number {
  return view.getUint32(index * EPOLL_EVENT_SIZE, true);
}

/** Token (low 32 bits of data) of the epoll_event at `index`. */
export function epollToken(view: DataView, index: number): number {
  return view.getUint32(index * EPOLL_EVENT_SIZE + 4, true);
}

/** Size of `struct stat` on x86_64. */
export const STAT_SIZE = 144;
/** Byte offsets of the `struct stat` fields used here (x86_64). */
export const STAT_OFFSETS = {
  dev: 0,
  ino: 8,
  mode: 24,
  size: 48,
  mtimeSec: 88,
  mtimeNsec: 96,
} as const;

/** The fields of `struct stat` the engine needs. */
export interface StatFields {
  /** Device number. */
  readonly dev: number;
  /** Inode number. */
  readonly ino: number;
  /** st_mode (type and permissions). */
  readonly mode: number;
  /** Size in bytes. */
  readonly size: number;
  /** Modification time in nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
}

/** Decodes the fields the engine needs from a `struct stat` buffer. */
export function decodeStat(view: DataView): StatFields {
  const sec = view.getBigInt64(STAT_OFFSETS.mtimeSec, true);
  const nsec = view.getBigInt64(STAT_OFFSETS.mtimeNsec, true);
  return {
    dev: Number(view.getBigUint64(STAT_OFFSETS.dev, true)),
    ino: Number(view.getBigUint64(STAT_OFFSETS.ino, true)),
    mode: view.getUint32(STAT_OFFSETS.mode, true),
    size: Number(view.getBigInt64(STAT_OFFSETS.size, true)),
    mtimeNs: sec * 1_000_000_000n + nsec,
  };
}
