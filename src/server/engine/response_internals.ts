/**
 * Fast reads of a `Response` built in this process: its header list and, for bodies made from
 * a string or bytes, those bytes — without creating a ReadableStream and reading it (several
 * promise turns per response).
 *
 * Used only for responses the app built itself (e.g. Hono's `c.text()`); the engine's own answers
 * (the prepared file path) are objects of ours. This relies on Deno's internal layout
 * (`Symbol(response)` holding `headerList` and `body.streamOrStatic`; since Deno 2.9 also the
 * lazily built parts `Symbol(headers)`, `Symbol(lazy static body)` and `Symbol(lazy static
 * content type)`), probed once at load with known Responses; if a probe fails (another Deno
 * version), the functions depending on it return `undefined` and the engine uses the public API.
 *
 * @module
 */
import { type FileBody, isFileBody } from "../../file_body.ts";

interface InnerBody {
  streamOrStatic?: unknown;
}

interface InnerResponse {
  headerList?: [string, string][];
  body?: InnerBody | null;
}

const SYMBOLS = Object.getOwnPropertySymbols(new Response(""));
const symbolOf = (description: string) => SYMBOLS.find((s) => s.description === description);
const INNER = symbolOf("response");
/** The `Headers` object, null until something asked for `response.headers`. */
const HEADERS = symbolOf("headers");
/** A string body not yet turned into an inner body (Deno 2.9's lazy `new Response(string)`). */
const LAZY_BODY = symbolOf("lazy static body");
/** A Content-Type not yet added to the inner header list. */
const LAZY_TYPE = symbolOf("lazy static content type");

function inner(response: Response): InnerResponse | undefined {
  return INNER === undefined
    ? undefined
    : (response as unknown as Record<symbol, InnerResponse | undefined>)[INNER];
}

/**
 * Works only when a probe Response shows the expected layout. Read-only: nothing here writes
 * Deno's internals. `test/engine_response_internals_test.ts` fails when a Deno upgrade breaks the
 * probe (the engine would then still send the same bytes, through the public API, but slower).
 */
export const RESPONSE_INTERNALS_SUPPORTED: boolean = (() => {
  try {
    const probe = new Response("probe", { headers: { "X-Probe": "1" } });
    void probe.headers;
    const i = inner(probe);
    const list = i?.headerList;
    const body = i?.body?.streamOrStatic as { body?: unknown; consumed?: unknown } | undefined;
    return Array.isArray(list) && list[0]?.[0] === "X-Probe" && list[0]?.[1] === "1" &&
      body?.body === "probe" && body?.consumed === false;
  } catch {
    return false;
  }
})();

/**
 * The response's header fields as `[name, value]` pairs (names in the case they were set), or
 * `undefined` when unsupported. Call before {@linkcode staticBody}.
 */
export function headerList(response: Response): [string, string][] | undefined {
  if (!RESPONSE_INTERNALS_SUPPORTED) return undefined;
  // the public getter materialises lazily built responses (e.g. Response.json) into the list
  void response.headers;
  return inner(response)?.headerList;
}

/**
 * The body bytes of a response built from a string or bytes that nobody has read, `null` when
 * the response has no body, or `undefined` when the body must be read as a stream.
 */
export function staticBody(response: Response): string | Uint8Array | null | undefined {
  if (!RESPONSE_INTERNALS_SUPPORTED) return undefined;
  void response.headers;
  const i = inner(response);
  if (i === undefined) return undefined;
  if (i.body === null || i.body === undefined) return response.body === null ? null : undefined;
  const source = i.body.streamOrStatic as { body?: unknown; consumed?: unknown } | undefined;
  if (source === undefined || source instanceof ReadableStream) return undefined;
  if (source.consumed !== false) return undefined;
  const body = source.body;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  return undefined;
}

/** The response's {@linkcode FileBody}, found without turning a string or bytes body into a stream. */
export function fileBodyOf(response: Response): FileBody | null {
  if (staticBody(response) !== undefined) return null;
  const body = response.body;
  return isFileBody(body) ? body : null;
}

/** A response's header fields and static body, read without building anything. */
export interface PeekedResponse {
  /** Header fields as `[name, value]` pairs, as `response.headers` would list them. */
  readonly fields: readonly [string, string][];
  /** The body bytes (string: UTF-8 text), or null for none. */
  readonly body: string | Uint8Array | null;
}

