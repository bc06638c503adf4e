/**
 * Training speed of LeNet-5: one epoch over the first 1,000 MNIST training
 * images, batch 32, default update rule, one core (single-threaded wasm). samples/s = 1,000 / median.
 * Beside it, the same architecture built with tfjs-layers and read from its
 * `model.json` topology, as `owner init --model FILE` reads a user's model.
 *
 * @module
 */

import * as tfl from "@tensorflow/tfjs-layers";
import { head, loadDataset } from "../src/data/mod.ts";
import {
  createLeNet,
  createNetwork,
  initBackend,
  initialWeights,
  parseKerasModel,
  PIXEL_SCALING,
  setNetworkWeights,
  setWeights,
  trainLocal,
} from "../src/nn/mod.ts";

const backend = await initBackend({
  onWarn: (m) => {
    throw new Error(`bench needs the wasm backend: ${m}`);
  },
});
const { train } = await loadDataset();
const data = head(train, 1000);
const weights = initialWeights(1);
const model = createLeNet(weights);
// Warm-up: the first batches create and cache the XNNPACK operators.
trainLocal(model, head(train, 64), { seed: 0 });

/** LeNet-5 as a user would write it in tfjs (or Keras), saved as its topology only. */
function lenetTopology(): unknown {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 6,
        kernelSize: 5,
        padding: "same",
        activation: "relu",
      }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 16, kernelSize: 5, activation: "relu" }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 120, activation: "relu" }),
      tfl.layers.dense({ units: 84, activation: "relu" }),
      tfl.layers.dense({ units: 10, activation: "softmax" }),
    ],
  });
  const topology = model.toJSON(null, false);
  model.dispose();
  return topology;
}
const fromFile = createNetwork(
  parseKerasModel(lenetTopology(), "model.json").def,
  weights,
  PIXEL_SCALING,
);
trainLocal(fromFile, head(train, 64), { seed: 0 });

Deno.bench(`nn: train LeNet 1,000 samples`, { group: backend, baseline: true }, () => {
  setWeights(model, weights);
  // The default recipe (heavy-ball momentum, cosine schedule), as federated clients run it.
  trainLocal(model, data, { epochs: 1, batchSize: 32, seed: 1 });
});

Deno.bench(`nn: train LeNet 1,000 samples, from a tfjs model.json`, { group: backend }, () => {
  setNetworkWeights(fromFile, weights);
  trainLocal(fromFile, data, { epochs: 1, batchSize: 32, seed: 1 });
});
