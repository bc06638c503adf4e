/**
 * The built-in models, written as TensorFlow.js Layers topologies (the
 * `modelTopology` of a `model.json`), so that a built-in and a model file
 * take the same path: the topology goes into every bundle and is read back
 * by {@link parseKerasModel}.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { ActivationName, Task } from "./layers.ts";

/** Names of the built-in models. */
export type BuiltinName = "lenet5" | "lenet5-tanh" | "mlp" | "logreg" | "cnn32";

/** The built-ins with a line each, for `--help`. */
export const BUILTIN_MODELS: Readonly<Record<BuiltinName, string>> = {
  lenet5: "LeNet-5 for 28x28x1 images (61,706 parameters with 10 classes)",
  "lenet5-tanh": "LeNet-5 with tanh activations, the model for DP-SGD (bounded activations)",
  mlp: "multi-layer perceptron, mlp:H1,H2,... hidden ReLU sizes (default mlp:64)",
  logreg: "logistic (softmax) or linear regression: one Dense layer",
  cnn32: "small CNN for 32x32x3 images: 3 conv 3x3 + pool blocks (16, 32, 64), one Dense",
};

/** A `--model` value: a built-in (with hidden sizes for `mlp`) or a `model.json` path. */
export type ModelSpec =
  | { readonly builtin: BuiltinName; readonly hidden: readonly number[] }
  | { readonly file: string };

/**
 * Parses a `--model` value: `lenet5`, `mlp`, `mlp:128,64`, `logreg`,
 * `cnn32`, or a path ending in `.json`.
 *
 * @param spec The value.
 * @returns The built-in or the file.
 * @throws {FlheError} `usage` naming the value.
 * @example
 * ```ts
 * parseModelSpec("mlp:32,16"); // { builtin: "mlp", hidden: [32, 16] }
 * ```
 */
export function parseModelSpec(spec: string): ModelSpec {
  if (spec.endsWith(".json")) return { file: spec };
  const [name, sizes] = spec.split(":", 2) as [string, string | undefined];
  if (!(name in BUILTIN_MODELS)) {
    throw new FlheError(
      "usage",
      `--model: '${spec}' is neither a built-in (${
        Object.keys(BUILTIN_MODELS).join(", ")
      }) nor a model.json file`,
    );
  }
  if (sizes !== undefined && name !== "mlp") {
    throw new FlheError("usage", `--model: '${spec}': only mlp takes sizes`);
  }
  const hidden = sizes === undefined
    ? (name === "mlp" ? [64] : [])
    : sizes.split(",").map((s) => Number(s));
  if (hidden.some((h) => !Number.isInteger(h) || h < 1 || h > 65_536)) {
    throw new FlheError("usage", `--model: '${spec}': hidden sizes must be integers 1-65536`);
  }
  return { builtin: name as BuiltinName, hidden };
}

/** What a built-in is built for. */
export interface BuiltinOptions {
  /** Example shape: `[features]` or `[height, width, channels]`. */
  readonly inputShape: readonly number[];
  /** The task of the output layer. */
  readonly task: Task;
  /** Classes of a multiclass model. */
  readonly classes: number;
  /** Hidden sizes of `mlp`. */
  readonly hidden?: readonly number[];
}

type LayerJson = { class_name: string; config: Record<string, unknown> };

function layer(className: string, config: Record<string, unknown>): LayerJson {
  return { class_name: className, config: { trainable: true, dtype: "float32", ...config } };
}

function dense(name: string, units: number, activation: ActivationName): LayerJson {
  return layer("Dense", { name, units, activation, use_bias: true });
}

function conv(
  name: string,
  filters: number,
  size: number,
  padding: string,
  activation: ActivationName = "relu",
): LayerJson {
  return layer("Conv2D", {
    name,
    filters,
    kernel_size: [size, size],
    strides: [1, 1],
    padding,
    data_format: "channels_last",
    dilation_rate: [1, 1],
    activation,
    use_bias: true,
  });
}

function pool(name: string): LayerJson {
  return layer("MaxPooling2D", {
    name,
    pool_size: [2, 2],
    strides: [2, 2],
    padding: "valid",
    data_format: "channels_last",
  });
}

function outputLayer(name: string, o: BuiltinOptions): LayerJson {
  if (o.task === "multiclass") return dense(name, o.classes, "softmax");
  return dense(name, 1, o.task === "binary" ? "sigmoid" : "linear");
}

function needImage(name: string, o: BuiltinOptions, c?: number): void {
  const s = o.inputShape;
  if (s.length !== 3 || (c !== undefined && s[2] !== c)) {
    throw new FlheError(
      "usage",
      `--model ${name}: needs ${
        c === undefined ? "height x width x channels" : `HxWx${c}`
      } images, not input shape ${s.join("x")}`,
    );
  }
}

/**
 * The topology of a built-in model (a Keras `Sequential` as TensorFlow.js
 * writes it). `lenet5`'s layer names and order are those of the
 * hand-written LeNet-5 that flhe trained before (weights `conv1/kernel`, ...).
 *
 * @param name The built-in.
 * @param o Input shape, task, classes, hidden sizes.
 * @returns The `modelTopology` object.
 * @throws {FlheError} `usage` if the input shape does not suit the model.
 * @example
 * ```ts
 * builtinTopology("mlp", { inputShape: [4], task: "multiclass", classes: 3, hidden: [16] });
 * ```
 */
export function builtinTopology(name: BuiltinName, o: BuiltinOptions): Record<string, unknown> {
  const input = layer("InputLayer", { name: "input", batch_input_shape: [null, ...o.inputShape] });
  const flat = o.inputShape.length > 1 ? [layer("Flatten", { name: "flatten" })] : [];
  let layers: LayerJson[];
  switch (name) {
    case "lenet5":
    case "lenet5-tanh": {
      needImage(name, o);
      // Bounded activations keep per-example gradients of like size, which
      // clipping then distorts less (Papernot et al., "Tempered Sigmoid
      // Activations for Deep Learning with Differential Privacy", 2021).
      const a: ActivationName = name === "lenet5" ? "relu" : "tanh";
      layers = [
        conv("conv1", 6, 5, "same", a),
        pool("pool1"),
        conv("conv2", 16, 5, "valid", a),
        pool("pool2"),
        layer("Flatten", { name: "flatten" }),
        dense("dense1", 120, a),
        dense("dense2", 84, a),
        outputLayer("dense3", o),
      ];
      break;
    }
    case "cnn32":
      needImage(name, o);
      layers = [
        conv("conv1", 16, 3, "same"),
        pool("pool1"),
        conv("conv2", 32, 3, "same"),
        pool("pool2"),
        conv("conv3", 64, 3, "same"),
        pool("pool3"),
        layer("Flatten", { name: "flatten" }),
        outputLayer("output", o),
      ];
      break;
    case "mlp":
      layers = [
        ...flat,
        ...(o.hidden ?? [64]).map((h, i) => dense(`dense${i + 1}`, h, "relu")),
        outputLayer("output", o),
      ];
      break;
    default:
      layers = [...flat, outputLayer("output", o)];
  }
  return {
    class_name: "Sequential",
    config: { name, layers: [input, ...layers] },
    keras_version: "tfjs-layers 4.22.0",
    backend: "tensor_flow.js",
  };
}
