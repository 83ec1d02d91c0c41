/**
 * The start-up warning for `--basic-auth` on plain HTTP: Basic credentials are only base64
 * (RFC 7617 §4), readable by anyone on the path. On a loopback address the plain listener is not
 * reachable from the network (the usual setup behind a TLS-terminating proxy on the same host),
 * so nothing is printed there.
 *
 * @module
 */

/** True for `localhost`, 127.0.0.0/8, `::1` and IPv4-mapped 127.x addresses. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The warning line for a plain HTTP listener at `url` on `host`, or undefined on loopback. */
export function basicAuthPlainHttpWarning(host: string, url: string): string | undefined {
  if (isLoopbackHost(host)) return undefined;
  return `zerocast: warning: --basic-auth over plain HTTP on ${url}: passwords cross the network ` +
    "readable; serve logins over HTTPS (--tls-port) or a TLS proxy, and keep this port private";
}
