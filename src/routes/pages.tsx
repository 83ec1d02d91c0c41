/**
 * The web pages, rendered on the server with `hono/jsx` (no build step, no client framework):
 *
 * - `GET /?path=<dir>[&q=<term>][&sort=name|date|duration|size][&order=asc|desc][&all=1]`: the
 *   library — breadcrumbs, folders, files with a poster, date, duration, resolution, codecs
 *   (human name next to the RFC 6381 string) and size, sortable by the column headers
 *   (`aria-sort`), a warning badge on MP4s that are not faststart, search by name (this
 *   directory and below). An HLS folder is one stream row; inside it the segments are folded
 *   into their playlist (`all=1` lists every file). On a phone the rows become cards.
 * - `GET /play?path=<file>`: the player — `<video poster>` with `src` for progressive files,
 *   hls.js (or native HLS) for `.m3u8` streams via `/assets/player.js`, sibling `.vtt` (and
 *   `.srt`, served converted) files as `<track>`.
 *
 * Scripts and the stylesheet are linked by versioned URLs (`/assets/<name>?v=<hash>`), cached
 * for a year.
 *
 * Every file name reaches HTML through JSX text or attribute values, which hono/jsx escapes (the
 * directory-listing XSS of std CVE-2024-52793 is the case this guards against). A strict
 * Content-Security-Policy allows only this origin (plus `blob:` for hls.js's MSE URLs and
 * worker), so the pages make no external requests and inline script could not run anyway.
 * All URLs are root-relative, so the pages work the same over HTTP and HTTPS.
 *
 * @module
 */
import { Hono } from "hono";
import { pathAgrees } from "./path_guard.ts";
import type { Child } from "hono/jsx";
import {
  formatCodecs,
  formatDate,
  formatDuration,
  formatResolution,
  formatSize,
} from "../library/format.ts";
import {
  type DirEntry,
  type FileEntry,
  type LibraryEntry,
  type LibraryFailure,
  type Listing,
  type MediaLibrary,
  parentPath,
} from "../library/library.ts";
import type { PosterStore } from "../library/posters.ts";
import { defaultOrder, parseSort, type SortKey, type SortSpec } from "../library/sort.ts";
import { statFile } from "../media/stat.ts";
import { codecName } from "../probe/codec_names.ts";
import { pageAssets } from "./assets.ts";
import { hasPoster, posterHref } from "./posters.ts";

/** Content-Security-Policy of the pages. */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": PAGE_CSP,
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** View options of the library page carried by its links. */
export interface LibraryView {
  readonly q?: string;
  readonly sort?: SortSpec;
  readonly all?: boolean;
}

/** Link to the library page of directory `path` (with search term, sort, all files). */
export function libraryHref(path: string, view: string | LibraryView = {}): string {
  const options = typeof view === "string" ? { q: view } : view;
  const params = new URLSearchParams();
  if (path !== "") params.set("path", path);
  if (options.q) params.set("q", options.q);
  if (options.sort && (options.sort.key !== "name" || options.sort.order !== "asc")) {
    params.set("sort", options.sort.key);
    params.set("order", options.sort.order);
  }
  if (options.all) params.set("all", "1");
  const query = params.toString();
  return query === "" ? "/" : `/?${query}`;
}

/** Link to the player page of file `path`. */
export function playerHref(path: string): string {
  return `/play?${new URLSearchParams({ path })}`;
}

/** True when the player page can play `entry` (a stream, or audio/video that is not a segment). */
export function isPlayable(entry: FileEntry): boolean {
  if (entry.kind === "stream") return true;
  if (entry.contentType === "video/mp2t" || entry.contentType === "video/iso.segment") return false;
  return /^(video|audio)\//.test(entry.contentType);
}

/** True for MP4/MOV/M4V/M4A files, which `/hls/` and `/dash/` package just in time. */
export function isPackageable(entry: FileEntry): boolean {
  return entry.kind === "file" && /\.(mp4|m4v|m4a|mov)$/i.test(entry.name);
}

