/** The CLI as users run it: flags, errors, listening lines, access log, signals. */
import assert from "node:assert/strict";
import { ENGINES, startServer } from "./support/server.ts";
import { makeTestCert } from "./support/tls.ts";
import { HELP } from "../src/config.ts";
import { settingRows } from "../src/settings.ts";

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
    [
      "port too large",
      ["--port", "70000"],
      /^zerocast: --port must be a port number from 0 to 65535, got "70000"$/,
    ],
    [
      "negative port",
      ["--port", "-1"],
      /^zerocast: --port must be a port number from 0 to 65535, got "-1"$/,
    ],
    [
      "non-numeric port",
      ["--port", "abc"],
      /^zerocast: --port must be a port number from 0 to 65535, got "abc"$/,
    ],
    ["port as --port=", ["--port=http"], /--port must be a port number/],
    ["bad tls port", ["--tls-port", "65536"], /--tls-port must be a port number/],
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
      "bad segment duration",
      ["--segment-duration", "61"],
      /--segment-duration must be a number from 1 to 60, got "61"/,
    ],
    [
      "bad sendfile chunk",
      ["--sendfile-max-chunk", "4095"],
      /--sendfile-max-chunk must be a whole number from 4096 to 1073741824/,
    ],
    [
      "bad header timeout",
      ["--header-timeout", "0"],
      /--header-timeout must be a whole number from 1 to 2147483647, got "0"/,
    ],
    [
      "bad pread threshold",
      ["--pread-threshold", "1.5"],
      /--pread-threshold must be a whole number/,
    ],
  ] as const
) {
  Deno.test(`cli: ${name} -> exactly one line, exit 2`, async () => {
    const r = await run([...args]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^zerocast: /);
    assert.match(lines[0], pattern);
    assert.equal(r.stdout, "");
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

for (
  const [name, args, line] of [
    ["unknown flag", ["--nope"], "zerocast: unknown flag --nope"],
    ["misspelt flag", ["--prot", "80"], "zerocast: unknown flag --prot (did you mean --port?)"],
    ["unknown short flag", ["-p", "80"], "zerocast: unknown flag -p"],
    ["stray word", ["serve"], 'zerocast: unexpected argument "serve" (every setting is a --flag)'],
    ["missing value", ["--port"], "zerocast: --port needs a value (N)"],
  ] as const
) {
  Deno.test(`cli: ${name} -> one line and a hint, exit 2`, async () => {
    const r = await run([...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `${line}\nTry --help for the list of flags.\n`);
    assert.equal(r.stdout, "");
  });
}

Deno.test("cli: -h and --help print the same help (every flag of the table) and exit 0", async () => {
  const long = await run(["--help"]);
  const short = await run(["-h"]);
  assert.equal(long.code, 0);
  assert.equal(short.code, 0);
  assert.equal(short.stdout, long.stdout);
  assert.equal(long.stdout, HELP + "\n");
  assert.equal(long.stderr, "");
  for (const [, row] of settingRows()) {
    if (row.flag !== undefined) assert.ok(long.stdout.includes(`--${row.flag}`), row.flag);
  }
  // --help wins over other flags, even bad ones after it.
  assert.equal((await run(["--port", "0", "--help"])).stdout, long.stdout);
});

/** Asserts a failed start: exit 2, exactly one stderr line matching `pattern`, stdout silent. */
function assertStartFailed(r: { code: number; stdout: string; stderr: string }, pattern: RegExp) {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
  assert.ok(!r.stdout.includes("listening on"), r.stdout);
  assert.equal(r.stdout, "");
}

for (const engine of ["auto", "zero-copy", "stream"] as const) {
  Deno.test(`cli [${engine}]: port already in use -> one line naming address and port, exit 2`, async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = listener.addr.port;
      const r = await run(["--port", String(port), "--engine", engine]);
      assertStartFailed(
        r,
        new RegExp(
          `^zerocast: cannot listen on http://127\\.0\\.0\\.1:${port}: address already in use$`,
        ),
      );
    } finally {
      listener.close();
    }
  });
}

Deno.test("cli: HTTPS port in use -> the plain listener is closed again, no listening line", async () => {
  const cert = await makeTestCert();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = listener.addr.port;
    const r = await run([
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--cert",
      cert.certFile,
      "--key",
      cert.keyFile,
    ]);
    assertStartFailed(
      r,
      new RegExp(`^zerocast: cannot listen on https://127\\.0\\.0\\.1:${port}: `),
    );
  } finally {
    listener.close();
    await cert.cleanup();
  }
});

for (const engine of ["zero-copy", "stream"] as const) {
  Deno.test(`cli [${engine}]: a TLS key that does not match the certificate -> exit 2, no listening line`, async () => {
    const a = await makeTestCert();
    const b = await makeTestCert();
    try {
      const r = await run([
        "--port",
        "0",
        "--engine",
        engine,
        "--tls-port",
        "0",
        "--cert",
        a.certFile,
        "--key",
        b.keyFile,
      ]);
      assertStartFailed(r, /^zerocast: --key does not match the certificate in --cert \(/);
      // The matching pair starts, so it really was the mismatch.
      const ok = await startServer({ engine, tls: { cert: a.certFile, key: a.keyFile } });
      assert.equal(await ok.close(), 0);
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
  });
}

Deno.test("cli: both listeners print their line only after both started", async () => {
  const cert = await makeTestCert();
  try {
    const server = await startServer({ tls: { cert: cert.certFile, key: cert.keyFile } });
    try {
      const lines = server.stdout.filter((l) => l.startsWith("listening on "));
      assert.equal(lines.length, 2, server.stdout.join("\n"));
      assert.match(lines[0], /^listening on http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(lines[1], /^listening on https:\/\/127\.0\.0\.1:\d+$/);
      const client = Deno.createHttpClient({ caCerts: [cert.certPem] });
      try {
        for (const url of [server.url, server.httpsUrl!]) {
          const res = await fetch(`${url}/healthz`, { client });
          await res.body?.cancel();
          assert.equal(res.status, 200, url);
        }
      } finally {
        client.close();
      }
    } finally {
      assert.equal(await server.close(), 0);
    }
  } finally {
    await cert.cleanup();
  }
});

Deno.test("cli: env ZEROCAST_INGEST_TOKEN enables ingest; a short one is rejected by name", async () => {
  const bad = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "--port", "0"],
    stdin: "null",
    env: { NO_COLOR: "1", ZEROCAST_INGEST_TOKEN: "short" },
  }).output();
  assert.equal(bad.code, 2);
  assert.equal(
    new TextDecoder().decode(bad.stderr),
    "zerocast: env ZEROCAST_INGEST_TOKEN must be at least 8 characters\n",
  );
  const dir = await Deno.makeTempDir();
  const token = "env-token-0123456789";
  const server = await startServer({ root: dir, env: { ZEROCAST_INGEST_TOKEN: token } });
  try {
    const put = (auth: string) =>
      fetch(`${server.url}/media/live/a.txt`, {
        method: "PUT",
        body: "hello",
        headers: { authorization: auth },
      });
    const denied = await put("Bearer wrong-token-0123");
    await denied.body?.cancel();
    assert.equal(denied.status, 401);
    const created = await put(`Bearer ${token}`);
    await created.body?.cancel();
    assert.equal(created.status, 201);
    assert.equal(await Deno.readTextFile(`${dir}/live/a.txt`), "hello");
  } finally {
    assert.equal(await server.close(), 0);
    await Deno.remove(dir, { recursive: true });
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
