/**
 * Size limits of the HTTP/1.1 request-head parser.
 *
 * @module
 */

/** Limits applied while parsing a request head; exceeding one yields 414 or 431. */
export interface CodecLimits {
  /**
   * Longest request line in bytes, without its line terminator. A longer line is answered 414
   * (URI Too Long), even before the line is complete.
   */
  maxRequestLineBytes: number;
  /**
   * Largest whole request head in bytes: leading empty lines, request line, header fields and
   * the terminating empty line. A larger head is answered 431 (Request Header Fields Too
   * Large), even before it is complete, so a read buffer of this size always holds a head.
   */
  maxHeaderBytes: number;
  /** Most header field lines in one head; more is answered 431. */
  maxHeaderCount: number;
}

/**
 * Defaults: an 8 KiB request line (nginx's `large_client_header_buffers` size), a 16 KiB head
 * (Node's `maxHeaderSize`) and 100 header fields (Node's `maxHeadersCount` is 2000; 100 is
 * plenty for media clients and bounds the per-request work).
 */
export const DEFAULT_CODEC_LIMITS: CodecLimits = Object.freeze({
  maxRequestLineBytes: 8 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
});
