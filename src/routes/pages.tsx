/**
 * The web pages, rendered on the server with `hono/jsx` (no build step, no client framework):
 *
 * - `GET /?path=<dir>[&q=<term>]`: the library — breadcrumbs, folders, files with duration,
 *   resolution, codecs and size, a warning badge on MP4s that are not faststart, search by name
 *   (this directory and below).
 * - `GET /play?path=<file>`: the player — `<video>` with `src` for progressive files, hls.js (or
 *   native HLS) for `.m3u8` streams via `/assets/player.js`, sibling `.vtt` files as `<track>`.
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
import { formatCodecs, formatDuration, formatResolution, formatSize } from "../library/format.ts";
import {
  type FileEntry,
  type LibraryEntry,
  type LibraryFailure,
  type Listing,
  type MediaLibrary,
  parentPath,
} from "../library/library.ts";

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

/** Link to the library page of directory `path` (and search term `q`). */
export function libraryHref(path: string, q?: string): string {
  const params = new URLSearchParams();
  if (path !== "") params.set("path", path);
  if (q) params.set("q", q);
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

/** Routes of the web pages over `library`. */
export function pageRoutes(library: MediaLibrary): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    if (!pathAgrees(c)) return c.notFound();
    const path = c.req.query("path") ?? "";
    const q = c.req.query("q")?.trim() ?? "";
    const result = q ? await library.search(path, q) : await library.list(path);
    if ("failure" in result) return failurePage(result);
    return page(
      result.path === "" ? "zerocast" : `${result.path} · zerocast`,
      <LibraryPage listing={result} q={q} />,
    );
  });
  app.get("/play", async (c) => {
    if (!pathAgrees(c)) return c.notFound();
    const entry = await library.file(c.req.query("path") ?? "");
    if ("failure" in entry) return failurePage(entry);
    return page(`${entry.name} · zerocast`, <PlayerPage entry={entry} />);
  });
  return app;
}

async function page(title: string, body: Child, status = 200): Promise<Response> {
  const html = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/assets/style.css" />
      </head>
      <body>{body}</body>
    </html>
  );
  return new Response("<!doctype html>\n" + await html.toString(), {
    status,
    headers: PAGE_HEADERS,
  });
}

function failurePage(failure: LibraryFailure): Promise<Response> {
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
        <input type="search" name="q" value={props.q} placeholder="Search by name" />
        <button type="submit">Search</button>
      </form>
    </header>
  );
}

function LibraryPage(props: { listing: Listing; q: string }) {
  const { listing } = props;
  const searching = listing.query !== undefined;
  return (
    <>
      <Header path={listing.path} q={props.q} />
      <main>
        {searching
          ? (
            <p>
              {listing.entries.length} result{listing.entries.length === 1 ? "" : "s"} for “{listing
                .query}”{listing.truncated ? " (search stopped early)" : ""}.{" "}
              <a href={libraryHref(listing.path)}>Clear search</a>
            </p>
          )
          : null}
        <table class="library">
          <thead>
            <tr>
              <th>Name</th>
              <th>Duration</th>
              <th>Resolution</th>
              <th>Codecs</th>
              <th class="num">Size</th>
            </tr>
          </thead>
          <tbody>
            {!searching && listing.parent !== null
              ? (
                <tr>
                  <td colspan={5}>
                    <span class="kind" aria-hidden="true">↩</span>
                    <a href={libraryHref(listing.parent)}>Parent folder</a>
                  </td>
                </tr>
              )
              : null}
            {listing.entries.map((entry) => (
              <EntryRow key={entry.path} entry={entry} searching={searching} />
            ))}
            {listing.entries.length === 0
              ? (
                <tr>
                  <td colspan={5} class="empty">
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

function EntryRow(props: { entry: LibraryEntry; searching: boolean }) {
  const { entry } = props;
  const label = props.searching ? entry.path : entry.name;
  if (entry.kind === "dir") {
    return (
      <tr class="dir" data-path={entry.path}>
        <td>
          <span class="kind" aria-hidden="true">▸</span>
          <a href={libraryHref(entry.path)}>{label}</a>
        </td>
        <td></td>
        <td></td>
        <td></td>
        <td class="num"></td>
      </tr>
    );
  }
  const href = isPlayable(entry) ? playerHref(entry.path) : entry.url;
  return (
    <tr class={entry.kind} data-path={entry.path}>
      <td>
        <span class="kind" aria-hidden="true">
          {entry.kind === "stream" ? "◉" : isPlayable(entry) ? "▶" : "·"}
        </span>
        <a href={href}>{label}</a>
        <Badges entry={entry} />
      </td>
      <td class="num">{formatDuration(entry.duration)}</td>
      <td>{formatResolution(entry)}</td>
      <td>{formatCodecs(entry)}</td>
      <td class="num">{formatSize(entry.size)}</td>
    </tr>
  );
}

function Badges(props: { entry: FileEntry }) {
  const { entry } = props;
  return (
    <>
      {entry.kind === "stream" ? <span class="badge info">HLS</span> : null}
      {entry.live ? <span class="badge info">live</span> : null}
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

function PlayerPage(props: { entry: FileEntry }) {
  const { entry } = props;
  const stream = entry.kind === "stream";
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
          src={stream ? undefined : entry.url}
          data-src={entry.url}
          data-kind={entry.kind}
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
        <dl>
          <dt>Duration</dt>
          <dd>{formatDuration(entry.duration) || "unknown"}</dd>
          <dt>Resolution</dt>
          <dd>{formatResolution(entry) || "unknown"}</dd>
          <dt>Codecs</dt>
          <dd>{formatCodecs(entry) || "unknown"}</dd>
          <dt>Size</dt>
          <dd>{formatSize(entry.size)}</dd>
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
        {stream ? <script src="/assets/hls.min.js"></script> : null}
        <script src="/assets/player.js"></script>
      </main>
    </>
  );
}
