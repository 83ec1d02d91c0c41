/**
 * zerocast as a library: the media app, the file-body helper any Hono handler can return, and the
 * two servers (the zero-copy engine as a Hono adapter, and the `Deno.serve` stream server).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { fileResponse, serve } from "./mod.ts";
 *
 * const app = new Hono();
 * app.get("/intro", (c) => fileResponse(c, "/srv/video/intro.mp4"));
 * const server = serve(app, { hostname: "127.0.0.1", port: 8080 }); // sendfile for the file body
 * ```
 * @module
 */
export { createApp } from "./src/app.ts";
export type { AppOptions, IngestOptions } from "./src/options.ts";
export { fileResponse, fileResponseFromStat } from "./src/file_response.ts";
export type { FileResponseOptions } from "./src/file_response.ts";
export { FileBody, FileTruncatedError, isFileBody, isFileSlice } from "./src/file_body.ts";
export type { BodyPart, FileIdentity, FileSlice } from "./src/file_body.ts";
export { isSpliceableBody } from "./src/request_body.ts";
export type { BodyToFileOptions, SpliceableBody } from "./src/request_body.ts";
export { parseRange } from "./src/media/range.ts";
export { contentTypeFor } from "./src/media/mime.ts";
export { Metrics } from "./src/metrics.ts";
export { serve, zeroCopyAvailable } from "./src/server/adapter.ts";
export type { EngineHandle, EngineOptions } from "./src/server/adapter.ts";
export { serveStream } from "./src/server/stream.ts";
export type { StreamServerOptions } from "./src/server/stream.ts";
export type { FetchApp, ServerEnv, ServerHandle } from "./src/server/types.ts";