/** The just-in-time HLS or DASH URL of a packageable file entry. */
export function packagedUrl(entry: FileEntry, via: "hls" | "dash"): string {
  const base = entry.url.replace(/^\/media\//, `/${via}/`);
  return via === "hls" ? `${base}/master.m3u8` : `${base}/manifest.mpd`;
}

/** A poster as the page shows it: the image URL and whether it is still being made. */
interface PosterView {
  readonly href: string;
  readonly pending: boolean;
}

/** Asks the poster store about every entry that gets a poster (queuing the missing ones). */
async function posterViews(
  library: MediaLibrary,
  posters: PosterStore,
  entries: readonly LibraryEntry[],
): Promise<Map<string, PosterView>> {
  const views = new Map<string, PosterView>();
  for (const entry of entries) {
    let file: FileEntry | null = null;
    if (entry.kind === "dir") {
      if (entry.stream === undefined) continue;
      const playlist = await library.file(entry.stream);
      if ("failure" in playlist) continue;
      file = playlist;
    } else if (hasPoster(entry)) {
      file = entry;
    }
    if (file === null) continue;
    const resolved = library.resolve(file.path);
    if ("failure" in resolved) continue;
    const stat = statFile(resolved.real);
    if (stat === null || !stat.isFile) continue;
    const state = await posters.lookup(resolved.real, stat.identity, file.duration);
    views.set(entry.path, { href: posterHref(file), pending: state.kind === "pending" });
  }
  return views;
}

/** Versioned URLs of the page assets. */
interface AssetUrls {
  readonly style: string;
  readonly player: string;
  readonly library: string;
  readonly hls: string;
  readonly dash: string;
}

async function assetUrls(): Promise<AssetUrls> {
  const [style, player, library, hls, dash] = await Promise.all(
    ["style.css", "player.js", "library.js", "hls.min.js", "dash.all.min.js"].map((name) =>
      pageAssets.url(name)
    ),
  );
  return { style, player, library, hls, dash };
}

/** Routes of the web pages over `library`, with posters from `posters`. */
export function pageRoutes(library: MediaLibrary, posters: PosterStore): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    if (!pathAgrees(c)) return c.notFound();
    const assets = await assetUrls();
    const path = c.req.query("path") ?? "";
    const q = c.req.query("q")?.trim() ?? "";
    // An unknown sort falls back to the default on the page (the API answers 400).
    const sort = parseSort(c.req.query("sort"), c.req.query("order")) ?? parseSort("", "")!;
    const all = c.req.query("all") === "1";
    const result = q
      ? await library.search(path, q, sort)
      : await library.list(path, { sort, all });
    if ("failure" in result) return failurePage(result, assets);
    const views = await posterViews(library, posters, result.entries);
    return page(
      result.path === "" ? "zerocast" : `${result.path} · zerocast`,
      <LibraryPage listing={result} q={q} all={all} posters={views} />,
      assets,
      [assets.library],
    );
  });
  app.get("/play", async (c) => {
    if (!pathAgrees(c)) return c.notFound();
    const assets = await assetUrls();
    const entry = await library.file(c.req.query("path") ?? "");
    if ("failure" in entry) return failurePage(entry, assets);
    const query = c.req.query("via");
    const via = (query === "hls" || query === "dash") && isPackageable(entry) ? query : undefined;
    const poster = hasPoster(entry)
      ? (await posterViews(library, posters, [entry])).get(entry.path)
      : undefined;
    return page(
      `${entry.name} · zerocast`,
      <PlayerPage entry={entry} via={via} assets={assets} poster={poster} />,
      assets,
    );
  });
  return app;
}

async function page(
  title: string,
  body: Child,
  assets: AssetUrls,
  scripts: readonly string[] = [],
  status = 200,
): Promise<Response> {
  const html = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={assets.style} />
      </head>
      <body>
        {body}
        {
          // deno-lint-ignore jsx-key -- hono/jsx renders `key` as an attribute; no reconciliation here
          scripts.map((src) => <script src={src}></script>)
        }
      </body>
    </html>
  );
  return new Response("<!doctype html>\n" + await html.toString(), {
    status,
    headers: PAGE_HEADERS,
  });
}

function failurePage(failure: LibraryFailure, assets: AssetUrls): Promise<Response> {
  const status = failure.failure === "bad-request" ? 400 : 404;
  return page(
    `${status} · zerocast`,
    <>
      <Header path="" q="" />
      <main>
        <p class="empty">
          {status === 400 ? "Bad path" : "Not found"}: {failure.reason}.{" "}
          <a href="/">Back to the library</a>
        </p>
      </main>
    </>,
    assets,
    [],
    status,
  );
}

