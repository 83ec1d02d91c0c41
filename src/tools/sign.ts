/**
 * `deno task sign --prefix /media/show/ --ttl 3600 [--key KEY] [--base URL] [--path index.m3u8]`:
 * prints one signed URL (see `src/auth/signed_url.ts` for the format). The key comes from `--key`
 * or the environment variable `ZEROCAST_SIGN_KEY` (better: it stays out of `ps` and shell
 * history). Bad input prints one `sign:` line and exits with code 2.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SIGNED_FAMILIES } from "../auth/gate.ts";
import { MIN_SIGN_KEY_LENGTH, signUrl } from "../auth/signed_url.ts";

const USAGE =
  `Usage: deno task sign --prefix PATH [--ttl SECONDS] [--key KEY] [--base URL] [--path REST]

  --prefix PATH   path prefix the URL is valid for: /media/show/ (everything below it) or
                  /media/sample.mp4 (that path only); raw URL text (a space is %20)
  --ttl SECONDS   seconds until it expires (default 3600)
  --key KEY       sign key, as given to the server's --sign-key (or env ZEROCAST_SIGN_KEY)
  --base URL      scheme and host to put in front (default http://127.0.0.1:8080)
  --path REST     path below a directory prefix to point at, e.g. index.m3u8
`;

/** Builds the URL from command-line `args` and the environment; throws Error with a message. */
export function signCommand(
  args: string[],
  env: (name: string) => string | undefined,
  nowSeconds: number,
): string {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      prefix: { type: "string" },
      ttl: { type: "string" },
      key: { type: "string" },
      base: { type: "string" },
      path: { type: "string" },
    },
  });
  const prefix = values.prefix;
  if (prefix === undefined) throw new Error("--prefix is required");
  if (!SIGNED_FAMILIES.some((family) => prefix.startsWith(family))) {
    throw new Error(`--prefix must be under ${SIGNED_FAMILIES.join(", ")}`);
  }
  const ttlText = values.ttl ?? "3600";
  if (!/^[1-9][0-9]{0,9}$/.test(ttlText)) {
    throw new Error(`--ttl must be a whole number of seconds >= 1, got "${ttlText}"`);
  }
  const key = values.key ?? env("ZEROCAST_SIGN_KEY");
  if (key === undefined) throw new Error("no key: pass --key KEY or set ZEROCAST_SIGN_KEY");
  if (new TextEncoder().encode(key).length < MIN_SIGN_KEY_LENGTH) {
    throw new Error(`the key must be at least ${MIN_SIGN_KEY_LENGTH} characters`);
  }
  const base = values.base ?? "http://127.0.0.1:8080";
  if (!/^https?:\/\/[^/?#\s]+\/?$/.test(base)) {
    throw new Error(`--base must be http(s)://host[:port], got "${base}"`);
  }
  return signUrl(base, {
    key,
    prefix,
    ttlSeconds: Number(ttlText),
    nowSeconds,
    path: values.path,
  });
}

if (import.meta.main) {
  try {
    console.log(signCommand(Deno.args, (name) => Deno.env.get(name), Date.now() / 1000));
  } catch (error) {
    console.error(`sign: ${error instanceof Error ? error.message.split("\n")[0] : error}`);
    console.error(USAGE);
    Deno.exit(2);
  }
}
