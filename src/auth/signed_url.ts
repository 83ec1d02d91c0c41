/**
 * Signed URLs with a path-embedded token, in the manner of CDN URL signing and nginx's
 * `secure_link`: one signature covers every URL under a path prefix until an expiry time.
 *
 * Format: `/s/<exp>.<depth>.<sig>/<path>`
 *
 * - `exp`: expiry, unix seconds, decimal without leading zeros. The URL is refused when
 *   `now >= exp` (no grace period: the expiry is the minter's promise).
 * - `depth`: how many path segments of `<path>` form the signed prefix (1 to 64). The prefix is
 *   `/` + the first `depth` segments, followed by `/` when the path goes on: depth 2 of
 *   `/media/show/index.m3u8` is `/media/show/` (a directory prefix: everything below it), depth 2 of
 *   `/media/sample.mp4` is `/media/sample.mp4` (exactly that path).
 * - `sig`: base64url without padding (43 characters) of HMAC-SHA256(key, `${exp}\n${prefix}`)
 *   (RFC 2104), key = the UTF-8 bytes of the sign key.
 *
 * The prefix is signed as raw URL text (percent-encoded, never decoded here), so it is compared
 * exactly as the client sends it. Because the token is part of the path, a player that resolves
 * a relative URI from a playlist (RFC 3986 §5.2) keeps it: `segment001.ts` next to
 * `/s/T/media/show/index.m3u8` is `/s/T/media/show/segment001.ts`. What follows the prefix is left
 * to the routes and their path checks (`..`, `%2F`... are still 400 there).
 *
 * @module
 */
import { nodeCrypto } from "./node_crypto.ts";

/** First path segment of a signed URL. */
export const SIGNED_MOUNT = "/s/";
/** Deepest prefix a token may name. */
export const MAX_DEPTH = 64;
/** Shortest sign key accepted (characters). */
export const MIN_SIGN_KEY_LENGTH = 16;
/** Length of the base64url HMAC-SHA256 in a token. */
const SIG_LENGTH = 43;
/** Largest `exp` accepted: 11 digits (year 5138). */
const MAX_EXP_DIGITS = 11;

/** Outcome of {@linkcode verifySignedPath}. */
export type SignedPathCheck =
  /** The path carries no token (does not start with `/s/`). */
  | { readonly kind: "unsigned" }
  /** A valid, unexpired token for a prefix of `path`; `path` is the path without the token. */
  | { readonly kind: "ok"; readonly path: string; readonly prefix: string }
  /** A token that is malformed, wrong, expired or for another prefix: never said which. */
  | { readonly kind: "forbidden" };

const UNSIGNED: SignedPathCheck = { kind: "unsigned" };
const FORBIDDEN: SignedPathCheck = { kind: "forbidden" };

/** Characters allowed raw in a path segment (RFC 3986 §3.3 pchar, minus `%`, checked apart). */
const PCHAR = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*$/;

/** The key as bytes for HMAC; refuses keys shorter than {@linkcode MIN_SIGN_KEY_LENGTH}. */
export function signKeyBytes(key: string | Uint8Array): Uint8Array {
  const bytes = typeof key === "string" ? new TextEncoder().encode(key) : key;
  if (bytes.length < MIN_SIGN_KEY_LENGTH) {
    throw new RangeError(`sign key must be at least ${MIN_SIGN_KEY_LENGTH} bytes`);
  }
  return bytes;
}

/** base64url (RFC 4648 §5, no padding) of HMAC-SHA256(key, `${exp}\n${prefix}`). */
export function signature(key: Uint8Array, exp: string, prefix: string): string {
  return nodeCrypto().createHmac("sha256", key).update(`${exp}\n${prefix}`, "utf8").digest(
    "base64url",
  );
}

/**
 * Checks a signed path. `rawPath` is the undecoded request path (`rawPathOf`); `nowSeconds` is
 * unix time in seconds (fractions allowed). Pure: the same inputs give the same answer. The MAC is
 * compared in constant time (fixed-length byte arrays, `timingSafeEqual`).
 */
export function verifySignedPath(
  key: Uint8Array,
  rawPath: string,
  nowSeconds: number,
): SignedPathCheck {
  if (!rawPath.startsWith(SIGNED_MOUNT)) return UNSIGNED;
  const tokenEnd = rawPath.indexOf("/", SIGNED_MOUNT.length);
  if (tokenEnd < 0) return FORBIDDEN;
  const parts = rawPath.slice(SIGNED_MOUNT.length, tokenEnd).split(".");
  if (parts.length !== 3) return FORBIDDEN;
  const [exp, depthText, sig] = parts;
  if (!/^[1-9][0-9]*$/.test(exp) || exp.length > MAX_EXP_DIGITS) return FORBIDDEN;
  if (!/^[1-9][0-9]?$/.test(depthText)) return FORBIDDEN;
  const depth = Number(depthText);
  if (depth > MAX_DEPTH || sig.length !== SIG_LENGTH) return FORBIDDEN;
  const path = rawPath.slice(tokenEnd);
  const prefix = prefixOf(path, depth);
  if (prefix === undefined) return FORBIDDEN;
  // The MAC is checked before the expiry so that both refusals cost the same.
  const expected = new TextEncoder().encode(signature(key, exp, prefix));
  const given = new TextEncoder().encode(sig);
  const macOk = given.length === expected.length && nodeCrypto().timingSafeEqual(given, expected);
  if (!macOk || nowSeconds >= Number(exp) || !staysInside(path)) return FORBIDDEN;
  return { kind: "ok", path, prefix };
}

