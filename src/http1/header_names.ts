/**
 * Lower-cased header names without allocation for the common ones: a name is matched
 * case-insensitively against a small table bucketed by length and, when found, the interned
 * constant string is returned; the caller builds other names itself.
 *
 * @module
 */

import { LOWER } from "./chars.ts";

/** Id of a header name whose value the parser interprets: framing, keep-alive, expect, host. */
export type NameId = 0 | 1 | 2 | 3 | 4 | 5;
/** Any other name. */
export const NAME_OTHER = 0;
/** `content-length` */
export const NAME_CONTENT_LENGTH = 1;
/** `transfer-encoding` */
export const NAME_TRANSFER_ENCODING = 2;
/** `connection` */
export const NAME_CONNECTION = 3;
/** `expect` */
export const NAME_EXPECT = 4;
/** `host` */
export const NAME_HOST = 5;

/** Request header names seen from browsers, players, curl, ffmpeg and load tools. */
const COMMON_NAMES: readonly string[] = [
  "host",
  "connection",
  "content-length",
  "transfer-encoding",
  "expect",
  "user-agent",
  "accept",
  "accept-encoding",
  "accept-language",
  "accept-ranges",
  "range",
  "if-range",
  "if-none-match",
  "if-match",
  "if-modified-since",
  "if-unmodified-since",
  "cache-control",
  "pragma",
  "referer",
  "origin",
  "cookie",
  "authorization",
  "content-type",
  "upgrade",
  "upgrade-insecure-requests",
  "keep-alive",
  "te",
  "dnt",
  "priority",
  "icy-metadata",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-requested-with",
  "access-control-request-method",
  "access-control-request-headers",
  "sec-fetch-dest",
  "sec-fetch-mode",
  "sec-fetch-site",
  "sec-fetch-user",
  "sec-ch-ua",
  "sec-ch-ua-mobile",
  "sec-ch-ua-platform",
];

const ID_OF: Record<string, NameId> = {
  "content-length": NAME_CONTENT_LENGTH,
  "transfer-encoding": NAME_TRANSFER_ENCODING,
  "connection": NAME_CONNECTION,
  "expect": NAME_EXPECT,
  "host": NAME_HOST,
};

interface KnownName {
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly id: NameId;
}

/** Known names by length. */
const BY_LENGTH: KnownName[][] = [];
for (const text of COMMON_NAMES) {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  (BY_LENGTH[text.length] ??= []).push({ text, bytes, id: ID_OF[text] ?? NAME_OTHER });
}

/** The {@linkcode NameId} of the name last looked up with {@linkcode knownHeaderName}. */
export let lastNameId: NameId = NAME_OTHER;

/**
 * Returns the interned lower-case name when `buf[start, end)` is a common header name in any
 * case, else undefined; sets {@linkcode lastNameId} either way.
 */
export function knownHeaderName(buf: Uint8Array, start: number, end: number): string | undefined {
  const bucket = BY_LENGTH[end - start];
  if (bucket !== undefined) {
    const first = LOWER[buf[start]];
    const last = LOWER[buf[end - 1]];
    for (let k = 0; k < bucket.length; k++) {
      const known = bucket[k];
      const b = known.bytes;
      if (b[0] !== first || b[b.length - 1] !== last) continue;
      let i = 1;
      const n = b.length - 1;
      while (i < n && LOWER[buf[start + i]] === b[i]) i++;
      if (i >= n) {
        lastNameId = known.id;
        return known.text;
      }
    }
  }
  lastNameId = NAME_OTHER;
  return undefined;
}

/** Returns true when `buf[start, end)` contains an ASCII upper-case letter. */
export function hasUpperCase(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (LOWER[buf[i]] !== buf[i]) return true;
  }
  return false;
}
