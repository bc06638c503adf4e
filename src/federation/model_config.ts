/**
 * The model part of `federation.json` and the topology file of every
 * bundle: which model the owner chose (its `model.json`, by SHA-256), what
 * it learns, what its input looks like, and the input scaling the owner
 * fixed for every client. Every party checks its bundle's topology against
 * the recorded digest and the recorded parameter count.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { JsonFields } from "../util/fs.ts";
import { sha256Hex } from "../util/hex.ts";
import {
  LENET_DEF,
  type ModelDef,
  parameterCount,
  parseKerasModel,
  type Scaling,
  type Task,
  TASKS,
} from "../nn/mod.ts";

/** The model of a federation, as `federation.json` records it. */
export interface ModelConfig {
  /** The built-in's name (`lenet5`, `mlp`, ...) or the model file's name. */
  readonly name: string;
  /** SHA-256 of the bundle's `model.json`; absent in federations made before models were a choice (LeNet-5). */
  readonly topologySha256?: string;
  /** What the output means. */
  readonly task: Task;
  /** Shape of one example. */
  readonly inputShape: readonly number[];
  /** Classes (multiclass), else 1. */
  readonly outputs: number;
  /** Names of the classes when the labels are text (CSV, JSON); index = class. */
  readonly classNames?: readonly string[];
  /** Input scaling every party applies, `x' = (x - center) / divisor`. */
  readonly scaling: {
    readonly center: number | readonly number[];
    readonly divisor: number | readonly number[];
  };
}

/** The topology file in every bundle. */
export const MODEL_FILE = "model.json";

/** The model of federations whose `federation.json` says only `"model": "lenet"`. */
export const LEGACY_LENET: ModelConfig = {
  name: "lenet5",
  task: "multiclass",
  inputShape: [28, 28, 1],
  outputs: 10,
  scaling: { center: 0, divisor: 255 },
};

/**
 * Parses the `model` field of `federation.json` (an object, or the string
 * `"lenet"` of older federations).
 *
 * @param path Names the file in errors.
 * @param value The field's value.
 * @returns The model configuration.
 * @throws {FlheError} `input` naming the file and field.
 * @example
 * ```ts
 * parseModelConfig("federation.json", "lenet").name; // "lenet5"
 * ```
 */
export function parseModelConfig(path: string, value: unknown): ModelConfig {
  if (value === "lenet") return LEGACY_LENET;
  const f = new JsonFields(path, value, "model.");
  const raw = value as Record<string, unknown>;
  const fail = (field: string, why: string): never => {
    throw new FlheError("input", `${path}: field "model.${field}" ${why}`);
  };
  const inputShape = raw.inputShape;
  if (
    !Array.isArray(inputShape) || inputShape.length === 0 || inputShape.length > 3 ||
    !inputShape.every((d) => Number.isInteger(d) && d > 0 && d <= 1e6)
  ) fail("inputShape", "is not a list of 1 to 3 positive sizes");
  const size = (inputShape as number[]).reduce((a, b) => a * b, 1);
  const vector = (field: string, v: unknown, positive: boolean): number | number[] => {
    const ok = (x: unknown) => typeof x === "number" && Number.isFinite(x) && (!positive || x > 0);
    if (ok(v)) return v as number;
    if (Array.isArray(v) && v.length === size && v.every(ok)) return v as number[];
    return fail(field, `is neither a ${positive ? "positive " : ""}number nor ${size} of them`);
  };
  const scaling = raw.scaling as Record<string, unknown> | undefined;
  if (typeof scaling !== "object" || scaling === null) fail("scaling", "is missing");
  const task = f.oneOf("task", TASKS);
  const outputs = f.number("outputs", 1, 65_536);
  const names = raw.classNames;
  if (
    names !== undefined &&
    (!Array.isArray(names) || names.length !== outputs + (task === "binary" ? 1 : 0) ||
      !names.every((n) => typeof n === "string" && n.length > 0 && n.length <= 200))
  ) fail("classNames", "is not a list of one name per class");
  return {
    name: f.string("name", /^[\w.:,-]{1,100}$/),
    topologySha256: f.string("topologySha256", /^[0-9a-f]{64}$/),
    task,
    inputShape: inputShape as number[],
    outputs,
    ...(names === undefined ? {} : { classNames: names as string[] }),
    scaling: {
      center: vector("scaling.center", scaling!.center, false),
      divisor: vector("scaling.divisor", scaling!.divisor, true),
    },
  };
}

/**
 * The scaling of a model configuration, as the network takes it.
 *
 * @param model The model configuration.
 * @returns Numbers, or float32 arrays per feature.
 * @example
 * ```ts
 * networkScaling(LEGACY_LENET); // { center: 0, divisor: 255 }
 * ```
 */
export function networkScaling(model: ModelConfig): Scaling {
  const v = (x: number | readonly number[]) => typeof x === "number" ? x : Float32Array.from(x);
  return { center: v(model.scaling.center), divisor: v(model.scaling.divisor) };
}

/**
 * Reads a bundle's `model.json` and checks it against the digest that
 * `federation.json` records.
 *
 * @param dir The bundle folder.
 * @param model The model configuration.
 * @returns The parsed JSON, or `undefined` for a federation without a
 *   topology digest (LeNet-5, from before models were a choice).
 * @throws {FlheError} `input` if the file is missing or not JSON, `auth` if
 *   its digest differs.
 * @example
 * ```ts
 * const json = await readBundleTopology("federation/client-1", config.model);
 * ```
 */
export async function readBundleTopology(dir: string, model: ModelConfig): Promise<unknown> {
  if (model.topologySha256 === undefined) return undefined;
  const path = `${dir}/${MODEL_FILE}`;
  const bytes = await Deno.readFile(path).catch(() => {
    throw new FlheError("input", `${path}: missing; every bundle holds the model's topology`);
  });
  if (await sha256Hex(bytes) !== model.topologySha256) {
    throw new FlheError(
      "auth",
      `${path}: sha256 does not match field "model.topologySha256" of federation.json`,
    );
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new FlheError("input", `${path}: not JSON (${(e as Error).message})`);
  }
}

/**
 * Reads and checks a bundle's `model.json`: its digest against
 * `topologySha256`, and the model it describes against the configuration
 * (parameter count, task, input shape, outputs). A federation without a
 * topology digest is LeNet-5.
 *
 * @param dir The bundle folder.
 * @param model The model configuration.
 * @param parameters `parameterCount` of `federation.json`.
 * @returns The model.
 * @throws {FlheError} `input` or `auth` naming the file and what differs.
 * @example
 * ```ts
 * const def = await loadBundleModel("federation/client-1", config.model, config.parameterCount);
 * ```
 */
export async function loadBundleModel(
  dir: string,
  model: ModelConfig,
  parameters: number,
): Promise<ModelDef> {
  const path = `${dir}/${MODEL_FILE}`;
  const json = await readBundleTopology(dir, model);
  const def = json === undefined ? LENET_DEF : parseKerasModel(json, path, model.task).def;
  const differs = (what: string, file: unknown, config: unknown): never => {
    throw new FlheError(
      "input",
      `${path}: the model's ${what} is ${file}, federation.json says ${config}`,
    );
  };
  const count = parameterCount(def);
  if (count !== parameters) differs("parameter count", count, parameters);
  if (def.task !== model.task) differs("task", def.task, model.task);
  if (def.outputs !== model.outputs) differs("output count", def.outputs, model.outputs);
  const shape = def.inputShape.join("x");
  if (shape !== model.inputShape.join("x")) {
    differs("input shape", shape, model.inputShape.join("x"));
  }
  return def;
}