function Header(props: { path: string; q: string; file?: boolean }) {
  const segments = props.path === "" ? [] : props.path.split("/");
  const dirForSearch = props.file ? parentPath(props.path) ?? "" : props.path;
  return (
    <header>
      <a class="brand" href="/">zerocast</a>
      <nav class="breadcrumbs" aria-label="Breadcrumbs">
        <ol>
          <li>
            <a href="/">media</a>
          </li>
          {segments.map((segment, i) => {
            const path = segments.slice(0, i + 1).join("/");
            const last = i === segments.length - 1;
            const href = last && props.file ? playerHref(path) : libraryHref(path);
            return (
              <li>
                <a href={href} aria-current={last ? "page" : undefined}>{segment}</a>
              </li>
            );
          })}
        </ol>
      </nav>
      <form class="search" method="get" action="/" role="search">
        {dirForSearch === "" ? null : <input type="hidden" name="path" value={dirForSearch} />}
        <input
          type="search"
          name="q"
          value={props.q}
          placeholder="Search by name"
          aria-label="Search by name"
        />
        <button type="submit">Search</button>
      </form>
    </header>
  );
}

const COLUMN_LABELS: Readonly<Record<SortKey, string>> = {
  name: "Name",
  date: "Date (UTC)",
  duration: "Duration",
  size: "Size",
};

/** A sortable column header: a link that sorts by it (toggling the order when it is current). */
function SortHeader(props: { column: SortKey; listing: Listing; q: string; all: boolean }) {
  const { column: key, listing } = props;
  const current = listing.sort.key === key;
  const order = current ? (listing.sort.order === "asc" ? "desc" : "asc") : defaultOrder(key);
  const href = libraryHref(listing.path, { q: props.q, all: props.all, sort: { key, order } });
  const ariaSort = current
    ? (listing.sort.order === "asc" ? "ascending" : "descending")
    : undefined;
  return (
    <th class={`sort ${key}${key === "name" ? "" : " num"}`} aria-sort={ariaSort} scope="col">
      <a href={href}>
        {COLUMN_LABELS[key]}
        {current
          ? (
            <span class="arrow" aria-hidden="true">
              {listing.sort.order === "asc" ? " ▲" : " ▼"}
            </span>
          )
          : null}
      </a>
    </th>
  );
}

function LibraryPage(
  props: { listing: Listing; q: string; all: boolean; posters: Map<string, PosterView> },
) {
  const { listing } = props;
  const searching = listing.query !== undefined;
  const view = { q: props.q, all: props.all, sort: listing.sort };
  return (
    <>
      <Header path={listing.path} q={props.q} />
      <main>
        {searching
          ? (
            <p>
              {listing.entries.length} result{listing.entries.length === 1 ? "" : "s"} for “{listing
                .query}”{listing.truncated ? " (search stopped early)" : ""}.{" "}
              <a href={libraryHref(listing.path, { sort: listing.sort })}>Clear search</a>
            </p>
          )
          : null}
        {listing.folded > 0
          ? (
            <p class="note">
              {listing.folded} file{listing.folded === 1 ? "" : "s"}{" "}
              of this folder's streams (segments, variant playlists) are shown as one stream.{" "}
              <a href={libraryHref(listing.path, { ...view, all: true })}>Show all files</a>
            </p>
          )
          : null}
        {props.all && !searching
          ? (
            <p class="note">
              Showing every file.{" "}
              <a href={libraryHref(listing.path, { ...view, all: false })}>Fold stream files</a>
            </p>
          )
          : null}
        <table class="library">
          <thead>
            <tr>
              <SortHeader column="name" listing={listing} q={props.q} all={props.all} />
              <SortHeader column="date" listing={listing} q={props.q} all={props.all} />
              <SortHeader column="duration" listing={listing} q={props.q} all={props.all} />
              <th class="resolution" scope="col">Resolution</th>
              <th class="codecs" scope="col">Codecs</th>
              <SortHeader column="size" listing={listing} q={props.q} all={props.all} />
            </tr>
          </thead>
          <tbody>
            {!searching && listing.parent !== null
              ? (
                <tr class="parent">
                  <td colspan={6}>
                    <div class="cell">
                      <span class="thumb glyph" aria-hidden="true">↩</span>
                      <a href={libraryHref(listing.parent, { sort: listing.sort })}>
                        Parent folder
                      </a>
                    </div>
                  </td>
                </tr>
              )
              : null}
            {listing.entries.map((entry) => (
              <EntryRow
                key={entry.path}
                entry={entry}
                searching={searching}
                poster={props.posters.get(entry.path)}
                sort={listing.sort}
              />
            ))}
            {listing.entries.length === 0
              ? (
                <tr>
                  <td colspan={6} class="empty">
                    {searching ? "Nothing matches." : "This folder is empty."}
                  </td>
                </tr>
              )
              : null}
          </tbody>
        </table>
      </main>
    </>
  );
}

