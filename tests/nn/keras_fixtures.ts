/**
 * Hand-written `model.json` files as `tensorflowjs_converter --input_format
 * keras` writes them from a Keras 2 model (topology under `model_config`,
 * every layer config in full, a weights manifest with one
 * `group1-shard1of1.bin`), for the nn tests and the end-to-end tests of the
 * parties.
 *
 * @module
 */

import { Rng } from "../../src/util/rng.ts";

/**
 * A Keras model.json as tensorflowjs_converter writes it (topology under model_config).
 *
 * @param layers The `config.layers` list.
 * @param className `Sequential`, `Functional` or `Model`.
 * @param extra More fields of `config` (a functional model's `input_layers`, `output_layers`).
 * @returns The JSON value.
 */
export function converterJson(
  layers: unknown[],
  className = "Sequential",
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    format: "layers-model",
    generatedBy: "keras v2.15.0",
    convertedBy: "TensorFlow.js Converter v4.22.0",
    modelTopology: {
      keras_version: "2.15.0",
      backend: "tensorflow",
      model_config: { class_name: className, config: { name: "net", layers, ...extra } },
      training_config: {
        loss: "sparse_categorical_crossentropy",
        metrics: [],
        optimizer_config: { class_name: "Adam", config: { learning_rate: 0.001 } },
      },
    },
  };
}

const glorot = { class_name: "GlorotUniform", config: { seed: null } };
const zeros = { class_name: "Zeros", config: {} };
const ones = { class_name: "Ones", config: {} };

/**
 * The layers of a small CNN for 28x28x1 images, with the configs Keras 2's
 * `get_config()` gives (Conv2D(4, 3x3, relu), BatchNormalization(momentum
 * 0.9), MaxPooling2D(2), Flatten, Dropout(0.25), Dense(10, softmax)); 6,826
 * weights, batch-norm statistics included. The momentum is not Keras'
 * default 0.99, whose moving statistics would lag the few local steps of a
 * quick test far behind.
 */
export const SMALL_CNN_LAYERS: readonly { class_name: string; config: Record<string, unknown> }[] =
  [
    {
      class_name: "InputLayer",
      config: {
        batch_input_shape: [null, 28, 28, 1],
        dtype: "float32",
        sparse: false,
        ragged: false,
        name: "input_1",
      },
    },
    {
      class_name: "Conv2D",
      config: {
        name: "conv2d",
        trainable: true,
        dtype: "float32",
        filters: 4,
        kernel_size: [3, 3],
        strides: [1, 1],
        padding: "valid",
        data_format: "channels_last",
        dilation_rate: [1, 1],
        groups: 1,
        activation: "relu",
        use_bias: true,
        kernel_initializer: glorot,
        bias_initializer: zeros,
        kernel_regularizer: null,
        bias_regularizer: null,
        activity_regularizer: null,
        kernel_constraint: null,
        bias_constraint: null,
      },
    },
    {
      class_name: "BatchNormalization",
      config: {
        name: "batch_normalization",
        trainable: true,
        dtype: "float32",
        axis: [3],
        momentum: 0.9,
        epsilon: 0.001,
        center: true,
        scale: true,
        beta_initializer: zeros,
        gamma_initializer: ones,
        moving_mean_initializer: zeros,
        moving_variance_initializer: ones,
        beta_regularizer: null,
        gamma_regularizer: null,
        beta_constraint: null,
        gamma_constraint: null,
      },
    },
    {
      class_name: "MaxPooling2D",
      config: {
        name: "max_pooling2d",
        trainable: true,
        dtype: "float32",
        pool_size: [2, 2],
        padding: "valid",
        strides: [2, 2],
        data_format: "channels_last",
      },
    },
    {
      class_name: "Flatten",
      config: { name: "flatten", trainable: true, dtype: "float32", data_format: "channels_last" },
    },
    {
      class_name: "Dropout",
      config: {
        name: "dropout",
        trainable: true,
        dtype: "float32",
        rate: 0.25,
        noise_shape: null,
        seed: null,
      },
    },
    {
      class_name: "Dense",
      config: {
        name: "dense",
        trainable: true,
        dtype: "float32",
        units: 10,
        activation: "softmax",
        use_bias: true,
        kernel_initializer: glorot,
        bias_initializer: zeros,
        kernel_regularizer: null,
        bias_regularizer: null,
        activity_regularizer: null,
        kernel_constraint: null,
        bias_constraint: null,
      },
    },
  ];

