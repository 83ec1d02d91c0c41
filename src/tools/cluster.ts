/**
 * `deno task cluster [--nodes N] [--port P] [--host H] [cluster flags] [serve flags…]`: starts N
 * zerocast nodes on loopback ports and HAProxy in front of them from a generated configuration
 * (src/tools/cluster/haproxy_config.ts), for trying and testing the many-machines setup on one
 * machine. Prints `listening on http://HOST:PORT` for the front, one
 * `node I: http://HOST:PORT pid P` line per node and the path of the generated `haproxy.cfg`
 * (a starting point for production: replace the node addresses). Flags it does not know are
 * passed to every node (`main.ts` flags such as `--root`, `--ingest-token`, `--workers`).
 * SIGINT/SIGTERM stop HAProxy and the nodes.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type ClusterNode, haproxyConfig } from "./cluster/haproxy_config.ts";
import { SERVER_V8_FLAGS } from "../server/idle_release.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

const HELP = `zerocast cluster: N zerocast nodes behind HAProxy on this machine

Usage: deno task cluster [flags] [zerocast serve flags]

Flags:
  --nodes N            number of zerocast nodes (default 3)
  --host ADDR          address of the front and the nodes (default 127.0.0.1)
  --port N             front port, 0 = a free one (default 8080)
  --hash-depth N       directory levels hashed by balance uri (default 2: /media/<title>/;
                       3 spreads live streams under /media/live/<name>/)
  --balance-factor N   hash-balance-factor in percent, 0 = off (default 150)
  --check-interval MS  health check interval (default 1000)
  --stats-port N       HAProxy statistics page on this port (/stats; default off, 0 = free)
  --haproxy-cfg FILE   where to write the generated configuration (default: a temp directory)
  --help               show this help
Other flags go to every node (see deno task serve --help).
`;

/** Cluster settings from the command line. */
interface ClusterArgs {
  nodes: number;
  host: string;
  port: number;
  depth: number;
  balanceFactor: number;
  checkIntervalMs: number;
  statsPort: number | undefined;
  cfgPath: string | undefined;
  nodeArgs: string[];
}

/** Flags the cluster tool reads itself; everything else goes to the nodes. */
const OWN = new Set([
  "nodes",
  "host",
  "port",
  "hash-depth",
  "balance-factor",
  "check-interval",
  "stats-port",
  "haproxy-cfg",
]);

class UsageError extends Error {}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

/** Splits `args` into cluster settings and node flags. */
function parseClusterArgs(args: string[]): ClusterArgs | "help" {
  const own: string[] = [];
  const nodeArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help") return "help";
    const name = arg.startsWith("--") ? arg.slice(2).split("=")[0] : "";
    if (OWN.has(name)) {
      own.push(arg);
      if (!arg.includes("=") && i + 1 < args.length) own.push(args[++i]);
    } else nodeArgs.push(arg);
  }
  const { values: v } = parseArgs({
    args: own,
    strict: true,
    options: Object.fromEntries([...OWN].map((name) => [name, { type: "string" as const }])),
  });
  const host = v.host ?? "127.0.0.1";
  return {
    nodes: wholeNumber("nodes", v.nodes ?? "3", 1, 64),
    host,
    port: wholeNumber("port", v.port ?? "8080", 0, 65535),
    depth: wholeNumber("hash-depth", v["hash-depth"] ?? "2", 1, 64),
    balanceFactor: wholeNumber("balance-factor", v["balance-factor"] ?? "150", 0, 10_000),
    checkIntervalMs: wholeNumber("check-interval", v["check-interval"] ?? "1000", 100, 600_000),
    statsPort: v["stats-port"] === undefined
      ? undefined
      : wholeNumber("stats-port", v["stats-port"], 0, 65535),
    cfgPath: v["haproxy-cfg"],
    nodeArgs,
  };
}

/** A free TCP port on `host` (bound, read and released). */
function freePort(host: string): number {
  const listener = Deno.listen({ hostname: host, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A started child process with its output lines. */
interface Child {
  readonly process: Deno.ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<Deno.CommandStatus>;
}

/** Spawns `cmd` and forwards its stderr to ours with `tag`; stdout lines are kept and forwarded. */
function spawn(cmd: string, args: string[], tag: string, onLine?: (line: string) => void): Child {
  const process = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>, err: boolean) => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        lines.push(line);
        onLine?.(line);
        if (err) console.error(`${tag}: ${line}`);
        else console.log(`${tag}: ${line}`);
      }
    }
  };
  const pumps = Promise.all([pump(process.stdout, false), pump(process.stderr, true)]);
  const exited = process.status.then(async (status) => {
    await pumps.catch(() => {});
    return status;
  });
  return { process, lines, exited };
}

