/**
 * A model of any {@link ModelDef} as TensorFlow.js variables with a
 * hand-written forward pass (no tfjs-layers: fused kernels, seeded dropout,
 * and the flat weight vector in Keras' order), its initial weights, and the
 * input scaling the federation fixed.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { FlheError } from "../util/error.ts";
import { deriveSeed, Rng } from "../util/rng.ts";
import { type LayerDef, type ModelDef, modelWeights, type WeightSpec } from "./layers.ts";

/**
 * Input scaling, `x' = (x - center) / divisor`, per feature (arrays of the
 * input size) or for all (numbers). `1/255` is `{ center: 0, divisor: 255 }`.
 */
export interface Scaling {
  readonly center: number | Float32Array;
  readonly divisor: number | Float32Array;
}

/** No scaling. */
export const NO_SCALING: Scaling = { center: 0, divisor: 1 };

/** A model ready to train: its variables in flat-vector order. */
export interface Network {
  /** The model. */
  readonly def: ModelDef;
  /** Every weight tensor, in flat-vector order. */
  readonly weights: readonly WeightSpec[];
  /** One variable per weight tensor, same order. */
  readonly variables: readonly tf.Variable[];
  /** The variables training changes by gradient. */
  readonly trainable: readonly tf.Variable[];
  /** Values in the flat weight vector. */
  readonly parameterCount: number;
  /** Input scaling applied to every batch. */
  readonly scaling: Scaling;
  /** Values per example (product of the input shape). */
  readonly inputSize: number;
  /** Each layer's variables, by layer index. */
  readonly layerVariables: readonly (readonly tf.Variable[])[];
}

/**
 * Deterministic initial weights: Glorot-uniform kernels (fan-in and fan-out
 * as Keras counts them, receptive field included), zero biases and betas,
 * unit gammas and moving variances, drawn from the seeded {@link Rng} per
 * weight tensor, so that a seed gives the same vector on every machine.
 *
 * @param def The model.
 * @param seed Initialisation seed.
 * @returns The flat weight vector.
 * @throws {FlheError} As {@link modelWeights}.
 * @example
 * ```ts
 * const w0 = initialNetworkWeights(def, 42);
 * ```
 */
export function initialNetworkWeights(def: ModelDef, seed: number): Float32Array {
  const specs = modelWeights(def).weights;
  const out = new Float32Array(specs.reduce((s, w) => s + w.size, 0));
  let offset = 0;
  specs.forEach((w, index) => {
    if (w.init === "ones") out.fill(1, offset, offset + w.size);
    if (w.init === "glorot") {
      const receptive = w.shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const fanIn = receptive * w.shape[w.shape.length - 2]!;
      const fanOut = receptive * w.shape[w.shape.length - 1]!;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const rng = new Rng(deriveSeed(seed, index));
      for (let i = 0; i < w.size; i++) out[offset + i] = (2 * rng.float() - 1) * limit;
    }
    offset += w.size;
  });
  return out;
}

/**
 * Builds a model on the current backend.
 *
 * @param def The model.
 * @param init Seed of {@link initialNetworkWeights}, or a flat weight vector.
 * @param scaling Input scaling (default none).
 * @returns The network; free it with {@link disposeNetwork}.
 * @throws {FlheError} `input` if the vector's length is wrong or a scaling array has the wrong size.
 * @example
 * ```ts
 * const net = createNetwork(def, 1, { center: 0, divisor: 255 });
 * ```
 */
export function createNetwork(
  def: ModelDef,
  init: number | Float32Array,
  scaling: Scaling = NO_SCALING,
): Network {
  const { weights } = modelWeights(def);
  const values = typeof init === "number" ? initialNetworkWeights(def, init) : init;
  const parameterCount = weights.reduce((s, w) => s + w.size, 0);
  checkLength(def, values, parameterCount);
  const inputSize = def.inputShape.reduce((a, b) => a * b, 1);
  for (const [key, v] of Object.entries(scaling)) {
    if (typeof v !== "number" && v.length !== inputSize) {
      throw new FlheError(
        "input",
        `nn: scaling ${key} has ${v.length} values, the input ${inputSize}`,
      );
    }
  }
  let offset = 0;
  const variables = weights.map((w) => {
    const part = values.subarray(offset, offset + w.size);
    offset += w.size;
    return tf.tidy(() => tf.variable(tf.tensor(part, w.shape as number[]), w.trainable));
  });
  const layerVariables: tf.Variable[][] = [];
  let next = 0;
  for (const layer of def.layers) {
    const count = layerWeightCount(layer);
    layerVariables.push(variables.slice(next, next + count));
    next += count;
  }
  return {
    def,
    weights,
    variables,
    trainable: variables.filter((_, i) => weights[i]!.trainable),
    parameterCount,
    scaling,
    inputSize,
    layerVariables,
  };
}

