/**
 * The page assets in memory, each with a content version and precompressed copies:
 *
 * - Version: the first 12 hex digits of the SHA-256 of the file. Pages link
 *   `/assets/<name>?v=<version>` ({@linkcode AssetStore.url}); that URL names one exact content,
 *   so it is served `Cache-Control: public, max-age=31536000, immutable`. Any other URL of the
 *   asset (no `v`, an old `v`) is served `no-cache`, so it revalidates.
 * - Encodings: gzip and Brotli copies (`node:zlib`) made once per version on first request, kept
 *   only when smaller. The encoding is chosen from `Accept-Encoding` (RFC 9110 §12.5.3, q-values,
 *   `*`, `q=0` refusals): br, else gzip, else identity. Each encoding is its own representation
 *   with its own strong ETag (`"<version>-br"`, `"<version>-gz"`, `"<version>"`) and
 *   Content-Length; every response says `Vary: Accept-Encoding` (§12.5.5).
 * - A file that changes on disk (its identity: dev, inode, size, mtime) is read again on the next
 *   request; the stat per request is the only disk access.
 *
 * @module
 */
import { type FileStat, statFile } from "../media/stat.ts";
import { identityKey } from "../library/probe_cache.ts";

/** `Cache-Control` of a versioned asset URL. */
export const IMMUTABLE = "public, max-age=31536000, immutable";

/** One encoding of an asset. */
export interface AssetEncoding {
  /** `br`, `gzip`, or undefined for identity. */
  readonly coding: "br" | "gzip" | undefined;
  readonly bytes: Uint8Array;
  /** Strong ETag, quoted. */
  readonly etag: string;
}

/** An asset at one version. */
export interface Asset {
  readonly version: string;
  readonly mtimeMs: number;
  readonly identity: AssetEncoding;
  /** Present once compressed (compression runs once per version). */
  readonly compressed: Promise<readonly AssetEncoding[]>;
}

/** Loads and caches assets by name from a fixed map of file paths. */
export class AssetStore {
  readonly #paths: ReadonlyMap<string, string>;
  readonly #loaded = new Map<string, { key: string; asset: Promise<Asset | null> }>();

  /** `paths`: absolute file path by asset name. */
  constructor(paths: ReadonlyMap<string, string>) {
    this.#paths = paths;
  }

  /** True when `name` is an asset. */
  has(name: string): boolean {
    return this.#paths.has(name);
  }

  /** The current version of asset `name`, reading it when it changed; null when unreadable. */
  get(name: string): Promise<Asset | null> {
    const path = this.#paths.get(name);
    if (path === undefined) return Promise.resolve(null);
    const stat = statFile(path);
    if (stat === null || !stat.isFile) return Promise.resolve(null);
    const key = identityKey(stat.identity);
    const cached = this.#loaded.get(name);
    if (cached !== undefined && cached.key === key) return cached.asset;
    const asset = load(path, stat);
    this.#loaded.set(name, { key, asset });
    return asset;
  }

  /** The versioned URL of asset `name` (`/assets/<name>?v=<version>`), or the plain one. */
  async url(name: string): Promise<string> {
    const asset = await this.get(name);
    return asset === null ? `/assets/${name}` : `/assets/${name}?v=${asset.version}`;
  }
}

async function load(path: string, stat: FileStat): Promise<Asset | null> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    return null;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const version = Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  let compressed: Promise<readonly AssetEncoding[]> | undefined;
  return {
    version,
    mtimeMs: stat.mtimeMs,
    identity: { coding: undefined, bytes, etag: `"${version}"` },
    get compressed() {
      compressed ??= compress(bytes, version);
      return compressed;
    },
  };
}

/**
 * Brotli and gzip -9 copies, kept when smaller. node:zlib compresses on the calling thread, so
 * large files use Brotli quality 5 (~0.1 s for hls.js here, 5% larger than 11, which takes 2 s
 * and would stall every connection meanwhile); small ones quality 11.
 */
async function compress(bytes: Uint8Array, version: string): Promise<AssetEncoding[]> {
  // loaded on the first asset request, not at start: node:zlib brings up Deno's Node
  // compatibility layer (README "Memory")
  const zlib = await import("node:zlib");
  const { promisify } = await import("node:util");
  const brotli = promisify(zlib.brotliCompress);
  const gzip = promisify(zlib.gzip);
  const [br, gz] = await Promise.all([
    brotli(bytes, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: bytes.byteLength <= 64 * 1024 ? 11 : 5,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength,
      },
    }),
    gzip(bytes, { level: 9 }),
  ]);
  const out: AssetEncoding[] = [];
  if (br.byteLength < bytes.byteLength) {
    out.push({ coding: "br", bytes: new Uint8Array(br), etag: `"${version}-br"` });
  }
  if (gz.byteLength < bytes.byteLength) {
    out.push({ coding: "gzip", bytes: new Uint8Array(gz), etag: `"${version}-gz"` });
  }
  return out;
}

/**
 * The q-value `Accept-Encoding` gives content-coding `coding` (RFC 9110 §12.5.3): its own entry,
 * else `*`, else 0 for codings (identity: acceptable unless refused). `x-gzip` counts as gzip.
 */
export function acceptQuality(header: string | null, coding: string): number {
  if (header === null) return coding === "identity" ? 1 : 0;
  let star: number | undefined;
  for (const item of header.split(",")) {
    const [rawName, ...params] = item.split(";");
    let name = rawName.trim().toLowerCase();
    if (name === "") continue;
    if (name === "x-gzip") name = "gzip";
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split("=").map((s) => s.trim());
      if (key.toLowerCase() === "q") {
        const parsed = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value ?? "") ? Number(value) : 1;
        q = parsed;
      }
    }
    if (name === coding) return q;
    if (name === "*") star = q;
  }
  if (star !== undefined) return star;
  return coding === "identity" ? 1 : 0;
}

/** Picks the representation to send: the best accepted coding, br before gzip on ties. */
export function chooseEncoding(
  header: string | null,
  identity: AssetEncoding,
  compressed: readonly AssetEncoding[],
): AssetEncoding {
  let best: AssetEncoding | null = null;
  let bestQ = 0;
  for (const encoding of compressed) {
    const q = acceptQuality(header, encoding.coding!);
    if (q > bestQ) {
      best = encoding;
      bestQ = q;
    }
  }
  // identity is always acceptable unless refused, but only preferred when the client names it
  // with a higher q-value than the best coding (§12.5.3 leaves the choice to the server).
  const named = header !== null && /(^|,)\s*identity\s*(;|,|$)/i.test(header);
  const identityQ = named ? acceptQuality(header, "identity") : 0;
  if (best !== null && bestQ >= identityQ) return best;
  // identity;q=0 with nothing else acceptable: still send identity (§12.5.3 allows it, and a
  // 406 for a script would only break the page).
  return identity;
}
