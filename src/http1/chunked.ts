/**
 * Incremental decoder of the chunked transfer coding of request bodies (RFC 9112 §7.1).
 *
 * The decoder reads framing only: it never copies payload. Each {@linkcode ChunkedDecoder.decode}
 * call consumes framing bytes and reports the next run of payload bytes inside the given buffer
 * as an offset and a length. A caller that owns the socket can instead move payload bytes itself
 * (e.g. with `splice(2)` into a pipe and on to a file): whenever the buffer is drained and
 * {@linkcode ChunkedDecoder.payloadRemainingInChunk} is positive, it may move up to that many
 * bytes and report them with {@linkcode ChunkedDecoder.skipPayload}, then go back to feeding
 * bytes it read (framing, possibly followed by more payload).
 *
 * Strictness (request smuggling research shows parsers that disagree on these): every line ends
 * in CRLF (no bare LF, no bare CR); whitespace after the size is allowed only before a `;`
 * extension; the CRLF after chunk data is required; sizes are bounded before they overflow.
 * Extensions are ignored and trailer fields are read and discarded.
 *
 * @example
 * ```ts
 * const dec = new ChunkedDecoder(1 << 20);
 * let at = 0;
 * while (at < end) {
 *   const step = dec.decode(buf, at, end);
 *   if (step.error) return answer(step.errorStatus); // 400 or 413
 *   if (step.dataLength > 0) write(buf.subarray(step.dataStart, step.dataStart + step.dataLength));
 *   at += step.consumed;
 *   if (step.done) break; // buf[at, end) is the next pipelined request
 * }
 * ```
 * @module
 */

import { CR, FIELD_VALUE_CHAR, HEX_VALUE, HTAB, LF, SP } from "./chars.ts";

/** Result of one {@linkcode ChunkedDecoder.decode} call (one object, reused by every call). */
export interface ChunkedStep {
  /** Bytes of the input consumed, framing and payload; the caller advances by this much. */
  consumed: number;
  /** Index in the input of the payload run reported by this call (meaningful if length > 0). */
  dataStart: number;
  /** Length of that payload run; 0 when this call met no payload. */
  dataLength: number;
  /** The last chunk and the trailer section have been read; the body is complete. */
  done: boolean;
  /** Why the body is malformed or too large; undefined when it is fine so far. */
  error: string | undefined;
  /** Status to answer for `error`: 413 when the body exceeds the limit, else 400; 0 if none. */
  errorStatus: 0 | 400 | 413;
}

/** Limits of the chunked framing itself (the payload limit is the constructor argument). */
export interface ChunkedLimits {
  /** Longest chunk-size line (size and extensions, without CRLF). */
  maxChunkLineBytes: number;
  /** Largest trailer section (all trailer lines with their CRLFs). */
  maxTrailerBytes: number;
}

/** Default framing limits: 4 KiB per size line, 16 KiB of trailers. */
export const DEFAULT_CHUNKED_LIMITS: ChunkedLimits = Object.freeze({
  maxChunkLineBytes: 4096,
  maxTrailerBytes: 16 * 1024,
});

// Decoder states.
/** Expecting the first hex digit of a chunk size. */
const SIZE_START = 0;
/** Inside the hex digits of a chunk size. */
const SIZE = 1;
/** After the size, in whitespace that must lead to a `;`. */
const SIZE_WS = 2;
/** Inside chunk extensions, up to CR. */
const EXT = 3;
/** After the CR of the size line. */
const SIZE_LF = 4;
/** Inside chunk data. */
const DATA = 5;
/** Expecting the CR after chunk data. */
const DATA_CR = 6;
/** Expecting the LF after chunk data. */
const DATA_LF = 7;
/** At the start of a trailer line or of the final empty line. */
const TRAILER_START = 8;
/** Inside a trailer line, up to CR. */
const TRAILER = 9;
/** After the CR of a trailer line. */
const TRAILER_LF = 10;
/** After the CR of the final empty line. */
const END_LF = 11;
/** Body complete. */
const DONE = 12;
/** Body malformed; sticky. */
const FAILED = 13;

/** Largest size before one more hex digit could exceed `Number.MAX_SAFE_INTEGER`. */
const SIZE_GUARD = Math.floor(Number.MAX_SAFE_INTEGER / 16) - 1;

