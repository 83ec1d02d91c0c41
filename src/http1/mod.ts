/**
 * The HTTP/1.1 codec of the zero-copy engine: pure functions over bytes, no I/O.
 *
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
  httpDate,
  isBodylessStatus,
  LAST_CHUNK,
  type ResponseFraming,
  responseFraming,
  type ResponseHeadOptions,
  responseKeepsAlive,
  serializeResponseHead,
  statusText,
} from "./response_head.ts";
export { errorResponseBytes } from "./error_response.ts";
