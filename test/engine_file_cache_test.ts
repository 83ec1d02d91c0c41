/** The engine's open-fd cache refuses to send a file version the response head was not made for. */
import assert from "node:assert/strict";
import { FileCache } from "../src/server/engine/file_cache.ts";
import { FileChangedError } from "../src/file_body.ts";
import { statFile } from "../src/media/stat.ts";

Deno.test("file cache: a file replaced after the app's stat is refused, the new one cached", async () => {
  const dir = Deno.realPathSync(await Deno.makeTempDir());
  const cache = new FileCache(8, 10_000);
  try {
    const path = `${dir}/live.m3u8`;
    await Deno.writeTextFile(path, "#EXTM3U\n#v1\n");
    const old = statFile(path)!.identity;
    // Replaced by rename (new inode, same size) between the stat and the open.
    await Deno.writeTextFile(`${dir}/.tmp`, "#EXTM3U\n#v2\n");
    await Deno.rename(`${dir}/.tmp`, path);
    assert.throws(() => cache.acquire(path, old, 0), FileChangedError);
    assert.equal(cache.openCount, 1, "the fresh fd is kept for requests about the new version");
    const fresh = statFile(path)!.identity;
    const file = cache.acquire(path, fresh, 1);
    assert.equal(cache.openCount, 1, "served from the cache, not opened again");
    // The cached fd is the new version: read it back through /proc.
    assert.equal(await Deno.readTextFile(`/proc/self/fd/${file.fd}`), "#EXTM3U\n#v2\n");
    cache.release(file);
  } finally {
    cache.clear();
    assert.equal(cache.openCount, 0);
    await Deno.remove(dir, { recursive: true });
  }
});
