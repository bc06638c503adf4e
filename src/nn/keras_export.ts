/**
 * Writing a TensorFlow.js Layers model: a `model.json` (the topology as
 * given, and a weights manifest) and one weights shard from flhe's flat
 * weight vector. It is the inverse of reading one ({@link parseKerasModel}
 * and {@link weightsFromManifest}): the weights are named, shaped and
 * ordered as the reader finds them, so `tf.loadLayersModel` loads the
 * result and `tensorflowjs_converter --input_format tfjs_layers_model
 * --output_format keras` turns it into a Keras model.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { modelWeights, parameterCount } from "./layers.ts";
import { isObj } from "./keras_layers.ts";
import { parseKerasModel } from "./keras_model.ts";
import { weightsManifest } from "./keras_weights.ts";

/** What goes into a written model besides the topology and weights. */
export interface LayersModelOptions {
  /** The `generatedBy` field: what produced the weights. */
  readonly generatedBy: string;
  /** The `convertedBy` field: what wrote the file. */
  readonly convertedBy: string;
  /** The shard's file name, relative to the `model.json` (default `weights.bin`). */
  readonly shardName?: string;
  /** The `userDefinedMetadata` field (a JSON object), if any. */
  readonly metadata?: Record<string, unknown>;
  /** Names the topology in errors (default `model.json`). */
  readonly file?: string;
}

/** A TensorFlow.js Layers model, ready to write. */
export interface LayersModelFiles {
  /** The `model.json` value. */
  readonly modelJson: Record<string, unknown>;
  /** The shard's name, as the manifest lists it. */
  readonly shardName: string;
  /** The shard's bytes: float32, little-endian, in the manifest's order. */
  readonly weightData: Uint8Array;
}

/**
 * A TensorFlow.js Layers model from a topology and a flat weight vector.
 * The `modelTopology` is the one given, untouched (a Keras converter's
 * `keras_version`, `model_config` and `training_config` included); any
 * weights manifest it had is replaced by one for `weights`, one shard of
 * float32 weights named `layer/weight` as the model's layers own them
 * (batch-norm moving statistics included).
 *
 * @param topology A `model.json` value (with `modelTopology`) or a bare
 *   topology, as {@link parseKerasModel} reads it.
 * @param weights The flat weight vector, in the order {@link modelWeights} gives.
 * @param options Producer fields, shard name and metadata.
 * @returns The `model.json` value and the shard.
 * @throws {FlheError} `input` naming the file for a topology flhe cannot
 *   read, a vector of the wrong length, or a weight that is not finite.
 * @example
 * ```ts
 * const files = layersModelFiles(json, weights, { generatedBy: "flhe", convertedBy: "flhe" });
 * await Deno.writeFile("out/weights.bin", files.weightData);
 * await Deno.writeTextFile("out/model.json", JSON.stringify(files.modelJson));
 * ```
 */
export function layersModelFiles(
  topology: unknown,
  weights: Float32Array,
  options: LayersModelOptions,
): LayersModelFiles {
  const file = options.file ?? "model.json";
  const { def } = parseKerasModel(topology, file);
  const count = parameterCount(def);
  if (weights.length !== count) {
    throw new FlheError(
      "input",
      `${file}: ${weights.length} weights given, the topology has ${count}`,
    );
  }
  // The reader refuses a weight that is not finite: so does the writer.
  const bad = weights.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    let start = 0;
    const spec = modelWeights(def).weights.find((w) => (start += w.size) > bad)!;
    throw new FlheError(
      "input",
      `${file}: weight ${spec.name} value ${bad - (start - spec.size)} is ${weights[bad]}`,
    );
  }
  const shardName = options.shardName ?? "weights.bin";
  const { manifest, shard } = weightsManifest(def, weights, shardName);
  const source = isObj(topology) ? topology : {};
  const modelTopology = "modelTopology" in source ? source.modelTopology : topology;
  return {
    modelJson: {
      format: "layers-model",
      generatedBy: options.generatedBy,
      convertedBy: options.convertedBy,
      modelTopology,
      // tf.LayersModel.save() keeps the compile settings beside the topology.
      ...("trainingConfig" in source ? { trainingConfig: source.trainingConfig } : {}),
      weightsManifest: manifest,
      ...(options.metadata === undefined ? {} : { userDefinedMetadata: options.metadata }),
    },
    shardName,
    weightData: shard,
  };
}
