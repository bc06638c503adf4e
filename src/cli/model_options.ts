/**
 * The model owner's options that choose the model (`owner init`, `demo`).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { BUILTIN_MODELS, TASKS } from "../nn/mod.ts";
import * as rules from "../federation/rules.ts";
import type { ModelRequest } from "../parties/model_choice.ts";
import { type OptionValues, runtime } from "./options.ts";
import { choice, int, path, string } from "./option_kinds.ts";
import { dataSource, FILE_READING_OPTIONS } from "./data_options.ts";
import { DP_RECIPE } from "./shared_options.ts";

/** `--model`, `--task`, `--classes`, `--input-shape`, `--scale`. */
export const MODEL_OPTIONS = {
  model: string({
    placeholder: "SPEC",
    help: `the model: ${
      Object.entries(BUILTIN_MODELS).map(([k, v]) => `${k} (${v})`).join("; ")
    }; or a TensorFlow.js Layers model.json (its weights, if listed, are the initial model)`,
    default: runtime("lenet5, or lenet5-tanh with DP"),
  }),
  task: choice({
    placeholder: "TASK",
    help: "what a built-in learns (a model file's output layer says it; for one linear unit " +
      "trained on logits, say binary)",
    choices: TASKS,
    notes: {
      multiclass: "softmax over --classes, integer or named labels",
      binary: "one sigmoid unit, labels 0/1 or two names",
      regression: "one linear unit, mean squared error",
    },
    default: runtime("multiclass, or the model file's"),
  }),
  classes: int({
    placeholder: "N",
    help: "classes of a multiclass built-in",
    range: rules.integers(2, 65_536),
    default: runtime("from --reference, else 10"),
  }),
  "input-shape": string({
    placeholder: "SHAPE",
    help: "input of a built-in: FEATURES or HxWxC, e.g. 13 or 32x32x3",
    pattern: /^\d+(x\d+){0,2}$/,
    patternText: "FEATURES or HxWxC",
    default: runtime("from --reference; 28x28x1 for the lenet5 models, 32x32x3 for cnn32"),
  }),
  scale: string({
    placeholder: "S",
    help: "input scaling every client applies: none, a factor such as 1/255, or standard " +
      "(each feature's mean and std from --reference)",
    default: runtime("1/255 for the lenet5 models and cnn32, else none"),
  }),
} as const;

/** `--reference FILE` and how to read it (`owner init`). */
export const REFERENCE_OPTIONS = {
  reference: path({
    placeholder: "FILE",
    help: "a sample of the data as clients hold it (read like a client's --data)",
  }),
  ...FILE_READING_OPTIONS,
} as const;

/**
 * The model request from parsed model options.
 *
 * @param v Values of a table with {@linkcode MODEL_OPTIONS} (and {@linkcode REFERENCE_OPTIONS}).
 * @param dp Whether the federation trains with differential privacy (the
 *   default model is then `lenet5-tanh`).
 * @returns The request.
 * @throws {FlheError} `usage` for reading options without `--reference`.
 *
 * @example Usage
 * ```ts
 * import { modelRequest } from "./model_options.ts";
 * declare const v: Parameters<typeof modelRequest>[0];
 * modelRequest(v, false).spec;
 * ```
 */
export function modelRequest(
  v: OptionValues<typeof MODEL_OPTIONS> & Partial<OptionValues<typeof REFERENCE_OPTIONS>>,
  dp: boolean,
): ModelRequest {
  if ("reference" in v && v.reference === undefined) {
    const stray = (["label", "labels", "features"] as const).find((k) => v[k] !== undefined);
    if (stray) throw new FlheError("usage", `--${stray}: reads the --reference file; give one`);
  }
  return {
    spec: v.model ?? (dp ? DP_RECIPE.model : "lenet5"),
    task: v.task,
    classes: v.classes,
    inputShape: v["input-shape"]?.split("x").map(Number),
    scale: v.scale,
    reference: v.reference === undefined
      ? undefined
      : dataSource(v.reference, v as OptionValues<typeof FILE_READING_OPTIONS>),
  };
}
