/**
 * layersModelFiles(): a topology and flhe's weight vector written as a
 * TensorFlow.js Layers model, loaded back by tfjs (from the files, as a
 * browser loads them) with flhe's predictions, and read back by flhe's own
 * manifest reader bit for bit.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import {
  builtinTopology,
  createNetwork,
  disposeNetwork,
  forwardNetwork,
  initBackend,
  initialNetworkWeights,
  layersModelFiles,
  type ModelDef,
  modelWeights,
  parseKerasModel,
  weightsFromManifest,
} from "../../src/nn/mod.ts";
import { SMALL_CNN_WEIGHTS, smallCnnJson, smallCnnWeights } from "./keras_fixtures.ts";

await initBackend({ onWarn: (m) => assert.fail(m) });

const PRODUCER = { generatedBy: "flhe 0.1.0", convertedBy: "flhe 0.1.0 export" };

/** A model.json as a bundle holds it: the topology, no weights manifest. */
function bundleTopology(json: Record<string, unknown>): Record<string, unknown> {
  const { weightsManifest: _, ...rest } = json;
  return rest;
}

/** Writes the export to a folder and loads it with tfjs from there, as a browser would. */
async function loadWithTfjs(
  files: ReturnType<typeof layersModelFiles>,
): Promise<{ model: tfl.LayersModel; json: Record<string, unknown>; bin: Uint8Array }> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/${files.shardName}`, files.weightData);
    await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(files.modelJson));
    const url = new URL(`file://${dir}/model.json`).href;
    const model = await tfl.loadLayersModel(tf.io.http(url, { fetchFunc: fetch }));
    return {
      model,
      json: JSON.parse(await Deno.readTextFile(`${dir}/model.json`)),
      bin: await Deno.readFile(`${dir}/${files.shardName}`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** tfjs' predictions and flhe's (softmax of its logits) on the same inputs, within 1e-5. */
function assertSamePredictions(def: ModelDef, weights: Float32Array, model: tfl.LayersModel) {
  const net = createNetwork(def, weights);
  const x = tf.randomUniform([4, ...def.inputShape], 0, 1, "float32", 5);
  const ours = tf.tidy(() => tf.softmax(forwardNetwork(net, x)).dataSync());
  const theirs = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
  assert.equal(ours.length, theirs.length);
  ours.forEach((v, i) =>
    assert.ok(Math.abs(v - theirs[i]!) < 1e-5, `output ${i}: ${v} vs ${theirs[i]}`)
  );
  x.dispose();
  disposeNetwork(net);
}

/** flhe's reader on the written files gives the same vector, bit for bit. */
function assertReadsBack(json: Record<string, unknown>, bin: Uint8Array, weights: Float32Array) {
  const parsed = parseKerasModel(json, "model.json");
  const read = weightsFromManifest(
    parsed.def,
    parsed.manifest!,
    new Map([["weights.bin", bin]]),
    "model.json",
  );
  assert.deepEqual(
    new Uint8Array(read.buffer, read.byteOffset, read.byteLength),
    new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
  );
}

Deno.test("layersModelFiles() writes the built-in lenet5 so that tfjs loads it with flhe's predictions", async () => {
  const options = { inputShape: [28, 28, 1], task: "multiclass", classes: 10 } as const;
  const topology = {
    format: "layers-model",
    generatedBy: "flhe",
    modelTopology: builtinTopology("lenet5", options),
  };
  const { def } = parseKerasModel(topology, "model.json");
  const weights = initialNetworkWeights(def, 9);
  // Non-zero biases, as a trained model has.
  weights.forEach((v, i) => (weights[i] = v + 0.01 * Math.sin(i)));
  const files = layersModelFiles(topology, weights, PRODUCER);
  assert.equal(files.shardName, "weights.bin");
  assert.equal(files.weightData.length, 61_706 * 4);
  const { model, json, bin } = await loadWithTfjs(files);
  assert.equal(json.format, "layers-model");
  assert.equal(json.generatedBy, "flhe 0.1.0");
  assert.equal(json.convertedBy, "flhe 0.1.0 export");
  assert.deepEqual(json.modelTopology, topology.modelTopology);
  const manifest = json.weightsManifest as { paths: string[]; weights: unknown[] }[];
  assert.deepEqual(manifest.map((g) => g.paths), [["weights.bin"]]);
  assert.deepEqual(
    manifest[0]!.weights,
    modelWeights(def).weights.map((w) => ({ name: w.name, shape: w.shape, dtype: "float32" })),
  );
  assert.equal(model.getWeights().length, 10);
  assertSamePredictions(def, weights, model);
  assertReadsBack(json, bin, weights);
  model.dispose();
});

Deno.test("layersModelFiles() writes a converter-style CNN with batch normalization: moving statistics included", async () => {
  for (const cls of ["Sequential", "Functional"] as const) {
    const source = smallCnnJson(cls);
    const topology = bundleTopology(source);
    const { def } = parseKerasModel(topology, "model.json");
    // Trained-looking batch-norm weights: gamma, beta, moving mean and variance.
    const weights = smallCnnWeights(4);
    const bnValues: Float32Array[] = [];
    let at = 0;
    for (const w of SMALL_CNN_WEIGHTS) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      if (w.name.startsWith("batch_normalization/")) {
        for (let i = 0; i < size; i++) weights[at + i] = 0.5 + 0.25 * i + at / 100;
        bnValues.push(weights.slice(at, at + size));
      }
      at += size;
    }
    const files = layersModelFiles(topology, weights, PRODUCER);
    const { model, json, bin } = await loadWithTfjs(files);
    // The converter's topology (keras_version, model_config, training_config) as it was.
    assert.deepEqual(json.modelTopology, source.modelTopology, cls);
    const manifest = json.weightsManifest as { weights: { name: string; shape: number[] }[] }[];
    assert.deepEqual(
      manifest[0]!.weights.map((w) => [w.name, w.shape]),
      SMALL_CNN_WEIGHTS.map((w) => [w.name, w.shape]),
    );
    // tfjs holds the moving statistics flhe wrote.
    const bn = model.getLayer("batch_normalization").getWeights();
    assert.deepEqual(bn.map((t) => t.dataSync()), bnValues);
    assertSamePredictions(def, weights, model);
    assertReadsBack(json, bin, weights);
    model.dispose();
  }
});

Deno.test("layersModelFiles() keeps a bare topology, trainingConfig and metadata; refuses bad vectors", () => {
  const modelTopology = builtinTopology("mlp", {
    inputShape: [4],
    task: "multiclass",
    classes: 3,
    hidden: [5],
  });
  const weights = Float32Array.from({ length: 4 * 5 + 5 + 5 * 3 + 3 }, (_, i) => i / 7);
  const bare = layersModelFiles(modelTopology, weights, {
    ...PRODUCER,
    shardName: "w.bin",
    metadata: { flhe: { round: 3 } },
  });
  assert.deepEqual(bare.modelJson.modelTopology, modelTopology);
  assert.deepEqual(bare.modelJson.userDefinedMetadata, { flhe: { round: 3 } });
  assert.deepEqual((bare.modelJson.weightsManifest as { paths: string[] }[])[0]!.paths, ["w.bin"]);
  const trainingConfig = { loss: "categoricalCrossentropy", metrics: [] };
  const saved = layersModelFiles({ modelTopology, trainingConfig }, weights, PRODUCER);
  assert.deepEqual(saved.modelJson.trainingConfig, trainingConfig);
  assert.throws(
    () => layersModelFiles(modelTopology, weights.subarray(1), { ...PRODUCER, file: "m.json" }),
    /^FlheError: m\.json: 42 weights given, the topology has 43$/,
  );
  const bad = weights.slice();
  bad[21] = NaN;
  assert.throws(
    () => layersModelFiles(modelTopology, bad, PRODUCER),
    /model\.json: weight dense1\/bias value 1 is NaN/,
  );
  assert.throws(
    () => layersModelFiles({ modelTopology: { class_name: "Sequential" } }, weights, PRODUCER),
    /model\.json: Sequential model without a list of layers/,
  );
});
