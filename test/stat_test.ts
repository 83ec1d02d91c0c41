/** `statFile`: nanosecond mtimes through statx when FFI is allowed, Deno.statSync otherwise. */
import assert from "node:assert/strict";
import {
  closeStatWindow,
  openStatWindow,
  STAT_SOURCE,
  statFile,
  statsMayHaveChanged,
} from "../src/media/stat.ts";
import { strongEtag } from "../src/media/etag.ts";

async function touch(path: string, stamp: string) {
  const out = await new Deno.Command("touch", { args: ["-m", "-d", stamp, path] }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test("stat: with FFI, mtime is exact to the nanosecond and the ETag sees sub-ms changes", async () => {
  assert.equal(STAT_SOURCE, "statx", "tests run with --allow-all, so statx must be in use");
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/clip.mp4`;
    await Deno.writeTextFile(file, "0123456789");
    await touch(file, "2026-01-01 00:00:00.123456789 UTC");
    const a = statFile(file)!;
    assert.equal(a.identity.mtimeNs, 1767225600123456789n);
    assert.equal(a.mtimeMs, 1767225600123);
    // Same size, same millisecond, another nanosecond: a different version, a different ETag.
    await touch(file, "2026-01-01 00:00:00.123456790 UTC");
    const b = statFile(file)!;
    assert.equal(b.identity.mtimeNs, 1767225600123456790n);
    assert.notEqual(strongEtag(a.identity), strongEtag(b.identity));
    // dev, ino, size and file type agree with Deno's own stat.
    const d = Deno.statSync(file);
    assert.deepEqual(
      [b.identity.dev, b.identity.ino, b.identity.size, b.isFile],
      [d.dev, d.ino, d.size, true],
    );
    assert.equal(statFile(dir)!.isFile, false);
    assert.equal(statFile(`${dir}/missing`), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stat: without --allow-ffi the app still works, on Deno.statSync (ms mtime)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/clip.mp4`;
    await Deno.writeTextFile(file, "abc");
    await touch(file, "2026-01-01 00:00:00.123456789 UTC");
    const code = `
      import { STAT_SOURCE, statFile } from ${
      JSON.stringify(new URL("../src/media/stat.ts", import.meta.url).href)
    };
      const s = statFile(${JSON.stringify(file)});
      console.log(JSON.stringify([STAT_SOURCE, String(s.identity.mtimeNs), s.identity.size]));
    `;
    await Deno.writeTextFile(`${dir}/probe.ts`, code);
    // `deno run` grants nothing unasked (unlike `deno eval`): read access only, no FFI.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--allow-read", `${dir}/probe.ts`],
      cwd: new URL("..", import.meta.url).pathname,
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, stderr);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [
      "deno",
      "1767225600123000000",
      3,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stat window: one stat per path while open; new input or closing ends the sharing", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/live.m3u8`;
  try {
    await Deno.writeTextFile(file, "v1");
    // outside a window every call stats afresh
    const outside = statFile(file)!;
    assert.notEqual(statFile(file), outside);
    openStatWindow();
    try {
      const shared = statFile(file)!;
      assert.equal(statFile(file), shared, "shared inside the window");
      assert.equal(statFile(`${dir}/missing`), null);
      // a change inside the window is not seen by requests read before it...
      await Deno.writeTextFile(`${file}.tmp`, "version 2");
      await Deno.rename(`${file}.tmp`, file);
      assert.equal(statFile(file), shared);
      // ...but new input (a socket read) or a version mismatch at open ends the sharing
      statsMayHaveChanged();
      const fresh = statFile(file)!;
      assert.notEqual(fresh.identity.ino, shared.identity.ino);
      assert.equal(fresh.identity.size, 9);
      assert.equal(statFile(file), fresh);
    } finally {
      closeStatWindow();
    }
    await Deno.writeTextFile(file, "v3");
    assert.equal(statFile(file)!.identity.size, 2, "after the window, stats are fresh again");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
