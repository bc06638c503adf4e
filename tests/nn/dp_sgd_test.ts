import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { addGaussianNoise, poissonBatch } from "../../src/dp/mod.ts";
import { head, loadDataset } from "../../src/data/mod.ts";
import {
  builtinTopology,
  createLeNet,
  createNetwork,
  disposeNetwork,
  type DpSgdOptions,
  evaluate,
  type Examples,
  forwardNetwork,
  getNetworkWeights,
  initBackend,
  type ModelDef,
  type Network,
  parseKerasModel,
  perExampleGradients,
  PIXEL_SCALING,
  setNetworkWeights,
  trainLocal,
} from "../../src/nn/mod.ts";
import { FlheError } from "../../src/util/error.ts";

await initBackend({ onWarn: (m) => assert.fail(m) });
const { train, test } = await loadDataset();

const MLP_DEF: ModelDef = parseKerasModel(
  builtinTopology("mlp", {
    inputShape: [28, 28, 1],
    task: "multiclass",
    classes: 10,
    hidden: [64, 32],
  }),
  "mlp",
).def;

const createMlp = (seed: number): Network => createNetwork(MLP_DEF, seed, PIXEL_SCALING);

/**
 * The reference: example `i`'s gradient over the trainable weights from a
 * backward pass on a batch of one (the ordinary training path), flat.
 */
function batchOfOneGradient(net: Network, data: Examples, i: number): Float64Array {
  const size = net.inputSize;
  const features = data.features.subarray(i * size, (i + 1) * size);
  const grads = tf.tidy(() => {
    const x = tf.div(tf.tensor(features, [1, ...net.def.inputShape]), 255);
    const y = net.def.task === "multiclass"
      ? tf.oneHot(tf.tensor1d([data.labels[i]!], "int32"), net.def.outputs)
      : tf.tensor2d([data.labels[i]!], [1, 1]);
    const { grads } = tf.variableGrads(() => {
      const out = forwardNetwork(net, x, { training: true });
      if (net.def.task === "multiclass") return tf.losses.softmaxCrossEntropy(y, out) as tf.Scalar;
      if (net.def.task === "binary") return tf.losses.sigmoidCrossEntropy(y, out) as tf.Scalar;
      return tf.losses.meanSquaredError(y, out) as tf.Scalar;
    }, net.trainable as tf.Variable[]);
    return tf.concat(net.trainable.map((v) => tf.reshape(grads[v.name]!, [-1])));
  });
  const out = Float64Array.from(grads.dataSync());
  grads.dispose();
  return out;
}

const norm = (g: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return Math.sqrt(s);
};

