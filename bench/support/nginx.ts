/**
 * The nginx peer's configuration, written to a temp dir per start.
 *
 * Choices (documented in bench/PERFORMANCE.md): `master_process on` + `worker_processes 1`, the
 * way nginx runs in production, with `daemon off` so the PID we spawn is the master and the
 * process-tree accounting includes the worker; `user root` because the benchmark runs as root
 * and the data files may not be readable by `nobody`; `sendfile on`; `tcp_nopush` on or off per
 * variant; `/hls/` serves the pre-packaged copies of zerocast's HLS segments (W5);
 * `open_file_cache` because zerocast caches open fds too; `keepalive_requests` raised so
 * nginx does not close a benchmark connection every 1,000 requests (zerocast never does).
 *
 * @module
 */

/** Options of {@linkcode nginxConfig}. */
export interface NginxConfigOptions {
  /** Directory for pid, logs and temp paths. */
  readonly dir: string;
  /** Loopback port to listen on. */
  readonly port: number;
  /** Directory served at `/media/`. */
  readonly root: string;
  /** `tcp_nopush` (TCP_CORK with sendfile). */
  readonly nopush: boolean;
  /** `worker_processes` (default 1). */
  readonly workers?: number;
}

/** Returns the text of nginx.conf for one benchmark start. */
export function nginxConfig(options: NginxConfigOptions): string {
  const { dir, port, root, nopush } = options;
  const workers = options.workers ?? 1;
  const root_ = root.endsWith("/") ? root : `${root}/`;
  return `# written by bench/support/nginx.ts for one benchmark run
daemon off;
master_process on;
worker_processes ${workers};
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events {
  worker_connections 4096;
  use epoll;
}
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush ${nopush ? "on" : "off"};
  tcp_nodelay on;
  keepalive_timeout 75s;
  keepalive_requests 100000000;
  open_file_cache max=64 inactive=60s;
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    location /media/ {
      alias ${root_};
    }
    # W5: the segments zerocast packages just in time, pre-packaged as static files
    location /hls/ {
      alias ${root_}hls-static/;
    }
    location = /healthz {
      default_type text/plain;
      return 200 "ok\\n";
    }
  }
}
`;
}
