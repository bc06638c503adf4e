/**
 * `flhe export` as a process, after a real two-round federation of a
 * converter-style CNN with batch normalization: the owner's and a client's
 * bundles export the final model (the same), tfjs loads the files with
 * flhe's predictions, flhe reads them back bit for bit; `--round` picks the
 * owner's models; the refusals are one line each and overwrite nothing.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import {
  createNetwork,
  disposeNetwork,
  forwardNetwork,
  initBackend,
  parseKerasModel,
  weightsFromManifest,
} from "../../src/nn/mod.ts";
import { chooseModel } from "../../src/parties/model_choice.ts";
import { writeSmallCnn } from "../nn/keras_fixtures.ts";
import {
  type Party,
  QUICK_CLIENT_ARGS,
  readModel,
  smallFederation,
  startParty,
  stopAll,
} from "./harness.ts";

await initBackend({ onWarn: () => {} });

/** Runs `flhe ARGS` to its end; returns the exit code and its lines. */
async function flhe(args: string[]): Promise<{ code: number; lines: string[] }> {
  const p = startParty("flhe", args);
  const { code } = await p.done;
  return { code, lines: p.lines };
}

async function runFederation(fed: string): Promise<void> {
  const parties: Party[] = [];
  try {
    parties.push(startParty("owner", ["owner", "serve", "--bundle", `${fed}/owner`]));
    parties.push(startParty("server", ["serve", "--bundle", `${fed}/server`]));
    for (const c of ["client-1", "client-2"]) {
      parties.push(startParty(c, ["client", "--bundle", `${fed}/${c}`, ...QUICK_CLIENT_ARGS]));
    }
    for (const p of parties) {
      assert.equal((await p.done).code, 0, `${p.name}:\n${p.lines.join("\n")}`);
    }
  } finally {
    await stopAll(parties);
  }
}

/** An exported folder read back: its model.json, and its weights through flhe's own reader. */
async function readExport(dir: string) {
  const json = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  const bin = await Deno.readFile(`${dir}/weights.bin`);
  const { def, manifest } = parseKerasModel(json, `${dir}/model.json`);
  const weights = weightsFromManifest(def, manifest!, new Map([["weights.bin", bin]]), dir);
  return { json, bin, def, weights };
}

