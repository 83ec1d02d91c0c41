/**
 * The prepared file path: an optional, server-agnostic capability an app can offer next to
 * `fetch`. A server that finds one asks it first for GET and HEAD requests without a body,
 * passing only the method, the raw request-target and a lookup over the parsed request fields;
 * the route answers with an {@linkcode EntityResponse} (status, header pairs, file slices) or
 * null, and the server then calls `app.fetch` as usual. No `Request`, router, `Response` or
 * stream is made for what the route answers. A server without support just calls `fetch`, where
 * the same routes answer through the app's handlers with the same rules (`src/entity.ts`).
 *
 * @example
 * ```ts
 * const app = withFileRoute(new Hono(), {
 *   answer: (req) => req.target === "/logo.png" ? answerFor(req) : null,
 * });
 * ```
 * @module
 */
import type { EntityResponse } from "./entity.ts";

/** What a file route sees of a request. */
export interface FileRouteRequest {
  /** `GET` or `HEAD`. */
  readonly method: string;
  /** The request-target as the client sent it, in origin form (`/path?query`). */
  readonly target: string;
  /** The value of a request field by lower-case name (several joined with `, `), or null. */
  get(name: string): string | null;
}

/** A route answering file requests without the app's `fetch`. */
export interface FileRoute {
  /** The answer, or null when this route does not serve the request (then `fetch` does). */
  answer(request: FileRouteRequest): EntityResponse | null;
}

const FILE_ROUTE = Symbol.for("zerocast.fileRoute");

/** Attaches `route` to `app` (any object with `fetch`) and returns the app. */
export function withFileRoute<T extends object>(app: T, route: FileRoute): T {
  Object.defineProperty(app, FILE_ROUTE, { value: route, configurable: true });
  return app;
}

/** The file route `app` offers, if any. */
export function fileRouteOf(app: object): FileRoute | undefined {
  const route = (app as Record<symbol, unknown>)[FILE_ROUTE];
  return typeof route === "object" && route !== null &&
      typeof (route as FileRoute).answer === "function"
    ? route as FileRoute
    : undefined;
}
