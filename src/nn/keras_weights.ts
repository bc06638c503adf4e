/**
 * The weights of a `model.json`: its weights manifest and shard files read
 * into flhe's flat weight vector, checked weight by weight against the
 * topology.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { ManifestGroup } from "./keras_layers.ts";
import { type ModelDef, modelWeights } from "./layers.ts";

/**
 * The shard files a manifest names, in order.
 *
 * @param manifest The weights manifest.
 * @returns Paths relative to the `model.json`.
 * @example
 * ```ts
 * manifestPaths([{ paths: ["group1-shard1of1.bin"], weights: [] }]); // ["group1-shard1of1.bin"]
 * ```
 */
export function manifestPaths(manifest: readonly ManifestGroup[]): string[] {
  return manifest.flatMap((g) => [...g.paths]);
}

/**
 * The flat weight vector from a manifest and its shards: each weight of the
 * model is found by its name (`layer/kernel`; a manifest name that ends in
 * `/layer/kernel` also matches), and must have the model's shape; every
 * manifest weight must belong to the model.
 *
 * @param def The model.
 * @param manifest Its weights manifest.
 * @param shards The bytes of each shard path.
 * @param file Names the `model.json` in errors.
 * @returns The weights, in the model's flat order.
 * @throws {FlheError} `input`, one line naming the file and the weight or shard.
 * @example
 * ```ts
 * const w = weightsFromManifest(def, manifest, new Map([["w.bin", bytes]]), "model.json");
 * ```
 */
export function weightsFromManifest(
  def: ModelDef,
  manifest: readonly ManifestGroup[],
  shards: ReadonlyMap<string, Uint8Array>,
  file: string,
): Float32Array {
  const found = new Map<string, { shape: readonly number[]; values: Float32Array }>();
  for (const group of manifest) {
    const parts = group.paths.map((p) => {
      const bytes = shards.get(p);
      if (!bytes) throw new FlheError("input", `${file}: weight file ${p} is missing`);
      return bytes;
    });
    const total = parts.reduce((s, b) => s + b.length, 0);
    const need = group.weights.reduce((s, w) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    if (total !== need) {
      throw new FlheError(
        "input",
        `${file}: weight files ${
          group.paths.join(", ")
        } hold ${total} bytes, the manifest's weights need ${need}`,
      );
    }
    const joined = new Uint8Array(total);
    let at = 0;
    for (const b of parts) {
      joined.set(b, at);
      at += b.length;
    }
    const view = new DataView(joined.buffer);
    let offset = 0;
    for (const w of group.weights) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(size);
      for (let i = 0; i < size; i++) values[i] = view.getFloat32(offset + 4 * i, true);
      offset += 4 * size;
      found.set(w.name, { shape: w.shape, values });
    }
  }
  const specs = modelWeights(def).weights;
  const out = new Float32Array(specs.reduce((s, w) => s + w.size, 0));
  const used = new Set<string>();
  let offset = 0;
  for (const spec of specs) {
    const candidates = found.has(spec.name)
      ? [spec.name]
      : [...found.keys()].filter((n) => n.endsWith(`/${spec.name}`));
    if (candidates.length !== 1) {
      throw new FlheError(
        "input",
        `${file}: the weights manifest has ${
          candidates.length === 0 ? "no" : `${candidates.length}`
        } weight named ${spec.name}`,
      );
    }
    const name = candidates[0]!;
    const entry = found.get(name)!;
    if (entry.shape.join("x") !== spec.shape.join("x")) {
      throw new FlheError(
        "input",
        `${file}: weight ${name} has shape ${entry.shape.join("x")}, the topology needs ${
          spec.shape.join("x")
        }`,
      );
    }
    const bad = entry.values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new FlheError("input", `${file}: weight ${name} value ${bad} is not finite`);
    }
    out.set(entry.values, offset);
    offset += spec.size;
    used.add(name);
  }
  const extra = [...found.keys()].find((n) => !used.has(n));
  if (extra !== undefined) {
    throw new FlheError(
      "input",
      `${file}: the weights manifest has weight ${extra}, which no layer owns`,
    );
  }
  return out;
}

/**
 * A weights manifest and one shard for a flat weight vector, in the format
 * `tf.loadLayersModel` reads (float32, little-endian), to hand a trained
 * model back to TensorFlow.js or Keras.
 *
 * @param def The model.
 * @param weights Its flat weight vector.
 * @param shardName File name of the one shard.
 * @returns The manifest and the shard's bytes.
 * @throws {FlheError} `input` if the vector's length is not the model's.
 * @example
 * ```ts
 * const { manifest, shard } = weightsManifest(def, weights, "weights.bin");
 * ```
 */
export function weightsManifest(
  def: ModelDef,
  weights: Float32Array,
  shardName: string,
): { manifest: ManifestGroup[]; shard: Uint8Array } {
  const specs = modelWeights(def).weights;
  const total = specs.reduce((s, w) => s + w.size, 0);
  if (weights.length !== total) {
    throw new FlheError("input", `nn: ${weights.length} weights for a model of ${total}`);
  }
  const shard = new Uint8Array(total * 4);
  const view = new DataView(shard.buffer);
  weights.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return {
    manifest: [{
      paths: [shardName],
      weights: specs.map((s) => ({ name: s.name, shape: s.shape, dtype: "float32" })),
    }],
    shard,
  };
}