/** Opacus' clipping of one gradient, in float64. */
function clip(g: Float64Array, clipNorm: number): Float64Array {
  const f = Math.min(1, clipNorm / (norm(g) + 1e-6));
  return g.map((v) => v * f);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A sampler that always gives the same indices (a test's fixed batch). */
const fixedBatch = (idx: number[]) => (): Uint32Array => Uint32Array.from(idx);

const realNoise = (values: Float32Array, std: number): void => void addGaussianNoise(values, std);
const noNoise = (): void => assert.fail("noise drawn with noiseMultiplier 0");

function dpOptions(over: Partial<DpSgdOptions>): DpSgdOptions {
  return {
    clipNorm: 1,
    noiseMultiplier: 0,
    sampleRate: 1,
    noise: noNoise,
    sample: poissonBatch,
    ...over,
  };
}

const cnnDef = parseKerasModel(
  builtinTopology("cnn32", { inputShape: [12, 12, 3], task: "multiclass", classes: 4 }),
  "cnn32",
).def;

/** Random 12x12x3 images in [0, 255] with labels 0-3, for the cnn32 built-in. */
function images(count: number): Examples {
  const features = Float32Array.from(
    { length: count * 432 },
    (_, i) => (Math.sin(i * 12.9898) + 1) * 127,
  );
  return { features, labels: Float32Array.from({ length: count }, (_, i) => i % 4), count };
}

Deno.test("perExampleGradients() equals batch-of-one backward passes for LeNet, an MLP and a CNN", () => {
  const cases: { name: string; net: Network; data: Examples }[] = [
    { name: "lenet5", net: createLeNet(3), data: head(train, 12) },
    { name: "mlp", net: createMlp(3), data: head(train, 12) },
    { name: "cnn32", net: createNetwork(cnnDef, 3, PIXEL_SCALING), data: images(6) },
  ];
  for (const { name, net, data } of cases) {
    const idx = Uint32Array.from({ length: data.count }, (_, i) => i);
    const refs = Array.from(idx, (i) => batchOfOneGradient(net, data, i));
    const norms = refs.map(norm).sort((a, b) => a - b);
    // A clipping norm between the smallest and the largest: some examples are clipped, some not.
    const clipNorm = norms[Math.floor(norms.length / 2)]!;
    for (const c of [Infinity, clipNorm]) {
      const { gradients, norms: got } = perExampleGradients(net, data, idx, c);
      gradients.forEach((g, i) => {
        const want = c === Infinity ? refs[i]! : clip(refs[i]!, c);
        const diff = maxAbsDiff(g, want);
        assert.ok(diff <= 1e-5, `${name} example ${i}, clipNorm ${c}: max abs diff ${diff}`);
        assert.ok(Math.abs(got[i]! - norm(refs[i]!)) <= 1e-5 * norm(refs[i]!), `${name} norm ${i}`);
      });
    }
    disposeNetwork(net);
  }
});

Deno.test("perExampleGradients() equals batch-of-one passes for binary and regression outputs", () => {
  for (const task of ["binary", "regression"] as const) {
    const { def } = parseKerasModel(
      builtinTopology("mlp", { inputShape: [28, 28, 1], task, classes: 0, hidden: [16] }),
      task,
    );
    const net = createNetwork(def, 5, PIXEL_SCALING);
    const data = head(train, 8);
    const labelled = { ...data, labels: data.labels.map((l) => task === "binary" ? l % 2 : l / 3) };
    const idx = Uint32Array.from({ length: 8 }, (_, i) => i);
    const tensors = tf.memory().numTensors;
    const { gradients } = perExampleGradients(net, labelled, idx, 0.5);
    assert.equal(tf.memory().numTensors, tensors, "no tensor leaks");
    gradients.forEach((g, i) => {
      const diff = maxAbsDiff(g, clip(batchOfOneGradient(net, labelled, i), 0.5));
      assert.ok(diff <= 1e-5, `${task} example ${i}: max abs diff ${diff}`);
    });
    disposeNetwork(net);
  }
});

/**
 * A noise function that adds nothing and records what it was given: each
 * step's sum of clipped gradients, exactly as the training loop computed it.
 */
function spyNoise(seen: Float32Array[]): DpSgdOptions["noise"] {
  return (values) => void seen.push(values.slice());
}

Deno.test("trainLocal() with dp clips each example to clipNorm", () => {
  // Steps on a batch of one example: the summed gradient that the noise is
  // added to is that example's clipped gradient; plain SGD with step size 1
  // then moves the weights by it over the expected batch (1 x 32 records).
  const data = head(train, 32);
  const clipNorm = 0.01;
  for (const [name, create] of [["lenet5", createLeNet], ["mlp", createMlp]] as const) {
    const net = create(4);
    const w0 = getNetworkWeights(net);
    for (const i of [0, 5, 17, 31]) {
      setNetworkWeights(net, w0);
      const ref = batchOfOneGradient(net, data, i);
      assert.ok(norm(ref) > 10 * clipNorm, `${name} example ${i} is clipped`);
      const seen: Float32Array[] = [];
      trainLocal(net, data, {
        seed: 1,
        optimizer: "sgd",
        learningRate: 1,
        schedule: "constant",
        dp: dpOptions({
          clipNorm,
          noiseMultiplier: 1,
          noise: spyNoise(seen),
          sample: fixedBatch([i]),
        }),
      });
      assert.equal(seen.length, 1);
      const n = norm(seen[0]!);
      assert.ok(
        n <= clipNorm * (1 + 1e-6),
        `${name} example ${i}: contribution norm ${n} > ${clipNorm}`,
      );
      const diff = maxAbsDiff(seen[0]!, clip(ref, clipNorm));
      assert.ok(diff <= 1e-5, `${name} example ${i}: max abs diff ${diff}`);
      const moved = getNetworkWeights(net).map((w, j) => w0[j]! - w);
      const stepDiff = maxAbsDiff(moved, seen[0]!.map((v) => v / data.count));
      assert.ok(
        stepDiff <= 1e-7,
        `${name} example ${i}: step ${stepDiff} off the clipped gradient / 32`,
      );
    }
    disposeNetwork(net);
  }
});

Deno.test("trainLocal() with dp sums clipped gradients of batch-of-one passes and bounds each by C", () => {
  const data = head(train, 48);
  const net = createMlp(6);
  const idx = Uint32Array.from({ length: 48 }, (_, i) => i);
  const raw = Array.from(idx, (i) => batchOfOneGradient(net, data, i));
  // The median norm: half the examples are clipped.
  const clipNorm = raw.map(norm).sort((a, b) => a - b)[24]!;
  const { gradients } = perExampleGradients(net, data, idx, clipNorm);
  for (const [i, g] of gradients.entries()) {
    assert.ok(norm(g) <= clipNorm * (1 + 1e-6), `example ${i}: clipped norm ${norm(g)}`);
  }
  const refs = raw.map((g) => clip(g, clipNorm));
  assert.ok(refs.some((r) => norm(r) < clipNorm * 0.999), "some examples are below the norm");
  assert.ok(refs.some((r) => Math.abs(norm(r) - clipNorm) < 1e-6), "some examples are clipped");
  const seen: Float32Array[] = [];
  trainLocal(net, data, {
    seed: 1,
    optimizer: "sgd",
    dp: dpOptions({
      clipNorm,
      noiseMultiplier: 1,
      noise: spyNoise(seen),
      sample: fixedBatch([...idx]),
    }),
  });
  const sum = new Float64Array(seen[0]!.length);
  for (const r of refs) r.forEach((v, j) => (sum[j] = sum[j]! + v));
  const diff = maxAbsDiff(seen[0]!, sum);
  assert.ok(diff <= 1e-5, `sum of clipped gradients: max abs diff ${diff}`);
  disposeNetwork(net);
});

Deno.test("trainLocal() with dp drops an example whose gradient overflows, and only that one", () => {
  const clean = head(train, 6);
  const size = clean.features.length / clean.count;
  // Example 7 stands for one that overflows: its activations are infinite, its gradient NaN.
  const features = new Float32Array((clean.count + 1) * size);
  features.set(clean.features);
  features.fill(Infinity, clean.count * size);
  const poisoned: Examples = {
    ...clean,
    count: clean.count + 1,
    features,
    labels: Float32Array.from([...clean.labels, 3]),
  };
  const sums = [clean, poisoned].map((data) => {
    const net = createMlp(8);
    const seen: Float32Array[] = [];
    trainLocal(net, data, {
      seed: 1,
      optimizer: "sgd",
      dp: dpOptions({
        noiseMultiplier: 1,
        noise: spyNoise(seen),
        sample: fixedBatch(Array.from({ length: data.count }, (_, i) => i)),
      }),
    });
    assert.ok(getNetworkWeights(net).every(Number.isFinite), "the step stays finite");
    disposeNetwork(net);
    return seen[0]!;
  });
  assert.ok(sums[1]!.every(Number.isFinite));
  const diff = maxAbsDiff(sums[1]!, Float64Array.from(sums[0]!));
  assert.ok(diff <= 1e-6, `the others' clipped sum: max abs diff ${diff}`);
});

Deno.test("trainLocal() with dp, no noise, sampleRate 1 and a huge clipNorm takes the full-batch step", () => {
  // 600 records: the Poisson batch of all of them runs as two physical batches (512 + 88).
  for (
    const [name, create, count] of [["lenet5", createLeNet, 96], ["mlp", createMlp, 600]] as const
  ) {
    const data = head(train, count);
    const opts = { seed: 1, epochs: 2, optimizer: "momentum" as const, learningRate: 0.05 };
    const a = create(7);
    const b = create(7);
    const normal = trainLocal(a, data, { ...opts, batchSize: count });
    // batchSize is not used with dp: the batch is the Poisson draw (all records at rate 1).
    const dp = trainLocal(b, data, { ...opts, batchSize: 7, dp: dpOptions({ clipNorm: 1e9 }) });
    assert.equal(dp.steps, normal.steps);
    assert.equal(dp.samples, normal.samples);
    const diff = maxAbsDiff(getNetworkWeights(a), getNetworkWeights(b));
    assert.ok(diff <= 1e-5, `${name}: max abs diff ${diff}`);
    assert.ok(Math.abs(dp.loss - normal.loss) <= 1e-4 * normal.loss, `${name} loss`);
    assert.equal(dp.accuracy, normal.accuracy);
    disposeNetwork(a);
    disposeNetwork(b);
  }
});

Deno.test("trainLocal() with dp adds noise of std noiseMultiplier x clipNorm over the expected batch", () => {
  // Empty batches: the step is the noise alone, divided by sampleRate x records.
  const data = head(train, 40);
  const net = createLeNet(8);
  const w0 = getNetworkWeights(net);
  const dp = dpOptions({
    clipNorm: 2,
    noiseMultiplier: 1.5,
    sampleRate: 0.5,
    noise: realNoise,
    sample: fixedBatch([]),
  });
  const r = trainLocal(net, data, {
    seed: 1,
    optimizer: "sgd",
    learningRate: 1,
    schedule: "constant",
    dp,
  });
  assert.equal(r.steps, 2);
  // Two steps of independent noise: std sqrt(2) x 1.5 x 2 / (0.5 x 40).
  const want = Math.SQRT2 * 1.5 * 2 / 20;
  const d = getNetworkWeights(net).map((w, j) => (w - w0[j]!) / want);
  const n = d.length;
  const mean = d.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  // 61,706 values: the sample std is within 0.3% of the truth (one sigma); 3% is ten sigmas.
  assert.ok(Math.abs(sd - 1) < 0.03, `noise std ${sd} of the expected`);
  assert.ok(Math.abs(mean) < 5 / Math.sqrt(n), `noise mean ${mean}`);
  disposeNetwork(net);
});

Deno.test("trainLocal() with dp steps on empty batches (noise only)", () => {
  const data = head(train, 20);
  const net = createMlp(9);
  const w0 = getNetworkWeights(net);
  const calls: number[] = [];
  const dp = dpOptions({
    clipNorm: 0.5,
    noiseMultiplier: 2,
    sampleRate: 0.3,
    noise: (values, std) => {
      calls.push(std);
      values.fill(values[0]! + std);
    },
    sample: fixedBatch([]),
  });
  const r = trainLocal(net, data, {
    seed: 1,
    optimizer: "sgd",
    learningRate: 0.1,
    schedule: "constant",
    dp,
  });
  assert.deepEqual(calls, [1, 1, 1], "floor(1 / 0.3) = 3 steps, noise std 2 x 0.5 each");
  assert.equal(r.steps, 3);
  assert.equal(r.samples, 0);
  assert.ok(Number.isNaN(r.loss));
  const want = 3 * 0.1 * 1 / (0.3 * 20);
  const moved = getNetworkWeights(net).map((w, j) => w0[j]! - w);
  assert.ok(maxAbsDiff(moved, new Float64Array(moved.length).fill(want)) < 1e-6);
  disposeNetwork(net);
});

Deno.test("trainLocal() with dp learns MNIST digits with an MLP", () => {
  const data = head(train, 2000);
  const net = createMlp(10);
  const tensors = tf.memory().numTensors;
  const before = evaluate(net, head(test, 1000)).accuracy;
  const r = trainLocal(net, data, {
    seed: 1,
    epochs: 4,
    optimizer: "adam",
    learningRate: 0.01,
    dp: {
      clipNorm: 1,
      noiseMultiplier: 0.5,
      sampleRate: 0.1,
      noise: realNoise,
      sample: poissonBatch,
    },
  });
  assert.equal(tf.memory().numTensors, tensors, "no tensor leaks");
  assert.equal(r.steps, 40);
  // 40 Poisson batches of Binomial(2000, 0.1): 8,000 records expected, sd 85.
  assert.ok(r.samples > 7000 && r.samples < 9000, `samples ${r.samples}`);
  // 40 noisy steps: about 70% measured, from 10% before training.
  const { accuracy } = evaluate(net, head(test, 1000));
  assert.ok(before < 0.3 && accuracy > 0.5, `test accuracy ${before} -> ${accuracy}`);
  disposeNetwork(net);
});

Deno.test("trainLocal() with dp refuses batch normalization, naming the layer", () => {
  const { def } = parseKerasModel({
    class_name: "Sequential",
    config: {
      name: "bn",
      layers: [
        { class_name: "InputLayer", config: { name: "in", batch_input_shape: [null, 784] } },
        { class_name: "Dense", config: { name: "h", units: 8, activation: "relu" } },
        { class_name: "BatchNormalization", config: { name: "bn1", momentum: 0.9 } },
        { class_name: "Dense", config: { name: "out", units: 10, activation: "softmax" } },
      ],
    },
  }, "bn.json");
  const net = createNetwork(def, 1, PIXEL_SCALING);
  const data = { ...head(train, 8) };
  assert.throws(
    () => trainLocal(net, data, { seed: 1, dp: dpOptions({}) }),
    (e: unknown) =>
      e instanceof FlheError && e.code === "input" &&
      /layer "bn1" \(batchNorm\): batch normalization mixes examples; use a model without it for DP/
        .test(e.message),
  );
  disposeNetwork(net);
});

Deno.test("trainLocal() with dp rejects bad options, quoting them", () => {
  const net = createMlp(11);
  const data = head(train, 8);
  const cases: [Partial<DpSgdOptions>, RegExp][] = [
    [{ clipNorm: 0 }, /dp\.clipNorm 0 /],
    [{ noiseMultiplier: -1 }, /dp\.noiseMultiplier -1 /],
    [{ noiseMultiplier: NaN }, /dp\.noiseMultiplier NaN /],
    [{ sampleRate: 0 }, /dp\.sampleRate 0 /],
    [{ sampleRate: 1.5 }, /dp\.sampleRate 1\.5 /],
    [{ sample: fixedBatch([8]) }, /dp\.sample gave index 8 of 8 records/],
    [
      { noise: undefined },
      /dp\.noise is not a function; pass src\/dp's CSPRNG sampler \(addGaussianNoise\)/,
    ],
  ];
  const w0 = getNetworkWeights(net);
  for (const [over, message] of cases) {
    assert.throws(
      () => trainLocal(net, data, { seed: 1, dp: dpOptions(over) }),
      (e: unknown) => e instanceof FlheError && message.test(e.message),
      String(message),
    );
  }
  assert.deepEqual(getNetworkWeights(net), w0, "nothing trained");
  disposeNetwork(net);
});
