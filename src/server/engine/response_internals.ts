/**
 * Fast reads of a `Response` built in this process: its header list and, for bodies made from
 * a string or bytes, those bytes — without creating a ReadableStream and reading it (several
 * promise turns per response).
 *
 * Used only for responses the app built itself (e.g. Hono's `c.text()`); the engine's own answers
 * (the prepared file path) are objects of ours. This relies on Deno's internal layout (`Symbol(response)` holding `headerList` and
 * `body.streamOrStatic`), probed once at load with a known Response; if the probe fails (another
 * Deno version), every function here returns `undefined` and the engine uses the public API.
 *
 * @module
 */

interface InnerBody {
  streamOrStatic?: unknown;
}

interface InnerResponse {
  headerList?: [string, string][];
  body?: InnerBody | null;
}

const INNER: symbol | undefined = Object.getOwnPropertySymbols(new Response("")).find((s) =>
  s.description === "response"
);

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