/** The weights of {@link SMALL_CNN_LAYERS}, in Keras' `model.weights` order. */
export const SMALL_CNN_WEIGHTS: readonly { name: string; shape: number[] }[] = [
  { name: "conv2d/kernel", shape: [3, 3, 1, 4] },
  { name: "conv2d/bias", shape: [4] },
  { name: "batch_normalization/gamma", shape: [4] },
  { name: "batch_normalization/beta", shape: [4] },
  { name: "batch_normalization/moving_mean", shape: [4] },
  { name: "batch_normalization/moving_variance", shape: [4] },
  { name: "dense/kernel", shape: [13 * 13 * 4, 10] },
  { name: "dense/bias", shape: [10] },
];

/**
 * The small CNN as the converter writes it, Sequential or functional (Keras
 * 2's `inbound_nodes` format), with its weights manifest.
 *
 * @param className `Sequential`, or `Functional` (Keras >= 2.4) or `Model` for the functional API.
 * @returns The model.json's value.
 */
export function smallCnnJson(
  className: "Sequential" | "Functional" | "Model",
): Record<string, unknown> {
  const layers = className === "Sequential" ? SMALL_CNN_LAYERS : SMALL_CNN_LAYERS.map((l, i) => ({
    class_name: l.class_name,
    config: l.config,
    name: l.config.name,
    inbound_nodes: i === 0 ? [] : [[[SMALL_CNN_LAYERS[i - 1]!.config.name, 0, 0, {}]]],
  }));
  const extra = className === "Sequential" ? {} : {
    input_layers: [["input_1", 0, 0]],
    output_layers: [["dense", 0, 0]],
  };
  return {
    ...converterJson([...layers], className, extra),
    weightsManifest: [{
      paths: ["group1-shard1of1.bin"],
      weights: SMALL_CNN_WEIGHTS.map((w) => ({ ...w, dtype: "float32" })),
    }],
  };
}

/**
 * Seeded initial weights of the small CNN as an untrained Keras model has
 * them: Glorot-uniform kernels, zero biases, batch-norm gamma 1, beta 0,
 * moving mean 0 and moving variance 1.
 *
 * @param seed Seed of the kernels.
 * @returns The flat weights, in manifest order (the `.bin`'s float32 values).
 */
export function smallCnnWeights(seed: number): Float32Array {
  const rng = new Rng(seed);
  const parts = SMALL_CNN_WEIGHTS.map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    if (name.endsWith("/kernel")) {
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const fanOut = shape.slice(0, -2).reduce((a, b) => a * b, 1) * shape.at(-1)!;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return Float32Array.from({ length: size }, () => (2 * rng.float() - 1) * limit);
    }
    const one = name.endsWith("/gamma") || name.endsWith("/moving_variance");
    return new Float32Array(size).fill(one ? 1 : 0);
  });
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Writes the small CNN's `model.json` and `group1-shard1of1.bin` into a folder.
 *
 * @param dir The folder (created).
 * @param className As {@link smallCnnJson}.
 * @param seed As {@link smallCnnWeights}.
 * @returns The model.json's path and the weights written.
 */
export async function writeSmallCnn(
  dir: string,
  className: "Sequential" | "Functional" | "Model",
  seed: number,
): Promise<{ path: string; weights: Float32Array }> {
  const weights = smallCnnWeights(seed);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(smallCnnJson(className)));
  // float32 little-endian, as the converter writes (and as every machine here stores them).
  const view = new DataView(new ArrayBuffer(weights.length * 4));
  weights.forEach((v, i) => view.setFloat32(4 * i, v, true));
  await Deno.writeFile(`${dir}/group1-shard1of1.bin`, new Uint8Array(view.buffer));
  return { path: `${dir}/model.json`, weights };
}