function bytes(v: Float32Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

Deno.test("flhe export writes the owner's and a client's model as a tfjs model.json that tfjs loads; refusals are one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const saved = await writeSmallCnn(`${dir}/keras_cnn`, "Sequential", 7);
    const fed = `${dir}/fed`;
    const model = await chooseModel({ spec: saved.path, scale: "1/255" });
    await smallFederation(fed, { rounds: 2, model });

    // Before any round: the owner has no round's model; --round 0 is the initial one.
    const early = await flhe(["export", "--bundle", `${fed}/owner`, "--out", `${dir}/early`]);
    assert.equal(early.code, 1);
    assert.deepEqual(early.lines, [
      `flhe export: ${fed}/owner: no round's model yet (${fed}/owner/state/owner.json records none); --round 0 exports the initial model`,
    ]);

    await runFederation(fed);
    const final = await readModel(`${fed}/owner/state/model-round-2.f32`);

    const owner = await flhe(["export", "--bundle", `${fed}/owner`, "--out", `${dir}/owner/`]);
    assert.equal(owner.code, 0, owner.lines.join("\n"));
    assert.equal(
      owner.lines[0],
      `export: the model of round 2 from ${fed}/owner/state/model-round-2.f32 (6,826 parameters) -> ${dir}/owner/model.json, ${dir}/owner/weights.bin`,
    );
    assert.equal(owner.lines[1], "export: inputs: x / 255, as in training");
    assert.match(owner.lines[2]!, /tensorflowjs_converter --input_format tfjs_layers_model/);
    const exported = await readExport(`${dir}/owner`);
    assert.deepEqual(bytes(exported.weights), bytes(final), "bit for bit the round-2 model");
    assert.equal((await Deno.stat(`${dir}/owner/weights.bin`)).mode! & 0o777, 0o600);
    const topology = JSON.parse(await Deno.readTextFile(`${fed}/owner/model.json`));
    assert.deepEqual(exported.json.modelTopology, topology.modelTopology);
    assert.match(exported.json.generatedBy, /^flhe \d+\.\d+\.\d+$/);
    assert.deepEqual(exported.json.userDefinedMetadata.flhe.inputScaling.divisor, 255);
    assert.equal(exported.json.userDefinedMetadata.flhe.round, 2);

    // tfjs loads the folder as a browser does, and predicts as flhe does.
    const url = new URL(`file://${dir}/owner/model.json`).href;
    const loaded = await tfl.loadLayersModel(tf.io.http(url, { fetchFunc: fetch }));
    const net = createNetwork(exported.def, final);
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, "float32", 2);
    const ours = tf.tidy(() => tf.softmax(forwardNetwork(net, x)).dataSync());
    const theirs = tf.tidy(() => (loaded.predict(x) as tf.Tensor).dataSync());
    ours.forEach((v, i) => assert.ok(Math.abs(v - theirs[i]!) < 1e-5, `${v} vs ${theirs[i]}`));
    x.dispose();
    disposeNetwork(net);
    loaded.dispose();

    // A client holds the same final model; it exports the same weights.
    const client = await flhe(["export", "--bundle", `${fed}/client-1`, "--out", `${dir}/c1`]);
    assert.equal(client.code, 0, client.lines.join("\n"));
    assert.match(client.lines[0]!, /round 2 from .*client-1\/state\/model\.f32 \(6,826 parameters/);
    const fromClient = await readExport(`${dir}/c1`);
    assert.deepEqual(fromClient.bin, exported.bin);
    assert.equal(fromClient.json.userDefinedMetadata.flhe.party, "client-1");

    // The owner keeps every round's model; a client only its latest.
    const round1 = await flhe([
      ...["export", "--bundle", `${fed}/owner`, "--round", "1", "--out", `${dir}/r1`],
    ]);
    assert.equal(round1.code, 0, round1.lines.join("\n"));
    const r1 = await readExport(`${dir}/r1`);
    assert.deepEqual(
      bytes(r1.weights),
      bytes(await readModel(`${fed}/owner/state/model-round-1.f32`)),
    );
    assert.notDeepEqual(bytes(r1.weights), bytes(final));
    const initial = await flhe([
      ...["export", "--bundle", `${fed}/client-2`, "--round", "0", "--out", `${dir}/r0`],
    ]);
    assert.equal(initial.code, 0, initial.lines.join("\n"));
    assert.match(initial.lines[0]!, /^export: the initial model from /);
    assert.deepEqual(bytes((await readExport(`${dir}/r0`)).weights), bytes(saved.weights));

    const refusals: [string[], string][] = [
      [
        ["--bundle", `${fed}/client-1`, "--round", "1", "--out", `${dir}/x`],
        "--round 1: client-1 keeps only the latest global model it received (round 2); the owner's bundle keeps every round's model",
      ],
      [
        ["--bundle", `${fed}/owner`, "--round", "3", "--out", `${dir}/x`],
        "--round 3: not decrypted yet; the owner's latest model is of round 2",
      ],
      [
        ["--bundle", `${fed}/server`, "--out", `${dir}/x`],
        `${fed}/server: a server bundle holds no model; export from the owner's bundle or a client's`,
      ],
      [
        ["--bundle", `${dir}/nowhere`, "--out", `${dir}/x`],
        `${dir}/nowhere: bundle folder not found (create one with 'flhe owner init')`,
      ],
      [
        ["--bundle", `${fed}/owner`, "--round", "1", "--out", `${dir}/owner`],
        `${dir}/owner/model.json exists; pass --force to replace it`,
      ],
    ];
    const before = await Deno.readFile(`${dir}/owner/weights.bin`);
    for (const [args, message] of refusals) {
      const run = await flhe(["export", ...args]);
      assert.equal(run.code, 1, run.lines.join("\n"));
      assert.deepEqual(run.lines, [`flhe export: ${message}`]);
    }
    assert.ok(!(await Deno.stat(`${dir}/x`).then(() => true, () => false)), "nothing written");
    assert.deepEqual(await Deno.readFile(`${dir}/owner/weights.bin`), before, "not overwritten");

    // --force replaces both files.
    const forced = await flhe([
      ...["export", "--bundle", `${fed}/owner`, "--round", "1", "--out", `${dir}/owner`, "--force"],
    ]);
    assert.equal(forced.code, 0, forced.lines.join("\n"));
    assert.deepEqual((await readExport(`${dir}/owner`)).bin, r1.bin);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
