/**
 * LeNet-5 for 28x28 grey images, as plain TensorFlow.js variables (no
 * tfjs-layers: a hand-written forward pass is lighter and trains faster).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { FlheError } from "../util/error.ts";
import { deriveSeed, Rng } from "../util/rng.ts";

/** One weight tensor of the model. */
export interface LayerWeight {
  /** Keras-style name, e.g. `conv1/kernel`. */
  name: string;
  /** Tensor shape. */
  shape: readonly number[];
  /** Number of values. */
  size: number;
}

function spec(name: string, shape: number[]): LayerWeight {
  return { name, shape, size: shape.reduce((a, b) => a * b, 1) };
}

/**
 * The weight tensors in the fixed order of the flat weight vector: per layer,
 * kernel then bias, layers in forward order (the order of Keras'
 * `model.getWeights()` for the same architecture).
 *
 * | layer | output | weights |
 * |---|---|---|
 * | input | 28x28x1 | |
 * | conv1 6@5x5, `same`, relu | 28x28x6 | 150 + 6 |
 * | maxpool 2x2 | 14x14x6 | |
 * | conv2 16@5x5, `valid`, relu | 10x10x16 | 2,400 + 16 |
 * | maxpool 2x2 | 5x5x16 | |
 * | flatten (row-major h, w, c) | 400 | |
 * | dense1 relu | 120 | 48,000 + 120 |
 * | dense2 relu | 84 | 10,080 + 84 |
 * | dense3 softmax | 10 | 840 + 10 |
 *
 * Total 61,706 parameters ({@link LENET_PARAM_COUNT}).
 */
export const LENET_WEIGHTS: readonly LayerWeight[] = [
  spec("conv1/kernel", [5, 5, 1, 6]),
  spec("conv1/bias", [6]),
  spec("conv2/kernel", [5, 5, 6, 16]),
  spec("conv2/bias", [16]),
  spec("dense1/kernel", [400, 120]),
  spec("dense1/bias", [120]),
  spec("dense2/kernel", [120, 84]),
  spec("dense2/bias", [84]),
  spec("dense3/kernel", [84, 10]),
  spec("dense3/bias", [10]),
];

/** Number of parameters of LeNet-5 as built here: 61,706. */
export const LENET_PARAM_COUNT: number = LENET_WEIGHTS.reduce((s, w) => s + w.size, 0);

/** Input image side in pixels. */
export const LENET_IMAGE_SIZE = 28;

/** A LeNet-5 instance: its variables in {@link LENET_WEIGHTS} order. */
export interface LeNet {
  /** Trainable variables, kernel then bias per layer. */
  readonly variables: readonly tf.Variable[];
}

/**
 * Deterministic initial weights: Glorot-uniform kernels (fan-in and fan-out
 * counted as Keras does, including the receptive field for convolutions),
 * zero biases, drawn from the seeded {@link Rng} so that a seed gives the same
 * vector on every backend and machine.
 *
 * @param seed Initialisation seed.
 * @returns Flat weight vector of {@link LENET_PARAM_COUNT} values.
 * @example
 * ```ts
 * const w0 = initialWeights(42);
 * ```
 */
export function initialWeights(seed: number): Float32Array {
  const out = new Float32Array(LENET_PARAM_COUNT);
  let offset = 0;
  LENET_WEIGHTS.forEach((w, layer) => {
    if (w.name.endsWith("/kernel")) {
      const receptive = w.shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const fanIn = receptive * w.shape[w.shape.length - 2]!;
      const fanOut = receptive * w.shape[w.shape.length - 1]!;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const rng = new Rng(deriveSeed(seed, layer));
      for (let i = 0; i < w.size; i++) out[offset + i] = (2 * rng.float() - 1) * limit;
    }
    offset += w.size;
  });
  return out;
}

/**
 * Builds LeNet-5 on the current backend, initialised by {@link initialWeights}
 * or from a given weight vector.
 *
 * @param init Seed, or a flat weight vector of {@link LENET_PARAM_COUNT} values.
 * @returns The model; its variables hold tensors until disposed.
 * @throws {FlheError} `input` if a weight vector has the wrong length.
 * @example
 * ```ts
 * await initBackend();
 * const model = createLeNet(42);
 * ```
 */