function Thumb(props: { poster: PosterView | undefined; glyph: string }) {
  const { poster } = props;
  if (poster === undefined) {
    return <span class="thumb glyph" aria-hidden="true">{props.glyph}</span>;
  }
  return (
    <img
      class="poster thumb"
      src={poster.href}
      data-src={poster.href}
      data-pending={poster.pending ? "" : undefined}
      width="96"
      height="54"
      alt=""
      loading="lazy"
      decoding="async"
    />
  );
}

function DateCell(props: { mtime: string }) {
  return (
    <td class="num date">
      <time datetime={props.mtime}>{formatDate(props.mtime)}</time>
    </td>
  );
}

function EntryRow(
  props: { entry: LibraryEntry; searching: boolean; poster?: PosterView; sort: SortSpec },
) {
  const { entry } = props;
  const label = props.searching ? entry.path : entry.name;
  if (entry.kind === "dir") {
    return <DirRow entry={entry} label={label} poster={props.poster} sort={props.sort} />;
  }
  const href = isPlayable(entry) ? playerHref(entry.path) : entry.url;
  return (
    <tr class={entry.kind} data-path={entry.path}>
      <td class="name">
        <div class="cell">
          <Thumb
            poster={props.poster}
            glyph={entry.kind === "stream" ? "◉" : isPlayable(entry) ? "▶" : "·"}
          />
          <span class="title">
            <a href={href}>{label}</a>
            <Badges entry={entry} />
          </span>
        </div>
      </td>
      <DateCell mtime={entry.mtime} />
      <td class="num duration">{formatDuration(entry.duration)}</td>
      <td class="resolution">{formatResolution(entry)}</td>
      <td class="codecs">
        <Codecs entry={entry} />
      </td>
      <td class="num size">{formatSize(entry.size)}</td>
    </tr>
  );
}

function DirRow(
  props: { entry: DirEntry; label: string; poster?: PosterView; sort: SortSpec },
) {
  const { entry, label } = props;
  if (entry.stream !== undefined) {
    // an HLS folder (playlist + segments) is one stream; its files stay browsable
    return (
      <tr class="stream" data-path={entry.path}>
        <td class="name">
          <div class="cell">
            <Thumb poster={props.poster} glyph="◉" />
            <span class="title">
              <a href={playerHref(entry.stream)}>{label}</a>
              <span class="badge info">HLS</span>
              {entry.live ? <span class="badge info">live</span> : null}
              <a class="files" href={libraryHref(entry.path, { sort: props.sort })}>files</a>
            </span>
          </div>
        </td>
        <DateCell mtime={entry.mtime} />
        <td class="num duration">{formatDuration(entry.duration)}</td>
        <td class="resolution"></td>
        <td class="codecs"></td>
        <td class="num size"></td>
      </tr>
    );
  }
  return (
    <tr class="dir" data-path={entry.path}>
      <td class="name">
        <div class="cell">
          <span class="thumb glyph" aria-hidden="true">▸</span>
          <span class="title">
            <a href={libraryHref(entry.path, { sort: props.sort })}>{label}</a>
          </span>
        </div>
      </td>
      <DateCell mtime={entry.mtime} />
      <td class="num duration"></td>
      <td class="resolution"></td>
      <td class="codecs"></td>
      <td class="num size"></td>
    </tr>
  );
}

