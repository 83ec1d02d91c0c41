/**
 * The request-target (RFC 9112 §3.2) and the one URL every consumer of a request reads.
 *
 * The engine hands the app `http://<authority><path>[?<query>]`, built here and nowhere else:
 *
 * - origin-form `/path?query` (§3.2.1): the authority is the Host field, or the listener address
 *   when Host is empty (HTTP/1.1 allows an empty Host) or absent (HTTP/1.0);
 * - absolute-form `http://authority/path?query` (§3.2.2): its own authority wins over Host, an
 *   empty path becomes `/` (RFC 9110 §4.2.3); only the `http` and `https` schemes, no userinfo
 *   (RFC 9110 §4.2.4), no empty host (RFC 9110 §4.2.1);
 * - authority-form `host:port` (§3.2.3): only with CONNECT, path `/`;
 * - asterisk-form `*` (§3.2.4): only with OPTIONS, path `/*` (what `Deno.serve` gives too).
 *
 * Anything else is a 400, and so is a fragment (`#` is not part of any form). The authority is
 * never empty and never contains `/`, `?`, `#`, `@` or `\`, so the path of the URL starts at the
 * first `/` after `//` for every reader: Hono's router, `rawPathOf`, and the WHATWG URL parser
 * when the app materialises a real `Request`.
 *
 * @module
 */

/** How the request-target was written (RFC 9112 §3.2). */
export type TargetForm = "origin" | "absolute" | "authority" | "asterisk";

/** A classified, validated request-target. */
export interface RequestTarget {
  /** Which of the four forms it is. */
  readonly form: TargetForm;
  /** The authority the target itself names (absolute- and authority-form), else null. */
  readonly authority: string | null;
  /** Path and query as sent, starting with `/` (an empty absolute-form path is `/`). */
  readonly pathAndQuery: string;
}

/** Why a target was refused (always answered with 400). */
export interface TargetError {
  /** Short reason for the error response and tests. */
  readonly error: string;
}

/**
 * `uri-host [ ":" port ]` (RFC 3986 §3.2.2-§3.2.3): an IP literal in brackets, or a reg-name of
 * unreserved and sub-delims characters. Percent-encoding is refused in hosts (a decoded NUL or
 * `/` would make URL parsers disagree); the port has at most 5 digits.
 */
const AUTHORITY =
  /^(?:\[(?:[0-9A-Fa-f:.]+|[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\]|[A-Za-z0-9\-._~!$&'()*+,;=]*)(?::[0-9]{0,5})?$/;

/** Verdicts on authorities seen recently (clients repeat the same few Host values). */
const verdicts = new Map<string, boolean>();
const MAX_VERDICTS = 1024;
/** Longest authority kept in the cache (a DNS name has at most 253 characters). */
const MAX_CACHED_LENGTH = 263;

/**
 * True when `text` is a valid `host[:port]` (RFC 3986 §3.2.2) that a WHATWG URL parser also
 * accepts as the authority of an `http` URL; the empty string is valid (an empty Host field).
 */
export function validAuthority(text: string): boolean {
  if (text === "") return true;
  let ok = verdicts.get(text);
  if (ok === undefined) {
    ok = AUTHORITY.test(text) && URL.canParse(`http://${text}/`);
    // only short values are remembered, so the cache stays small whatever clients send
    if (text.length <= MAX_CACHED_LENGTH) {
      if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
      verdicts.set(text, ok);
    }
  }
  return ok;
}

/** A non-empty host followed by a port of 1-5 digits. */
const CONNECT_AUTHORITY = /^[^:].*:[0-9]{1,5}$/;

const ASTERISK: RequestTarget = Object.freeze({
  form: "asterisk",
  authority: null,
  pathAndQuery: "/*",
});

/** True for bytes of a URI scheme after its first letter (RFC 3986 §3.1). */
function schemeChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2b || c === 0x2d || c === 0x2e;
}

/**
 * Classifies `target` (as the codec passes it: visible ASCII, bytes 0x80-0xFF already
 * percent-encoded) for `method`, per RFC 9112 §3.2; see the module documentation.
 */
export function parseRequestTarget(method: string, target: string): RequestTarget | TargetError {
  if (target.includes("#")) return { error: "fragment in request target" };
  const first = target.charCodeAt(0);
  if (method === "CONNECT") {
    // authority-form = uri-host ":" port (§3.2.3), and only that
    if (!CONNECT_AUTHORITY.test(target) || !validAuthority(target)) {
      return { error: "CONNECT needs host:port" };
    }
    return { form: "authority", authority: target, pathAndQuery: "/" };
  }
  if (first === 0x2f) return { form: "origin", authority: null, pathAndQuery: target };
  if (first === 0x2a && target.length === 1) {
    return method === "OPTIONS" ? ASTERISK : { error: "asterisk-form is only for OPTIONS" };
  }
  // absolute-form = scheme "://" authority path-abempty [ "?" query ]
  let p = 0;
  while (p < target.length && schemeChar(target.charCodeAt(p))) p++;
  if (
    p === 0 || !((first | 0x20) >= 0x61 && (first | 0x20) <= 0x7a) ||
    !target.startsWith("://", p)
  ) return { error: "invalid request target" };
  const scheme = target.slice(0, p).toLowerCase();
  if (scheme !== "http" && scheme !== "https") return { error: "unsupported URI scheme" };
  const authorityStart = p + 3;
  let q = authorityStart;
  while (q < target.length) {
    const c = target.charCodeAt(q);
    if (c === 0x2f || c === 0x3f) break;
    q++;
  }
  const authority = target.slice(authorityStart, q);
  if (authority.includes("@")) return { error: "userinfo in request target" };
  if (authority === "" || authority.charCodeAt(0) === 0x3a) return { error: "empty host" };
  if (!validAuthority(authority)) return { error: "invalid authority in request target" };
  const rest = target.slice(q);
  return {
    form: "absolute",
    authority,
    pathAndQuery: rest.charCodeAt(0) === 0x2f ? rest : "/" + rest,
  };
}

/** True when `result` is a refusal rather than a target. */
export function isTargetError(result: RequestTarget | TargetError): result is TargetError {
  return "error" in result;
}

/**
 * The request's URL: `scheme://` (default `http`) + the target's own authority, else a non-empty
 * Host, else `fallbackAuthority` (the listener address), then the path and query (RFC 9112 §3.3).
 */
export function requestUrl(
  target: RequestTarget,
  host: string | null,
  fallbackAuthority: string,
  scheme: "http" | "https" = "http",
): string {
  const authority = target.authority ?? (host === null || host === "" ? fallbackAuthority : host);
  return `${scheme}://${authority}${target.pathAndQuery}`;
}
