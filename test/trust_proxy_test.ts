/** `--trust-proxy`: the CIDR matcher, the X-Forwarded-For walk, and the log over loopback. */
import assert from "node:assert/strict";
import { cidrContains, parseCidr, parseIp, TrustedProxies } from "../src/net/trust_proxy.ts";
import { parseConfig } from "../src/config.ts";
import { ENGINES, startServer } from "./support/server.ts";

const ip = (text: string) => {
  const bytes = parseIp(text);
  assert.ok(bytes, text);
  return bytes;
};

Deno.test("trust proxy: addresses and CIDRs parse (IPv4, IPv6, mapped), bad ones do not", () => {
  assert.deepEqual([...ip("10.1.2.3")], [10, 1, 2, 3]);
  assert.deepEqual([...ip("::ffff:10.1.2.3")], [10, 1, 2, 3]);
  assert.deepEqual([...ip("2001:db8::1")], [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]);
  assert.deepEqual([...ip("::")], new Array(16).fill(0));
  assert.deepEqual([...ip("fe80::1%eth0")].slice(0, 2), [0xfe, 0x80]);
  for (
    const bad of ["", "1.2.3", "1.2.3.256", "01.2.3.4", "1:2:3:4:5:6:7:8:9", "1::2::3", "g::1"]
  ) {
    assert.equal(parseIp(bad), null, bad);
  }
  assert.deepEqual(parseCidr("10.0.0.0/8"), { bytes: new Uint8Array([10, 0, 0, 0]), bits: 8 });
  assert.equal(parseCidr("10.0.0.1")?.bits, 32);
  assert.equal(parseCidr("::1")?.bits, 128);
  assert.equal(parseCidr("::ffff:10.0.0.0/104")?.bits, 8);
  for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/", "x/8", "10.0.0.0/-1"]) {
    assert.equal(parseCidr(bad), null, bad);
  }
});

Deno.test("trust proxy: CIDR containment at and around the prefix boundary", () => {
  const v4 = parseCidr("192.168.4.0/22")!;
  assert.ok(cidrContains(v4, ip("192.168.4.0")));
  assert.ok(cidrContains(v4, ip("192.168.7.255")));
  assert.ok(!cidrContains(v4, ip("192.168.8.0")));
  assert.ok(!cidrContains(v4, ip("192.168.3.255")));
  assert.ok(!cidrContains(v4, ip("2001:db8::1")));
  const v6 = parseCidr("2001:db8::/33")!;
  assert.ok(cidrContains(v6, ip("2001:db8:7fff::1")));
  assert.ok(!cidrContains(v6, ip("2001:db8:8000::1")));
  assert.ok(cidrContains(parseCidr("0.0.0.0/0")!, ip("8.8.8.8")));
  assert.ok(cidrContains(parseCidr("::/0")!, ip("::1")));
  // An IPv4 peer seen as IPv4-mapped IPv6 matches IPv4 ranges.
  assert.ok(cidrContains(parseCidr("127.0.0.0/8")!, ip("::ffff:127.0.0.1")));
});

Deno.test("trust proxy: X-Forwarded-For is walked from the right past trusted hops", () => {
  const proxies = new TrustedProxies(["10.0.0.0/8", "fd00::/8"]);
  // Untrusted peer: the header is ignored.
  assert.equal(proxies.clientOf("203.0.113.9", "1.2.3.4"), "203.0.113.9");
  // Trusted peer: the right-most untrusted element.
  assert.equal(proxies.clientOf("10.0.0.1", "1.2.3.4"), "1.2.3.4");
  assert.equal(proxies.clientOf("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.7"), "1.2.3.4");
  assert.equal(proxies.clientOf("fd00::1", "2001:db8::5, fd00::2"), "2001:db8::5");
  // Ports and brackets are stripped.
  assert.equal(proxies.clientOf("10.0.0.1", "1.2.3.4:5555"), "1.2.3.4");
  assert.equal(proxies.clientOf("10.0.0.1", "[2001:db8::5]:443"), "2001:db8::5");
  // Every element trusted: the left-most.
  assert.equal(proxies.clientOf("10.0.0.1", "10.0.0.3, 10.0.0.2"), "10.0.0.3");
  // Garbage stops the walk at the last address a trusted proxy vouched for.
  assert.equal(proxies.clientOf("10.0.0.1", "1.2.3.4, unknown, 10.0.0.2"), "10.0.0.2");
  assert.equal(proxies.clientOf("10.0.0.1", "nonsense"), "10.0.0.1");
  assert.equal(proxies.clientOf("10.0.0.1", null), "10.0.0.1");
  assert.ok(new TrustedProxies([]).empty);
});

Deno.test("trust proxy: --trust-proxy takes repeats and comma lists; bad CIDRs are named", () => {
  const root = new URL("../media", import.meta.url).pathname;
  const config = parseConfig(
    ["--root", root, "--trust-proxy", "10.0.0.0/8, ::1/128", "--trust-proxy", "127.0.0.1"],
    () => undefined,
  );
  assert.deepEqual(config.trustProxy, ["10.0.0.0/8", "::1/128", "127.0.0.1"]);
  assert.throws(
    () => parseConfig(["--root", root, "--trust-proxy", "10.0.0.0/40"], () => undefined),
    /--trust-proxy must be an IPv4 or IPv6 CIDR .*got "10\.0\.0\.0\/40"/,
  );
});

/** Waits until a stdout line contains `needle`. */
async function logLine(lines: string[], needle: string): Promise<string> {
  for (;;) {
    const line = lines.find((l) => l.includes(needle));
    if (line !== undefined) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const engine of ENGINES) {
  Deno.test(`trust proxy [${engine}]: loopback trusted logs the forwarded client; untrusted logs the peer`, async () => {
    for (const trusted of [true, false]) {
      const server = await startServer({
        engine,
        log: true,
        args: trusted ? ["--trust-proxy", "127.0.0.0/8"] : ["--trust-proxy", "10.0.0.0/8"],
      });
      try {
        const marker = `/healthz?t=${trusted}`;
        const res = await fetch(`${server.url}${marker}`, {
          headers: { "x-forwarded-for": "198.51.100.7, 127.0.0.5" },
        });
        await res.body?.cancel();
        const line = await logLine(server.stdout, marker);
        assert.ok(
          line.startsWith(trusted ? "198.51.100.7 - - [" : "127.0.0.1 - - ["),
          `${trusted}: ${line}`,
        );
      } finally {
        assert.equal(await server.close(), 0);
      }
    }
  });
}
