/** The CLI as users run it: flags, errors, listening lines, access log, signals. */
import assert from "node:assert/strict";
import { ENGINES, startServer } from "./support/server.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function run(args: string[], cwd?: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    cwd,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

for (
  const [name, args, pattern] of [
    ["unknown flag", ["--nope"], /Unknown option '--nope'/],
    ["bad port", ["--port", "70000"], /--port must be a port number/],
    ["non-numeric port", ["--port", "http"], /--port must be a port number/],
    ["missing root", ["--root", "/definitely/not/here"], /--root \/definitely\/not\/here: no such/],
    ["root is a file", ["--root", MAIN], /not a directory/],
    ["bad engine", ["--engine", "turbo"], /--engine must be auto, zero-copy or stream/],
    ["tls without cert", ["--tls-port", "0"], /--tls-port needs both --cert FILE and --key FILE/],
    ["cert without tls port", ["--cert", "x.pem"], /--cert and --key need --tls-port/],
    [
      "unreadable cert",
      ["--tls-port", "0", "--cert", "/nope.pem", "--key", "/nope.key"],
      /--cert \/nope.pem: cannot read \(no such file\)/,
    ],
    ["short ingest token", ["--ingest-token", "abc"], /--ingest-token must be at least 8/],
    ["bad max-ranges", ["--max-ranges", "0"], /--max-ranges must be a whole number >= 1/],
    [
      "bad header timeout",
      ["--header-timeout", "0"],
      /--header-timeout must be a whole number >= 1/,
    ],
    [
      "bad pread threshold",
      ["--pread-threshold", "1.5"],
      /--pread-threshold must be a whole number/,
    ],
  ] as const
) {
  Deno.test(`cli: ${name} -> one line, exit 2`, async () => {
    const r = await run([...args]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.match(lines[0], /^zerocast: /);
    assert.match(lines[0], pattern);
    assert.ok(!/\bat \S+:\d+:\d+/.test(r.stderr), `no stack trace: ${r.stderr}`);
  });
}

Deno.test("cli: a cert file that is not PEM -> one line, exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.pem`, "hello");
    await Deno.writeTextFile(`${dir}/k.pem`, "hello");
    const r = await run(["--tls-port", "0", "--cert", `${dir}/c.pem`, "--key", `${dir}/k.pem`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^zerocast: --cert .*c\.pem: not a PEM certificate/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: --help lists every flag and exits 0", async () => {
  const r = await run(["--help"]);
  assert.equal(r.code, 0);
  for (
    const flag of [
      "--root",
      "--host",
      "--port",
      "--tls-port",
      "--cert",
      "--key",
      "--engine",
      "--cors",
      "--cache-control",
      "--quiet",
      "--help",
    ]
  ) assert.ok(r.stdout.includes(flag), flag);
});

Deno.test("cli: port already in use -> one line, exit 2", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const r = await run(["--port", String(listener.addr.port), "--engine", "stream"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^zerocast: cannot start: address in use/);
  } finally {
    listener.close();
  }
});

Deno.test("cli: flags after the task name reach main.ts (deno task serve --port 0 --root DIR)", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/hello.txt`, "hello from a task\n");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "serve", "--port", "0", "--root", dir, "--quiet"],
    cwd: new URL("..", import.meta.url).pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let url: string | undefined;
    while (!url) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      url = /listening on (http:\/\/\S+)/.exec(text)?.[1];
    }
    assert.ok(url, text);
    assert.match(text, new RegExp(`root: ${dir}`));
    const res = await fetch(`${url}/media/hello.txt`);
    assert.equal(await res.text(), "hello from a task\n");
    reader.releaseLock();
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

for (const engine of ENGINES) {
  Deno.test(`cli [${engine}]: access log in combined format, SIGTERM exits 0`, async () => {
    const server = await startServer({ engine, log: true });
    try {
      const res = await fetch(`${server.url}/healthz?x=1`, {
        headers: { "user-agent": 'ua "quoted"', referer: "http://ref.example/" },
      });
      await res.body?.cancel();
      assert.equal(res.status, 200);
      // The log line is written after the response; give the child a moment to flush.
      for (let i = 0; i < 50 && !server.stdout.some((l) => l.includes("/healthz")); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const line = server.stdout.find((l) => l.includes("/healthz"));
      assert.ok(line, server.stdout.join("\n"));
      assert.match(
        line,
        /^127\.0\.0\.1 - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/healthz\?x=1 HTTP\/1\.1" 200 \d+ "http:\/\/ref\.example\/" "ua \\x22quoted\\x22"$/,
      );
    } finally {
      assert.equal(await server.close(), 0);
    }
  });

  Deno.test(`cli [${engine}]: SIGTERM lets an in-flight download finish`, async () => {
    const dir = await Deno.makeTempDir();
    const size = 24 * 1024 * 1024;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) data[i] = (i / 4096) & 0xff;
    await Deno.writeFile(`${dir}/big.bin`, data);
    const server = await startServer({ engine, root: dir });
    try {
      const res = await fetch(`${server.url}/media/big.bin`);
      const reader = res.body!.getReader();
      let got = 0;
      const first = await reader.read();
      got += first.value?.byteLength ?? 0;
      server.process.kill("SIGTERM");
      // Read the rest slowly at first so the transfer is still in flight during shutdown.
      await new Promise((r) => setTimeout(r, 200));
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        got += value.byteLength;
      }
      assert.equal(got, size);
      assert.equal(await server.close(), 0);
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("cli [zero-copy]: engine flags reach the engine (--header-timeout, --max-body-bytes)", async () => {
  const server = await startServer({
    engine: "zero-copy",
    args: ["--header-timeout", "300", "--max-body-bytes", "10"],
  });
  const { hostname, port } = new URL(server.url);
  const readAll = async (conn: Deno.Conn) => {
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    conn.close();
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  };
  try {
    // A head that never ends: 408 after the 300 ms header timeout, then the server closes.
    const slow = await Deno.connect({ hostname, port: Number(port) });
    await slow.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    assert.match(await readAll(slow), /^HTTP\/1\.1 408 /);
    // A body over --max-body-bytes: 413 before the app sees it.
    const big = await Deno.connect({ hostname, port: Number(port) });
    await big.write(
      new TextEncoder().encode(
        "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
      ),
    );
    assert.match(await readAll(big), /^HTTP\/1\.1 413 /);
  } finally {
    assert.equal(await server.close(), 0);
  }
});
