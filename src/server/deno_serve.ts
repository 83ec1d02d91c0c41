/**
 * The app on `Deno.serve`. zerocast uses it behind the stream server for HTTP/2 (ALPN `h2`
 * connections are piped into it, see `stream/h2_bridge.ts`); it is also exported for programs
 * that want Deno's own HTTP stack (e.g. as a benchmark reference).
 *
 * What the app side can still enforce is enforced here: a missing Host, a Host that is not
 * `uri-host [":" port]`, or several Host fields (which Deno joins with ", ") → 400, as the
 * zero-copy engine answers (RFC 9112 §3.2). Response body bytes are counted as Deno pulls them
 * from the body stream, and the access-log line is written when the body ends or is cancelled,
 * so an aborted download logs what was handed over, not its Content-Length. What only Deno
 * decides (HTTP/1.0 keep-alive, the HTTP version of the request, dropping a request whose client
 * half-closed) is listed in the README.
 *
 * @module
 */
import { validAuthority } from "../http1/request_target.ts";
import type { AccessLogEntry } from "../log.ts";
import { staticBody } from "./engine/response_internals.ts";
import type { CommonServerOptions, FetchApp, ServerHandle } from "./types.ts";

/** Options of {@linkcode serveDeno}. */
export interface DenoServeOptions extends CommonServerOptions {
  /** PEM certificate and key: serve HTTPS instead of HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Protocol written to the access log (Deno.serve does not tell; default `HTTP/1.1`). */
  readonly protocol?: string;
  /** A Host header is required (default true; HTTP/2 requests carry `:authority` instead). */
  readonly requireHost?: boolean;
  /**
   * Maps the TCP peer to the client to report (for connections piped in by a front end);
   * null: the peer is not a known client, answered 403.
   */
  readonly clientOf?: (peer: Deno.NetAddr) => Deno.NetAddr | null;
}

/** Why a Host field is refused (RFC 9112 §3.2), or null when it is acceptable. */
export function hostProblem(host: string | null, required: boolean): string | null {
  if (host === null) return required ? "missing Host" : null;
  // Deno joins repeated fields with ", "; a comma is not valid in uri-host anyway
  if (host.includes(",")) return "duplicate Host";
  // the same rule as the HTTP/1.1 codec's (one definition of a valid Host)
  return validAuthority(host) ? null : "invalid Host";
}

function text(status: number, body: string): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** Starts `app` on Deno.serve; resolves once the listener accepts connections. */
export function serveDeno(app: FetchApp, options: DenoServeOptions): Promise<ServerHandle> {
  const { metrics, onResponse } = options;
  const protocol = options.protocol ?? "HTTP/1.1";
  const requireHost = options.requireHost ?? true;

  const handler = async (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
    const client = options.clientOf ? options.clientOf(info.remoteAddr) : info.remoteAddr;
    let response: Response;
    if (client === null) response = text(403, "forbidden\n");
    else {
      const problem = hostProblem(request.headers.get("host"), requireHost);
      response = problem !== null
        ? text(400, `400 Bad Request: ${problem}\n`)
        : await app.fetch(request, { remoteAddr: client });
    }
    const url = request.url;
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    const entry = {
      remoteAddr: (client ?? info.remoteAddr).hostname,
      method: request.method,
      target: pathStart < 0 ? "/" : url.slice(pathStart),
      protocol,
      status: response.status,
      referer: request.headers.get("referer"),
      userAgent: request.headers.get("user-agent"),
    };
    const finish = (bytes: number) => {
      metrics?.countRequest(entry.status);
      if (onResponse) {
        const logged: AccessLogEntry = { ...entry, bytes };
        onResponse(logged);
      }
    };
    // `response.body` turns a string or bytes body into a stream (then Deno sends it chunked):
    // read it only when the body is a stream already
    const fixed = staticBody(response);
    const body = fixed === undefined ? response.body : null;
    if (request.method === "HEAD" || body === null) {
      const bytes = request.method === "HEAD" || fixed == null
        ? 0
        : typeof fixed === "string"
        ? new TextEncoder().encode(fixed).byteLength
        : fixed.byteLength;
      if (metrics) metrics.bytesSent.stream += bytes;
      finish(bytes);
      return response;
    }
    return new Response(countedBody(body, metrics, finish), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };

  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      const common = {
        hostname: options.hostname,
        port: options.port,
        onListen: () => {},
        onError: (error: unknown) => {
          console.error(`zerocast: handler error: ${error instanceof Error ? error.stack : error}`);
          return text(500, "internal server error\n");
        },
      };
      server = options.tls
        ? Deno.serve({ ...common, cert: options.tls.cert, key: options.tls.key }, handler)
        : Deno.serve(common, handler);
    } catch (error) {
      reject(error);
      return;
    }
    const addr = server.addr;
    resolve({
      hostname: addr.hostname,
      port: addr.port,
      finished: server.finished,
      async shutdown(graceMs = 5000) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          server.shutdown(),
          new Promise<void>((r) => timer = setTimeout(r, graceMs)),
        ]);
        clearTimeout(timer);
      },
    });
  });
}

/**
 * `body` as a stream that counts the bytes Deno pulls from it and calls `finish` once, when it
 * ends, fails or is cancelled (client gone).
 */
function countedBody(
  body: ReadableStream<Uint8Array>,
  metrics: CommonServerOptions["metrics"],
  finish: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let bytes = 0;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    finish(bytes);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          end();
          controller.close();
          return;
        }
        bytes += value.byteLength;
        if (metrics) metrics.bytesSent.stream += value.byteLength;
        controller.enqueue(value);
      } catch (error) {
        end();
        controller.error(error);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
