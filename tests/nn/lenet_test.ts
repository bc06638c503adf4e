import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { head, loadDataset } from "../../src/data/mod.ts";
import { FlheError } from "../../src/util/error.ts";
import { disposeLeNet } from "./lenet_helpers.ts";
import {
  applyUpdate,
  createLeNet,
  DEFAULT_LEARNING_RATES,
  evaluate,
  getWeights,
  initBackend,
  initialWeights,
  LENET_PARAM_COUNT,
  LENET_WEIGHTS,
  type OptimizerName,
  type ScheduleName,
  setWeights,
  trainLocal,
  type TrainOptions,
} from "../../src/nn/mod.ts";

const backend = await initBackend({ onWarn: (m) => assert.fail(m) });
const { train, test } = await loadDataset();

Deno.test("initBackend() starts the wasm backend", () => {
  assert.equal(backend, "wasm");
  assert.equal(tf.getBackend(), "wasm");
});

Deno.test("LeNet-5 has 61,706 parameters in the documented order", () => {
  assert.equal(LENET_PARAM_COUNT, 61706);
  assert.deepEqual(LENET_WEIGHTS.map((w) => w.size), [
    150,
    6,
    2400,
    16,
    48000,
    120,
    10080,
    84,
    840,
    10,
  ]);
});

Deno.test("initialWeights() is deterministic and Glorot-scaled", () => {
  const a = initialWeights(7);
  assert.deepEqual(initialWeights(7), a);
  assert.notDeepEqual(initialWeights(8), a);
  const limit = Math.sqrt(6 / (400 + 120));
  const dense1 = a.subarray(150 + 6 + 2400 + 16, 150 + 6 + 2400 + 16 + 48000);
  assert.ok(dense1.every((v) => Math.abs(v) <= limit));
  assert.ok(Math.max(...dense1) > 0.9 * limit);
  assert.ok(a.subarray(150, 156).every((v) => v === 0), "biases start at zero");
});

Deno.test("getWeights() and setWeights() round-trip the flat vector", () => {
  const model = createLeNet(1);
  try {
    assert.deepEqual(getWeights(model), initialWeights(1));
    const w = initialWeights(2);
    setWeights(model, w);
    assert.deepEqual(getWeights(model), w);
    assert.throws(() => setWeights(model, new Float32Array(5)), /5 values, model lenet5 has 61706/);
    const bad = w.slice();
    bad[3] = NaN;
    assert.throws(() => setWeights(model, bad), /weight 3 is NaN/);
  } finally {
    disposeLeNet(model);
  }
});

Deno.test("trainLocal() lowers the loss on 512 images in 2 epochs", () => {
  const model = createLeNet(3);
  try {
    const data = head(train, 512);
    const before = evaluate(model, data);
    const r = trainLocal(model, data, {
      epochs: 2,
      batchSize: 32,
      optimizer: "sgd",
      learningRate: 0.05,
      schedule: "constant",
      seed: 1,
    });
    const after = evaluate(model, data);
    assert.equal(r.samples, 1024);
    assert.ok(r.seconds > 0);
    assert.ok(after.loss < 0.8 * before.loss, `loss ${before.loss} -> ${after.loss}`);
    assert.ok(
      after.accuracy > before.accuracy + 0.2,
      `acc ${before.accuracy} -> ${after.accuracy}`,
    );
  } finally {
    disposeLeNet(model);
  }
});

Deno.test("trainLocal() lowers the loss with every update rule and schedule", () => {
  const data = head(train, 512);
  const cases: TrainOptions[] = [
    { seed: 1 },
    { seed: 1, optimizer: "sgd", schedule: "constant" },
    { seed: 1, optimizer: "momentum" },
    { seed: 1, optimizer: "nesterov", learningRate: 0.05, momentum: 0.8 },
    { seed: 1, optimizer: "adam", learningRate: 0.001, schedule: "constant" },
  ];
  for (const opts of cases) {
    const model = createLeNet(3);
    try {
      const before = evaluate(model, data);
      trainLocal(model, data, { ...opts, epochs: 2 });
      const after = evaluate(model, data);
      const what = JSON.stringify(opts);
      assert.ok(after.loss < 0.8 * before.loss, `${what}: loss ${before.loss} -> ${after.loss}`);
      assert.ok(after.accuracy > before.accuracy + 0.2, `${what}: acc -> ${after.accuracy}`);
    } finally {
      disposeLeNet(model);
    }
  }
});

