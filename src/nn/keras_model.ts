/**
 * Reading a TensorFlow.js Layers `model.json`: the file `tensorflowjs_converter`
 * writes from a Keras model and `tf.LayersModel.save()` / `toJSON()` write.
 * Sequential and functional models that are one chain of supported layers
 * become a {@link ModelDef}; anything else is refused with one line naming
 * the layer and why.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { ActivationName, LayerDef, ModelDef, Task } from "./layers.ts";
import {
  isObj,
  type ManifestGroup,
  type Obj,
  parseManifest,
  type RawLayer,
  toLayer,
} from "./keras_layers.ts";

export { type ManifestGroup, type ManifestWeight, SUPPORTED_LAYERS } from "./keras_layers.ts";

/** What a `model.json` holds. */
export interface KerasModel {
  /** The model. */
  readonly def: ModelDef;
  /** The weights manifest, if the file has one. */
  readonly manifest?: readonly ManifestGroup[];
}

/**
 * Parses a `model.json` (artifacts with `modelTopology` and
 * `weightsManifest`, or a bare topology as `toJSON()` gives).
 *
 * @param value The parsed JSON.
 * @param file Names the file in errors.
 * @param taskHint The task, where the output layer leaves it open (one linear unit:
 *   `regression` unless told `binary`, for a model trained on logits).
 * @returns The model and its weights manifest.
 * @throws {FlheError} `input`, one line naming the file and the layer or field.
 * @example
 * ```ts
 * const { def } = parseKerasModel(JSON.parse(await Deno.readTextFile("model.json")), "model.json");
 * ```
 */
export function parseKerasModel(value: unknown, file: string, taskHint?: Task): KerasModel {
  const fail = (why: string): never => {
    throw new FlheError("input", `${file}: ${why}`);
  };
  if (!isObj(value)) return fail("not a TensorFlow.js model.json (expected a JSON object)");
  let topology: unknown = value.modelTopology ?? value;
  if (isObj(topology) && isObj(topology.model_config)) topology = topology.model_config;
  if (!isObj(topology) || typeof topology.class_name !== "string") {
    return fail("no model topology (expected modelTopology.class_name Sequential or Model)");
  }
  const raw = rawLayers(topology, file);
  const name = typeof (topology.config as Obj | undefined)?.name === "string"
    ? String((topology.config as Obj).name)
    : file;
  // Layers first: an LSTM model's sequence input is refused naming the LSTM.
  const rawBody = raw.filter((l) => l.className !== "InputLayer");
  const layers = rawBody.map((l) => toLayer(l, file));
  const inputShape = findInputShape(raw, file);
  if (layers.length === 0) fail("the model has no layers");
  checkNormAxes(rawBody, layers, inputShape.length, file);
  const { task, outputs, body } = outputTask(layers, file, taskHint);
  const manifest = value.weightsManifest === undefined
    ? undefined
    : parseManifest(value.weightsManifest, file);
  return { def: { name, inputShape, layers: body, task, outputs }, manifest };
}

function rawLayers(topology: Obj, file: string): RawLayer[] {
  const cls = topology.class_name as string;
  const config = topology.config;
  const list = Array.isArray(config) ? config : isObj(config) ? config.layers : undefined;
  if (!Array.isArray(list)) {
    throw new FlheError("input", `${file}: ${cls} model without a list of layers`);
  }
  const layers = list.map((l, i): RawLayer => {
    if (!isObj(l) || typeof l.class_name !== "string" || !isObj(l.config)) {
      throw new FlheError("input", `${file}: layer ${i} has no class_name and config`);
    }
    const name = typeof l.config.name === "string"
      ? l.config.name
      : typeof l.name === "string"
      ? l.name
      : `layer_${i}`;
    return {
      className: l.class_name,
      config: l.config,
      name,
      inbound: inboundNames(l.inbound_nodes),
    };
  });
  if (cls === "Sequential") return layers;
  if (cls === "Model" || cls === "Functional") return chain(layers, config as Obj, file);
  throw new FlheError(
    "input",
    `${file}: model class ${cls} is not supported (Sequential or Model)`,
  );
}

/** Names of the layers feeding a functional layer (Keras 2 and Keras 3 node formats). */
function inboundNames(nodes: unknown): string[] {
  if (!Array.isArray(nodes)) return [];
  const names: string[] = [];
  for (const node of nodes) {
    if (Array.isArray(node)) {
      for (const t of node) if (Array.isArray(t) && typeof t[0] === "string") names.push(t[0]);
    } else if (isObj(node) && Array.isArray(node.args)) {
      for (const a of node.args) {
        const history = isObj(a) && isObj(a.config) ? a.config.keras_history : undefined;
        if (Array.isArray(history) && typeof history[0] === "string") names.push(history[0]);
      }
    }
  }
  return names;
}

