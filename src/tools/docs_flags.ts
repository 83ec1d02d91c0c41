/**
 * Rewrites the generated tables in README.md (flags; library options) from the settings table,
 * then formats README.md with `deno fmt`. `deno task docs:flags`; test/settings_test.ts fails
 * while README.md and src/settings.ts disagree.
 *
 * @module
 */
import { rewriteReadme } from "../settings_docs.ts";

const README = new URL("../../README.md", import.meta.url);

if (import.meta.main) {
  const before = await Deno.readTextFile(README);
  const after = rewriteReadme(before);
  await Deno.writeTextFile(README, after);
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", README.pathname],
  }).output();
  if (!fmt.success) throw new Error(new TextDecoder().decode(fmt.stderr));
  console.log(before === after ? "README.md tables were up to date" : "README.md tables rewritten");
}
