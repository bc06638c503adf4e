/**
 * The model owner's choice of model, resolved at `flhe owner init` (and by
 * `flhe demo`): a built-in or a `model.json` (with its weights, if any), the
 * task, input shape and classes (given, or read from a reference file the
 * owner holds), and the input scaling every client will apply. Everything
 * is checked here, before any key is generated.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { type DataSource, loadDataFile, type LoadedData } from "../data/mod.ts";
import {
  type BuiltinName,
  builtinTopology,
  manifestPaths,
  type ModelDef,
  parameterCount,
  parseKerasModel,
  parseModelSpec,
  type Task,
  weightsFromManifest,
} from "../nn/mod.ts";
import type { ModelConfig } from "../federation/mod.ts";
import { checkShape } from "../data/mod.ts";

/** What the owner said about the model. */
export interface ModelRequest {
  /** `--model`: a built-in or a `model.json` path. */
  readonly spec: string;
  /** `--task` of a built-in (or of a model file with one linear output: `binary` on logits). */
  readonly task?: Task;
  /** `--classes` of a multiclass built-in. */
  readonly classes?: number;
  /** `--input-shape` of a built-in, e.g. `[13]` or `[32, 32, 3]`. */
  readonly inputShape?: readonly number[];
  /** `--scale`: `none`, `standard`, or a factor such as `1/255`. */
  readonly scale?: string;
  /** A sample of the data the owner holds (shape, classes, and `standard` scaling). */
  readonly reference?: DataSource;
}

/** The resolved model: what `owner init` writes. */
export interface FederationModel {
  /** The `model` field of `federation.json`, without the topology digest. */
  readonly config: Omit<ModelConfig, "topologySha256">;
  /** The `model.json` every bundle holds. */
  readonly topologyJson: string;
  /** The model's layers. */
  readonly def: ModelDef;
  /** Values in the weight vector. */
  readonly parameterCount: number;
  /** Initial weights from the model file's weights manifest, if it has one. */
  readonly initialWeights?: Float32Array;
}

const IMAGE_DEFAULTS: Partial<Record<BuiltinName, number[]>> = {
  lenet5: [28, 28, 1],
  "lenet5-tanh": [28, 28, 1],
  cnn32: [32, 32, 3],
};

/**
 * Resolves the owner's model request.
 *
 * @param req The request.
 * @returns The model, its configuration and topology file.
 * @throws {FlheError} `usage` for options that contradict each other or the
 *   data; `input` naming the file for a model or data file that cannot be used.
 * @example
 * ```ts
 * const model = await chooseModel({ spec: "mlp:16", inputShape: [4], classes: 3 });
 * ```
 */
