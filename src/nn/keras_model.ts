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
import {
  type ActivationName,
  ACTIVATIONS,
  type LayerDef,
  type ModelDef,
  type Task,
} from "./layers.ts";

/** One entry of a weights manifest group. */
export interface ManifestWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
}

/** A weights manifest group: shard files and the weights stored in them, in order. */
export interface ManifestGroup {
  readonly paths: readonly string[];
  readonly weights: readonly ManifestWeight[];
}

/** What a `model.json` holds. */
export interface KerasModel {
  /** The model. */
  readonly def: ModelDef;
  /** The weights manifest, if the file has one. */
  readonly manifest?: readonly ManifestGroup[];
}

/** Layer classes flhe trains (Keras class names). */
export const SUPPORTED_LAYERS: readonly string[] = [
  "InputLayer",
  "Dense",
  "Conv2D",
  "MaxPooling2D",
  "AveragePooling2D",
  "GlobalAveragePooling2D",
  "Flatten",
  "Dropout",
  "BatchNormalization",
  "Activation",
];

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A raw layer of the topology: class, config, and (functional) its inputs. */
interface RawLayer {
  readonly className: string;
  readonly config: Obj;
  readonly name: string;
  readonly inbound: string[];
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
  const inputShape = findInputShape(raw, file);
  const layers = raw.filter((l) => l.className !== "InputLayer").map((l) => toLayer(l, file));
  if (layers.length === 0) fail("the model has no layers");
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

/** Fields of a layer's config, each refused with the layer's name when wrong. */
function fields(l: RawLayer, file: string) {
  const where = `${file}: layer "${l.name}" (${l.className})`;
  const fail = (why: string): never => {
    throw new FlheError("input", `${where} ${why}`);
  };
  const c = l.config;
  return {
    fail,
    int: (key: string): number => {
      const v = c[key];
      return Number.isInteger(v) && (v as number) > 0
        ? v as number
        : fail(`has ${key} ${JSON.stringify(v)}, not a positive integer`);
    },
    pair: (key: string, fallback?: readonly [number, number]): [number, number] => {
      const v = c[key] ?? fallback;
      const p = typeof v === "number" ? [v, v] : v;
      if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x) && x > 0)) {
        return fail(`has ${key} ${JSON.stringify(v)}, not a pair of positive integers`);
      }
      return [p[0], p[1]];
    },
    activation: (key = "activation"): ActivationName => {
      const v = c[key] ?? "linear";
      const name = isObj(v) && typeof v.class_name === "string" ? v.class_name.toLowerCase() : v;
      return ACTIVATIONS.includes(name as ActivationName)
        ? name as ActivationName
        : fail(`has activation ${JSON.stringify(name)}, not one of ${ACTIVATIONS.join(", ")}`);
    },
    padding: (): "same" | "valid" => {
      const v = c.padding ?? "valid";
      return v === "same" || v === "valid"
        ? v
        : fail(`has padding ${JSON.stringify(v)}, not same or valid`);
    },
    bool: (key: string, fallback: boolean): boolean =>
      typeof c[key] === "boolean" ? c[key] as boolean : fallback,
    num: (key: string, fallback: number): number =>
      typeof c[key] === "number" ? c[key] as number : fallback,
  };
}

function checkCommon(l: RawLayer, file: string): void {
  const { fail } = fields(l, file);
  const c = l.config;
  for (
    const key of [
      "kernel_regularizer",
      "bias_regularizer",
      "activity_regularizer",
      "kernel_constraint",
      "bias_constraint",
      "beta_regularizer",
      "gamma_regularizer",
    ]
  ) {
    if (c[key] !== undefined && c[key] !== null) {
      fail(`has a ${key}, which flhe does not train with; remove it`);
    }
  }
  if (
    c.dtype !== undefined && c.dtype !== "float32" &&
    !(isObj(c.dtype) && isObj(c.dtype.config) && c.dtype.config.name === "float32")
  ) {
    fail(`has dtype ${JSON.stringify(c.dtype)}; flhe trains float32 models`);
  }
  if (c.data_format !== undefined && c.data_format !== "channels_last") {
    fail(`has data_format ${JSON.stringify(c.data_format)}; flhe trains channels_last models`);
  }
}

