/**
 * A lazily materialised `Request` for the app.
 *
 * `new Request(url, init)` costs a few microseconds per request, mostly URL parsing. Hono reads
 * only `method`, `url` (as a string) and `headers` on the common path, so the engine hands the
 * app an object that answers those three from the parsed head (headers built on first use) and
 * builds a real `Request` only when anything else is touched (`signal`, `json()`, `clone()`...).
 * It passes `instanceof Request`. `body` returns the engine's own body stream, so capabilities
 * on it (e.g. a {@linkcode SpliceableBody}) reach the app.
 *
 * @module
 */

/** What the engine knows about a request when it hands it to the app. */
export interface RequestParts {
  /** Method. */
  readonly method: string;
  /** Absolute URL (`http://host/target`). */
  readonly url: string;
  /** Header fields as `[name, value]` pairs (names lower-cased), duplicates kept. */
  readonly headers: [string, string][];
  /** Body stream, or null for none. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Returns a signal aborted when the client goes away before the response is done. */
  readonly signal: () => AbortSignal;
}

const PARTS = Symbol("parts");
const HEADERS = Symbol("headers");
const REAL = Symbol("real");

/** Builds a `Headers` from `[name, value]` pairs. */
export function headersFromList(list: [string, string][]): Headers {
  return new Headers(list);
}

/** The Request-like object handed to the app; see the module documentation. */
class EngineRequest {
  [PARTS]: RequestParts;
  [HEADERS]: Headers | undefined = undefined;
  [REAL]: Request | undefined = undefined;

  constructor(parts: RequestParts) {
    this[PARTS] = parts;
  }

  get method(): string {
    return this[PARTS].method;
  }

  get url(): string {
    return this[PARTS].url;
  }

  get headers(): Headers {
    return this[HEADERS] ??= headersFromList(this[PARTS].headers);
  }

  get body(): ReadableStream<Uint8Array> | null {
    const real = this[REAL];
    return real !== undefined ? real.body : this[PARTS].body;
  }

  get bodyUsed(): boolean {
    const real = this[REAL];
    if (real !== undefined) return real.bodyUsed;
    const body = this[PARTS].body;
    return body !== null && body.locked;
  }

  get signal(): AbortSignal {
    return this[REAL]?.signal ?? this[PARTS].signal();
  }
}

/** Creates the real Request once; later accesses use it. */
function materialise(request: EngineRequest): Request {
  let real = request[REAL];
  if (real === undefined) {
    const parts = request[PARTS];
    const hasBody = parts.body !== null && parts.method !== "GET" && parts.method !== "HEAD";
    real = new Request(parts.url, {
      method: parts.method,
      headers: request.headers,
      body: hasBody ? parts.body : null,
      signal: parts.signal(),
      // @ts-ignore: `duplex` is required by fetch for stream bodies but missing from the lib types
      duplex: "half",
    });
    request[REAL] = real;
  }
  return real;
}

Object.setPrototypeOf(EngineRequest.prototype, Request.prototype);
const own = new Set(Object.getOwnPropertyNames(EngineRequest.prototype));
for (const key of Object.getOwnPropertyNames(Request.prototype)) {
  if (own.has(key)) continue;
  const descriptor = Object.getOwnPropertyDescriptor(Request.prototype, key)!;
  if (typeof descriptor.get === "function") {
    Object.defineProperty(EngineRequest.prototype, key, {
      get(this: EngineRequest) {
        return (materialise(this) as unknown as Record<string, unknown>)[key];
      },
      configurable: true,
    });
  } else if (typeof descriptor.value === "function") {
    Object.defineProperty(EngineRequest.prototype, key, {
      value(this: EngineRequest, ...args: unknown[]) {
        const real = materialise(this) as unknown as Record<string, (...a: unknown[]) => unknown>;
        return real[key](...args);
      },
      configurable: true,
      writable: true,
    });
  }
}
Object.defineProperty(EngineRequest.prototype, Symbol.for("Deno.customInspect"), {
  value(this: EngineRequest) {
    return `Request { method: "${this.method}", url: "${this.url}" }`;
  },
});

/** Creates the request the app sees for `parts`. */
export function createRequest(parts: RequestParts): Request {
  return new EngineRequest(parts) as unknown as Request;
}
