/** Unit tests of the ingest building blocks: auth, paths, directories, atomic writes, streaming. */
import assert from "node:assert/strict";
import { isTempName, replaceFileAtomically, tempNameFor } from "../src/ingest/atomic_write.ts";
import { BearerAuth, bearerChallenge } from "../src/ingest/auth.ts";
import { streamBodyToFile } from "../src/ingest/stream_to_file.ts";
import { openDirectory, UploadPaths } from "../src/ingest/upload_target.ts";
import { BodyAbortedError, BodyTimeoutError, BodyTooLargeError } from "../src/request_body.ts";
import { CliError, parseConfig } from "../src/config.ts";
import { listTree } from "./support/ingest.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "zerocast-ingest-unit-" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A body stream that yields `chunks`, then ends, errors, or stalls forever. */
function bodyOf(
  chunks: Uint8Array[],
  end: "close" | "error" | "stall",
): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) return controller.enqueue(chunks[i++]);
      if (end === "close") return controller.close();
      if (end === "error") return controller.error(new Error("connection reset"));
      return new Promise(() => {}); // never delivers: an idle client
    },
  }, { highWaterMark: 0 });
}

const bytes = (n: number, fill = 0x61) => new Uint8Array(n).fill(fill);

Deno.test("BearerAuth accepts only the exact token with the Bearer scheme", () => {
  const auth = new BearerAuth("s3cret-token");
  assert.equal(auth.check("Bearer s3cret-token"), "ok");
  assert.equal(auth.check("bearer s3cret-token"), "ok"); // scheme is case-insensitive
  assert.equal(auth.check(null), "missing");
  assert.equal(auth.check("Bearer s3cret-tokeN"), "invalid");
  assert.equal(auth.check("Bearer s3cret-token2"), "invalid");
  assert.equal(auth.check("Bearer s3cret"), "invalid");
  assert.equal(auth.check("Basic czNjcmV0LXRva2Vu"), "invalid");
  assert.equal(auth.check("Bearer"), "invalid");
  assert.equal(auth.check("s3cret-token"), "invalid");
  assert.equal(bearerChallenge("missing"), 'Bearer realm="zerocast ingest"');
  assert.match(bearerChallenge("invalid"), /error="invalid_token"/);
});

Deno.test("UploadPaths keeps uploads under the prefix and applies the GET path rules", () => {
  const paths = new UploadPaths("/media/", "/media/live/");
  assert.deepEqual(paths.parse("/media/live/a.ts"), { kind: "ok", segments: ["live", "a.ts"] });
  assert.deepEqual(paths.parse("/media/live/x/y%20z.ts"), {
    kind: "ok",
    segments: ["live", "x", "y z.ts"],
  });
  // The prefix is compared after decoding.
  assert.deepEqual(paths.parse("/media/%6Cive/a.ts"), { kind: "ok", segments: ["live", "a.ts"] });
  for (const outside of ["/media/a.ts", "/media/lives/a.ts", "/other/live/a.ts", "/media/live"]) {
    assert.equal(paths.parse(outside).kind, "outside", outside);
  }
  for (
    const bad of [
      "/media/live/../a.ts",
      "/media/live/%2e%2e/a.ts",
      "/media/live/..%2fa.ts",
      "/media/live/a%5c..%5cb",
      "/media/live/a\\b",
      "/media/live//a.ts",
      "/media/live/%00a",
      "/media/live/%252e%252e/a",
      "/media/live/%zz",
      "/media/live/%c3%28",
    ]
  ) {
    assert.equal(paths.parse(bad).kind, "bad-request", bad);
  }
  // A trailing slash is reported as an empty file name; the route refuses it.
  assert.deepEqual(paths.parse("/media/live/dir/"), { kind: "ok", segments: ["live", "dir", ""] });
  assert.throws(() => new UploadPaths("/media/", "/elsewhere/"), TypeError);
});

Deno.test("openDirectory creates missing directories and refuses symlinks out of the root", async () => {
  await withTempDir(async (base) => {
    const root = `${base}/root`;
    const outside = `${base}/outside`;
    await Deno.mkdir(root);
    await Deno.mkdir(outside);
    await Deno.mkdir(`${root}/real`);
    await Deno.symlink(outside, `${root}/escape`);
    await Deno.symlink(`${root}/real`, `${root}/inside`);
    await Deno.mkdir(`${root}/.hidden`);
    await Deno.symlink(`${root}/.hidden`, `${root}/to-hidden`);
    await Deno.writeTextFile(`${root}/file`, "x");

    assert.deepEqual(openDirectory(root, ["a", "b"], false), { kind: "not-found" });
    assert.deepEqual(openDirectory(root, ["a", "b"], true), { kind: "ok", dir: `${root}/a/b` });
    assert.ok(Deno.statSync(`${root}/a/b`).isDirectory);
    assert.deepEqual(openDirectory(root, [], true), { kind: "ok", dir: root });
    assert.deepEqual(openDirectory(root, ["escape", "x"], true), { kind: "forbidden" });
    assert.deepEqual(openDirectory(root, ["to-hidden"], true), { kind: "forbidden" });
    assert.deepEqual(openDirectory(root, ["inside", "c"], true), {
      kind: "ok",
      dir: `${root}/real/c`,
    });
    assert.deepEqual(openDirectory(root, ["file", "x"], true), { kind: "conflict" });
    assert.deepEqual(listTree(outside), []); // nothing was created through the escaping link
  });
});

