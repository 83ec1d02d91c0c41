/**
 * `deno task cluster`: three zerocast nodes behind HAProxy (real haproxy, real nodes, real
 * ffmpeg). Every request for one title lands on one node; a live stream published through the
 * front plays through the front; a node killed is taken out by the health checks and its titles
 * are served by another node with no 5xx. Skips with a message where haproxy is missing
 * (`.ci/run` installs it).
 *
 * @module
 */
import assert from "node:assert/strict";
import { haproxyConfig } from "../src/tools/cluster/haproxy_config.ts";
import { have } from "./support/server.ts";

const CLUSTER = new URL("../src/tools/cluster.ts", import.meta.url).pathname;
const TOKEN = "cluster-token-1";
const haproxy = have("haproxy");
const ffmpeg = have("ffmpeg");
if (!haproxy) console.log("cluster_test: haproxy not installed, skipping the cluster tests");

interface Cluster {
  front: string;
  stats: string;
  cfgPath: string;
  nodes: { url: string; pid: number }[];
  process: Deno.ChildProcess;
  stdout: string[];
  close(): Promise<number>;
}

async function startCluster(root: string): Promise<Cluster> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "--allow-all", CLUSTER, "--nodes", "3", "--port", "0", "--stats-port", "0"],
      // One worker per node: three nodes on a 2-core machine; workers are tested on their own.
      ...["--check-interval", "300", "--root", root, "--workers", "1", "--quiet"],
      ...["--ingest-token", TOKEN, "--no-ingest-fsync"],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout: string[] = [];
  const stderr: string[] = [];
  let ready!: () => void;
  const started = new Promise<void>((r) => ready = r);
  const pump = async (stream: ReadableStream<Uint8Array>, sink: string[]) => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        sink.push(rest.slice(0, nl));
        if (rest.startsWith("listening on ")) ready();
        rest = rest.slice(nl + 1);
      }
    }
  };
  const pumps = Promise.all([pump(process.stdout, stdout), pump(process.stderr, stderr)]);
  const exited = process.status;
  const first = await Promise.race([started.then(() => "ready"), exited.then(() => "exited")]);
  if (first !== "ready") {
    await pumps;
    throw new Error(`cluster did not start:\n${stdout.join("\n")}\n${stderr.join("\n")}`);
  }
  const line = (re: RegExp) => stdout.map((l) => re.exec(l)).filter((m) => m !== null);
  const nodes = line(/^node (\d+): (http:\/\/\S+) pid (\d+)$/)
    .map((m) => ({ url: m![2], pid: Number(m![3]) }));
  return {
    front: line(/^listening on (http:\/\/\S+)$/)[0]![1],
    stats: line(/^stats: (http:\/\/\S+)$/)[0]![1],
    cfgPath: line(/^haproxy config: (\S+)$/)[0]![1],
    nodes,
    process,
    stdout,
    async close() {
      try {
        process.kill("SIGTERM");
      } catch { /* gone */ }
      const status = await exited;
      await pumps.catch(() => {});
      return status.code;
    },
  };
}

/** One counter of a node's /metrics (asked directly, not through the front). */
async function nodeCounter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

const SENDFILE = 'zerocast_bytes_sent_total{path="sendfile"}';

