/**
 * What DP-SGD costs per epoch, LeNet-5 on the first 1,000 MNIST training
 * images, one core (single-threaded wasm), all in the same run:
 *
 * - normal training, the default recipe (batch 32, heavy-ball momentum,
 *   cosine schedule), as federated clients run it: the baseline;
 * - normal training with batch 250, DP-SGD's batch size;
 * - DP-SGD through `trainLocal`'s `dp` option: sampling rate 0.25 (the rate
 *   nearest 256/1,000 whose `floor(1/q)` steps make a whole epoch: 4
 *   Poisson batches of 250 expected records), clipping norm 1, noise
 *   multiplier 1.1, noise and batches from the CSPRNG samplers of src/dp,
 *   same update rule and schedule as the baseline;
 * - the naive DP-SGD that the per-example trick replaces: the same Poisson
 *   batches, but one backward pass per example (a batch of one), each
 *   gradient clipped in JavaScript, summed, noised, one SGD step.
 *
 * Run with `deno task bench` or `deno bench -A bench/dp_sgd_bench.ts`; the
 * summary gives each case's ratio to the baseline.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { addGaussianNoise, poissonBatch } from "../src/dp/mod.ts";
import { head, loadDataset } from "../src/data/mod.ts";
import {
  createLeNet,
  type DpSgdOptions,
  type Examples,
  forwardNetwork,
  initBackend,
  initialWeights,
  type Network,
  setWeights,
  trainLocal,
} from "../src/nn/mod.ts";

await initBackend({
  onWarn: (m) => {
    throw new Error(`bench needs the wasm backend: ${m}`);
  },
});
const { train } = await loadDataset();
const data = head(train, 1000);
const weights = initialWeights(1);
const model = createLeNet(weights);

const SAMPLE_RATE = 0.25;
const CLIP_NORM = 1;
const NOISE_MULTIPLIER = 1.1;
const dp: DpSgdOptions = {
  clipNorm: CLIP_NORM,
  noiseMultiplier: NOISE_MULTIPLIER,
  sampleRate: SAMPLE_RATE,
  noise: (values, std) => void addGaussianNoise(values, std),
  sample: poissonBatch,
};

/**
 * One epoch of DP-SGD with a backward pass per example: Poisson batches,
 * each example's gradient (batch of one) clipped to `CLIP_NORM`, summed,
 * Gaussian noise added, divided by the expected batch, one SGD step.
 */
function naiveDpEpoch(net: Network, examples: Examples, learningRate: number): void {
  const variables = net.trainable as tf.Variable[];
  const size = net.inputSize;
  const values = variables.reduce((s, v) => s + v.size, 0);
  for (let step = 0; step < Math.floor(1 / SAMPLE_RATE); step++) {
    const sum = new Float32Array(values);
    for (const i of poissonBatch(examples.count, SAMPLE_RATE)) {
      const flat = tf.tidy(() => {
        const pixels = examples.features.subarray(i * size, (i + 1) * size);
        const x = tf.div(tf.tensor(pixels, [1, 28, 28, 1]), 255);
        const y = tf.oneHot(tf.tensor1d([examples.labels[i]!], "int32"), 10);
        const { grads } = tf.variableGrads(
          () =>
            tf.losses.softmaxCrossEntropy(
              y,
              forwardNetwork(net, x, { training: true }),
            ) as tf.Scalar,
          variables,
        );
        return tf.concat(variables.map((v) => tf.reshape(grads[v.name]!, [-1])));
      });
      const g = flat.dataSync() as Float32Array;
      flat.dispose();
      let norm = 0;
      for (const v of g) norm += v * v;
      const factor = Math.min(1, CLIP_NORM / (Math.sqrt(norm) + 1e-6));
      for (let j = 0; j < values; j++) sum[j] = sum[j]! + factor * g[j]!;
    }
    addGaussianNoise(sum, NOISE_MULTIPLIER * CLIP_NORM);
    const scale = learningRate / (SAMPLE_RATE * examples.count);
    let offset = 0;
    for (const v of variables) {
      const part = sum.subarray(offset, offset + v.size);
      offset += v.size;
      tf.tidy(() => v.assign(tf.sub(v, tf.mul(tf.tensor(part, v.shape), scale))));
    }
  }
}

// Warm-up: the first batches create and cache the XNNPACK operators.
trainLocal(model, head(train, 64), { seed: 0 });
trainLocal(model, data, { seed: 0, dp });

const group = "LeNet, 1,000 samples";

Deno.bench("nn: normal training, batch 32 (default recipe)", {
  group,
  baseline: true,
  n: 10,
  warmup: 1,
}, () => {
  setWeights(model, weights);
  trainLocal(model, data, { epochs: 1, batchSize: 32, seed: 1 });
});

Deno.bench("nn: normal training, batch 250", { group, n: 10, warmup: 1 }, () => {
  setWeights(model, weights);
  trainLocal(model, data, { epochs: 1, batchSize: 250, seed: 1 });
});

Deno.bench("nn: DP-SGD, q 0.25 (4 Poisson batches of ~250), per-example trick", {
  group,
  n: 10,
  warmup: 1,
}, () => {
  setWeights(model, weights);
  trainLocal(model, data, { epochs: 1, seed: 1, dp });
});

Deno.bench(
  "nn: DP-SGD, q 0.25, naive backward pass per example",
  { group, n: 3, warmup: 1 },
  () => {
    setWeights(model, weights);
    naiveDpEpoch(model, data, 0.02);
  },
);
