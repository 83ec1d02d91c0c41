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

const LIST = Symbol("list");
const REAL_HEADERS = Symbol("realHeaders");

/** A field name as `Headers` would validate it (RFC 9110 §5.1 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Lower-cased valid names the app asked for (few: range, if-range, ...); null: invalid. */
const lowerNames = new Map<string, string | null>();

function lowerName(name: string): string | null {
  let lower = lowerNames.get(name);
  if (lower === undefined) {
    lower = TOKEN.test(name) ? name.toLowerCase() : null;
    if (lowerNames.size >= 1024) lowerNames.clear();
    lowerNames.set(name, lower);
  }
  return lower;
}

/**
 * The request's `Headers`, answering `get` and `has` from the parsed field list (names
 * lower-cased, values valid and trimmed by the codec, so the answers equal a real `Headers`'s)
 * and building a real one (about 1.5 µs) only for anything else. Passes `instanceof Headers`.
 */
class EngineHeaders {
  [LIST]: [string, string][];
  [REAL_HEADERS]: Headers | undefined = undefined;

  constructor(list: [string, string][]) {
    this[LIST] = list;
  }

  get(name: string): string | null {
    const real = this[REAL_HEADERS];
    const key = real === undefined && typeof name === "string" ? lowerName(name) : null;
    if (key === null) return realHeaders(this).get(name);
    const list = this[LIST];
    let value: string | null = null;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] !== key) continue;
      // several fields of one name read as one, values joined (Fetch "get a header")
      value = value === null ? list[i][1] : `${value}, ${list[i][1]}`;
    }
    return value;
  }

  has(name: string): boolean {
    const real = this[REAL_HEADERS];
    const key = real === undefined && typeof name === "string" ? lowerName(name) : null;
    if (key === null) return realHeaders(this).has(name);
    const list = this[LIST];
    for (let i = 0; i < list.length; i++) if (list[i][0] === key) return true;
    return false;
  }
}

function realHeaders(headers: EngineHeaders): Headers {
  return headers[REAL_HEADERS] ??= headersFromList(headers[LIST]);
}

delegateTo(
  EngineHeaders.prototype,
  Headers.prototype,
  (self) => realHeaders(self as EngineHeaders),
  true,
);

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
    return this[HEADERS] ??= new EngineHeaders(this[PARTS].headers) as unknown as Headers;
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
      // the app's edits to `request.headers`, if any, live in its real Headers
      headers: request[HEADERS] === undefined
        ? headersFromList(parts.headers)
        : realHeaders(request[HEADERS] as unknown as EngineHeaders),
      body: hasBody ? parts.body : null,
      signal: parts.signal(),
      // @ts-ignore: `duplex` is required by fetch for stream bodies but missing from the lib types
      duplex: "half",
    });
    request[REAL] = real;
  }
  return real;
}

delegateTo(
  EngineRequest.prototype,
  Request.prototype,
  (self) => materialise(self as EngineRequest),
  false,
);

/**
 * Makes `proto` inherit from `real` and answer every member of `real` it does not define
 * itself from the real object `target(this)` builds; with `symbols` also symbol-keyed members
 * (`Symbol.iterator` of Headers).
 */
function delegateTo(
  proto: object,
  real: object,
  target: (self: unknown) => object,
  symbols: boolean,
): void {
  Object.setPrototypeOf(proto, real);
  const own = new Set<string | symbol>(Reflect.ownKeys(proto));
  const keys = symbols ? Reflect.ownKeys(real) : Object.getOwnPropertyNames(real);
  for (const key of keys) {
    if (own.has(key) || key === "constructor") continue;
    const descriptor = Object.getOwnPropertyDescriptor(real, key)!;
    if (typeof descriptor.get === "function") {
      Object.defineProperty(proto, key, {
        get(this: unknown) {
          return (target(this) as Record<string | symbol, unknown>)[key];
        },
        configurable: true,
      });
    } else if (typeof descriptor.value === "function") {
      Object.defineProperty(proto, key, {
        value(this: unknown, ...args: unknown[]) {
          const object = target(this) as Record<string | symbol, (...a: unknown[]) => unknown>;
          return object[key](...args);
        },
        configurable: true,
        writable: true,
      });
    }
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