/** One codec: its human name next to the exact string. */
function Codec(props: { codec: string; channels?: number }) {
  const name = codecName(props.codec);
  return (
    <span class="codec">
      {name ? <span class="codec-name">{name}</span> : null}
      {name ? " " : null}
      <code>{props.codec}</code>
      {props.channels ? <span class="channels">{` · ${props.channels} ch`}</span> : null}
    </span>
  );
}

function Codecs(props: { entry: FileEntry }) {
  const { entry } = props;
  return (
    <>
      {entry.videoCodec ? <Codec codec={entry.videoCodec} /> : null}
      {entry.audioCodec ? <Codec codec={entry.audioCodec} channels={entry.channels} /> : null}
    </>
  );
}

function Badges(props: { entry: FileEntry }) {
  const { entry } = props;
  return (
    <>
      {entry.kind === "stream" ? <span class="badge info">HLS</span> : null}
      {entry.live ? <span class="badge info">live</span> : null}
      {entry.segments
        ? <span class="badge info">{entry.segments} file{entry.segments === 1 ? "" : "s"}</span>
        : null}
      {entry.faststart === false
        ? (
          <span
            class="badge warn not-faststart"
            title="The moov box comes after the media data: players must fetch the end of the file before they can start."
          >
            not faststart
          </span>
        )
        : null}
      {entry.error ? <span class="badge error" title={entry.error}>unreadable</span> : null}
      {entry.subtitles?.length ? <span class="badge info">subtitles</span> : null}
    </>
  );
}

function PlayerPage(
  props: { entry: FileEntry; via?: "hls" | "dash"; assets: AssetUrls; poster?: PosterView },
) {
  const { entry, via, assets } = props;
  // "Play via HLS": the same file packaged just in time, played like any HLS stream
  const stream = entry.kind === "stream" || via === "hls";
  const kind = via === "dash" ? "dash" : stream ? "stream" : entry.kind;
  const src = via === undefined ? entry.url : packagedUrl(entry, via);
  const tracks = entry.subtitles ?? [];
  return (
    <>
      <Header path={entry.path} q="" file />
      <main class="player">
        <h1>{entry.name}</h1>
        <video
          id="player"
          controls
          preload="metadata"
          playsinline
          poster={props.poster?.href}
          src={kind === "file" ? entry.url : undefined}
          data-src={src}
          data-kind={kind}
        >
          {tracks.map((track, i) => (
            <track
              kind="subtitles"
              src={track.url}
              srclang={track.lang ?? "und"}
              label={track.lang ?? "Subtitles"}
              default={i === 0}
            />
          ))}
        </video>
        <p id="status" class="status" role="status"></p>
        {isPackageable(entry)
          ? (
            <p class="via">
              Play: {via === undefined
                ? <strong>directly</strong>
                : <a href={playerHref(entry.path)}>directly</a>} · {via === "hls"
                ? <strong>via HLS</strong>
                : <a href={`${playerHref(entry.path)}&via=hls`}>via HLS</a>} · {via === "dash"
                ? <strong>via DASH</strong>
                : <a href={`${playerHref(entry.path)}&via=dash`}>via DASH</a>}
            </p>
          )
          : null}
        <dl>
          <dt>Duration</dt>
          <dd>{formatDuration(entry.duration) || "unknown"}</dd>
          <dt>Resolution</dt>
          <dd>{formatResolution(entry) || "unknown"}</dd>
          <dt>Codecs</dt>
          <dd class="codecs">{formatCodecs(entry) ? <Codecs entry={entry} /> : "unknown"}</dd>
          <dt>Size</dt>
          <dd>{formatSize(entry.size)}</dd>
          <dt>Modified</dt>
          <dd>
            <time datetime={entry.mtime}>{formatDate(entry.mtime)} UTC</time>
          </dd>
          <dt>Type</dt>
          <dd>
            {entry.contentType}
            <Badges entry={entry} />
          </dd>
          {entry.error
            ? (
              <>
                <dt>Probe</dt>
                <dd>{entry.error}</dd>
              </>
            )
            : null}
          <dt>File</dt>
          <dd>
            <a href={entry.url} download={entry.name}>Download</a>
          </dd>
        </dl>
        {stream ? <script src={assets.hls}></script> : null}
        {kind === "dash" ? <script src={assets.dash}></script> : null}
        <script src={assets.player}></script>
      </main>
    </>
  );
}
