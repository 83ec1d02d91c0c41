/**
 * What `/media/` answers beyond plain files, kept out of `media.ts`'s hot path: it is consulted
 * only for a path that is not a servable file (or a `.srt` asked for as WebVTT).
 *
 * - `GET|HEAD /media/<dir>/` (and `/media/`): a folder listing, HTML or JSON
 *   (`src/library/dir_listing.tsx`), unless `dirListing` is off; `/media/<dir>` without the
 *   slash is redirected (301) to it, so relative links in the listing resolve (as nginx does).
 * - `GET|HEAD /media/<name>.vtt` where only `<name>.srt` exists, and `/media/<name>.srt?format=vtt`:
 *   the SubRip file converted to WebVTT (`src/media/srt_to_vtt.ts`), `text/vtt`, with the media
 *   CORS headers.
 *
 * @module
 */
import { dirListingResponse, readDirListing } from "../library/dir_listing.tsx";
import type { FileResponseOptions } from "../file_response.ts";
import type { FileResolution, MediaPathResolver } from "../media/path.ts";
import { rawPathOf } from "../media/path.ts";
import { srtAsVttResponse } from "../media/srt_to_vtt.ts";

/** Answers a request the file path could not, or returns null (then the file answer stands). */
export type MediaExtra = (
  request: Request,
  resolved: FileResolution,
) => Response | Promise<Response> | null;

/**
 * True when a GET/HEAD whose file resolution is `resolved` (for request URL or target `url`)
 * may have an extra answer: a path that is not a servable file (a folder, a `.vtt` made from a
 * `.srt`), or a `.srt` asked for with `?format=vtt`. Everything else is a plain file answer (or
 * a 400), so a fast file path may answer it without consulting {@linkcode mediaExtras}.
 */
export function mayHaveExtra(resolved: FileResolution, url: string): boolean {
  if (resolved.kind === "not-found") return true;
  return resolved.kind === "ok" && resolved.path.endsWith(".srt") &&
    /[?&]format=vtt(&|#|$)/.test(url);
}

/** Builds the extra answers of `/media/` over `root` (mounted at `mount`). */
export function mediaExtras(
  root: string,
  mount: string,
  resolver: MediaPathResolver,
  fileOptions: FileResponseOptions,
  dirListing: boolean,
): MediaExtra {
  const headers = fileOptions.headers ?? {};
  // Converted subtitles are text/vtt whatever the source's extension says.
  const vttOptions: FileResponseOptions = { ...fileOptions, contentType: undefined };
  const notFound = () =>
    new Response("not found\n", {
      status: 404,
      headers: { ...headers, "content-type": "text/plain; charset=utf-8", "content-length": "10" },
    });
  return (request, resolved) => {
    if (!mayHaveExtra(resolved, request.url)) return null;
    if (resolved.kind === "ok") {
      return srtAsVttResponse(request, resolved.path, resolved.stat, vttOptions)
        .then((response) => response ?? notFound());
    }
    const raw = rawPathOf(request.url);
    if (/\.vtt$/i.test(raw)) {
      const srt = resolver.resolveFile(raw.slice(0, -4) + ".srt");
      if (srt.kind !== "ok") return null;
      return srtAsVttResponse(request, srt.path, srt.stat, vttOptions)
        .then((response) => response ?? notFound());
    }
    if (!dirListing) return null;
    let real: string;
    if (raw === mount) {
      real = root;
    } else {
      const folder = resolver.resolve(raw.endsWith("/") ? raw.slice(0, -1) : raw);
      if (folder.kind !== "ok" || !isDirectory(folder.path)) return null;
      real = folder.path;
    }
    if (!raw.endsWith("/")) {
      const query = request.url.indexOf("?");
      const location = raw + "/" + (query >= 0 ? request.url.slice(query) : "");
      return new Response(null, {
        status: 301,
        headers: { ...headers, "location": location, "content-length": "0" },
      });
    }
    return readDirListing(resolver, real, raw, mount).then((listing) =>
      listing === null ? notFound() : dirListingResponse(request, listing, headers)
    );
  };
}

function isDirectory(real: string): boolean {
  try {
    return Deno.statSync(real).isDirectory;
  } catch {
    return false;
  }
}
