/**
 * zerocast as a library: the media app, the file-body helper any Hono handler can return, and the
 * two servers (the zero-copy engine as a Hono adapter, and the `Deno.serve` stream server).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { fileResponse, serve } from "./src/mod.ts";
 *
 * const app = new Hono();
 * app.get("/intro", (c) => fileResponse(c, "/srv/video/intro.mp4"));
 * const server = serve(app, { hostname: "127.0.0.1", port: 8080 }); // sendfile for the file body
 * ```
 * @module
 */
export { createApp, requestPath } from "./app.ts";
export type { AppOptions, IngestOptions } from "./options.ts";
export {
  prefixProblem,
  signKeyBytes,
  signPath,
  signUrl,
  verifySignedPath,
} from "./auth/signed_url.ts";
export type { SignedPathCheck, SignOptions } from "./auth/signed_url.ts";
export { AccessGate, passTarget } from "./auth/gate.ts";
export type { AccessDecision, AccessPolicy, TargetRequest } from "./auth/gate.ts";
export { BasicAuth, makePasswordHash, parseBasicAuth } from "./auth/basic_auth.ts";
export {
  fileAnswer,
  fileResponse,
  fileResponseFromStat,
  virtualAnswer,
  virtualResponse,
} from "./file_response.ts";
export { answerEntity, prepareFields, textResponse, toResponse } from "./entity.ts";
export type { Entity, EntityOptions, EntityResponse, HeaderPair } from "./entity.ts";
export { fileRouteOf, withFileRoute } from "./file_route.ts";
export type { FileRoute, FileRouteRequest } from "./file_route.ts";
export type { FileResponseOptions, VirtualBody } from "./file_response.ts";
export { FileBody, FileTruncatedError, isFileBody, isFileSlice } from "./file_body.ts";
export type { BodyPart, FileIdentity, FileSlice } from "./file_body.ts";
export { isSpliceableBody } from "./request_body.ts";
export type { BodyToFileOptions, SpliceableBody } from "./request_body.ts";
export { parseRange } from "./media/range.ts";
export { contentTypeFor } from "./media/mime.ts";
export { Metrics } from "./metrics.ts";
export { serve, zeroCopyAvailable } from "./server/adapter.ts";
export type { EngineHandle, EngineOptions } from "./server/adapter.ts";
export { serveStream, STREAM_DEFAULTS } from "./server/stream.ts";
export type { StreamLimits, StreamServerHandle, StreamServerOptions } from "./server/stream.ts";
export { serveDeno } from "./server/deno_serve.ts";
export type { DenoServeOptions } from "./server/deno_serve.ts";
export type { FetchApp, ServerEnv, ServerHandle } from "./server/types.ts";