function toLayer(l: RawLayer, file: string): LayerDef {
  if (!SUPPORTED_LAYERS.includes(l.className)) {
    throw new FlheError(
      "input",
      `${file}: layer "${l.name}" has class ${l.className}, which flhe does not train (supported: ${
        SUPPORTED_LAYERS.join(", ")
      })`,
    );
  }
  checkCommon(l, file);
  const f = fields(l, file);
  const name = l.name;
  const trainable = f.bool("trainable", true);
  switch (l.className) {
    case "Dense":
      return {
        kind: "dense",
        name,
        units: f.int("units"),
        activation: f.activation(),
        useBias: f.bool("use_bias", true),
        trainable,
      };
    case "Conv2D": {
      if (f.pair("strides", [1, 1]).some((s) => s !== 1)) {
        f.fail("has strides other than 1, which flhe's training kernels do not support");
      }
      if (f.pair("dilation_rate", [1, 1]).some((s) => s !== 1)) {
        f.fail("has a dilation rate other than 1, which flhe does not support");
      }
      if ((l.config.groups ?? 1) !== 1) {
        f.fail("has groups other than 1, which flhe does not support");
      }
      return {
        kind: "conv2d",
        name,
        filters: f.int("filters"),
        kernel: f.pair("kernel_size"),
        padding: f.padding(),
        activation: f.activation(),
        useBias: f.bool("use_bias", true),
        trainable,
      };
    }
    case "MaxPooling2D":
    case "AveragePooling2D": {
      const size = f.pair("pool_size", [2, 2]);
      return {
        kind: "pool",
        name,
        op: l.className === "MaxPooling2D" ? "max" : "avg",
        size,
        strides: l.config.strides === null || l.config.strides === undefined
          ? size
          : f.pair("strides"),
        padding: f.padding(),
      };
    }
    case "GlobalAveragePooling2D":
      if (l.config.keepdims === true) {
        f.fail("keeps dimensions (keepdims), which flhe does not support");
      }
      return { kind: "globalAvgPool", name };
    case "Flatten":
      return { kind: "flatten", name };
    case "Dropout": {
      const rate = f.num("rate", NaN);
      if (!(rate >= 0 && rate < 1)) f.fail(`has rate ${rate}, not in [0, 1)`);
      if (l.config.noise_shape !== undefined && l.config.noise_shape !== null) {
        f.fail("has a noise_shape, which flhe does not support");
      }
      return { kind: "dropout", name, rate };
    }
    case "BatchNormalization": {
      const axis = Array.isArray(l.config.axis) ? l.config.axis : [l.config.axis ?? -1];
      if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== 1 && axis[0] !== 3)) {
        f.fail(
          `normalizes axis ${
            JSON.stringify(l.config.axis)
          }; flhe normalizes the last (channel) axis only`,
        );
      }
      return {
        kind: "batchNorm",
        name,
        momentum: f.num("momentum", 0.99),
        epsilon: f.num("epsilon", 1e-3),
        center: f.bool("center", true),
        scale: f.bool("scale", true),
        trainable,
      };
    }
    default:
      return { kind: "activation", name, activation: f.activation() };
  }
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

function parseManifest(value: unknown, file: string): ManifestGroup[] {
  const fail = (why: string): never => {
    throw new FlheError("input", `${file}: weightsManifest ${why}`);
  };
  if (!Array.isArray(value)) return fail("is not a list of groups");
  return value.map((g, i) => {
    if (!isObj(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      return fail(`group ${i} has no paths and weights lists`);
    }
    const paths = g.paths.map((
      p,
    ) => (typeof p === "string" && p !== "" && !p.includes("..") && !p.startsWith("/")
      ? p
      : fail(`group ${i} has a bad path ${JSON.stringify(p)}`))
    );
    const weights = g.weights.map((w, j): ManifestWeight => {
      if (!isObj(w) || typeof w.name !== "string" || !Array.isArray(w.shape)) {
        return fail(`group ${i} weight ${j} has no name and shape`);
      }
      if (w.quantization !== undefined) {
        fail(`weight ${w.name} is quantized; save the model with float32 weights`);
      }
      const dtype = typeof w.dtype === "string" ? w.dtype : "float32";
      if (dtype !== "float32") {
        fail(`weight ${w.name} has dtype ${dtype}; flhe reads float32 weights`);
      }
      if (!w.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        fail(`weight ${w.name} has shape ${JSON.stringify(w.shape)}`);
      }
      return { name: w.name, shape: w.shape as number[], dtype };
    });
    return { paths, weights };
  });
}
