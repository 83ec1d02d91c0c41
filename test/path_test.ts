/**
 * Unit tests of request path → file resolution (`src/media/path.ts`) against a real directory
 * tree with symlinks. The same patterns run over real HTTP in `media_http_test.ts`.
 */
import assert from "node:assert/strict";
import {
  decodeSegments,
  MediaPathResolver,
  type PathResolution,
  rawPathOf,
} from "../src/media/path.ts";

interface Tree {
  root: string;
  outside: string;
  cleanup(): Promise<void>;
}

/** root/ with files, dotfiles and symlinks; outside/ next to it holds a secret. */
async function makeTree(): Promise<Tree> {
  const base = Deno.realPathSync(await Deno.makeTempDir({ prefix: "zerocast-path-" }));
  const root = `${base}/root`;
  const outside = `${base}/outside`;
  await Deno.mkdir(`${root}/sub`, { recursive: true });
  await Deno.mkdir(`${root}/.dir`);
  await Deno.mkdir(outside);
  for (
    const file of ["a.mp4", "sub/b.mp4", "a b.mp4", "ü.mp4", ".hidden", ".dir/c.mp4", "x..y.mp4"]
  ) {
    await Deno.writeTextFile(`${root}/${file}`, file);
  }
  await Deno.writeTextFile(`${outside}/secret.txt`, "secret");
  await Deno.symlink(`${root}/a.mp4`, `${root}/link.mp4`);
  await Deno.symlink("sub/b.mp4", `${root}/relative-link.mp4`);
  await Deno.symlink(`${outside}/secret.txt`, `${root}/escape.txt`);
  await Deno.symlink("../outside/secret.txt", `${root}/escape-relative.txt`);
  await Deno.symlink(outside, `${root}/outdir`);
  await Deno.symlink(`${root}/.hidden`, `${root}/to-hidden.mp4`);
  await Deno.symlink(`${root}/.dir`, `${root}/to-dot-dir`);
  await Deno.symlink("/", `${root}/fsroot`);
  return { root, outside, cleanup: () => Deno.remove(base, { recursive: true }) };
}

const ok = (path: string): PathResolution => ({ kind: "ok", path });
const BAD: PathResolution = { kind: "bad-request" };
const NOT_FOUND: PathResolution = { kind: "not-found" };

Deno.test("path: ordinary names resolve to real paths inside the root", async () => {
  const tree = await makeTree();
  try {
    const r = new MediaPathResolver(tree.root, "/media/");
    assert.deepEqual(r.resolve("/media/a.mp4"), ok(`${tree.root}/a.mp4`));
    assert.deepEqual(r.resolve("/media/sub/b.mp4"), ok(`${tree.root}/sub/b.mp4`));
    assert.deepEqual(r.resolve("/media/a%20b.mp4"), ok(`${tree.root}/a b.mp4`));
    assert.deepEqual(r.resolve("/media/%C3%BC.mp4"), ok(`${tree.root}/ü.mp4`));
    assert.deepEqual(r.resolve("/media/%c3%bc.mp4"), ok(`${tree.root}/ü.mp4`));
    assert.deepEqual(r.resolve("/media/%61.mp4"), ok(`${tree.root}/a.mp4`)); // unreserved, encoded
    assert.deepEqual(r.resolve("/media/x..y.mp4"), ok(`${tree.root}/x..y.mp4`)); // not a `..` segment
    // Symlinks that stay inside the root resolve to their target.
    assert.deepEqual(r.resolve("/media/link.mp4"), ok(`${tree.root}/a.mp4`));
    assert.deepEqual(r.resolve("/media/relative-link.mp4"), ok(`${tree.root}/sub/b.mp4`));
    // A directory resolves (the caller stats it and answers 404).
    assert.deepEqual(r.resolve("/media/sub"), ok(`${tree.root}/sub`));
    // A trailing slash on the root works the same.
    assert.deepEqual(
      new MediaPathResolver(`${tree.root}/`, "/media/").resolve("/media/a.mp4"),
      ok(`${tree.root}/a.mp4`),
    );
  } finally {
    await tree.cleanup();
  }
});