/** GETs every file through the front; returns the statuses. */
async function getAll(front: string, paths: string[]): Promise<number[]> {
  const statuses: number[] = [];
  for (const path of paths) {
    const res = await fetch(`${front}${path}`);
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

/** Server states from the HAProxy CSV statistics, by server name. */
async function serverStates(stats: string): Promise<Map<string, string>> {
  const text = await (await fetch(`${stats};csv`)).text();
  const out = new Map<string, string>();
  for (const row of text.split("\n")) {
    const cols = row.split(",");
    if (cols[0] === "zerocast_nodes" && cols[1].startsWith("node")) out.set(cols[1], cols[17]);
  }
  return out;
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("cluster: the generated configuration hashes titles and checks /healthz", () => {
  const text = haproxyConfig({
    host: "127.0.0.1",
    port: 8080,
    nodes: [{ name: "node1", host: "10.0.0.1", port: 8080 }, {
      name: "node2",
      host: "::1",
      port: 8081,
    }],
  });
  for (
    const line of [
      "balance uri depth 2 path-only",
      "hash-type consistent",
      "hash-balance-factor 150",
      "option httpchk GET /healthz",
      "option redispatch 1",
      "retry-on conn-failure empty-response",
      "server node1 10.0.0.1:8080 check",
      "server node2 [::1]:8081 check",
      "bind 127.0.0.1:8080",
      "use_backend zerocast_ingest if { method PUT DELETE }",
    ]
  ) assert.ok(text.includes(line), line);
});

Deno.test({
  name: "cluster: one node per title, live through the front, a killed node's titles move",
  ignore: !haproxy,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "zerocast-cluster-" });
    const titles = ["alpha", "beta", "gamma", "delta", "epsilon"];
    const files = ["a.mp4", "b.mp4", "c.mp4"];
    const size = 100_000; // above the pread threshold: counted as sendfile bytes
    for (const title of titles) {
      await Deno.mkdir(`${root}/${title}`);
      for (const f of files) await Deno.writeFile(`${root}/${title}/${f}`, new Uint8Array(size));
    }
    await Deno.mkdir(`${root}/live`);
    const cluster = await startCluster(root);
    try {
      assert.equal(cluster.nodes.length, 3);
      const cfg = await Deno.readTextFile(cluster.cfgPath);
      for (const n of cluster.nodes) assert.ok(cfg.includes(new URL(n.url).host), n.url);

      // Every request for one title lands on one node.
      const before = await Promise.all(cluster.nodes.map((n) => nodeCounter(n.url, SENDFILE)));
      const alpha = [0, 1, 2].flatMap(() => files.map((f) => `/media/alpha/${f}`));
      assert.deepEqual(await getAll(cluster.front, alpha), alpha.map(() => 200));
      const after = await Promise.all(cluster.nodes.map((n) => nodeCounter(n.url, SENDFILE)));
      const grew = after.map((n, i) => n - before[i]);
      assert.deepEqual(grew.filter((n) => n > 0), [alpha.length * size], `per node: ${grew}`);
      const owner = grew.findIndex((n) => n > 0);

      // A live stream published through the front plays through the front.
      if (ffmpeg) {
        const uploadsBefore = await Promise.all(
          cluster.nodes.map((n) => nodeCounter(n.url, "zerocast_uploads_completed_total")),
        );
        const publish = await new Deno.Command("ffmpeg", {
          args: [
            ...["-hide_banner", "-loglevel", "error", "-f", "lavfi"],
            ...["-i", "testsrc=size=160x90:rate=25", "-t", "4", "-c:v", "libx264"],
            ...["-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-f", "hls"],
            ...["-hls_time", "1", "-hls_list_size", "0", "-method", "PUT"],
            ...["-headers", `Authorization: Bearer ${TOKEN}\r\n`],
            `${cluster.front}/media/live/cam/index.m3u8`,
          ],
          stdout: "null",
          stderr: "piped",
        }).output();
        assert.equal(publish.code, 0, new TextDecoder().decode(publish.stderr));
        // ffmpeg does not wait for the answers: wait until the last playlist is in place.
        const playlist = `${cluster.front}/media/live/cam/index.m3u8`;
        await waitFor(async () => {
          const res = await fetch(playlist);
          return res.status === 200 && (await res.text()).includes("#EXT-X-ENDLIST");
        }, "the final playlist");
        const uploadsAfter = await Promise.all(
          cluster.nodes.map((n) => nodeCounter(n.url, "zerocast_uploads_completed_total")),
        );
        const uploads = uploadsAfter.map((n, i) => n - uploadsBefore[i]);
        assert.equal(uploads.filter((n) => n > 0).length, 1, `PUTs by node: ${uploads}`);
        const play = await new Deno.Command("ffmpeg", {
          args: [
            ...["-hide_banner", "-loglevel", "error", "-i"],
            playlist,
            ...["-f", "framemd5", "-"],
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(play.code, 0, new TextDecoder().decode(play.stderr));
        const frames = new TextDecoder().decode(play.stdout).split("\n")
          .filter((l) => /^0,/.test(l)).length;
        assert.equal(frames, 100, "4 s at 25 fps played through the front");
      }

      // Kill the node that serves alpha: its titles move, and nothing answers 5xx.
      const victim = cluster.nodes[owner];
      Deno.kill(victim.pid, "SIGKILL");
      const right = await getAll(cluster.front, alpha); // before the checks notice: redispatched
      assert.deepEqual(right, alpha.map(() => 200));
      await waitFor(
        async () =>
          (await serverStates(cluster.stats)).get(`node${owner + 1}`)?.startsWith("DOWN") ?? false,
        "the health checks to take the node out",
      );
      const rest = cluster.nodes.filter((_, i) => i !== owner);
      const restBefore = await Promise.all(rest.map((n) => nodeCounter(n.url, SENDFILE)));
      const everything = titles.flatMap((t) => files.map((f) => `/media/${t}/${f}`));
      const statuses = await getAll(cluster.front, [...alpha, ...everything]);
      assert.deepEqual(statuses.filter((s) => s >= 500), [], "no 5xx after detection");
      assert.deepEqual(statuses, statuses.map(() => 200));
      const alphaAgainBefore = await Promise.all(rest.map((n) => nodeCounter(n.url, SENDFILE)));
      assert.deepEqual(await getAll(cluster.front, alpha), alpha.map(() => 200));
      const alphaAgain = await Promise.all(rest.map((n) => nodeCounter(n.url, SENDFILE)));
      const moved = alphaAgain.map((n, i) => n - alphaAgainBefore[i]);
      assert.deepEqual(moved.filter((n) => n > 0), [alpha.length * size], "alpha on one node");
      assert.ok(restBefore.length === 2);
    } finally {
      assert.equal(await cluster.close(), 0);
      for (const n of cluster.nodes) {
        try {
          Deno.kill(n.pid, "SIGKILL");
        } catch { /* gone, as it should be */ }
      }
      await Deno.remove(root, { recursive: true });
    }
  },
});
