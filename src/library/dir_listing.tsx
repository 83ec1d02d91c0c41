/**
 * Listings of folders under `/media/` (`GET /media/<dir>/`), like nginx's autoindex: HTML by
 * default, JSON with `?format=json` or an `Accept` that names `application/json` but not
 * `text/html`. Switched off with `--no-dir-listing` (the folder is then a 404, as before).
 *
 * - Only what `/media/` would serve is listed: dotfiles, symlinks that leave the root and names
 *   the path rules refuse (`%`, `\`, control characters) are left out, checked by the same
 *   {@linkcode MediaPathResolver} as file requests.
 * - Every name reaches the HTML through hono/jsx text or attribute values, which escape
 *   `< > & " '` (the directory-listing XSS of Deno std's file server, CVE-2024-52793, is what
 *   this guards against); links are `./` + the percent-encoded name, so no name can become a
 *   scheme (`javascript:`). The page carries the pages' strict Content-Security-Policy.
 * - Bounded: at most {@linkcode MAX_DIR_ENTRIES} entries (then `truncated`).
 *
 * @module
 */
import type { MediaPathResolver } from "../media/path.ts";
import { statFile } from "../media/stat.ts";
import { PAGE_CSP } from "../routes/pages.tsx";
import { formatDate, formatSize } from "./format.ts";

/** Most entries one listing shows. */
export const MAX_DIR_ENTRIES = 5000;

/** One entry of a folder listing. */
export interface DirListingEntry {
  readonly name: string;
  readonly kind: "dir" | "file";
  /** Bytes (files only). */
  readonly size?: number;
  /** Modification time, ISO 8601. */
  readonly mtime: string;
  /** Root-relative URL of the entry (folders end in `/`). */
  readonly url: string;
}

/** A folder listing. */
export interface DirListing {
  /** Raw URL path of the folder (`/media/…/`). */
  readonly path: string;
  /** URL of the parent folder listing; null at `/media/`. */
  readonly parent: string | null;
  readonly entries: DirListingEntry[];
  /** True when the folder had more than {@linkcode MAX_DIR_ENTRIES} entries. */
  readonly truncated: boolean;
}

/**
 * Reads the folder at `real` whose raw URL path is `urlPath` (ending in `/`), keeping only the
 * entries `resolver` would serve. Null when it cannot be read.
 */
export async function readDirListing(
  resolver: MediaPathResolver,
  real: string,
  urlPath: string,
  mount: string,
): Promise<DirListing | null> {
  const entries: DirListingEntry[] = [];
  let truncated = false;
  try {
    for await (const item of Deno.readDir(real)) {
      if (item.name.startsWith(".")) continue;
      if (entries.length >= MAX_DIR_ENTRIES) {
        truncated = true;
        break;
      }
      const url = urlPath + encodeURIComponent(item.name);
      const resolved = resolver.resolve(url);
      if (resolved.kind !== "ok") continue;
      const stat = statFile(resolved.path);
      if (stat === null) continue;
      const mtime = new Date(stat.mtimeMs).toISOString();
      if (stat.isFile) {
        entries.push({ name: item.name, kind: "file", size: stat.identity.size, mtime, url });
      } else if (isDirectory(resolved.path)) {
        entries.push({ name: item.name, kind: "dir", mtime, url: url + "/" });
      }
    }
  } catch {
    return null;
  }
  entries.sort((a, b) => {
    if (a.kind !== b.kind) return a.kind === "dir" ? -1 : 1;
    const x = a.name.toLowerCase();
    const y = b.name.toLowerCase();
    return x < y ? -1 : x > y ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  let parent: string | null = null;
  if (urlPath !== mount) {
    const trimmed = urlPath.slice(0, -1);
    parent = trimmed.slice(0, trimmed.lastIndexOf("/") + 1);
  }
  return { path: urlPath, parent, entries, truncated };
}

function isDirectory(real: string): boolean {
  try {
    return Deno.statSync(real).isDirectory;
  } catch {
    return false;
  }
}

/** True when the request asks for JSON: `?format=json`, or Accept names JSON but not HTML. */
export function wantsJson(request: Request): boolean {
  const query = request.url.indexOf("?");
  if (query >= 0) {
    const format = new URLSearchParams(request.url.slice(query + 1)).get("format");
    if (format === "json") return true;
    if (format === "html") return false;
  }
  const accept = request.headers.get("accept") ?? "";
  return /application\/json/i.test(accept) && !/text\/html/i.test(accept);
}

/** The folder path shown to people: the URL path decoded, or as sent when it does not decode. */
function displayPath(urlPath: string): string {
  try {
    return decodeURIComponent(urlPath);
  } catch {
    return urlPath;
  }
}

/** Renders `listing` as an HTML page (escaped by hono/jsx). */
export async function dirListingHtml(listing: DirListing): Promise<string> {
  const shown = displayPath(listing.path);
  const page = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`Index of ${shown}`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/assets/style.css" />
      </head>
      <body>
        <header>
          <a class="brand" href="/">zerocast</a>
          <span class="index-path">Index of {shown}</span>
        </header>
        <main>
          <table class="library dir-index">
            <thead>
              <tr>
                <th>Name</th>
                <th class="num">Modified (UTC)</th>
                <th class="num">Size</th>
              </tr>
            </thead>
            <tbody>
              {listing.parent !== null
                ? (
                  <tr>
                    <td colspan={3}>
                      <a href="../">Parent folder</a>
                    </td>
                  </tr>
                )
                : null}
              {listing.entries.map((entry) => (
                <tr class={entry.kind}>
                  <td class="name">
                    <a
                      href={`./${encodeURIComponent(entry.name)}${entry.kind === "dir" ? "/" : ""}`}
                    >
                      {entry.kind === "dir" ? `${entry.name}/` : entry.name}
                    </a>
                  </td>
                  <td class="num">
                    <time datetime={entry.mtime}>{formatDate(entry.mtime)}</time>
                  </td>
                  <td class="num">{entry.kind === "file" ? formatSize(entry.size) : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {listing.truncated
            ? <p class="empty">Only the first {MAX_DIR_ENTRIES} entries are shown.</p>
            : null}
        </main>
      </body>
    </html>
  );
  return "<!doctype html>\n" + await page.toString();
}

/**
 * The response for a folder listing; `headers` are the media route's (CORS...). HEAD gets the
 * headers GET would get with its Content-Length and no body.
 */
export async function dirListingResponse(
  request: Request,
  listing: DirListing,
  headers: Readonly<Record<string, string>>,
): Promise<Response> {
  const json = wantsJson(request);
  const text = json ? JSON.stringify(listing) + "\n" : await dirListingHtml(listing);
  const bytes = new TextEncoder().encode(text);
  const fields: Record<string, string> = {
    ...headers,
    "content-type": json ? "application/json; charset=utf-8" : "text/html; charset=utf-8",
    "content-length": String(bytes.byteLength),
    "cache-control": "no-cache",
    "vary": headers["vary"] ? `${headers["vary"]}, Accept` : "Accept",
    "x-content-type-options": "nosniff",
  };
  if (!json) {
    fields["content-security-policy"] = PAGE_CSP;
    fields["referrer-policy"] = "no-referrer";
  }
  return new Response(request.method === "HEAD" ? null : bytes, { status: 200, headers: fields });
}
