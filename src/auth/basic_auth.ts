/**
 * HTTP Basic authentication (RFC 7617) against one configured user and a PBKDF2 password hash.
 *
 * Hash format (made by `deno task passwd`):
 * `pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>`: PBKDF2 (RFC 8018 §5.2) with
 * HMAC-SHA-256, the salt as given, a 32-byte derived key. Verification derives the key from the
 * offered password with WebCrypto (off the main thread; it is slow on purpose) and compares it in
 * constant time. A credential that verified once is remembered (as a SHA-256 of the header, never
 * the password itself), so a browser's repeated requests do not pay the derivation again.
 *
 * @module
 */
import { nodeCrypto } from "./node_crypto.ts";

/** Name of the only hash scheme. */
export const HASH_SCHEME = "pbkdf2-sha256";
/** Iterations `deno task passwd` uses (OWASP's 2023 figure for PBKDF2-HMAC-SHA256). */
export const DEFAULT_ITERATIONS = 600_000;
/** Fewest iterations accepted in a hash. */
export const MIN_ITERATIONS = 1_000;
/** Most iterations accepted in a hash (a bound on the work one request can cause). */
export const MAX_ITERATIONS = 10_000_000;
/** Verified credentials remembered before the memory is emptied. */
const REMEMBERED = 1024;
/** `WWW-Authenticate` of a 401 (RFC 7617 §2, §2.1). */
export const BASIC_CHALLENGE = 'Basic realm="zerocast", charset="UTF-8"';

/** A parsed `USER:HASH`. */
export interface BasicCredential {
  readonly user: string;
  readonly iterations: number;
  readonly salt: Uint8Array;
  readonly hash: Uint8Array;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses `USER:pbkdf2-sha256$N$SALT$HASH`; returns an error message for bad input. */
export function parseBasicAuth(value: string): BasicCredential | string {
  const colon = value.indexOf(":");
  if (colon <= 0) return "must be USER:HASH (make the hash with `deno task passwd`)";
  const user = value.slice(0, colon);
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  if (/[\x00-\x1f\x7f]/.test(user)) return "user must not contain control characters";
  const fields = value.slice(colon + 1).split("$");
  if (fields.length !== 4 || fields[0] !== HASH_SCHEME) {
    return `hash must be ${HASH_SCHEME}$ITERATIONS$SALT$HASH (make it with \`deno task passwd\`)`;
  }
  const [, iterationsText, saltText, hashText] = fields;
  const iterations = /^[0-9]{1,9}$/.test(iterationsText) ? Number(iterationsText) : NaN;
  if (!(iterations >= MIN_ITERATIONS && iterations <= MAX_ITERATIONS)) {
    return `hash iterations must be ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`;
  }
  if (!B64.test(saltText) || !B64.test(hashText)) return "hash salt and hash must be base64";
  let salt: Uint8Array, hash: Uint8Array;
  try {
    salt = fromBase64(saltText);
    hash = fromBase64(hashText);
  } catch {
    return "hash salt and hash must be base64";
  }
  if (salt.length < 8) return "hash salt must be at least 8 bytes";
  if (hash.length !== 32) return "hash must be 32 bytes (PBKDF2-HMAC-SHA256)";
  return { user, iterations, salt, hash };
}

/** PBKDF2-HMAC-SHA256 of `password` (UTF-8) with `salt`: 32 bytes, via WebCrypto. */
export async function pbkdf2(
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(salt), iterations },
    material,
    256,
  );
  return new Uint8Array(bits);
}

/** Makes a hash string for `password` with a fresh 16-byte random salt. */
export async function makePasswordHash(
  password: string,
  iterations = DEFAULT_ITERATIONS,
): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await pbkdf2(password, salt, iterations);
  return `${HASH_SCHEME}$${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

/** Checks `Authorization` header values against one credential. */
export class BasicAuth {
  readonly #credential: BasicCredential;
  readonly #userDigest: Uint8Array;
  /** SHA-256 (hex) of header values that verified. */
  readonly #verified = new Set<string>();
  /** Derivations in progress, by header digest, so concurrent requests share one. */
  readonly #pending = new Map<string, Promise<boolean>>();

  /** Creates a checker for `credential`. */
  constructor(credential: BasicCredential) {
    this.#credential = credential;
    this.#userDigest = sha256(credential.user);
  }

  /**
   * True/false when the answer is known at once (no or malformed header, or a header that
   * verified before); otherwise a promise of the PBKDF2 check.
   */
  check(authorization: string | null): boolean | Promise<boolean> {
    if (authorization === null || authorization.length > 4096) return false;
    const digest = nodeCrypto().createHash("sha256").update(authorization, "utf8").digest("hex");
    if (this.#verified.has(digest)) return true;
    const pending = this.#pending.get(digest);
    if (pending !== undefined) return pending;
    const offered = parseAuthorization(authorization);
    if (offered === undefined) return false;
    const check = this.#derive(offered.user, offered.password).then(
      (ok) => {
        this.#pending.delete(digest);
        if (ok) {
          if (this.#verified.size >= REMEMBERED) this.#verified.clear();
          this.#verified.add(digest);
        }
        return ok;
      },
      () => {
        this.#pending.delete(digest);
        return false; // a derivation that fails lets nobody in
      },
    );
    this.#pending.set(digest, check);
    return check;
  }

  async #derive(user: string, password: string): Promise<boolean> {
    const { salt, iterations, hash } = this.#credential;
    // The derivation runs whatever the user name, so timing does not tell names apart.
    const derived = await pbkdf2(password, salt, iterations);
    const userOk = nodeCrypto().timingSafeEqual(sha256(user), this.#userDigest);
    const passwordOk = nodeCrypto().timingSafeEqual(derived, hash);
    return userOk && passwordOk;
  }
}

/**
 * Reads `Basic <base64(user:password)>` (RFC 7617 §2; scheme case-insensitive, RFC 9110 §11.1;
 * UTF-8 per §2.1). Undefined when malformed.
 */
export function parseAuthorization(
  authorization: string,
): { user: string; password: string } | undefined {
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
  if (match === null) return undefined;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(fromBase64(match[1]));
  } catch {
    return undefined;
  }
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function sha256(text: string): Uint8Array {
  return nodeCrypto().createHash("sha256").update(text, "utf8").digest();
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