/** Incremental chunked body decoder; one instance per request body. */
export class ChunkedDecoder {
  /** Largest total payload accepted; more is an error with status 413. */
  readonly maxBodyBytes: number;
  readonly #limits: ChunkedLimits;
  #state = SIZE_START;
  /** Size being read, then payload bytes left in the current chunk. */
  #size = 0;
  /** Sum of the sizes of all chunks announced so far. */
  #declared = 0;
  #payload = 0;
  #lineBytes = 0;
  #trailerBytes = 0;
  readonly #step: ChunkedStep = {
    consumed: 0,
    dataStart: 0,
    dataLength: 0,
    done: false,
    error: undefined,
    errorStatus: 0,
  };

  /** Creates a decoder accepting at most `maxBodyBytes` of payload. */
  constructor(maxBodyBytes: number, limits: ChunkedLimits = DEFAULT_CHUNKED_LIMITS) {
    this.maxBodyBytes = maxBodyBytes;
    this.#limits = limits;
  }

  /** Payload bytes of the current chunk not yet consumed; positive only inside chunk data. */
  get payloadRemainingInChunk(): number {
    return this.#state === DATA ? this.#size : 0;
  }

  /** Total payload bytes consumed so far (reported runs plus skipped bytes). */
  get payloadBytes(): number {
    return this.#payload;
  }

  /** True once the whole body, trailers included, has been read. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /**
   * Records that `n` payload bytes of the current chunk were consumed outside the decoder (e.g.
   * spliced from the socket). Throws a RangeError when `n` exceeds
   * {@linkcode payloadRemainingInChunk}.
   */
  skipPayload(n: number): void {
    if (!(n >= 0 && n <= this.payloadRemainingInChunk)) {
      throw new RangeError(`skipPayload(${n}) with ${this.payloadRemainingInChunk} bytes left`);
    }
    this.#size -= n;
    this.#payload += n;
    if (this.#size === 0) this.#state = DATA_CR;
  }

  /**
   * Consumes framing from `buf[start, end)` up to and including the next payload run, the end of
   * the body, an error or the end of the input, whichever comes first. Call again from
   * `start + consumed` while bytes remain and the step is neither done nor failed. The returned
   * object is reused by the next call.
   */
  decode(buf: Uint8Array, start: number, end: number): ChunkedStep {
    const step = this.#step;
    step.dataStart = start;
    step.dataLength = 0;
    let p = start;
    let state = this.#state;
    while (p < end && state < DONE) {
      if (state === DATA) {
        const avail = end - p;
        const n = avail < this.#size ? avail : this.#size;
        step.dataStart = p;
        step.dataLength = n;
        p += n;
        this.#size -= n;
        this.#payload += n;
        if (this.#size === 0) state = DATA_CR;
        break;
      }
      const c = buf[p++];
      switch (state) {
        case SIZE_START: {
          const d = HEX_VALUE[c];
          if (d === 255) return this.#fail(p - start, 400, "invalid chunk size");
          this.#size = d;
          this.#lineBytes = 1;
          state = SIZE;
          break;
        }
        case SIZE: {
          const d = HEX_VALUE[c];
          if (d !== 255) {
            if (this.#size > SIZE_GUARD) return this.#fail(p - start, 400, "chunk size overflow");
            this.#size = this.#size * 16 + d;
          } else if (c === CR) {
            state = SIZE_LF;
            break;
          } else if (c === 0x3b) state = EXT; // ";"
          else if (c === SP || c === HTAB) state = SIZE_WS;
          else return this.#fail(p - start, 400, "invalid chunk size");
          if (++this.#lineBytes > this.#limits.maxChunkLineBytes) {
            return this.#fail(p - start, 400, "chunk size line too long");
          }
          break;
        }
        case SIZE_WS:
          // chunk-ext = *( BWS ";" ... ): whitespace only before an extension (RFC 9112 §7.1.1).
          if (c === 0x3b) state = EXT;
          else if (c !== SP && c !== HTAB) {
            return this.#fail(p - start, 400, "invalid chunk extension");
          }
          if (++this.#lineBytes > this.#limits.maxChunkLineBytes) {
            return this.#fail(p - start, 400, "chunk size line too long");
          }
          break;
        case EXT:
          // Extensions are ignored (RFC 9112 §7.1.1) but must not hide a line break or control.
          if (c === CR) {
            state = SIZE_LF;
            break;
          }
          if (FIELD_VALUE_CHAR[c] === 0) {
            return this.#fail(p - start, 400, "invalid chunk extension");
          }
          if (++this.#lineBytes > this.#limits.maxChunkLineBytes) {
            return this.#fail(p - start, 400, "chunk size line too long");
          }
          break;
        case SIZE_LF:
          if (c !== LF) return this.#fail(p - start, 400, "chunk size line without CRLF");
          if (this.#size === 0) {
            state = TRAILER_START;
            this.#trailerBytes = 0;
          } else {
            this.#declared += this.#size;
            if (this.#declared > this.maxBodyBytes) {
              return this.#fail(p - start, 413, "chunked body too large");
            }
            state = DATA;
          }
          break;
        case DATA_CR:
          if (c !== CR) return this.#fail(p - start, 400, "chunk data without CRLF");
          state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== LF) return this.#fail(p - start, 400, "chunk data without CRLF");
          state = SIZE_START;
          break;
        case TRAILER_START:
          if (++this.#trailerBytes > this.#limits.maxTrailerBytes) {
            return this.#fail(p - start, 400, "trailer section too large");
          }
          if (c === CR) state = END_LF;
          else if (c === SP || c === HTAB || FIELD_VALUE_CHAR[c] === 0) {
            // A leading space would be obs-fold (RFC 9112 §5.2).
            return this.#fail(p - start, 400, "invalid trailer field");
          } else state = TRAILER;
          break;
        case TRAILER:
          // Trailer fields are discarded (RFC 9112 §7.1.2); only their line syntax matters.
          if (++this.#trailerBytes > this.#limits.maxTrailerBytes) {
            return this.#fail(p - start, 400, "trailer section too large");
          }
          if (c === CR) state = TRAILER_LF;
          else if (FIELD_VALUE_CHAR[c] === 0) {
            return this.#fail(p - start, 400, "invalid trailer field");
          }
          break;
        case TRAILER_LF:
          if (c !== LF) return this.#fail(p - start, 400, "trailer line without CRLF");
          this.#trailerBytes++;
          state = TRAILER_START;
          break;
        case END_LF:
          if (c !== LF) return this.#fail(p - start, 400, "chunked body without final CRLF");
          state = DONE;
          break;
      }
    }
    this.#state = state;
    step.consumed = p - start;
    step.done = state === DONE;
    if (state !== FAILED) {
      step.error = undefined;
      step.errorStatus = 0;
    }
    return step;
  }

  #fail(consumed: number, status: 400 | 413, reason: string): ChunkedStep {
    this.#state = FAILED;
    const step = this.#step;
    step.consumed = consumed;
    step.dataLength = 0;
    step.done = false;
    step.error = reason;
    step.errorStatus = status;
    return step;
  }
}