export function createLeNet(init: number | Float32Array): LeNet {
  const weights = typeof init === "number" ? initialWeights(init) : init;
  checkLength(weights);
  let offset = 0;
  const variables = LENET_WEIGHTS.map((w) => {
    const values = weights.subarray(offset, offset + w.size);
    offset += w.size;
    return tf.tidy(() => tf.variable(tf.tensor(values, w.shape as number[]), true));
  });
  return { variables };
}

/**
 * The model's weights as one vector, in {@link LENET_WEIGHTS} order.
 *
 * @param model Model to read.
 * @returns A new vector of {@link LENET_PARAM_COUNT} values.
 * @example
 * ```ts
 * const w = getWeights(model);
 * ```
 */
export function getWeights(model: LeNet): Float32Array {
  const out = new Float32Array(LENET_PARAM_COUNT);
  let offset = 0;
  for (const v of model.variables) {
    const values = v.dataSync() as Float32Array;
    out.set(values, offset);
    offset += values.length;
  }
  return out;
}

/**
 * Overwrites the model's weights from one vector in {@link LENET_WEIGHTS} order.
 *
 * @param model Model to update.
 * @param weights Vector of {@link LENET_PARAM_COUNT} values.
 * @throws {FlheError} `input` if the length is wrong, `range` if a value is not finite.
 * @example
 * ```ts
 * setWeights(model, globalWeights);
 * ```
 */
export function setWeights(model: LeNet, weights: Float32Array): void {
  checkLength(weights);
  const bad = weights.findIndex((w) => !Number.isFinite(w));
  if (bad >= 0) {
    throw new FlheError("range", `nn: weight ${bad} is ${weights[bad]}, not a finite number`);
  }
  let offset = 0;
  model.variables.forEach((v, i) => {
    const w = LENET_WEIGHTS[i]!;
    const values = weights.subarray(offset, offset + w.size);
    offset += w.size;
    tf.tidy(() => v.assign(tf.tensor(values, w.shape as number[])));
  });
}

/**
 * Forward pass to the logits (pre-softmax scores).
 *
 * @param model The model.
 * @param x Images, `[batch, 28, 28, 1]`, values in [0, 1].
 * @returns Logits `[batch, 10]`.
 * @example
 * ```ts
 * const logits = tf.tidy(() => forward(model, x));
 * ```
 */
export function forward(model: LeNet, x: tf.Tensor4D): tf.Tensor2D {
  const [k1, b1, k2, b2, k3, b3, k4, b4, k5, b5] = model.variables as tf.Variable[];
  const h1 = tf.fused.conv2d({
    x,
    filter: k1 as tf.Tensor4D,
    bias: b1,
    strides: 1,
    pad: "same",
    activation: "relu",
  });
  const p1 = tf.maxPool(h1, 2, 2, "valid");
  const h2 = tf.fused.conv2d({
    x: p1,
    filter: k2 as tf.Tensor4D,
    bias: b2,
    strides: 1,
    pad: "valid",
    activation: "relu",
  });
  const p2 = tf.maxPool(h2, 2, 2, "valid");
  const flat = tf.reshape(p2, [x.shape[0], 400]);
  const d1 = tf.fused.matMul({ a: flat, b: k3 as tf.Tensor2D, bias: b3, activation: "relu" });
  const d2 = tf.fused.matMul({ a: d1, b: k4 as tf.Tensor2D, bias: b4, activation: "relu" });
  return tf.fused.matMul({ a: d2, b: k5 as tf.Tensor2D, bias: b5 }) as tf.Tensor2D;
}

function checkLength(weights: Float32Array): void {
  if (weights.length !== LENET_PARAM_COUNT) {
    throw new FlheError(
      "input",
      `nn: weight vector has ${weights.length} values, LeNet-5 has ${LENET_PARAM_COUNT}`,
    );
  }
}
