/**
 * The layers flhe trains, as plain data: what a model is made of, the shape
 * each layer gives, and the weight tensors it owns in the order of the flat
 * weight vector (Keras' `model.getWeights()` order).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";

/** Activations of hidden layers; `softmax` only as a classifier's output. */
export type ActivationName = "linear" | "relu" | "sigmoid" | "tanh" | "elu" | "softmax";

/** The activations supported, for checking a model file. */
export const ACTIVATIONS: readonly ActivationName[] = [
  "linear",
  "relu",
  "sigmoid",
  "tanh",
  "elu",
  "softmax",
];

/** One layer. `name` is the Keras layer name (weights are `name/kernel`, ...). */
export type LayerDef =
  | {
    readonly kind: "dense";
    readonly name: string;
    readonly units: number;
    readonly activation: ActivationName;
    readonly useBias: boolean;
    readonly trainable: boolean;
  }
  | {
    readonly kind: "conv2d";
    readonly name: string;
    readonly filters: number;
    readonly kernel: readonly [number, number];
    readonly padding: "same" | "valid";
    readonly activation: ActivationName;
    readonly useBias: boolean;
    readonly trainable: boolean;
  }
  | {
    readonly kind: "pool";
    readonly name: string;
    readonly op: "max" | "avg";
    readonly size: readonly [number, number];
    readonly strides: readonly [number, number];
    readonly padding: "same" | "valid";
  }
  | { readonly kind: "globalAvgPool"; readonly name: string }
  | { readonly kind: "flatten"; readonly name: string }
  | { readonly kind: "dropout"; readonly name: string; readonly rate: number }
  | {
    readonly kind: "batchNorm";
    readonly name: string;
    readonly momentum: number;
    readonly epsilon: number;
    readonly center: boolean;
    readonly scale: boolean;
    readonly trainable: boolean;
  }
  | { readonly kind: "activation"; readonly name: string; readonly activation: ActivationName };

/**
 * What the model learns: `multiclass` (softmax over `outputs` classes,
 * integer labels), `binary` (one sigmoid output, labels 0/1) or `regression`
 * (one linear output, mean squared error).
 */
export type Task = "multiclass" | "binary" | "regression";

/** The tasks, for checking options and files. */
export const TASKS: readonly Task[] = ["multiclass", "binary", "regression"];

/**
 * A model: its input shape, its layers, and the task its output layer
 * implies. The output activation (softmax, sigmoid) is not among the
 * layers: the last layer gives logits, and the task applies the activation
 * with the loss, which is how the loss stays numerically stable.
 */
export interface ModelDef {
  /** A name for messages (the builtin's name or the model file's). */
  readonly name: string;
  /** Shape of one example, without the batch axis: `[features]` or `[height, width, channels]`. */
  readonly inputShape: readonly number[];
  /** Layers in forward order. */
  readonly layers: readonly LayerDef[];
  /** What the output means. */
  readonly task: Task;
  /** Classes of a `multiclass` model; 1 otherwise. */
  readonly outputs: number;
}

/** One weight tensor of a model. */
export interface WeightSpec {
  /** Keras-style name, e.g. `conv1/kernel`, `bn/moving_mean`. */
  readonly name: string;
  /** Tensor shape. */
  readonly shape: readonly number[];
  /** Number of values. */
  readonly size: number;
  /** Whether training changes it by gradient (batch-norm statistics and frozen layers do not). */
  readonly trainable: boolean;
  /** Initial values without a weights file: Glorot-uniform, zeros or ones (Keras' defaults). */
  readonly init: "glorot" | "zeros" | "ones";
}

function weight(
  name: string,
  shape: number[],
  trainable: boolean,
  init: WeightSpec["init"],
): WeightSpec {
  return { name, shape, size: shape.reduce((a, b) => a * b, 1), trainable, init };
}

function bad(def: ModelDef, layer: LayerDef, why: string): never {
  throw new FlheError("input", `model ${def.name}: layer "${layer.name}" (${layer.kind}) ${why}`);
}

function poolOut(n: number, size: number, stride: number, padding: "same" | "valid"): number {
  return padding === "same" ? Math.ceil(n / stride) : Math.floor((n - size) / stride) + 1;
}