export async function chooseModel(req: ModelRequest): Promise<FederationModel> {
  const spec = parseModelSpec(req.spec);
  let topology: Record<string, unknown>;
  let def: ModelDef;
  let initialWeights: Float32Array | undefined;
  let reference: LoadedData | undefined;
  if ("file" in spec) {
    ({ topology, def, initialWeights } = await readModelFile(spec.file, req.task));
    if (req.classes !== undefined || req.inputShape !== undefined) {
      throw new FlheError(
        "usage",
        `--classes and --input-shape are for built-ins; ${spec.file} says its own`,
      );
    }
    reference = req.reference && await loadReference(req.reference, def.task, def.outputs);
  } else {
    const task = req.task ?? "multiclass";
    reference = req.reference && await loadReference(req.reference, task, req.classes);
    const refShape = reference && imageShape(spec.builtin, reference.dataset.shape);
    const inputShape = req.inputShape ?? refShape ?? IMAGE_DEFAULTS[spec.builtin];
    if (!inputShape) {
      throw new FlheError("usage", `--model ${req.spec}: give --input-shape or a --reference file`);
    }
    const classes = req.classes ?? reference?.classNames?.length ??
      (reference ? Math.max(...reference.dataset.labels) + 1 : 10);
    topology = {
      format: "layers-model",
      generatedBy: "flhe",
      modelTopology: builtinTopology(spec.builtin, {
        inputShape,
        task,
        classes,
        hidden: spec.hidden,
      }),
    };
    def = parseKerasModel(topology, req.spec).def;
  }
  if (reference) checkShape(reference.dataset, def.inputShape, req.reference!.path);
  const names = reference?.classNames;
  if (names && names.length !== (def.task === "binary" ? 2 : def.outputs)) {
    throw new FlheError(
      "usage",
      `${req.reference!.path}: ${names.length} classes (${names.join(", ")}), the model has ${
        def.task === "binary" ? 2 : def.outputs
      }`,
    );
  }
  return {
    config: {
      name: "file" in spec
        ? spec.file.replace(/^.*\//, "").replace(/[^\w.:,-]/g, "_").slice(0, 100)
        : req.spec,
      task: def.task,
      inputShape: def.inputShape,
      outputs: def.outputs,
      ...(names ? { classNames: names } : {}),
      scaling: scaling(req, "file" in spec ? undefined : spec.builtin, def, reference),
    },
    topologyJson: JSON.stringify(topology, null, 1) + "\n",
    def,
    parameterCount: parameterCount(def),
    initialWeights,
  };
}

/** A built-in image model takes grey images without a channel axis as one channel. */
function imageShape(name: BuiltinName, shape: readonly number[]): number[] {
  return IMAGE_DEFAULTS[name] && shape.length === 2 ? [...shape, 1] : [...shape];
}

async function loadReference(
  source: DataSource,
  task: Task,
  classes?: number,
): Promise<LoadedData> {
  try {
    return await loadDataFile(source, {
      kind: task === "regression" ? "target" : task === "binary" ? "binary" : "class",
      classes: task === "multiclass" ? classes : undefined,
      discoverClasses: true,
    });
  } catch (e) {
    throw new FlheError("input", (e as Error).message, { cause: e });
  }
}

async function readModelFile(
  path: string,
  task?: Task,
): Promise<{ topology: Record<string, unknown>; def: ModelDef; initialWeights?: Float32Array }> {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new FlheError("input", `${path}: cannot read a model.json (${(e as Error).message})`);
  }
  const { def, manifest } = parseKerasModel(value, path, task);
  let initialWeights: Float32Array | undefined;
  if (manifest) {
    const dir = path.includes("/") ? path.replace(/\/[^/]*$/, "") : ".";
    const shards = new Map<string, Uint8Array>();
    for (const p of manifestPaths(manifest)) {
      const bytes = await Deno.readFile(`${dir}/${p}`).catch(() => {
        throw new FlheError("input", `${path}: weight file ${dir}/${p} cannot be read`);
      });
      shards.set(p, bytes);
    }
    initialWeights = weightsFromManifest(def, manifest, shards, path);
  }
  const { weightsManifest: _, ...rest } = value;
  const topology = "modelTopology" in rest ? rest : { format: "layers-model", modelTopology: rest };
  return { topology, def, initialWeights };
}

/** Parses `--scale` into the scaling of federation.json. */
function scaling(
  req: ModelRequest,
  builtin: BuiltinName | undefined,
  def: ModelDef,
  reference: LoadedData | undefined,
): ModelConfig["scaling"] {
  const scale = req.scale ?? (builtin && IMAGE_DEFAULTS[builtin] ? "1/255" : "none");
  if (scale === "none") return { center: 0, divisor: 1 };
  if (scale === "standard") {
    if (!reference) {
      throw new FlheError(
        "usage",
        "--scale standard: give the --reference file to take the mean and std from",
      );
    }
    return standardize(reference, def.inputShape.reduce((a, b) => a * b, 1));
  }
  const m = scale.match(/^(\d+(?:\.\d+)?(?:e-?\d+)?)(?:\/(\d+(?:\.\d+)?))?$/);
  const factor = m ? Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2])) : NaN;
  if (!(factor > 0) || !Number.isFinite(factor)) {
    throw new FlheError(
      "usage",
      `--scale: '${scale}' is not none, standard, or a factor such as 1/255`,
    );
  }
  // 1/D is stored as the divisor D itself, so that x / 255 stays exact.
  return {
    center: 0,
    divisor: m![2] !== undefined && Number(m![1]) === 1 ? Number(m![2]) : 1 / factor,
  };
}

function standardize(reference: LoadedData, size: number): ModelConfig["scaling"] {
  const { features, count } = reference.dataset;
  const mean = new Array<number>(size).fill(0);
  const sq = new Array<number>(size).fill(0);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < size; j++) {
      const v = features[i * size + j]!;
      mean[j]! += v;
      sq[j]! += v * v;
    }
  }
  const center = mean.map((s) => s / count);
  const divisor = sq.map((s, j) => {
    const std = Math.sqrt(Math.max(0, s / count - center[j]! ** 2));
    // A constant feature is only centred.
    return std > 1e-12 ? std : 1;
  });
  return { center, divisor };
}