function layerWeightCount(layer: LayerDef): number {
  if (layer.kind === "dense" || layer.kind === "conv2d") return layer.useBias ? 2 : 1;
  if (layer.kind === "batchNorm") return 2 + (layer.scale ? 1 : 0) + (layer.center ? 1 : 0);
  return 0;
}

/**
 * Frees the network's variables.
 *
 * @param net The network; unusable afterwards.
 * @example
 * ```ts
 * disposeNetwork(net);
 * ```
 */
export function disposeNetwork(net: Network): void {
  for (const v of net.variables) v.dispose();
}

/**
 * The network's weights as one vector.
 *
 * @param net The network.
 * @returns A new vector of `net.parameterCount` values.
 * @example
 * ```ts
 * const w = getNetworkWeights(net);
 * ```
 */
export function getNetworkWeights(net: Network): Float32Array {
  const out = new Float32Array(net.parameterCount);
  let offset = 0;
  for (const v of net.variables) {
    const values = v.dataSync() as Float32Array;
    out.set(values, offset);
    offset += values.length;
  }
  return out;
}

/**
 * Overwrites the network's weights from one vector.
 *
 * @param net The network.
 * @param weights `net.parameterCount` values.
 * @throws {FlheError} `input` if the length is wrong, `range` if a value is not finite.
 * @example
 * ```ts
 * setNetworkWeights(net, globalWeights);
 * ```
 */
export function setNetworkWeights(net: Network, weights: Float32Array): void {
  checkLength(net.def, weights, net.parameterCount);
  const bad = weights.findIndex((w) => !Number.isFinite(w));
  if (bad >= 0) {
    throw new FlheError("range", `nn: weight ${bad} is ${weights[bad]}, not a finite number`);
  }
  let offset = 0;
  net.variables.forEach((v, i) => {
    const w = net.weights[i]!;
    const values = weights.subarray(offset, offset + w.size);
    offset += w.size;
    tf.tidy(() => v.assign(tf.tensor(values, w.shape as number[])));
  });
}

function checkLength(def: ModelDef, weights: Float32Array, count: number): void {
  if (weights.length !== count) {
    throw new FlheError(
      "input",
      `nn: weight vector has ${weights.length} values, model ${def.name} has ${count}`,
    );
  }
}

/** How a forward pass runs: inference, or training (dropout on, batch statistics). */
export interface ForwardMode {
  /** Training: dropout drops, batch normalization uses (and reports) the batch's statistics. */
  readonly training: boolean;
  /** Seed of this step's dropout masks. */
  readonly seed?: number;
  /** Filled in training with each batch-norm layer's batch mean and variance (kept tensors). */
  readonly batchStats?: { layer: number; mean: tf.Tensor; variance: tf.Tensor }[];
  /** DP-SGD's probes of per-example output gradients (see {@link Probes}). */
  readonly probes?: Probes;
}

/**
 * Probes for per-example gradients: a zero tensor added to the
 * pre-activation output of some dense and conv2d layers. The gradient of the
 * summed loss with respect to a probe is each example's gradient with
 * respect to that layer's output, from which (with the layer's input) each
 * example's weight gradient follows without a backward pass per example.
 */
export interface Probes {
  /** The zero tensor of each probed layer, by layer index, of the layer's output shape. */
  readonly zeros: ReadonlyMap<number, tf.Tensor>;
  /** Filled with each probed layer's input, by layer index (kept tensors: the caller frees them). */
  readonly inputs: Map<number, tf.Tensor>;
}

type Fused = "linear" | "relu" | "elu" | "sigmoid";

function activate(x: tf.Tensor, name: string): tf.Tensor {
  if (name === "relu") return tf.relu(x);
  if (name === "sigmoid") return tf.sigmoid(x);
  if (name === "tanh") return tf.tanh(x);
  if (name === "elu") return tf.elu(x);
  if (name === "softmax") return tf.softmax(x);
  return x;
}

/** Activation fused into the kernel where tfjs can; tanh and softmax after it. */
function split(name: string): { fused: Fused; after: string } {
  return name === "tanh" || name === "softmax"
    ? { fused: "linear", after: name }
    : { fused: name as Fused, after: "linear" };
}

/**
 * A dense or conv2d layer with a probe on its pre-activation output, from
 * unfused ops: their gradient functions run only for the inputs on the path
 * to the probes, whereas the fused kernels' custom gradients would also
 * compute the weight gradients, which DP-SGD has no use for.
 */
function probedLayer(
  layer: Extract<LayerDef, { kind: "dense" | "conv2d" }>,
  vars: readonly tf.Variable[],
  x: tf.Tensor,
  probe: tf.Tensor,
): tf.Tensor {
  let z = layer.kind === "dense"
    ? tf.matMul(x as tf.Tensor2D, vars[0] as tf.Tensor2D)
    : tf.conv2d(x as tf.Tensor4D, vars[0] as tf.Tensor4D, 1, layer.padding);
  if (layer.useBias) z = tf.add(z, vars[1]!);
  return activate(tf.add(z, probe), layer.activation);
}