/** The output shape of one layer and the weights it owns. */
function layerShape(
  def: ModelDef,
  layer: LayerDef,
  input: readonly number[],
): { shape: number[]; weights: WeightSpec[] } {
  const n = layer.name;
  switch (layer.kind) {
    case "dense": {
      if (input.length !== 1) {
        bad(def, layer, `needs a flat input, got ${input.join("x")}; add a Flatten`);
      }
      const w = [weight(`${n}/kernel`, [input[0]!, layer.units], layer.trainable, "glorot")];
      if (layer.useBias) w.push(weight(`${n}/bias`, [layer.units], layer.trainable, "zeros"));
      return { shape: [layer.units], weights: w };
    }
    case "conv2d": {
      if (input.length !== 3) {
        bad(def, layer, `needs a height x width x channels input, got ${input.join("x")}`);
      }
      const [h, w, c] = input as [number, number, number];
      const [kh, kw] = layer.kernel;
      const shape = layer.padding === "same"
        ? [h, w, layer.filters]
        : [h - kh + 1, w - kw + 1, layer.filters];
      if (shape[0]! < 1 || shape[1]! < 1) {
        bad(def, layer, `kernel ${kh}x${kw} is larger than its ${h}x${w} input`);
      }
      const ws = [weight(`${n}/kernel`, [kh, kw, c, layer.filters], layer.trainable, "glorot")];
      if (layer.useBias) ws.push(weight(`${n}/bias`, [layer.filters], layer.trainable, "zeros"));
      return { shape, weights: ws };
    }
    case "pool": {
      if (input.length !== 3) {
        bad(def, layer, `needs a height x width x channels input, got ${input.join("x")}`);
      }
      const [h, w, c] = input as [number, number, number];
      const shape = [
        poolOut(h, layer.size[0], layer.strides[0], layer.padding),
        poolOut(w, layer.size[1], layer.strides[1], layer.padding),
        c,
      ];
      if (shape[0]! < 1 || shape[1]! < 1) bad(def, layer, `pools ${h}x${w} to nothing`);
      return { shape, weights: [] };
    }
    case "globalAvgPool":
      if (input.length !== 3) {
        bad(def, layer, `needs a height x width x channels input, got ${input.join("x")}`);
      }
      return { shape: [input[2]!], weights: [] };
    case "flatten":
      return { shape: [input.reduce((a, b) => a * b, 1)], weights: [] };
    case "batchNorm": {
      const c = input[input.length - 1]!;
      const ws: WeightSpec[] = [];
      if (layer.scale) ws.push(weight(`${n}/gamma`, [c], layer.trainable, "ones"));
      if (layer.center) ws.push(weight(`${n}/beta`, [c], layer.trainable, "zeros"));
      ws.push(weight(`${n}/moving_mean`, [c], false, "zeros"));
      ws.push(weight(`${n}/moving_variance`, [c], false, "ones"));
      return { shape: [...input], weights: ws };
    }
    default:
      return { shape: [...input], weights: [] };
  }
}

/**
 * Every weight tensor of a model, in the order of its flat weight vector,
 * and the shape of its output.
 *
 * @param def The model.
 * @returns The weight tensors and the output shape.
 * @throws {FlheError} `input` naming the layer whose input shape does not fit it.
 * @example
 * ```ts
 * const { weights } = modelWeights(def);
 * ```
 */
export function modelWeights(def: ModelDef): { weights: WeightSpec[]; outputShape: number[] } {
  let shape = [...def.inputShape];
  const weights: WeightSpec[] = [];
  for (const layer of def.layers) {
    const out = layerShape(def, layer, shape);
    shape = out.shape;
    weights.push(...out.weights);
  }
  const names = new Set<string>();
  for (const w of weights) {
    if (names.has(w.name)) {
      throw new FlheError("input", `model ${def.name}: two layers own a weight named ${w.name}`);
    }
    names.add(w.name);
  }
  return { weights, outputShape: shape };
}

/**
 * The output shape of each layer, without the batch axis.
 *
 * @param def The model.
 * @returns One shape per layer, in forward order.
 * @throws {FlheError} As {@link modelWeights}.
 * @example
 * ```ts
 * layerOutputShapes(def)[0]; // [28, 28, 6] for lenet5's first convolution
 * ```
 */
export function layerOutputShapes(def: ModelDef): number[][] {
  let shape = [...def.inputShape];
  return def.layers.map((layer) => (shape = layerShape(def, layer, shape).shape));
}

/**
 * Number of values in a model's flat weight vector (every weight tensor,
 * batch-norm statistics included: they are averaged like the rest).
 *
 * @param def The model.
 * @returns The parameter count.
 * @throws {FlheError} As {@link modelWeights}.
 * @example
 * ```ts
 * parameterCount(def); // 61706 for lenet5
 * ```
 */
export function parameterCount(def: ModelDef): number {
  return modelWeights(def).weights.reduce((s, w) => s + w.size, 0);
}
