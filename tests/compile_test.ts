/**
 * Builds `dist/flhe` with `deno task compile` and runs it. Needs a local
 * denort runtime in `DENORT_BIN` (its download is unreachable here); without
 * one the test is ignored and says why.
 */
import assert from "node:assert/strict";

const repo = decodeURIComponent(new URL("../", import.meta.url).pathname);
const denort = Deno.env.get("DENORT_BIN") ?? "";
const reason = denort === ""
  ? " (ignored: DENORT_BIN is not set, no local denort runtime to compile with)"
  : "";

async function run(
  command: string,
  args: string[],
  cwd = repo,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(command, { args, cwd, stdin: "null" }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test({
  name: `deno task compile builds dist/flhe, which runs like ./flhe${reason}`,
  ignore: denort === "",
  sanitizeResources: false,
  fn: async (t) => {
    const build = await run(Deno.execPath(), ["task", "compile"]);
    assert.equal(build.code, 0, build.stderr + build.stdout);
    const flhe = `${repo}dist/flhe`;
    const cwd = Deno.makeTempDirSync();

    await t.step("--help", async () => {
      const help = await run(flhe, ["--help"], cwd);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^Usage: flhe <command>/m);
    });

    await t.step("data --clients 2 reads the embedded MNIST", async () => {
      const compiled = await run(flhe, ["data", "--clients", "2"], cwd);
      assert.equal(compiled.code, 0, compiled.stderr);
      const checkout = await run(`${repo}flhe`, ["data", "--clients", "2"], cwd);
      assert.equal(compiled.stdout, checkout.stdout);
    });

    await t.step("owner init (Paillier keys, initial model)", async () => {
      const init = await run(flhe, ["owner", "init", "--dir", "fed", "--clients", "2"], cwd);
      assert.equal(init.code, 0, init.stderr);
      assert.ok(Deno.statSync(`${cwd}/fed/server`).isDirectory);
    });
  },
});