function runLayer(
  layer: LayerDef,
  vars: readonly tf.Variable[],
  x: tf.Tensor,
  mode: ForwardMode,
  index: number,
): tf.Tensor {
  const probe = mode.probes?.zeros.get(index);
  if (probe !== undefined && (layer.kind === "dense" || layer.kind === "conv2d")) {
    mode.probes!.inputs.set(index, tf.keep(x));
    return probedLayer(layer, vars, x, probe);
  }
  switch (layer.kind) {
    case "dense": {
      const { fused, after } = split(layer.activation);
      const y = tf.fused.matMul({
        a: x as tf.Tensor2D,
        b: vars[0] as tf.Tensor2D,
        bias: layer.useBias ? vars[1] : undefined,
        activation: fused,
      });
      return activate(y, after);
    }
    case "conv2d": {
      const { fused, after } = split(layer.activation);
      const y = tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: vars[0] as tf.Tensor4D,
        bias: layer.useBias ? vars[1] : undefined,
        strides: 1,
        pad: layer.padding,
        activation: fused,
      });
      return activate(y, after);
    }
    case "pool":
      return layer.op === "max"
        ? tf.maxPool(
          x as tf.Tensor4D,
          layer.size as [number, number],
          layer.strides as [number, number],
          layer.padding,
        )
        : tf.avgPool(
          x as tf.Tensor4D,
          layer.size as [number, number],
          layer.strides as [number, number],
          layer.padding,
        );
    case "globalAvgPool":
      return tf.mean(x, [1, 2]);
    case "flatten":
      return tf.reshape(x, [x.shape[0]!, x.size / x.shape[0]!]);
    case "dropout":
      return mode.training && layer.rate > 0
        ? tf.dropout(x, layer.rate, undefined, deriveSeed(mode.seed ?? 0, index))
        : x;
    case "batchNorm":
      return batchNorm(layer, vars, x, mode, index);
    case "activation":
      return activate(x, layer.activation);
  }
}

function batchNorm(
  layer: Extract<LayerDef, { kind: "batchNorm" }>,
  vars: readonly tf.Variable[],
  x: tf.Tensor,
  mode: ForwardMode,
  index: number,
): tf.Tensor {
  let i = 0;
  const gamma = layer.scale ? vars[i++] : undefined;
  const beta = layer.center ? vars[i++] : undefined;
  const movingMean = vars[i++]!;
  const movingVariance = vars[i]!;
  // A frozen batch-norm layer runs in inference mode even in training, and
  // its statistics stay as they are, as in Keras (TF 2 and Keras 3).
  if (!mode.training || !layer.trainable) {
    return tf.batchNorm(x, movingMean, movingVariance, beta, gamma, layer.epsilon);
  }
  const axes = Array.from({ length: x.rank - 1 }, (_, k) => k);
  const { mean, variance } = tf.moments(x, axes);
  mode.batchStats?.push({ layer: index, mean: tf.keep(mean), variance: tf.keep(variance) });
  return tf.batchNorm(x, mean, variance, beta, gamma, layer.epsilon);
}

/**
 * Forward pass to the output layer's logits (before softmax or sigmoid; the
 * regression output itself).
 *
 * @param net The network.
 * @param x Scaled inputs, `[batch, ...inputShape]`.
 * @param mode Inference (default) or training.
 * @returns `[batch, outputs]`.
 * @example
 * ```ts
 * const logits = tf.tidy(() => forwardNetwork(net, x));
 * ```
 */
export function forwardNetwork(
  net: Network,
  x: tf.Tensor,
  mode: ForwardMode = { training: false },
): tf.Tensor2D {
  let h = x;
  net.def.layers.forEach((layer, i) => {
    h = runLayer(layer, net.layerVariables[i]!, h, mode, i);
  });
  return h as tf.Tensor2D;
}

/**
 * Moves each batch-norm layer's moving statistics towards the batch's
 * (`moving = momentum * moving + (1 - momentum) * batch`, as Keras), and
 * frees the batch statistics.
 *
 * @param net The network.
 * @param stats What a training forward pass collected.
 * @example
 * ```ts
 * updateBatchStats(net, mode.batchStats!);
 * ```
 */
export function updateBatchStats(
  net: Network,
  stats: { layer: number; mean: tf.Tensor; variance: tf.Tensor }[],
): void {
  for (const s of stats) {
    const layer = net.def.layers[s.layer]!;
    const vars = net.layerVariables[s.layer]!;
    if (layer.kind !== "batchNorm") continue;
    const m = layer.momentum;
    const movingMean = vars[vars.length - 2]!;
    const movingVariance = vars[vars.length - 1]!;
    tf.tidy(() => {
      movingMean.assign(tf.add(tf.mul(movingMean, m), tf.mul(s.mean, 1 - m)));
      movingVariance.assign(tf.add(tf.mul(movingVariance, m), tf.mul(s.variance, 1 - m)));
    });
    s.mean.dispose();
    s.variance.dispose();
  }
  stats.length = 0;
}
