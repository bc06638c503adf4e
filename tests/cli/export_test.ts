/**
 * `flhe export` in process, on a federation that has not run (the owner's
 * state written as the owner writes it): what it prints about inputs and
 * outputs, the owner's rounds it can and cannot export, damaged state and
 * usage errors, each one line.
 */
import assert from "node:assert/strict";
import { main } from "../../main.ts";
import type { Io } from "../../src/cli/output.ts";
import { builtinTopology } from "../../src/nn/mod.ts";
import { chooseModel } from "../../src/parties/model_choice.ts";
import { smallFederation } from "../parties/harness.ts";

async function flhe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: Io = { out: (t) => (stdout += t), err: (t) => (stderr += t) };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** Palmer Penguins as vega-datasets ships them (JSON records, CC0). */
const PENGUINS = new URL(import.meta.resolve("vega-datasets")).pathname.replace(
  /build\/.*$/,
  "data/penguins.json",
);
const FEATURES = ["Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)"];

async function penguinFederation(dir: string): Promise<string> {
  const model = await chooseModel({
    spec: "mlp:4",
    scale: "standard",
    reference: { path: PENGUINS, label: "Species", features: FEATURES, dropMissing: true },
  });
  await smallFederation(`${dir}/fed`, { model });
  return `${dir}/fed`;
}

Deno.test("flhe export names the input scaling and the classes of the model it writes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fed = await penguinFederation(dir);
    const run = await flhe(["export", "--bundle", `${fed}/owner`, "--round", "0", "--out", dir]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    assert.deepEqual(run.stdout.trimEnd().split("\n"), [
      `export: the initial model from ${fed}/owner/model.f32 (35 parameters) -> ${dir}/model.json, ${dir}/weights.bin`,
      "export: inputs: (x - center) / divisor per feature, as in training (center and divisor in model.json's userDefinedMetadata.flhe.inputScaling)",
      "export: outputs: Adelie, Chinstrap, Gentoo (in this order)",
      `export: for Keras: tensorflowjs_converter --input_format tfjs_layers_model --output_format keras ${dir}/model.json model.h5`,
    ]);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
    const config = JSON.parse(await Deno.readTextFile(`${fed}/owner/federation.json`));
    assert.deepEqual(json.userDefinedMetadata.flhe, {
      round: 0,
      party: "owner",
      model: "mlp:4",
      task: "multiclass",
      classNames: ["Adelie", "Chinstrap", "Gentoo"],
      inputScaling: { ...config.model.scaling, formula: "(x - center) / divisor" },
    });
    assert.deepEqual(
      await Deno.readFile(`${dir}/weights.bin`),
      await Deno.readFile(`${fed}/owner/model.f32`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flhe export refuses a round the owner did not decrypt and damaged state, in one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fed = await penguinFederation(dir);
    // As the owner leaves it after round 1 decrypted and round 2 burned.
    const state = `${fed}/owner/state`;
    await Deno.mkdir(state);
    await Deno.writeTextFile(`${state}/owner.json`, JSON.stringify({ round: 2, modelRound: 1 }));
    await Deno.writeFile(`${state}/model-round-1.f32`, new Uint8Array(35 * 4));
    const out = `${dir}/out`;
    const ok = await flhe(["export", "--bundle", `${fed}/owner`, "--out", out]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^export: the model of round 1 from /);
    const later = await flhe([
      ...["export", "--bundle", `${fed}/owner`, "--out", `${dir}/x`, "--round", "2"],
    ]);
    assert.equal(later.code, 1);
    assert.deepEqual(
      [later.stdout, later.stderr],
      ["", "flhe export: --round 2: not decrypted yet; the owner's latest model is of round 1\n"],
    );
    // A model file lost or cut short in the state folder.
    await Deno.writeTextFile(`${state}/owner.json`, JSON.stringify({ round: 2, modelRound: 2 }));
    await Deno.writeFile(`${state}/model-round-1.f32`, new Uint8Array(7));
    const damaged: [string[], string][] = [
      [
        [],
        `--round 2: no ${state}/model-round-2.f32 (the round was not decrypted); models of rounds 1`,
      ],
      [["--round", "1"], `${state}/model-round-1.f32: 7 bytes, expected 140`],
    ];
    for (const [args, message] of damaged) {
      const run = await flhe(["export", "--bundle", `${fed}/owner`, "--out", `${dir}/x`, ...args]);
      assert.equal(run.code, 1);
      assert.deepEqual([run.stdout, run.stderr], ["", `flhe export: ${message}\n`]);
    }
    await Deno.writeTextFile(`${state}/owner.json`, "{");
    const broken = await flhe(["export", "--bundle", `${fed}/owner`, "--out", `${dir}/x`]);
    assert.equal(broken.code, 1);
    assert.match(
      broken.stderr,
      /^flhe export: .*owner\.json: .*restore the state folder from a backup\)\n$/,
    );
    const clientState = `${fed}/client-1/state`;
    await Deno.mkdir(clientState);
    await Deno.writeFile(`${clientState}/client-state.bin`, new Uint8Array(10));
    const client = await flhe(["export", "--bundle", `${fed}/client-1`, "--out", `${dir}/x`]);
    assert.equal(client.code, 1);
    assert.match(client.stderr, /^flhe export: .*client-state\.bin: 10 bytes, expected 144; /);
    const file = await flhe([
      "export",
      "--bundle",
      `${fed}/owner`,
      "--round",
      "0",
      "--out",
      `${fed}/owner/model.f32`,
    ]);
    assert.equal(
      file.stderr,
      `flhe export: --out: ${fed}/owner/model.f32 is a file, not a folder\n`,
    );
    assert.ok(!(await Deno.stat(`${dir}/x`).then(() => true, () => false)), "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flhe export without --bundle or --out, or with a bad --round, is a usage error", async () => {
  const usage = "usage: flhe export [options]; 'flhe export --help' lists them";
  for (
    const [args, message] of [
      [["--out", "x"], "--bundle: give the owner's or a client's bundle folder"],
      [["--bundle", "x"], "--out: give the folder to write to"],
      [["--bundle", "x", "--out", "y", "--round=-1"], "--round: -1 is outside [0, 1000000]"],
      [["--bundle", "x", "--out", "y", "--round", "last"], "--round: 'last' is not an integer"],
    ] as const
  ) {
    const run = await flhe(["export", ...args]);
    assert.equal(run.code, 2, run.stderr);
    assert.deepEqual(run.stderr.trimEnd().split("\n"), [`flhe export: ${message}`, usage]);
  }
});

Deno.test("flhe export gives a federation from before models were a choice the LeNet-5 topology", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await smallFederation(`${dir}/fed`);
    // federation.json as flhe wrote it then: "model": "lenet", no topology file.
    const owner = `${dir}/fed/owner`;
    const config = JSON.parse(await Deno.readTextFile(`${owner}/federation.json`));
    await Deno.writeTextFile(
      `${owner}/federation.json`,
      JSON.stringify({ ...config, model: "lenet" }),
    );
    await Deno.remove(`${owner}/model.json`);
    const run = await flhe(["export", "--bundle", owner, "--round", "0", "--out", `${dir}/out`]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\(61,706 parameters\)/);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/out/model.json`));
    assert.deepEqual(
      json.modelTopology,
      builtinTopology("lenet5", { inputShape: [28, 28, 1], task: "multiclass", classes: 10 }),
    );
    assert.deepEqual(
      await Deno.readFile(`${dir}/out/weights.bin`),
      await Deno.readFile(`${owner}/model.f32`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
