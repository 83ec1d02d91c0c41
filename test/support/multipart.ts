/**
 * A strict multipart/byteranges parser for tests (RFC 9110 §14.6, RFC 2046 §5.1.1): it checks
 * the framing byte for byte instead of trusting the server.
 *
 * @module
 */

/** One parsed body part. */
export interface ParsedPart {
  /** Header fields, names in lower case. */
  readonly headers: Map<string, string>;
  /** The part's content. */
  readonly body: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Returns the `boundary` parameter of a multipart Content-Type, or throws. */
export function boundaryOf(contentType: string | null): string {
  const m = /^multipart\/byteranges;\s*boundary=("?)([^";]+)\1$/i.exec(contentType ?? "");
  if (!m) throw new Error(`not multipart/byteranges: ${contentType}`);
  return m[2];
}

/**
 * Splits `body` into parts at `boundary`. Throws unless the body is a dash-boundary (optionally
 * after a CRLF preamble), parts separated by CRLF dash-boundary CRLF, and a close-delimiter
 * followed by at most a CRLF.
 */
export function parseMultipart(body: Uint8Array, boundary: string): ParsedPart[] {
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  // Treat the body as if preceded by CRLF so the first delimiter looks like the others.
  const data = new Uint8Array(body.byteLength + 2);
  data.set([13, 10]);
  data.set(body, 2);
  let pos = indexOf(data, delimiter, 0);
  if (pos !== 0 && pos !== 2) throw new Error(`unexpected preamble before boundary (at ${pos})`);
  const parts: ParsedPart[] = [];
  for (;;) {
    pos += delimiter.byteLength;
    if (data[pos] === 0x2d && data[pos + 1] === 0x2d) {
      const epilogue = decoder.decode(data.subarray(pos + 2));
      if (epilogue !== "" && epilogue !== "\r\n") throw new Error(`epilogue: ${epilogue}`);
      return parts;
    }
    if (data[pos] !== 13 || data[pos + 1] !== 10) throw new Error("no CRLF after boundary");
    pos += 2;
    const headerEnd = indexOf(data, encoder.encode("\r\n\r\n"), pos);
    if (headerEnd < 0) throw new Error("unterminated part header");
    const headers = new Map<string, string>();
    for (const line of decoder.decode(data.subarray(pos, headerEnd)).split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw new Error(`bad header line: ${line}`);
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const contentStart = headerEnd + 4;
    const next = indexOf(data, delimiter, contentStart);
    if (next < 0) throw new Error("missing close-delimiter");
    parts.push({ headers, body: data.slice(contentStart, next) });
    pos = next;
  }
}

/** First index of `needle` in `haystack` at or after `from`, or -1. */
function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= haystack.byteLength - needle.byteLength; i++) {
    for (let j = 0; j < needle.byteLength; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}
