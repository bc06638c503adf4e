/**
 * Training speed of LeNet-5: one epoch over the first 1,000 MNIST training
 * images, batch 32, default update rule, one core (single-threaded wasm). samples/s = 1,000 / median.
 *
 * @module
 */

import { head, loadDataset } from "../src/data/mod.ts";
import { createLeNet, initBackend, initialWeights, setWeights, trainLocal } from "../src/nn/mod.ts";

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

Deno.bench(`nn: train LeNet 1,000 samples`, { group: backend }, () => {
  setWeights(model, weights);
  // The default recipe (heavy-ball momentum, cosine schedule), as federated clients run it.
  trainLocal(model, data, { epochs: 1, batchSize: 32, seed: 1 });
});
