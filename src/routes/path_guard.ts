/**
 * A check for routes that answer by route alone (metrics, health, pages, listings): the path the
 * router matched must be the path {@linkcode rawPathOf} reads from the URL. `createApp` routes on
 * `rawPathOf` itself, so there this always holds; it matters when a library user mounts the app
 * in a Hono app with the default `getPath`, which reads another path from some URLs (an empty
 * authority: `http:///anything/metrics` routes as `/metrics`) and decodes percent-escapes
 * (`/%6Detrics`). Such a request is answered 404, like on `createApp`'s own router.
 *
 * @module
 */
import type { Context } from "hono";
import { rawPathOf } from "../media/path.ts";

/** True when the router's path for `c` is the raw path of its URL. */
export function pathAgrees(c: Context): boolean {
  return c.req.path === rawPathOf(c.req.url);
}