Deno.test("path: traversal, encodings and odd characters → 400 (CVE-2024-32869, connect, std)", async () => {
  const tree = await makeTree();
  try {
    const r = new MediaPathResolver(tree.root, "/media/");
    for (
      const raw of [
        "/media/../outside/secret.txt",
        "/media/sub/../a.mp4",
        "/media/./a.mp4",
        "/media/..",
        "/media/../",
        "/media/%2e%2e/outside/secret.txt", // connect: check before unescape
        "/media/%2E%2E/outside/secret.txt",
        "/media/.%2e/outside/secret.txt",
        "/media/%2e/a.mp4",
        "/media/sub%2f..%2f..%2foutside%2fsecret.txt", // encoded slash
        "/media/sub%2Fb.mp4",
        "/media/..%5c..%5coutside%5csecret.txt", // Windows-style %5C
        "/media/sub%5Cb.mp4",
        "/media/sub\\b.mp4",
        "/media/a.mp4%00.txt", // NUL
        "/media/a%0a.mp4",
        "/media/a%7f.mp4",
        "/media/%252e%252e/outside/secret.txt", // double encoding
        "/media/%252E%252E%252Foutside",
        "/media/a%25.mp4",
        "/media//etc/passwd", // `//`
        "/media/sub//b.mp4",
        "/media/%zz.mp4", // malformed escapes
        "/media/%",
        "/media/a%2",
        "/media/%C3.mp4", // invalid UTF-8
        "/media/%FF.mp4",
        "/media/%C0%AE%C0%AE/outside/secret.txt", // overlong UTF-8 dots
      ]
    ) {
      assert.deepEqual(r.resolve(raw), BAD, raw);
      // Writers (ingest) share the same 400 rules.
      assert.deepEqual(decodeSegments(raw.slice("/media/".length)), BAD, raw);
    }
  } finally {
    await tree.cleanup();
  }
});

Deno.test("path: dotfiles, escaping symlinks, directories, missing files → 404", async () => {
  const tree = await makeTree();
  try {
    const r = new MediaPathResolver(tree.root, "/media/");
    for (
      const raw of [
        "/media/.hidden",
        "/media/%2ehidden",
        "/media/.dir/c.mp4",
        "/media/to-hidden.mp4", // symlink to a dotfile inside the root
        "/media/to-dot-dir/c.mp4",
        "/media/escape.txt", // symlinks leaving the root
        "/media/escape-relative.txt",
        "/media/outdir/secret.txt",
        "/media/fsroot/etc/passwd",
        "/media/missing.mp4",
        "/media/a.mp4/x",
        "/media/",
        "/media/sub/",
        "/media",
        "/other/a.mp4",
        "/%6Dedia/a.mp4",
      ]
    ) {
      assert.deepEqual(r.resolve(raw), NOT_FOUND, raw);
    }
  } finally {
    await tree.cleanup();
  }
});

Deno.test("path: a symlink changed on disk is honoured on the next request (nothing cached)", async () => {
  const tree = await makeTree();
  try {
    const r = new MediaPathResolver(tree.root, "/media/");
    await Deno.symlink(`${tree.root}/a.mp4`, `${tree.root}/flip.mp4`);
    assert.deepEqual(r.resolve("/media/flip.mp4"), ok(`${tree.root}/a.mp4`));
    await Deno.remove(`${tree.root}/flip.mp4`);
    await Deno.symlink(`${tree.outside}/secret.txt`, `${tree.root}/flip.mp4`);
    assert.deepEqual(r.resolve("/media/flip.mp4"), NOT_FOUND);
  } finally {
    await tree.cleanup();
  }
});

