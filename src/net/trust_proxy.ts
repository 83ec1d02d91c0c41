/**
 * `--trust-proxy CIDR`: which TCP peers are proxies, and the client address behind them.
 *
 * A request from a trusted peer names its client in `X-Forwarded-For` (a de-facto standard; RFC
 * 7239 §5.2 describes the same list for `Forwarded: for=`): each proxy appends the address it
 * received the request from. Walking the list from the right, past every address that is itself
 * a trusted proxy, the first untrusted address is the client: the left part of the list is
 * whatever the client sent and cannot be believed. A request from an untrusted peer keeps the
 * peer address, whatever its `X-Forwarded-For` says.
 *
 * @module
 */

/** An address range: 4 (IPv4) or 16 (IPv6) bytes and a prefix length. */
export interface Cidr {
  /** Network address bytes. */
  readonly bytes: Uint8Array;
  /** Prefix length in bits. */
  readonly bits: number;
}

/** Parses dotted-quad IPv4 into 4 bytes, or null (RFC 791 text form, no leading zeros trickery). */
function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (!/^\d{1,3}$/.test(part) || (part.length > 1 && part[0] === "0")) return null;
    const n = Number(part);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** Parses an IPv6 literal (RFC 4291 §2.2, with `::` and a trailing dotted quad) into 16 bytes. */
function parseIpv6(text: string): Uint8Array | null {
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (v4 === null) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
      out.push(parseInt(piece, 16));
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i] >> 8;
    out[2 * i + 1] = all[i] & 0xff;
  }
  return out;
}

/** True for `::ffff:a.b.c.d` (an IPv4 peer on a dual-stack socket, RFC 4291 §2.5.5.2). */
function isV4Mapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Parses an IPv4 or IPv6 address (IPv4-mapped IPv6 becomes IPv4), or null. */
export function parseIp(text: string): Uint8Array | null {
  if (text.includes(":")) {
    const v6 = parseIpv6(text);
    return v6 !== null && isV4Mapped(v6) ? v6.slice(12) : v6;
  }
  return parseIpv4(text);
}

/** Parses `ADDR/BITS` (or a bare address: a single host), or null. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text.trim() : text.slice(0, slash).trim();
  const bytes = parseIp(address);
  if (bytes === null) return null;
  if (slash < 0) return { bytes, bits: bytes.length * 8 };
  const max = address.includes(":") ? 128 : 32;
  const bitsText = text.slice(slash + 1).trim();
  if (!/^\d{1,3}$/.test(bitsText)) return null;
  let bits = Number(bitsText);
  if (bits > max) return null;
  // `::ffff:10.0.0.0/104` is the IPv4 range 10.0.0.0/8.
  if (address.includes(":") && bytes.length === 4) {
    if (bits < 96) return null;
    bits -= 96;
  }
  return { bytes, bits };
}

/** True when `address` (bytes from {@linkcode parseIp}) lies in `cidr`. */
export function cidrContains(cidr: Cidr, address: Uint8Array): boolean {
  if (cidr.bytes.length !== address.length) return false;
  let bits = cidr.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((cidr.bytes[i] & mask) !== (address[i] & mask)) return false;
  }
  return true;
}

/** Strips a port (`1.2.3.4:80`, `[::1]:80`) and brackets from one `X-Forwarded-For` element. */
function hostOf(element: string): string {
  const text = element.trim();
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    return end < 0 ? text : text.slice(1, end);
  }
  const colon = text.indexOf(":");
  // One colon: IPv4 with a port; more: an IPv6 literal.
  return colon >= 0 && colon === text.lastIndexOf(":") ? text.slice(0, colon) : text;
}

/** A set of trusted proxy ranges. */
export class TrustedProxies {
  readonly #ranges: readonly Cidr[];

  /** Parses every CIDR of `cidrs`; throws RangeError naming a bad one. */
  constructor(cidrs: readonly string[]) {
    this.#ranges = cidrs.map((text) => {
      const cidr = parseCidr(text);
      if (cidr === null) throw new RangeError(`not a CIDR: "${text}"`);
      return cidr;
    });
  }

  /** True when no range is trusted. */
  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  /** True when the address text lies in a trusted range. */
  trusts(address: string): boolean {
    const bytes = parseIp(address);
    if (bytes === null) return false;
    for (const range of this.#ranges) if (cidrContains(range, bytes)) return true;
    return false;
  }

  /**
   * The client address of a request from `peer` with `forwardedFor` (the `X-Forwarded-For`
   * field or null): `peer` unless it is trusted; else the right-most untrusted address of the
   * list (the left-most when all are trusted). A malformed element stops the walk at the
   * address to its right, the last one a trusted proxy vouched for.
   */
  clientOf(peer: string, forwardedFor: string | null): string {
    if (forwardedFor === null || !this.trusts(peer)) return peer;
    const elements = forwardedFor.split(",");
    let client = peer;
    for (let i = elements.length - 1; i >= 0; i--) {
      const host = hostOf(elements[i]);
      const bytes = parseIp(host);
      if (bytes === null) return client;
      client = host;
      if (!this.trusts(host)) return client;
    }
    return client;
  }
}

/** The shape of an app a server runs (Hono's `fetch`); see src/server/types.ts. */
interface FetchLike<E> {
  fetch(request: Request, env?: E): Response | Promise<Response>;
}

/**
 * `app` seeing the client behind a trusted proxy as `env.remoteAddr.hostname` (the port stays
 * the peer's); requests from other peers pass unchanged.
 */
export function withTrustedProxies<
  E extends { readonly remoteAddr: { readonly hostname: string; readonly port: number } },
>(app: FetchLike<E>, proxies: TrustedProxies): FetchLike<E> {
  return {
    fetch(request, env) {
      if (env === undefined) return app.fetch(request, env);
      const peer = env.remoteAddr.hostname;
      const client = proxies.clientOf(peer, request.headers.get("x-forwarded-for"));
      if (client === peer) return app.fetch(request, env);
      return app.fetch(request, { ...env, remoteAddr: { ...env.remoteAddr, hostname: client } });
    },
  };
}
