/**
 * The stream server: the app on `Deno.serve`, for plain HTTP (`--engine stream`) and always for
 * TLS (HTTP/2 is negotiated by ALPN there). File bodies are read as `ReadableStream`s.
 *
 * @module
 */
import type { CommonServerOptions, FetchApp, ServerHandle } from "./types.ts";

/** Options of {@linkcode serveStream}. */
export interface StreamServerOptions extends CommonServerOptions {
  /** PEM certificate and key: serve HTTPS instead of HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** Starts `app` on Deno.serve; resolves once the listener accepts connections. */
export function serveStream(app: FetchApp, options: StreamServerOptions): Promise<ServerHandle> {
  const { metrics, onResponse } = options;
  const protocol = "HTTP/1.1";
  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    const handler = async (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
      const response = await app.fetch(request, { remoteAddr: info.remoteAddr });
      const bytes = request.method === "HEAD"
        ? 0
        : Number(response.headers.get("content-length") ?? 0);
      if (metrics) {
        metrics.countRequest(response.status);
        metrics.bytesSent.stream += bytes;
      }
      if (onResponse) {
        const url = request.url;
        const pathStart = url.indexOf("/", url.indexOf("//") + 2);
        onResponse({
          remoteAddr: info.remoteAddr.hostname,
          method: request.method,
          target: pathStart < 0 ? "/" : url.slice(pathStart),
          protocol,
          status: response.status,
          bytes,
          referer: request.headers.get("referer"),
          userAgent: request.headers.get("user-agent"),
        });
      }
      return response;
    };
    try {
      const common = {
        hostname: options.hostname,
        port: options.port,
        reusePort: options.reusePort ?? false,
        onListen: () => {},
        onError: (error: unknown) => {
          console.error(`zerocast: handler error: ${error instanceof Error ? error.stack : error}`);
          return new Response("internal server error\n", {
            status: 500,
            headers: { "content-type": "text/plain; charset=utf-8" },
          });
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