/** A functional model's layers in forward order, if they form one chain. */
function chain(layers: RawLayer[], config: Obj, file: string): RawLayer[] {
  const ends = (key: string): string[] =>
    Array.isArray(config[key])
      ? (config[key] as unknown[]).map((e) => (Array.isArray(e) ? String(e[0]) : String(e)))
      : [];
  const inputs = ends("input_layers");
  const outputs = ends("output_layers");
  if (inputs.length !== 1 || outputs.length !== 1) {
    throw new FlheError(
      "input",
      `${file}: a model with ${inputs.length} inputs and ${outputs.length} outputs; flhe trains one input and one output`,
    );
  }
  const byName = new Map(layers.map((l) => [l.name, l]));
  const ordered: RawLayer[] = [];
  let current = byName.get(inputs[0]!);
  const seen = new Set<string>();
  while (current && !seen.has(current.name)) {
    seen.add(current.name);
    ordered.push(current);
    if (current.name === outputs[0]) break;
    const name: string = current.name;
    const next = layers.filter((l) => l.inbound.includes(name));
    if (next.length !== 1) {
      throw new FlheError(
        "input",
        `${file}: layer "${name}" feeds ${next.length} layers; flhe trains models that are one chain of layers`,
      );
    }
    current = next[0];
  }
  const branching = layers.find((l) => l.inbound.length > 1 || !seen.has(l.name));
  if (branching) {
    throw new FlheError(
      "input",
      `${file}: layer "${branching.name}" (${branching.className}) is not on the one chain from input to output; flhe trains models that are one chain of layers`,
    );
  }
  return ordered;
}

/**
 * A batch-norm layer normalizes its input's last (channel) axis: Keras
 * writes it as -1 or as its index with the batch axis (1 after a Dense, 3
 * after a Conv2D); any other axis is refused, not silently trained as the
 * channel axis.
 */
function checkNormAxes(
  raw: RawLayer[],
  layers: LayerDef[],
  inputRank: number,
  file: string,
): void {
  let rank = inputRank;
  layers.forEach((layer, i) => {
    if (layer.kind === "batchNorm") {
      const given = raw[i]!.config.axis;
      const axis = Array.isArray(given) ? given[0] : given ?? -1;
      if (axis !== -1 && axis !== rank) {
        throw new FlheError(
          "input",
          `${file}: layer "${layer.name}" (BatchNormalization) normalizes axis ${axis}, not its input's last (channel) axis ${rank} (or -1), which is the only one flhe normalizes`,
        );
      }
    }
    if (layer.kind === "dense" || layer.kind === "flatten" || layer.kind === "globalAvgPool") {
      rank = 1;
    }
  });
}

function shapeOf(v: unknown): number[] | undefined {
  if (!Array.isArray(v) || v.length < 2) return undefined;
  const dims = v.slice(1);
  return dims.every((d) => Number.isInteger(d) && (d as number) > 0) ? dims as number[] : undefined;
}

function findInputShape(raw: RawLayer[], file: string): number[] {
  const first = raw[0]!;
  const shape = shapeOf(first.config.batch_input_shape) ?? shapeOf(first.config.batch_shape) ??
    (Array.isArray(first.config.input_shape)
      ? shapeOf([null, ...first.config.input_shape])
      : undefined);
  if (!shape) {
    throw new FlheError(
      "input",
      `${file}: layer "${first.name}" gives no complete input shape (batch_input_shape with every dimension but the batch)`,
    );
  }
  if (shape.length !== 1 && shape.length !== 3) {
    throw new FlheError(
      "input",
      `${file}: input shape ${
        shape.join("x")
      }: flhe trains on feature vectors or height x width x channels images`,
    );
  }
  return shape;
}

/** The task the output layer implies, and the layers with that output activation removed. */
function outputTask(
  layers: LayerDef[],
  file: string,
  taskHint?: Task,
): { task: Task; outputs: number; body: LayerDef[] } {
  const last = layers[layers.length - 1]!;
  let body = layers.slice();
  let activation: ActivationName;
  let dense: LayerDef | undefined;
  if (last.kind === "activation") {
    activation = last.activation;
    body = layers.slice(0, -1);
    dense = body[body.length - 1];
  } else {
    activation = last.kind === "dense" ? last.activation : "linear";
    dense = last;
  }
  if (!dense || dense.kind !== "dense") {
    throw new FlheError(
      "input",
      `${file}: the output layer "${last.name}" is not a Dense layer (with its activation)`,
    );
  }
  const units = dense.units;
  if (body.some((l, i) => i < body.length - 1 && "activation" in l && l.activation === "softmax")) {
    throw new FlheError("input", `${file}: softmax is allowed only on the output layer`);
  }
  const strip =
    (): LayerDef[] => [...body.slice(0, -1), { ...dense, activation: "linear" } as LayerDef];
  if (activation === "softmax" || (activation === "linear" && units > 1)) {
    if (units < 2) {
      throw new FlheError(
        "input",
        `${file}: a softmax output of ${units} unit; a classifier needs 2 or more`,
      );
    }
    return { task: "multiclass", outputs: units, body: strip() };
  }
  if (units !== 1) {
    throw new FlheError(
      "input",
      `${file}: an output of ${units} ${activation} units; flhe trains softmax classifiers, one sigmoid unit (binary) or one linear unit (regression)`,
    );
  }
  if (activation === "sigmoid") return { task: "binary", outputs: 1, body: strip() };
  if (activation === "linear") {
    return { task: taskHint === "binary" ? "binary" : "regression", outputs: 1, body: strip() };
  }
  throw new FlheError(
    "input",
    `${file}: output activation ${activation}; use softmax, sigmoid or linear`,
  );
}
