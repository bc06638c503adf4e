/**
 * `deno task compile`: builds `dist/flhe` and runs it (with a local denort
 * runtime in `DENORT_BIN`, or where `deno compile` can download its own:
 * `FLHE_TEST_COMPILE_DOWNLOAD=1`); and without `DENORT_BIN`, a runtime
 * download that fails is one clear line. The build test is ignored, saying
 * why, where neither runtime source is available.
 */
import assert from "node:assert/strict";
import { runtimeDownloadFailure } from "../scripts/compile.ts";

const repo = decodeURIComponent(new URL("../", import.meta.url).pathname);
const denort = Deno.env.get("DENORT_BIN") ?? "";
const download = Deno.env.get("FLHE_TEST_COMPILE_DOWNLOAD") === "1";
const reason = denort === "" && !download
  ? " (ignored: no DENORT_BIN runtime, and FLHE_TEST_COMPILE_DOWNLOAD=1 is not set to let " +
    "deno compile download one from dl.deno.land, which the build machines cannot reach)"
  : "";

async function run(
  command: string,
  args: string[],
  cwd = repo,
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(command, { args, cwd, env, stdin: "null" }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test({
  name: `deno task compile builds dist/flhe, which runs like ./flhe${reason}`,
  ignore: reason !== "",
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

    await t.step("history --html inlines the embedded uPlot and page script", async () => {
      await Deno.writeTextFile(`${cwd}/history.json`, "[]");
      const report = await run(flhe, ["history", "history.json", "--html", "r.html"], cwd);
      assert.equal(report.code, 0, report.stderr);
      const html = await Deno.readTextFile(`${cwd}/r.html`);
      assert.match(html, /https:\/\/github\.com\/leeoniya\/uPlot \(v1\.6\.32\)/);
      assert.match(html, /new EventSource\("events"\)/);
    });

    await t.step("owner init (Paillier keys, initial model)", async () => {
      const init = await run(flhe, ["owner", "init", "--dir", "fed", "--clients", "2"], cwd);
      assert.equal(init.code, 0, init.stderr);
      assert.ok(Deno.statSync(`${cwd}/fed/server`).isDirectory);
    });
  },
});

/** Whether DENO_DIR already holds this version's downloaded runtime (then nothing is fetched). */
async function runtimeCached(): Promise<boolean> {
  const info = await run(Deno.execPath(), ["info", "--json"]);
  const denoDir = (JSON.parse(info.stdout) as { denoDir: string }).denoDir;
  try {
    for (const entry of Deno.readDirSync(`${denoDir}/dl/release/v${Deno.version.deno}`)) {
      if (entry.name.startsWith("denort-")) return true;
    }
  } catch {
    // No download folder.
  }
  return false;
}

const cached = await runtimeCached();

Deno.test({
  name: "without DENORT_BIN, a failed runtime download is one line naming DENORT_BIN" +
    (cached ? " (ignored: DENO_DIR already holds the runtime, nothing would be downloaded)" : ""),
  ignore: cached,
  fn: async () => {
    // A proxy that refuses every connection: the download fails on any machine.
    const env = { DENORT_BIN: "", HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "" };
    const build = await run(Deno.execPath(), ["task", "--quiet", "compile"], repo, env);
    assert.equal(build.code, 1, build.stdout + build.stderr);
    const lines = build.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, build.stderr);
    assert.match(
      lines[0]!,
      /^compile: deno compile could not download its runtime \(denort [\d.]+ from dl\.deno\.land: .+\); set DENORT_BIN=\/path\/to\/denort to use a local one$/,
    );
  },
});

Deno.test("runtimeDownloadFailure reads deno compile's download error, and nothing else", () => {
  const failed = `Compile main.ts to dist/flhe
Download https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip
error: Writing deno compile executable to temporary file 'dist/flhe.tmp-ff90'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort.zip)
    2: client error (Connect)
    3: dns error
    4: failed to lookup address information: Name or service not known

Stack backtrace:
   0: <unknown>
`;
  assert.equal(
    runtimeDownloadFailure(failed),
    "failed to lookup address information: Name or service not known",
  );
  assert.equal(runtimeDownloadFailure('error: Module not found "file:///x.ts".'), undefined);
  assert.equal(runtimeDownloadFailure(""), undefined);
});
