/**
 * Response heads as the engine writes them (RFC 9112 §4, §6): status line, the app's header
 * fields minus the hop-by-hop ones the engine owns, then `Date`, framing and `Connection`.
 *
 * @module
 */

/** Reason phrases (RFC 9110 §15); an unknown code gets an empty phrase, which is allowed. */
const REASONS: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  422: "Unprocessable Content",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** Status lines by code, built once. */
const STATUS_LINES = new Map<number, string>();

/** `HTTP/1.1 <code> <reason>\r\n` for `status`. */
export function statusLine(status: number): string {
  let line = STATUS_LINES.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${REASONS[status] ?? ""}\r\n`;
    STATUS_LINES.set(status, line);
  }
  return line;
}

let dateSecond = -1;
let dateLine = "";

/** `Date: <IMF-fixdate>\r\n` (RFC 9110 §6.6.1), recomputed at most once per second. */
export function dateHeaderLine(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `date: ${new Date(second * 1000).toUTCString()}\r\n`;
  }
  return dateLine;
}

/** How the body of a response is framed. */
export const enum Framing {
  /** No body and no length header (1xx, 204, 304 without Content-Length). */
  None,
  /** `Content-Length: n`. */
  Length,
  /** `Transfer-Encoding: chunked`. */
  Chunked,
  /** Body ends when the connection closes (HTTP/1.0 peer, unknown length). */
  Close,
}

/** Header names the engine writes itself; the app's values for them are dropped. */
function isEngineOwned(name: string): boolean {
  switch (name) {
    case "connection":
    case "keep-alive":
    case "transfer-encoding":
    case "content-length":
    case "date":
    case "upgrade":
    case "proxy-connection":
      return true;
  }
  return false;
}

/**
 * Serialises a response head. `length` is the Content-Length for {@linkcode Framing.Length};
 * `keepAlive` says whether the connection stays open (`Connection: close` otherwise);
 * `http10KeepAlive` adds `Connection: keep-alive` for an HTTP/1.0 peer.
 */
export function serializeHead(
  status: number,
  headers: Iterable<readonly [string, string]> | null,
  framing: Framing,
  length: number,
  keepAlive: boolean,
  http10KeepAlive: boolean,
  now: number,
): string {
  let head = statusLine(status);
  let hasDate = false;
  if (headers !== null) {
    // a Headers yields lower-cased names; Deno's internal list keeps the case they were set in
    for (const [field, value] of headers) {
      const name = field.toLowerCase();
      if (isEngineOwned(name)) {
        if (name === "date") {
          hasDate = true;
          head += `date: ${value}\r\n`;
        }
        continue;
      }
      head += `${name}: ${value}\r\n`;
    }
  }
  if (!hasDate) head += dateHeaderLine(now);
  if (framing === Framing.Length) head += `content-length: ${length}\r\n`;
  else if (framing === Framing.Chunked) head += "transfer-encoding: chunked\r\n";
  if (!keepAlive) head += "connection: close\r\n";
  else if (http10KeepAlive) head += "connection: keep-alive\r\n";
  return head + "\r\n";
}

/** Encodes a head (latin1: one byte per char, as header values are ByteStrings) into `out`. */
export function encodeHead(head: string, out: Uint8Array, at: number): number {
  const n = head.length;
  for (let i = 0; i < n; i++) out[at + i] = head.charCodeAt(i);
  return n;
}

/** A complete short error response (text body) with `Connection: close`. */
export function errorResponse(status: number, now: number): string {
  const body = `${status} ${REASONS[status] ?? "Error"}\n`;
  return statusLine(status) + dateHeaderLine(now) +
    `content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n` +
    `connection: close\r\n\r\n${body}`;
}
