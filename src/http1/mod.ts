/**
 * The HTTP/1.1 codec of the zero-copy engine: pure functions over bytes, no I/O.
 *
 * Per connection: parse heads with {@linkcode parseRequestHead} (call again with more bytes
 * while `incomplete`; on `error` send {@linkcode errorResponseBytes}, body-less for a HEAD
 * {@linkcode peekRequestLine} finds, and close); give the app {@linkcode requestUrl}; send
 * {@linkcode CONTINUE_100} when `expectContinue` and the body is wanted; read `contentLength`
 * bytes or feed a {@linkcode ChunkedDecoder}; answer with {@linkcode serializeResponseHead} and,
 * for `chunked` framing, {@linkcode encodeChunk} + {@linkcode LAST_CHUNK}; keep the connection
 * only if {@linkcode responseKeepsAlive}; the next pipelined request starts where the body ended.
 *
 * @example
 * ```ts
 * const r = parseRequestHead(buf, start, end);
 * if (r.kind === "error") return sendAndClose(errorResponseBytes(r.status, r.reason));
 * if (r.kind === "head") {
 *   const opts = { keepAlive: r.head.keepAlive, versionMinor: r.head.versionMinor,
 *     contentLength: 5, head: r.head.method === "HEAD" };
 *   write(serializeResponseHead(200, response.headers, opts));
 * }
 * ```
 * @module
 */

export { type CodecLimits, DEFAULT_CODEC_LIMITS } from "./limits.ts";
export {
  type HeadErrorStatus,
  type HeadParseResult,
  parseRequestHead,
  type RequestHead,
} from "./request_head.ts";
export {
  ChunkedDecoder,
  type ChunkedLimits,
  type ChunkedStep,
  DEFAULT_CHUNKED_LIMITS,
} from "./chunked.ts";
export {
  CHUNK_CRLF,
  chunkHeader,
  CONTINUE_100,
  encodeChunk,
  type HeaderField,
  httpDate,
  isBodylessStatus,
  LAST_CHUNK,
  prepareField,
  type ResponseFraming,
  responseFraming,
  type ResponseHeadOptions,
  responseKeepsAlive,
  serializeResponseHead,
  statusText,
  writeResponseHead,
} from "./response_head.ts";
export { errorResponseBytes } from "./error_response.ts";
export {
  isTargetError,
  parseRequestTarget,
  type RequestTarget,
  requestUrl,
  type TargetError,
  type TargetForm,
  validAuthority,
} from "./request_target.ts";
export { MAX_LOGGED_LINE, peekRequestLine, type RequestLine } from "./request_line.ts";