/**
 * False when a segment of `path`, percent-decoded once, is `.` or `..` or holds `/` or `\`:
 * paths that URL normalisation (RFC 3986 §5.2.4, WHATWG URL's `\` as `/`) or a decoding route
 * could turn into a path outside the signed prefix.
 */
export function staysInside(path: string): boolean {
  for (const raw of path.split("/")) {
    let segment = raw;
    if (segment.includes("%")) {
      try {
        segment = decodeURIComponent(segment);
      } catch {
        return false;
      }
    }
    if (segment === "." || segment === ".." || segment.includes("/") || segment.includes("\\")) {
      return false;
    }
  }
  return true;
}

/**
 * The signed prefix of `path` at `depth`: `/` + the first `depth` segments, plus `/` when more
 * follows; undefined when the path has fewer segments.
 */
export function prefixOf(path: string, depth: number): string | undefined {
  let end = 0; // index of the `/` that starts the next segment
  for (let i = 0; i < depth; i++) {
    if (end >= path.length) return undefined;
    const next = path.indexOf("/", end + 1);
    if (next < 0) return i === depth - 1 ? path : undefined;
    end = next;
  }
  return path.slice(0, end + 1);
}

/** Number of segments of a prefix (`/media/show/` → 2, `/media/a.mp4` → 2). */
export function depthOf(prefix: string): number {
  const body = prefix.endsWith("/") ? prefix.slice(1, -1) : prefix.slice(1);
  return body.split("/").length;
}

/**
 * Checks that `prefix` can be signed: starts with `/`, at least one segment, no empty, `.` or `..`
 * segment, and only characters allowed raw in a URL path (percent-encode the rest, e.g. a space
 * as `%20`). Returns an error message, or undefined when it is fine.
 */
export function prefixProblem(prefix: string): string | undefined {
  if (!prefix.startsWith("/")) return "prefix must start with /";
  const body = prefix.endsWith("/") ? prefix.slice(1, -1) : prefix.slice(1);
  if (body === "") return "prefix must name at least one path segment";
  const segments = body.split("/");
  if (segments.length > MAX_DEPTH) return `prefix has more than ${MAX_DEPTH} segments`;
  for (const segment of segments) {
    if (segment === "") return "prefix must not contain an empty segment (//)";
    if (segment === "." || segment === "..") return "prefix must not contain . or .. segments";
    if (!PCHAR.test(segment)) {
      return `prefix segment "${segment}" must be percent-encoded (e.g. a space as %20)`;
    }
  }
  return undefined;
}

/** Options of {@linkcode signPath}. */
export interface SignOptions {
  /** The sign key (at least 16 bytes). */
  readonly key: string | Uint8Array;
  /** Path prefix to sign, as raw URL text: `/media/show/` (directory) or `/media/a.mp4` (one path). */
  readonly prefix: string;
  /** Expiry in unix seconds; or use `ttlSeconds`. */
  readonly expires?: number;
  /** Seconds from `now` until expiry (default 3600) when `expires` is not given. */
  readonly ttlSeconds?: number;
  /** Path below a directory prefix to point at (raw URL text, e.g. `index.m3u8`; default none). */
  readonly path?: string;
  /** Unix time in seconds used with `ttlSeconds` (default: the clock). */
  readonly nowSeconds?: number;
}

/** The signed path `/s/<exp>.<depth>.<sig><prefix><path>`; throws RangeError on bad input. */
export function signPath(options: SignOptions): string {
  const key = signKeyBytes(options.key);
  const problem = prefixProblem(options.prefix);
  if (problem !== undefined) throw new RangeError(problem);
  const now = options.nowSeconds ?? Date.now() / 1000;
  const expires = options.expires ?? Math.ceil(now + (options.ttlSeconds ?? 3600));
  if (!Number.isSafeInteger(expires) || expires < 1 || String(expires).length > MAX_EXP_DIGITS) {
    throw new RangeError("expiry must be a whole number of unix seconds, 1 to 11 digits");
  }
  const tail = options.path ?? "";
  if (tail !== "") {
    if (!options.prefix.endsWith("/")) {
      throw new RangeError("a path can follow a directory prefix (ending in /) only");
    }
    const problem = prefixProblem(`/${tail}`);
    if (problem !== undefined) throw new RangeError(problem.replace("prefix", "path"));
  }
  const exp = String(expires);
  const token = `${exp}.${depthOf(options.prefix)}.${signature(key, exp, options.prefix)}`;
  return `${SIGNED_MOUNT}${token}${options.prefix}${tail}`;
}

/** A full signed URL: `base` (e.g. `https://cdn.example`) + {@linkcode signPath}. */
export function signUrl(base: string, options: SignOptions): string {
  return base.replace(/\/+$/, "") + signPath(options);
}
