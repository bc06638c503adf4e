/**
 * LeNet-5 for 28x28 grey images: the built-in `lenet5` model (the default),
 * with the names the rest of flhe and its benchmarks use. It is a
 * {@link Network} like any other model; its weight order, initialisation
 * and forward pass are those of the hand-written LeNet-5 that flhe trained
 * before models became a choice (the same seed gives the same weights).
 *
 * @module
 */

import { builtinTopology } from "./builtin_models.ts";
import { parseKerasModel } from "./keras_model.ts";
import type { ModelDef, WeightSpec } from "./layers.ts";
import {
  createNetwork,
  getNetworkWeights,
  initialNetworkWeights,
  type Network,
  type Scaling,
  setNetworkWeights,
} from "./network.ts";

/** One weight tensor of the model. */
export type LayerWeight = Pick<WeightSpec, "name" | "shape" | "size">;

/** Input image side in pixels. */
export const LENET_IMAGE_SIZE = 28;

/** MNIST's pixel scaling, `x / 255`: LeNet-5's inputs are in [0, 1]. */
export const PIXEL_SCALING: Scaling = { center: 0, divisor: 255 };

/**
 * LeNet-5 for 28x28x1 images and 10 classes, as a {@link ModelDef}.
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
export const LENET_DEF: ModelDef = parseKerasModel(
  builtinTopology("lenet5", {
    inputShape: [LENET_IMAGE_SIZE, LENET_IMAGE_SIZE, 1],
    task: "multiclass",
    classes: 10,
  }),
  "lenet5",
).def;

/**
 * The weight tensors in the order of the flat weight vector: per layer,
 * kernel then bias, layers in forward order (Keras' `model.getWeights()`).
 */
export const LENET_WEIGHTS: readonly LayerWeight[] = createShapes();

function createShapes(): LayerWeight[] {
  const sizes: [string, number[]][] = [
    ["conv1/kernel", [5, 5, 1, 6]],
    ["conv1/bias", [6]],
    ["conv2/kernel", [5, 5, 6, 16]],
    ["conv2/bias", [16]],
    ["dense1/kernel", [400, 120]],
    ["dense1/bias", [120]],
    ["dense2/kernel", [120, 84]],
    ["dense2/bias", [84]],
    ["dense3/kernel", [84, 10]],
    ["dense3/bias", [10]],
  ];
  return sizes.map(([name, shape]) => ({ name, shape, size: shape.reduce((a, b) => a * b, 1) }));
}

/** Number of parameters of LeNet-5 as built here: 61,706. */
export const LENET_PARAM_COUNT: number = LENET_WEIGHTS.reduce((s, w) => s + w.size, 0);

/** A LeNet-5 instance. */
export type LeNet = Network;

/**
 * Deterministic initial weights of LeNet-5 (see {@link initialNetworkWeights}).
 *
 * @param seed Initialisation seed.
 * @returns Flat weight vector of {@link LENET_PARAM_COUNT} values.
 * @example
 * ```ts
 * const w0 = initialWeights(42);
 * ```
 */
export function initialWeights(seed: number): Float32Array {
  return initialNetworkWeights(LENET_DEF, seed);
}

/**
 * Builds LeNet-5 on the current backend, taking pixels 0-255 ({@link PIXEL_SCALING}).
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
  return createNetwork(LENET_DEF, init, PIXEL_SCALING);
}

/**
 * The model's weights as one vector, in {@link LENET_WEIGHTS} order.
 *
 * @param model Model to read.
 * @returns A new vector.
 * @example
 * ```ts
 * const w = getWeights(model);
 * ```
 */
export function getWeights(model: Network): Float32Array {
  return getNetworkWeights(model);
}

/**
 * Overwrites the model's weights from one vector.
 *
 * @param model Model to update.
 * @param weights Its flat weight vector.
 * @throws {FlheError} `input` if the length is wrong, `range` if a value is not finite.
 * @example
 * ```ts
 * setWeights(model, globalWeights);
 * ```
 */
export function setWeights(model: Network, weights: Float32Array): void {
  setNetworkWeights(model, weights);
}