Deno.test("replaceFileAtomically renames into place and reports created vs replaced", async () => {
  await withTempDir(async (dir) => {
    const write = (text: string) => async (temp: string) => {
      assert.ok(isTempName(temp.slice(dir.length + 1)), temp);
      await Deno.writeTextFile(temp, text, { createNew: true });
      return text.length;
    };
    assert.deepEqual(await replaceFileAtomically(dir, "a.m3u8", write("one"), { fsync: true }), {
      bytes: 3,
      replaced: false,
    });
    assert.deepEqual(await replaceFileAtomically(dir, "a.m3u8", write("two!"), { fsync: false }), {
      bytes: 4,
      replaced: true,
    });
    assert.equal(await Deno.readTextFile(`${dir}/a.m3u8`), "two!");
    assert.deepEqual(listTree(dir), ["a.m3u8"]);
  });
});

Deno.test("replaceFileAtomically removes the temp file and keeps the old file on failure", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/seg.ts`, "old");
    const failing = async (temp: string) => {
      await Deno.writeTextFile(temp, "half of the new", { createNew: true });
      throw new BodyAbortedError(new Error("client went away"));
    };
    await assert.rejects(
      replaceFileAtomically(dir, "seg.ts", failing, { fsync: true }),
      BodyAbortedError,
    );
    assert.equal(await Deno.readTextFile(`${dir}/seg.ts`), "old");
    assert.deepEqual(listTree(dir), ["seg.ts"]);
  });
});

Deno.test("tempNameFor makes unique dotfile names that fit NAME_MAX", () => {
  const a = tempNameFor("stream.m3u8");
  assert.match(a, /^\.stream\.m3u8\.upload-[0-9a-f]{16}$/);
  assert.notEqual(a, tempNameFor("stream.m3u8"));
  const long = tempNameFor("é".repeat(127)); // 254 bytes of UTF-8
  assert.ok(new TextEncoder().encode(long).byteLength <= 255, long);
  assert.ok(isTempName(long));
  assert.ok(!isTempName("stream.m3u8"));
});

Deno.test("streamBodyToFile writes every byte and enforces the size limit", async () => {
  await withTempDir(async (dir) => {
    const chunks = [bytes(10, 1), bytes(0), bytes(70_000, 2), bytes(1, 3)];
    const n = await streamBodyToFile(bodyOf(chunks, "close"), `${dir}/a`, {
      maxBytes: 70_011,
      idleTimeoutMs: 5_000,
    });
    assert.equal(n, 70_011);
    const written = await Deno.readFile(`${dir}/a`);
    assert.deepEqual(written.subarray(0, 10), bytes(10, 1));
    assert.deepEqual(written.subarray(10, 70_010), bytes(70_000, 2));
    assert.equal(written[70_010], 3);

    assert.equal(
      await streamBodyToFile(null, `${dir}/empty`, { maxBytes: 0, idleTimeoutMs: 5_000 }),
      0,
    );
    assert.equal(Deno.statSync(`${dir}/empty`).size, 0);

    await assert.rejects(
      streamBodyToFile(bodyOf(chunks, "close"), `${dir}/b`, {
        maxBytes: 70_010,
        idleTimeoutMs: 5_000,
      }),
      BodyTooLargeError,
    );
    // Refuses to overwrite: each upload gets a fresh temp file.
    await assert.rejects(
      streamBodyToFile(bodyOf([], "close"), `${dir}/a`, { maxBytes: 1, idleTimeoutMs: 5_000 }),
      Deno.errors.AlreadyExists,
    );
  });
});

Deno.test("streamBodyToFile fails on a broken or idle body, unless Content-Length was met", async () => {
  await withTempDir(async (dir) => {
    const limits = { maxBytes: 1_000, idleTimeoutMs: 5_000 };
    await assert.rejects(
      streamBodyToFile(bodyOf([bytes(5)], "error"), `${dir}/a`, limits),
      BodyAbortedError,
    );
    await assert.rejects(
      streamBodyToFile(bodyOf([bytes(5)], "error"), `${dir}/b`, { ...limits, contentLength: 6 }),
      BodyAbortedError,
    );
    // Deno.serve may report the end of a complete body as an error when the client closed
    // right after it; all Content-Length bytes arrived, so the body is complete.
    assert.equal(
      await streamBodyToFile(bodyOf([bytes(5)], "error"), `${dir}/c`, {
        ...limits,
        contentLength: 5,
      }),
      5,
    );
    await assert.rejects(
      streamBodyToFile(bodyOf([bytes(5)], "stall"), `${dir}/d`, { ...limits, idleTimeoutMs: 50 }),
      BodyTimeoutError,
    );
  });
});

Deno.test("--ingest-idle-timeout sets the upload idle timeout (default 30 s)", async () => {
  await withTempDir((root) => {
    const parse = (...args: string[]) => parseConfig(["--root", root, ...args], () => undefined);
    assert.equal(parse().ingestIdleTimeoutMs, 30_000);
    assert.equal(parse("--ingest-idle-timeout", "250").ingestIdleTimeoutMs, 250);
    for (const bad of ["0", "-1", "1.5", "x"]) {
      assert.throws(() => parse("--ingest-idle-timeout", bad), CliError, bad);
    }
    return Promise.resolve();
  });
});