Deno.test("path: resolveFile agrees with resolve on every 400/404 pattern", async () => {
  const tree = await makeTree();
  try {
    const r = new MediaPathResolver(tree.root, "/media/");
    for (
      const raw of [
        "/media/.hidden",
        "/media/escape.txt",
        "/media/outdir/secret.txt",
        "/media/fsroot/etc/passwd",
        "/media/missing.mp4",
        "/media/../outside/secret.txt",
        "/media/%2e%2e/outside/secret.txt",
        "/media/a%252e.mp4",
      ]
    ) {
      // Twice: the second call may take the cached path and must still refuse.
      for (let i = 0; i < 2; i++) {
        const want = r.resolve(raw).kind;
        assert.notEqual(want, "ok", raw);
        assert.equal(r.resolveFile(raw).kind, want, raw);
      }
    }
    assert.deepEqual(r.resolveFile("/media/sub"), NOT_FOUND); // a directory is not a file
    const hit = r.resolveFile("/media/link.mp4");
    assert.equal(hit.kind, "ok");
    if (hit.kind === "ok") {
      assert.equal(hit.path, `${tree.root}/a.mp4`);
      assert.equal(hit.stat.identity.size, "a.mp4".length);
    }
  } finally {
    await tree.cleanup();
  }
});

Deno.test("path: resolveFile's real-path cache never outlives a re-pointed symlink", async () => {
  const tree = await makeTree();
  try {
    const r = new MediaPathResolver(tree.root, "/media/");
    await Deno.symlink(`${tree.root}/a.mp4`, `${tree.root}/flip.mp4`);
    await Deno.symlink(`${tree.root}/sub`, `${tree.root}/flipdir`);
    for (let i = 0; i < 2; i++) {
      const first = r.resolveFile("/media/flip.mp4");
      assert.equal(first.kind === "ok" && first.path, `${tree.root}/a.mp4`);
      assert.equal(r.resolveFile("/media/flipdir/b.mp4").kind, "ok");
    }
    // Re-point both links outside the root: the very next call must refuse.
    await Deno.remove(`${tree.root}/flip.mp4`);
    await Deno.symlink(`${tree.outside}/secret.txt`, `${tree.root}/flip.mp4`);
    await Deno.remove(`${tree.root}/flipdir`);
    await Deno.writeTextFile(`${tree.outside}/b.mp4`, "outside b");
    await Deno.symlink(tree.outside, `${tree.root}/flipdir`);
    assert.deepEqual(r.resolveFile("/media/flip.mp4"), NOT_FOUND);
    assert.deepEqual(r.resolveFile("/media/flipdir/b.mp4"), NOT_FOUND);
    // Re-pointed to another file inside the root: served as that file, with its own stat.
    await Deno.remove(`${tree.root}/flip.mp4`);
    await Deno.symlink(`${tree.root}/sub/b.mp4`, `${tree.root}/flip.mp4`);
    const again = r.resolveFile("/media/flip.mp4");
    assert.equal(again.kind === "ok" && again.path, `${tree.root}/sub/b.mp4`);
    assert.equal(again.kind === "ok" && again.stat.identity.size, "sub/b.mp4".length);
  } finally {
    await tree.cleanup();
  }
});

Deno.test("path: decodeSegments decodes each segment exactly once", () => {
  assert.deepEqual(decodeSegments("live/a%20b.ts"), { kind: "ok", segments: ["live", "a b.ts"] });
  assert.deepEqual(decodeSegments("live/"), { kind: "ok", segments: ["live", ""] });
  assert.deepEqual(decodeSegments(".x/y"), { kind: "ok", segments: [".x", "y"] });
});

Deno.test("path: rawPathOf keeps the path as sent and drops query and fragment", () => {
  assert.equal(rawPathOf("http://x/media/a.mp4?x=1"), "/media/a.mp4");
  assert.equal(rawPathOf("http://127.0.0.1:8080/media/%2e%2e/a#frag"), "/media/%2e%2e/a");
  assert.equal(rawPathOf("https://h/p%3Fq?x"), "/p%3Fq");
  assert.equal(rawPathOf("http://h/media//x"), "/media//x");
  assert.equal(rawPathOf("http://h"), "/");
});
