/**
 * Output planning, step two: a planned response → segments in the output queue. The head is
 * written into the shared staging buffer and small bodies join it there, so head and body leave
 * in one `send`; the pread rule: a file body of at most `preadThreshold` bytes is read with
 * pread(2) into the staging buffer behind the head, larger slices become sendfile segments.
 *
 * @module
 */
import { type BodyPart, FileChangedError, isFileSlice } from "../../file_body.ts";
import { serializeResponseHead, writeResponseHead } from "../../http1/mod.ts";
import type { OpenFile } from "./file_cache.ts";
import type { ResponsePlan } from "./response_plan.ts";
import { bytesSegment, Seg, type Segment } from "./segments.ts";

/** What the planner needs from the server (real ones, or fakes in tests). */
export interface OutputDeps {
  /** Shared buffer for head and small bodies (valid until the next response is planned). */
  readonly staging: Uint8Array;
  /** UTF-8 encoder for string bodies. */
  readonly encoder: TextEncoder;
  /** File bodies up to this many bytes are read with pread and sent with the head. */
  readonly preadThreshold: number;
  /** Opens a slice's file (throws FileChangedError / SyscallError). */
  acquire(part: { path: string; identity: import("../../file_body.ts").FileIdentity }): OpenFile;
  /** pread(2): bytes read into `buf` from `offset`, or -1. */
  pread(fd: number, buf: Uint8Array, offset: number): number;
  /** Reports an unexpected error. */
  onError(error: unknown): void;
}

/**
 * Writes the head of `plan` into staging; returns its length, or a buffer of its own for a head
 * larger than staging. Throws (TypeError/RangeError) for a head that cannot be written.
 */
export function writeHead(deps: OutputDeps, plan: ResponsePlan): number | Uint8Array {
  const used = writeResponseHead(deps.staging, 0, plan.status, plan.fields, plan.head);
  return used >= 0 ? used : serializeResponseHead(plan.status, plan.fields, plan.head);
}

/**
 * Queues the body of `plan` into `out` after a head in staging[0, used) (0 when the head was
 * queued on its own). Files acquired are added to `files`. Returns false when the response
 * cannot be sent (a file vanished, was replaced or is shorter than promised): close then.
 */
export function queueBody(
  deps: OutputDeps,
  plan: ResponsePlan,
  used: number,
  out: Segment[],
  files: OpenFile[],
): boolean {
  const staging = deps.staging;
  const headLength = used;
  const bytes = plan.bytes;
  if (bytes !== null) {
    if (typeof bytes === "string") {
      const ascii = writeShortAscii(staging, used, bytes);
      if (ascii >= 0) used = ascii;
      else {
        const result = deps.encoder.encodeInto(bytes, staging.subarray(used));
        if (result.read === bytes.length) used += result.written;
        else {
          pushHead(out, staging, used, headLength);
          used = 0;
          out.push(bytesSegment(deps.encoder.encode(bytes), 0, "copy"));
        }
      }
    } else if (used + bytes.byteLength <= staging.byteLength) {
      staging.set(bytes, used);
      used += bytes.byteLength;
    } else {
      pushHead(out, staging, used, headLength);
      used = 0;
      out.push(bytesSegment(bytes, 0, "copy"));
    }
  } else if (plan.parts !== null) {
    return queueFileParts(deps, plan.parts, used, out, files);
  } else if (plan.stream !== null) {
    pushHead(out, staging, used, headLength);
    used = 0;
    out.push({
      kind: Seg.Stream,
      reader: plan.stream.getReader(),
      chunked: plan.chunked,
      remaining: plan.streamLength,
      reading: false,
    });
  }
  pushHead(out, staging, used, headLength);
  return true;
}

/** Text up to this length is copied char by char (cheaper than a call into the runtime). */
const SHORT_TEXT = 64;

/**
 * Writes a short ASCII `text` (e.g. `c.text("ok")`) into `out` at `at` char by char; returns the
 * offset after it, or -1 when it is long, not ASCII (UTF-8 needs the encoder) or does not fit.
 */
function writeShortAscii(out: Uint8Array, at: number, text: string): number {
  const n = text.length;
  if (n > SHORT_TEXT || at + n > out.byteLength) return -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return -1;
    out[at + i] = c;
  }
  return at + n;
}

/** Queues staging[0, used) (a head of `headLength` bytes, then body bytes) as a shared view. */
function pushHead(out: Segment[], staging: Uint8Array, used: number, headLength: number): void {
  if (used > 0) out.push(bytesSegment(staging.subarray(0, used), headLength, "copy", true));
}

/**
 * Queues staging[base, used) (body bytes from `bodyStart` on): only a first segment may stay a
 * view of the shared staging buffer (the connection copies what it could not send), later ones
 * are copies.
 */
function pushStaged(
  out: Segment[],
  staging: Uint8Array,
  base: number,
  used: number,
  bodyStart: number,
): void {
  if (used === base) return;
  const shared = base === 0 && out.length === 0;
  const buf = shared ? staging.subarray(0, used) : staging.slice(base, used);
  out.push(bytesSegment(buf, Math.max(0, bodyStart - base), "copy", shared));
}

/** Queues file body parts after staging[0, used) (see {@linkcode queueBody}). */
function queueFileParts(
  deps: OutputDeps,
  parts: readonly BodyPart[],
  used: number,
  out: Segment[],
  files: OpenFile[],
): boolean {
  const staging = deps.staging;
  const bodyStart = used;
  let total = 0;
  for (const part of parts) total += isFileSlice(part) ? part.length : part.byteLength;
  const preadAll = total <= deps.preadThreshold && used + total <= staging.byteLength;
  // staging[base, used) is not queued yet
  let base = 0;
  for (const part of parts) {
    if (!isFileSlice(part)) {
      if (part.byteLength === 0) continue;
      if (used + part.byteLength <= staging.byteLength) {
        staging.set(part, used);
        used += part.byteLength;
      } else {
        pushStaged(out, staging, base, used, bodyStart);
        base = used;
        out.push(bytesSegment(part, 0, "copy"));
      }
      continue;
    }
    if (part.length === 0) continue;
    let file: OpenFile;
    try {
      file = deps.acquire(part);
    } catch (error) {
      // the file vanished or was replaced after the app's stat; the head promised bytes that do
      // not exist (a replacement is an expected race with live ingest: the client retries)
      if (!(error instanceof FileChangedError)) deps.onError(error);
      return false;
    }
    files.push(file);
    if (preadAll) {
      const n = deps.pread(file.fd, staging.subarray(used, used + part.length), part.offset);
      // truncated file: the head promised bytes that do not exist any more
      if (n !== part.length) return false;
      used += n;
      continue;
    }
    pushStaged(out, staging, base, used, bodyStart);
    base = used;
    out.push({ kind: Seg.File, file, pos: part.offset, end: part.offset + part.length });
  }
  pushStaged(out, staging, base, used, bodyStart);
  return true;
}