function slot(response: Response, symbol: symbol | undefined): unknown {
  return symbol === undefined
    ? undefined
    : (response as unknown as Record<symbol, unknown>)[symbol];
}

/**
 * The pending Content-Type appended to `list` with the name Deno will give it: `Content-Type`
 * when the lazy string body is turned into an inner body, `content-type` when the header list
 * is read (both in Deno's `responseHeaderList`).
 */
function withType(list: [string, string][], name: string, type: string): [string, string][] {
  return list.length === 0 ? [[name, type]] : [...list, [name, type]];
}

function peek(response: Response): PeekedResponse | undefined {
  if (slot(response, HEADERS) !== null) return undefined;
  const i = inner(response);
  if (i === undefined || !Array.isArray(i.headerList)) return undefined;
  const lazyBody = slot(response, LAZY_BODY);
  const lazyType = slot(response, LAZY_TYPE);
  if (lazyType !== null && typeof lazyType !== "string") return undefined;
  if (lazyBody !== null) {
    // `new Response(string)` and `Response.json()`: nothing built yet; Deno would add the
    // lazy type, or text/plain for a string (Fetch "extract a body")
    if (typeof lazyBody !== "string" || (i.body !== null && i.body !== undefined)) return undefined;
    const type = lazyType ?? "text/plain;charset=UTF-8";
    return { fields: withType(i.headerList, "Content-Type", type), body: lazyBody };
  }
  let body: string | Uint8Array | null = null;
  if (i.body !== null) {
    const source = i.body?.streamOrStatic as { body?: unknown; consumed?: unknown } | undefined;
    if (source === undefined || source instanceof ReadableStream) return undefined;
    if (source.consumed !== false) return undefined;
    const bytes = source.body;
    if (typeof bytes !== "string" && !(bytes instanceof Uint8Array)) return undefined;
    body = bytes;
  }
  const fields = lazyType === null
    ? i.headerList
    : withType(i.headerList, "content-type", lazyType);
  return { fields, body };
}

/** Every field and body byte of `a` and `b` are the same. */
function samePeek(a: PeekedResponse | undefined, b: PeekedResponse): boolean {
  if (a === undefined || a.fields.length !== b.fields.length || a.body !== b.body) return false;
  return a.fields.every(([name, value], k) => name === b.fields[k][0] && value === b.fields[k][1]);
}

/**
 * True when {@linkcode peekResponse} reads, from untouched probe Responses of every shape it
 * handles, exactly the fields and body the public getters then build (and refuses responses
 * whose headers or body were asked for).
 */
export const RESPONSE_PEEK_SUPPORTED: boolean = (() => {
  if (!RESPONSE_INTERNALS_SUPPORTED || HEADERS === undefined) return false;
  if (LAZY_BODY === undefined || LAZY_TYPE === undefined) return false;
  try {
    const shapes = [
      () => new Response("probe"),
      () => Response.json({ probe: 1 }),
      () => new Response("probe", { headers: { "Content-Type": "a/b" } }),
      () => new Response(new Uint8Array([1]), { headers: { "X-Probe": "1" } }),
      () => new Response(null, { status: 204, headers: [["X-Probe", "1"]] }),
    ];
    for (const shape of shapes) {
      const response = shape();
      const peeked = peek(response);
      const list = headerList(response);
      const body = staticBody(response);
      if (list === undefined || body === undefined) return false;
      if (!samePeek(peeked, { fields: list, body })) return false;
      if (peek(response) !== undefined) return false; // its headers were read
    }
    const read = new Response("probe");
    void read.body;
    return peek(read) === undefined;
  } catch {
    return false;
  }
})();

/**
 * The header fields and static body of a Response nobody has asked for its headers or body
 * (what the app returned fresh, e.g. Hono's `c.text()`), read without making Deno build its
 * `Headers`, header list or inner body; `undefined` when it cannot be read this way (then use
 * {@linkcode headerList} and {@linkcode staticBody}). The fields are those `response.headers`
 * would list, in the same order and name case.
 */
export function peekResponse(response: Response): PeekedResponse | undefined {
  return RESPONSE_PEEK_SUPPORTED ? peek(response) : undefined;
}
