/**
 * Unit tests of the Basic login (`src/auth/basic_auth.ts`): the hash format (checked against a
 * PBKDF2 computed here with node:crypto, independently of the WebCrypto code under test), header
 * parsing (RFC 7617), right and wrong credentials, the memory of verified credentials, and the
 * plain-HTTP warning rule (`src/auth/plain_http_warning.ts`).
 */
import assert from "node:assert/strict";
import { pbkdf2Sync } from "node:crypto";
import {
  BasicAuth,
  type BasicCredential,
  makePasswordHash,
  parseAuthorization,
  parseBasicAuth,
} from "../src/auth/basic_auth.ts";
import { basicAuthPlainHttpWarning, isLoopbackHost } from "../src/auth/plain_http_warning.ts";

function header(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

async function credential(user: string, password: string): Promise<BasicCredential> {
  const parsed = parseBasicAuth(`${user}:${await makePasswordHash(password, 1000)}`);
  assert.equal(typeof parsed, "object", String(parsed));
  return parsed as BasicCredential;
}

Deno.test("basic auth: hash format is pbkdf2-sha256$N$salt$hash (PBKDF2-HMAC-SHA256, 32 bytes)", async () => {
  const hash = await makePasswordHash("correct horse", 2000);
  const fields = hash.split("$");
  assert.equal(fields.length, 4);
  assert.equal(fields[0], "pbkdf2-sha256");
  assert.equal(fields[1], "2000");
  const salt = Uint8Array.from(atob(fields[2]), (c) => c.charCodeAt(0));
  assert.equal(salt.length, 16);
  const expected = pbkdf2Sync("correct horse", salt, 2000, 32, "sha256").toString("base64");
  assert.equal(fields[3], expected);
  // Fresh salt each time.
  assert.notEqual(await makePasswordHash("correct horse", 2000), hash);
});

Deno.test("basic auth: parseBasicAuth refuses malformed values with a message", () => {
  const salt = btoa("12345678");
  const hash = btoa("x".repeat(32));
  assert.equal(typeof parseBasicAuth(`bob:pbkdf2-sha256$1000$${salt}$${hash}`), "object");
  for (
    const bad of [
      "",
      "bob",
      `:pbkdf2-sha256$1000$${salt}$${hash}`,
      "bob:secret",
      `bob:pbkdf2-sha1$1000$${salt}$${hash}`,
      `bob:pbkdf2-sha256$999$${salt}$${hash}`,
      `bob:pbkdf2-sha256$10000001$${salt}$${hash}`,
      `bob:pbkdf2-sha256$1e4$${salt}$${hash}`,
      `bob:pbkdf2-sha256$1000$${btoa("1234567")}$${hash}`,
      `bob:pbkdf2-sha256$1000$${salt}$${btoa("x".repeat(31))}`,
      `bob:pbkdf2-sha256$1000$${salt}$A`,
      `bob:pbkdf2-sha256$1000$!!$${hash}`,
      `bob:pbkdf2-sha256$1000$${salt}$${hash}$`,
      `b\nob:pbkdf2-sha256$1000$${salt}$${hash}`,
    ]
  ) {
    assert.equal(typeof parseBasicAuth(bad), "string", bad);
  }
});

Deno.test("basic auth: Authorization parsing (RFC 7617 §2)", () => {
  assert.deepEqual(parseAuthorization(header("bob", "pw")), { user: "bob", password: "pw" });
  assert.deepEqual(parseAuthorization(header("bob", "a:b:c")), { user: "bob", password: "a:b:c" });
  assert.deepEqual(parseAuthorization(header("zoë", "pässword")), {
    user: "zoë",
    password: "pässword",
  });
  assert.deepEqual(parseAuthorization(`bAsIc ${btoa("bob:pw")}`), { user: "bob", password: "pw" });
  for (
    const bad of [
      "Bearer abc",
      "Basic",
      "Basic !!!",
      `Basic ${btoa("nocolon")}`,
      `Basic ${btoa("\xff:x")}`,
      "Basic A",
    ]
  ) {
    assert.equal(parseAuthorization(bad), undefined, bad);
  }
});

Deno.test("basic auth: right credentials pass, wrong user or password or header fail", async () => {
  const auth = new BasicAuth(await credential("bob", "s3cret:pw"));
  assert.equal(await auth.check(header("bob", "s3cret:pw")), true);
  assert.equal(await auth.check(header("bob", "s3cret:pW")), false);
  assert.equal(await auth.check(header("bob", "")), false);
  assert.equal(await auth.check(header("alice", "s3cret:pw")), false);
  assert.equal(await auth.check(header("bo", "b:s3cret:pw")), false);
  assert.equal(auth.check(null), false);
  assert.equal(auth.check("Bearer token"), false);
  assert.equal(auth.check("Basic " + "A".repeat(5000)), false);
});

Deno.test("basic auth: a verified header is answered at once afterwards; concurrent checks share one derivation", async () => {
  const auth = new BasicAuth(await credential("bob", "pw"));
  const value = header("bob", "pw");
  const first = auth.check(value);
  const second = auth.check(value);
  assert.ok(first instanceof Promise);
  assert.equal(first, second);
  assert.equal(await first, true);
  assert.equal(auth.check(value), true);
  // A failure is not remembered as success, and stays a derivation.
  const wrong = auth.check(header("bob", "nope"));
  assert.ok(wrong instanceof Promise);
  assert.equal(await wrong, false);
  assert.ok(auth.check(header("bob", "nope")) instanceof Promise);
});

Deno.test("plain HTTP warning: loopback hosts get none, others one line naming the URL", () => {
  for (
    const host of [
      "127.0.0.1",
      "127.1.2.3",
      "::1",
      "[::1]",
      "localhost",
      "LOCALHOST",
      "::ffff:127.0.0.1",
    ]
  ) {
    assert.ok(isLoopbackHost(host), host);
    assert.equal(basicAuthPlainHttpWarning(host, `http://${host}:8080`), undefined);
  }
  for (
    const host of [
      "0.0.0.0",
      "::",
      "192.168.1.2",
      "10.0.0.1",
      "example.com",
      "128.0.0.1",
      "127.0.0.1.nip.io",
    ]
  ) {
    assert.ok(!isLoopbackHost(host), host);
    const warning = basicAuthPlainHttpWarning(host, `http://${host}:8080`);
    assert.ok(
      warning?.startsWith(`zerocast: warning: --basic-auth over plain HTTP on http://${host}:8080`),
      warning,
    );
    assert.ok(!warning!.includes("\n"));
  }
});

/** Runs `deno task passwd` on a pseudo-terminal (util-linux `script`), typing `answers`. */
async function passwdOnTerminal(answers: string[]): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("script", {
    args: [
      "-qec",
      `"${Deno.execPath()}" run src/tools/passwd.ts --user bob --iterations 1000`,
      "/dev/null",
    ],
    cwd: new URL("../", import.meta.url).pathname,
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  // A guard against a hang if a prompt never comes (then the assertions fail, not the run).
  const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const writer = child.stdin.getWriter();
  const decoder = new TextDecoder();
  let output = "";
  const prompts = ["password: ", "again: "];
  let next = 0;
  for await (const chunk of child.stdout) {
    output += decoder.decode(chunk, { stream: true });
    // Type each answer only once its prompt is shown (the terminal is raw by then).
    while (next < answers.length && output.includes(prompts[next])) {
      await writer.write(new TextEncoder().encode(`${answers[next]}\r`));
      next++;
    }
  }
  await writer.close().catch(() => {});
  const { code } = await child.status;
  clearTimeout(guard);
  return { code, output };
}

const haveScript = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "deno task passwd on a terminal: asks twice without echo, prints USER:HASH that verifies",
  ignore: !haveScript,
  async fn() {
    const ok = await passwdOnTerminal(["typed secret", "typed secret"]);
    assert.equal(ok.code, 0, ok.output);
    assert.ok(!ok.output.includes("typed secret"), ok.output);
    const line = ok.output.split(/\r?\n/).find((l) => l.startsWith("bob:"));
    assert.ok(line, ok.output);
    const parsed = parseBasicAuth(line.trim());
    assert.equal(typeof parsed, "object", String(parsed));
    assert.equal(
      await new BasicAuth(parsed as BasicCredential).check(header("bob", "typed secret")),
      true,
    );

    const differ = await passwdOnTerminal(["one", "two"]);
    assert.equal(differ.code, 2);
    assert.match(differ.output, /passwd: the passwords differ/);
  },
});
