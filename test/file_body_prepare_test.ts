/**
 * FileBody.prepare and respondWithOpenFiles: a server that sends the head before it reads a file
 * body opens the files first, so a file replaced since the app's stat (a live playlist rewritten
 * by ingest) gets a fresh answer instead of a response cut off after its head.
 */
import assert from "node:assert/strict";
import {
  FileBody,
  FileChangedError,
  type FileSlice,
  respondWithOpenFiles,
} from "../src/file_body.ts";
import { statFile } from "../src/media/stat.ts";

const encoder = new TextEncoder();

/** A body for the whole of `path` as it is now. */
function bodyOf(path: string): FileBody {
  const stat = statFile(path)!;
  const slice: FileSlice = { path, offset: 0, length: stat.identity.size, identity: stat.identity };
  return new FileBody([encoder.encode("<"), slice, encoder.encode(">")]);
}

/** Replaces `path` by a new file (new inode), as an upload's rename does. */
async function replace(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${path}.new`, text);
  await Deno.rename(`${path}.new`, path);
}

Deno.test("FileBody.prepare: the version the headers describe streams from the opened file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/index.m3u8`;
    await Deno.writeTextFile(path, "old");
    const body = bodyOf(path);
    await body.prepare();
    // replaced after the open: the opened (described) version is what streams
    await replace(path, "newer and longer");
    assert.equal(await new Response(body).text(), "<old>");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileBody.prepare: a file replaced since the stat throws FileChangedError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/index.m3u8`;
    await Deno.writeTextFile(path, "old");
    const body = bodyOf(path);
    await replace(path, "new");
    await assert.rejects(() => body.prepare(), FileChangedError);
    await body.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("respondWithOpenFiles: a replaced file is answered afresh; HEAD and bytes pass as they are", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/index.m3u8`;
    await Deno.writeTextFile(path, "v1");
    let calls = 0;
    const respond = async () => {
      calls++;
      const response = new Response(bodyOf(path));
      // the first answer's file is replaced between its stat and the server's open
      if (calls === 1) await replace(path, "v2!");
      return response;
    };
    const response = await respondWithOpenFiles("GET", respond);
    assert.equal(calls, 2);
    assert.equal(await response.text(), "<v2!>");

    calls = 0;
    const head = await respondWithOpenFiles("HEAD", () => {
      calls++;
      return new Response(null, { status: 200 });
    });
    assert.equal(calls, 1);
    assert.equal(head.status, 200);
    const text = await respondWithOpenFiles("GET", () => new Response("plain"));
    assert.equal(await text.text(), "plain");

    // a file that keeps changing gives up after the retries with the error
    let churn = 0;
    await assert.rejects(
      () =>
        respondWithOpenFiles("GET", async () => {
          const response = new Response(bodyOf(path));
          await replace(path, `v${++churn}`);
          return response;
        }),
      FileChangedError,
    );
    assert.equal(churn, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
