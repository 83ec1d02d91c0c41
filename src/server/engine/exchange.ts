/**
 * One request/response exchange on a connection.
 *
 * @module
 */
import type { RequestHead, RequestLine } from "../../http1/mod.ts";
import type { FileRouteRequest } from "../../file_route.ts";
import type { BodyStream } from "./body_stream.ts";
import type { OpenFile } from "./file_cache.ts";

/** State of one request and its response; also the request a file route sees. */
export class Exchange implements FileRouteRequest {
  /** Request body, if the request has one. */
  body: BodyStream | null = null;
  /** Response status (0 until answered). */
  status = 0;
  /** Response body bytes written so far. */
  bytes = 0;
  /** Keep the connection open after this exchange. */
  keepAlive: boolean;
  /** A response (or error response) has been planned and queued. */
  responded = false;
  /** The whole response has been written. */
  written = false;
  /** Aborted when the client goes away before the response is written (created on demand). */
  signal: AbortController | null = null;
  /** Files acquired for this response, released when it ends. */
  readonly files: OpenFile[] = [];
  /** When the request head was complete (`performance.now()`), for the log's duration. */
  readonly start: number;
  /** The URL the app sees ("" until the exchange first goes to `app.fetch`). */
  url = "";
  /** Times the exchange was answered again because a file changed under its response. */
  retries = 0;

  /**
   * Starts an exchange for `head`; for a request the codec rejected, `head` is null and `line`
   * is its request line as far as it was read (for the access log and to spot HEAD). `timed`:
   * record the start time (false when no response hook will read it).
   */
  constructor(
    readonly head: RequestHead | null,
    readonly line: RequestLine | null = null,
    timed = true,
  ) {
    this.keepAlive = head !== null && head.keepAlive;
    // the clock is read only when something will log the duration (`timed`)
    this.start = timed ? performance.now() : 0;
  }

  /** The request method, from the head or the rejected request line; "" when unknown. */
  get method(): string {
    return this.head?.method ?? this.line?.method ?? "";
  }

  /** Raw request-target ("" for an unparsable request). */
  get target(): string {
    return this.head?.target ?? "";
  }

  /**
   * Field value by lower-case name, several fields of one name joined with `, ` (like
   * `Headers.get`), or null.
   */
  get(name: string): string | null {
    const headers = this.head?.headers;
    if (headers === undefined) return null;
    let value: string | null = null;
    for (let i = 0; i < headers.length; i++) {
      if (headers[i][0] !== name) continue;
      value = value === null ? headers[i][1] : `${value}, ${headers[i][1]}`;
    }
    return value;
  }

  /** Header value by lower-case name (first occurrence), or null. */
  header(name: string): string | null {
    const headers = this.head?.headers;
    if (headers === undefined) return null;
    for (let i = 0; i < headers.length; i++) {
      if (headers[i][0] === name) return headers[i][1];
    }
    return null;
  }
}
