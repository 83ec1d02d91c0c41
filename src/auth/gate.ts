/**
 * Who may watch: one decision per request, made before the app routes it, from the method, the
 * raw path, the `Authorization` header and the clock.
 *
 * | request                                          | `--sign-key`          | `--basic-auth`   |
 * | ------------------------------------------------ | --------------------- | ---------------- |
 * | GET/HEAD `/media/`, `/hls/`, `/dash/`            | signed path, else 403 | login, else 401  |
 * | pages, `/api/`, any other path                   | 403 (listings)        | login, else 401  |
 * | `/healthz`, `/metrics`, `/assets/*`              | open                  | open             |
 * | OPTIONS (CORS preflight), PUT/DELETE (ingest)    | open                  | open             |
 * | `/s/<token>/…` bad, expired, out of prefix       | 403                   | (no key: 404)    |
 *
 * A valid token is stripped (the app sees the path after it) and opens only GET, HEAD and
 * OPTIONS under `/media/`, `/hls/` and `/dash/`.
 *
 * With both, a signed path or a login is enough for media, and a login for the pages (an operator
 * logged in on the pages plays through them: browsers send the cached credentials with every
 * same-origin request). A bad token is always 403, even with a valid login. Refusals never say
 * why: 403 `forbidden`, 401 `unauthorized` with `WWW-Authenticate: Basic`.
 *
 * @module
 */
import { BASIC_CHALLENGE, type BasicAuth } from "./basic_auth.ts";
import { verifySignedPath } from "./signed_url.ts";

/** Path prefixes whose GET/HEAD need a signed path when a sign key is set. */
export const SIGNED_FAMILIES: readonly string[] = ["/media/", "/hls/", "/dash/"];
/** Paths open in every mode: probes and scrapers carry no credentials; nothing here names a title. */
export const OPEN_PATHS: readonly string[] = ["/healthz", "/metrics"];
/** Path prefix open in every mode: the pages' scripts and styles (public code). */
export const OPEN_PREFIX = "/assets/";

/** Outcome of {@linkcode AccessGate.decide}. */
export type AccessDecision =
  /** Serve the request with `path` as its raw path (the token removed when there was one). */
  | { readonly kind: "pass"; readonly path: string }
  /** 403. */
  | { readonly kind: "forbidden" }
  /** 401 with a Basic challenge. */
  | { readonly kind: "unauthorized" };

/** The policy: either or both may be set. */
export interface AccessPolicy {
  /** HMAC key of signed paths (at least 16 bytes). */
  readonly signKey?: Uint8Array;
  /** The login of `--basic-auth`. */
  readonly basicAuth?: BasicAuth;
  /** `Access-Control-Allow-Origin` on refusals, so cross-origin players can read the status. */
  readonly cors?: string;
}

const FORBIDDEN: AccessDecision = { kind: "forbidden" };
const UNAUTHORIZED: AccessDecision = { kind: "unauthorized" };
const FORBIDDEN_BODY = "forbidden\n";
const UNAUTHORIZED_BODY = "unauthorized\n";

/** Decides who may watch; see the module documentation for the rules. */
export class AccessGate {
  readonly #policy: AccessPolicy;
  readonly #forbiddenHeaders: Record<string, string>;
  readonly #unauthorizedHeaders: Record<string, string>;