Deno.test("trainLocal() defaults to the command line's recipe: momentum 0.9 at 0.02, cosine", () => {
  const data = head(train, 64);
  const run = (opts: TrainOptions): Float32Array => {
    const model = createLeNet(4);
    trainLocal(model, data, opts);
    const w = getWeights(model);
    disposeLeNet(model);
    return w;
  };
  assert.deepEqual(
    run({ seed: 2 }),
    run({ seed: 2, optimizer: "momentum", learningRate: 0.02, momentum: 0.9, schedule: "cosine" }),
  );
  assert.equal(DEFAULT_LEARNING_RATES.momentum, 0.02);
  assert.notDeepEqual(run({ seed: 2 }), run({ seed: 2, optimizer: "adam" }));
  // Adam's defaults need no momentum, as on the command line.
  assert.deepEqual(
    run({ seed: 2, optimizer: "adam" }),
    run({ seed: 2, optimizer: "adam", learningRate: 0.002, momentum: 0 }),
  );
});

Deno.test("trainLocal() is deterministic for a seed", () => {
  const data = head(train, 128);
  const run = (): Float32Array => {
    const model = createLeNet(4);
    trainLocal(model, data, { seed: 9 });
    const w = getWeights(model);
    disposeLeNet(model);
    return w;
  };
  assert.deepEqual(run(), run());
});

Deno.test("a federated round leaks no tensors", () => {
  const model = createLeNet(5);
  try {
    const data = head(train, 96);
    const evalData = head(test, 200);
    const round = (): void => {
      setWeights(model, initialWeights(6));
      trainLocal(model, data, { seed: 1, batchSize: 32 });
      getWeights(model);
      evaluate(model, evalData, 64);
    };
    round();
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 3; i++) round();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.memory().numBytes, bytes);
  } finally {
    disposeLeNet(model);
  }
});

Deno.test("trainLocal() and evaluate() reject bad input", () => {
  const model = createLeNet(1);
  try {
    const wrong = { features: new Uint8Array(4), labels: new Uint8Array(1), count: 1 };
    assert.throws(() => evaluate(model, wrong), /1 examples need 784 values/);
    assert.throws(() => trainLocal(model, head(train, 0), { seed: 1 }), /empty data set/);
    assert.throws(
      () => trainLocal(model, head(train, 8), { seed: 1, batchSize: 0 }),
      /batchSize 0/,
    );
    const few = head(train, 8);
    const bad: [Partial<TrainOptions>, RegExp][] = [
      [{ optimizer: "rmsprop" as OptimizerName }, /optimizer rmsprop is not one of sgd, /],
      [{ optimizer: "sgd", momentum: 0.9 }, /needs optimizer "momentum" or "nesterov"/],
      [{ momentum: 1 }, /momentum 1 is not in/],
      [{ learningRate: 0 }, /learningRate 0/],
      [{ schedule: "step" as ScheduleName }, /schedule step is not one of constant, cosine/],
      [{ epochs: 1.5 }, /epochs 1.5/],
    ];
    for (const [opts, message] of bad) {
      assert.throws(() => trainLocal(model, few, { seed: 1, ...opts }), message);
    }
    // Callers branch on the code: malformed data and option names are
    // `input`, numbers out of range are `range`.
    const code = (run: () => unknown): string | undefined => {
      try {
        run();
      } catch (e) {
        return e instanceof FlheError ? e.code : `not FlheError: ${e}`;
      }
      return undefined;
    };
    assert.equal(code(() => evaluate(model, wrong)), "input");
    assert.equal(code(() => trainLocal(model, head(train, 0), { seed: 1 })), "input");
    assert.equal(code(() => trainLocal(model, few, { seed: 1, learningRate: -1 })), "range");
    assert.equal(
      code(() => trainLocal(model, few, { seed: 1, optimizer: "x" as OptimizerName })),
      "input",
    );
    assert.equal(code(() => setWeights(model, new Float32Array(5))), "input");
    assert.equal(
      code(() => setWeights(model, new Float32Array(LENET_PARAM_COUNT).fill(NaN))),
      "range",
    );
    assert.equal(code(() => applyUpdate(new Float32Array(2), new Float32Array(3))), "input");
    assert.throws(
      () => applyUpdate(new Float32Array(2), new Float32Array(3)),
      /update has 3 values, the model 2/,
    );
  } finally {
    disposeLeNet(model);
  }
});
