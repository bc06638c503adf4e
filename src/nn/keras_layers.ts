/**
 * The layers of a TensorFlow.js Layers topology, one Keras layer config at a
 * time, and its weights manifest: each checked field by field, refused with
 * one line naming the layer (or weight) and why.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { type ActivationName, ACTIVATIONS, type LayerDef } from "./layers.ts";

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

/** A JSON object. */
export type Obj = Record<string, unknown>;

/**
 * Whether a JSON value is an object (not an array, not null).
 *
 * @param v The value.
 * @returns `true` for an object.
 * @example
 * ```ts
 * isObj({}); // true
 * ```
 */
export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A raw layer of the topology: class, config, and (functional) its inputs. */
export interface RawLayer {
  readonly className: string;
  readonly config: Obj;
  readonly name: string;
  readonly inbound: string[];
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
      "beta_constraint",
      "gamma_constraint",
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

/**
 * One layer of flhe's from a Keras layer config.
 *
 * @param l The raw layer.
 * @param file Names the file in errors.
 * @returns The layer.
 * @throws {FlheError} `input` naming the layer: an unsupported class or field.
 * @example
 * ```ts
 * toLayer({ className: "Flatten", config: {}, name: "f", inbound: [] }, "model.json");
 * ```
 */
export function toLayer(l: RawLayer, file: string): LayerDef {
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

/**
 * Parses a `weightsManifest`: float32 weights only, paths inside the model's folder.
 *
 * @param value The manifest's JSON.
 * @param file Names the file in errors.
 * @returns The groups.
 * @throws {FlheError} `input` naming the group or weight.
 * @example
 * ```ts
 * parseManifest([{ paths: ["w.bin"], weights: [] }], "model.json");
 * ```
 */
export function parseManifest(value: unknown, file: string): ManifestGroup[] {
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
