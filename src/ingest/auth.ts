/**
 * `Authorization: Bearer TOKEN` check for ingest (RFC 6750 §2.1). The token is compared in
 * constant time: both sides are hashed to 32 bytes first, so neither the content nor the length
 * of the configured token leaks through response timing.
 *
 * @module
 */
import { nodeCrypto } from "../auth/node_crypto.ts";

/** Outcome of {@linkcode BearerAuth.check}. */
export type BearerCheck = "ok" | "missing" | "invalid";

/** Compares `Authorization` headers against one configured token. */
export class BearerAuth {
  readonly #expected: Uint8Array;

  /** Creates a checker for `token`. */
  constructor(token: string) {
    this.#expected = sha256(token);
  }

  /** Checks an `Authorization` header value (null when absent). */
  check(authorization: string | null): BearerCheck {
    if (authorization === null) return "missing";
    // RFC 9110 §11.1: the auth scheme is case-insensitive; RFC 6750 §2.1: "Bearer" 1*SP token.
    const match = /^bearer +(\S+) *$/i.exec(authorization);
    if (match === null) return "invalid";
    return nodeCrypto().timingSafeEqual(sha256(match[1]), this.#expected) ? "ok" : "invalid";
  }
}

function sha256(text: string): Uint8Array {
  return nodeCrypto().createHash("sha256").update(text, "utf8").digest();
}

/** `WWW-Authenticate` value for a 401 (RFC 6750 §3: `invalid_token` when a token was wrong). */
export function bearerChallenge(check: BearerCheck): string {
  const realm = 'Bearer realm="zerocast ingest"';
  return check === "invalid" ? `${realm}, error="invalid_token"` : realm;
}