  /** Creates the gate for `policy`. */
  constructor(policy: AccessPolicy) {
    this.#policy = policy;
    const common: Record<string, string> = {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    };
    if (policy.cors !== undefined) {
      common["access-control-allow-origin"] = policy.cors;
      if (policy.cors !== "*") common["vary"] = "Origin";
    }
    this.#forbiddenHeaders = { ...common, "content-length": String(FORBIDDEN_BODY.length) };
    this.#unauthorizedHeaders = {
      ...common,
      "content-length": String(UNAUTHORIZED_BODY.length),
      "www-authenticate": BASIC_CHALLENGE,
    };
  }

  /**
   * The decision for one request. `rawPath` is the undecoded path (`rawPathOf(request.url)`),
   * `authorization` the `Authorization` header or null, `nowSeconds` unix time in seconds.
   * Synchronous except when a Basic credential is seen for the first time (PBKDF2 runs).
   */
  decide(
    method: string,
    rawPath: string,
    authorization: string | null,
    nowSeconds: number,
  ): AccessDecision | Promise<AccessDecision> {
    const { signKey, basicAuth } = this.#policy;
    if (signKey !== undefined) {
      const signed = verifySignedPath(signKey, rawPath, nowSeconds);
      if (signed.kind === "forbidden") return FORBIDDEN;
      if (signed.kind === "ok") {
        if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS") return FORBIDDEN;
        return inFamily(signed.path) ? { kind: "pass", path: signed.path } : FORBIDDEN;
      }
    }
    const pass: AccessDecision = { kind: "pass", path: rawPath };
    if (isOpen(method, rawPath)) return pass;
    if (basicAuth !== undefined) {
      const ok = basicAuth.check(authorization);
      if (ok === true) return pass;
      if (ok === false) return UNAUTHORIZED;
      return ok.then((valid) => valid ? pass : UNAUTHORIZED);
    }
    // A sign key alone: only signed paths and the open ones.
    return signKey !== undefined ? FORBIDDEN : pass;
  }

  /** The response for a refusal (no body for HEAD, with the Content-Length GET would get). */
  deny(decision: AccessDecision, method: string): Response {
    const unauthorized = decision.kind === "unauthorized";
    const body = method === "HEAD" ? null : unauthorized ? UNAUTHORIZED_BODY : FORBIDDEN_BODY;
    const status = unauthorized ? 401 : 403;
    const headers = unauthorized ? this.#unauthorizedHeaders : this.#forbiddenHeaders;
    return new Response(body, { status, headers });
  }
}

/**
 * What a server's prepared path (a route answering without `fetch`, such as the zero-copy
 * engine's file route) knows of a request: the method, the raw origin-form target
 * (`/path?query`) and a field lookup.
 */
export interface TargetRequest {
  /** Method. */
  readonly method: string;
  /** The request-target as sent, in origin form. */
  readonly target: string;
  /** A request field by lower-case name, or null. */
  get(name: string): string | null;
}

/**
 * The gate for a prepared path: the request to answer (its target without the token when it
 * had one), or null when the prepared path must not answer and `fetch` should (a refusal, which
 * `fetch` answers the same way, or a login not verified yet, which needs PBKDF2 first).
 */
export function passTarget(
  gate: AccessGate,
  request: TargetRequest,
  nowSeconds: number,
): TargetRequest | null {
  const target = request.target;
  let end = 0;
  while (end < target.length) {
    const c = target.charCodeAt(end);
    if (c === 0x3f || c === 0x23) break; // ? or #
    end++;
  }
  const path = target.slice(0, end);
  const decision = gate.decide(request.method, path, request.get("authorization"), nowSeconds);
  if (decision instanceof Promise || decision.kind !== "pass") return null;
  if (decision.path === path) return request;
  return {
    method: request.method,
    target: decision.path + target.slice(end),
    get: (name) => request.get(name),
  };
}

/** True for paths under one of {@linkcode SIGNED_FAMILIES}. */
export function inFamily(path: string): boolean {
  for (const family of SIGNED_FAMILIES) if (path.startsWith(family)) return true;
  return false;
}

/** Requests that need no credentials in any mode. */
function isOpen(method: string, rawPath: string): boolean {
  // CORS preflights never carry credentials (Fetch standard, CORS-preflight request); ingest
  // keeps its own Bearer token (RFC 6750), which a Basic login would clash with.
  if (method === "OPTIONS" || method === "PUT" || method === "DELETE") return true;
  return OPEN_PATHS.includes(rawPath) || rawPath.startsWith(OPEN_PREFIX);
}