/** Starts one node on a free port; resolves with its URL once it listens. */
async function startNode(index: number, cfg: ClusterArgs): Promise<{ child: Child; url: string }> {
  let resolveUrl!: (url: string) => void;
  const listening = new Promise<string>((r) => resolveUrl = r);
  const child = spawn(
    Deno.execPath(),
    [
      "run",
      SERVER_V8_FLAGS,
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      "--allow-run",
      MAIN,
      ...cfg.nodeArgs,
      "--host",
      cfg.host,
      "--port",
      "0",
    ],
    `node ${index}`,
    (line) => {
      const m = /^listening on (http:\/\/\S+)$/.exec(line);
      if (m) resolveUrl(m[1]);
    },
  );
  const result = await Promise.race([listening, child.exited]);
  if (typeof result !== "string") {
    throw new Error(`node ${index} did not start (exit ${result.code})`);
  }
  return { child, url: result };
}

/** Waits until `url` answers 200 (HAProxy up and a node healthy). */
async function waitHealthy(url: string, child: Child): Promise<void> {
  let gone = false;
  child.exited.then(() => gone = true);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !gone) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(gone ? "haproxy exited" : `no healthy answer from ${url}`);
}

function urlOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

async function main(args: string[]): Promise<number> {
  let cfg: ClusterArgs | "help";
  try {
    cfg = parseClusterArgs(args);
  } catch (error) {
    console.error(`zerocast cluster: ${error instanceof Error ? error.message : error}`);
    return 2;
  }
  if (cfg === "help") {
    console.log(HELP);
    return 0;
  }
  const haproxy = (() => {
    try {
      return new Deno.Command("haproxy", { args: ["-v"], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      return false;
    }
  })();
  if (!haproxy) {
    console.error("zerocast cluster: haproxy is not installed (Debian: apt-get install haproxy)");
    return 2;
  }

  const nodes: { child: Child; url: string }[] = [];
  let proxy: Child | undefined;
  const stopAll = async () => {
    for (const child of [proxy, ...nodes.map((n) => n.child)]) {
      try {
        child?.process.kill("SIGTERM");
      } catch { /* gone */ }
    }
    await Promise.all([proxy, ...nodes.map((n) => n.child)].map((c) => c?.exited));
  };
  try {
    for (let i = 1; i <= cfg.nodes; i++) nodes.push(await startNode(i, cfg));
    const port = cfg.port === 0 ? freePort(cfg.host) : cfg.port;
    const stats = cfg.statsPort === undefined
      ? undefined
      : { host: cfg.host, port: cfg.statsPort === 0 ? freePort(cfg.host) : cfg.statsPort };
    const clusterNodes: ClusterNode[] = nodes.map((n, i) => {
      const u = new URL(n.url);
      return {
        name: `node${i + 1}`,
        host: u.hostname.replace(/^\[|\]$/g, ""),
        port: Number(u.port),
      };
    });
    const text = haproxyConfig({
      host: cfg.host,
      port,
      nodes: clusterNodes,
      depth: cfg.depth,
      balanceFactor: cfg.balanceFactor,
      checkIntervalMs: cfg.checkIntervalMs,
      stats,
    });
    const cfgPath = cfg.cfgPath ??
      `${await Deno.makeTempDir({ prefix: "zerocast-cluster-" })}/haproxy.cfg`;
    await Deno.writeTextFile(cfgPath, text);
    const check = await new Deno.Command("haproxy", { args: ["-c", "-q", "-f", cfgPath] }).output();
    if (!check.success) {
      throw new Error(`haproxy rejects ${cfgPath}: ${new TextDecoder().decode(check.stderr)}`);
    }
    proxy = spawn("haproxy", ["-db", "-f", cfgPath], "haproxy");
    const front = urlOf(cfg.host, port);
    await waitHealthy(`${front}/healthz`, proxy);
    console.log(`haproxy config: ${cfgPath}`);
    if (stats !== undefined) console.log(`stats: ${urlOf(stats.host, stats.port)}/stats`);
    nodes.forEach((n, i) => console.log(`node ${i + 1}: ${n.url} pid ${n.child.process.pid}`));
    console.log(`listening on ${front}`);
  } catch (error) {
    console.error(`zerocast cluster: ${error instanceof Error ? error.message : error}`);
    await stopAll();
    return 2;
  }

  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", resolve);
    Deno.addSignalListener("SIGTERM", resolve);
    proxy!.exited.then(() => {
      console.error("zerocast cluster: haproxy exited");
      resolve();
    });
  });
  await stopAll();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
