/**
 * The differential privacy options of `flhe owner init` and `flhe demo`:
 * DP-SGD on every client (per-example clipping, Gaussian noise, Poisson
 * sampling), with a target epsilon or a fixed noise multiplier.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { checkDpConfig, type DpConfig, MAX_DP_EPSILON } from "../federation/mod.ts";
import * as rules from "../federation/rules.ts";
import { type OptionValues, runtime } from "./options.ts";
import { number } from "./option_kinds.ts";

/** `--dp-epsilon`, `--dp-delta`, `--noise-multiplier`, `--clip-norm`. */
export const DP_OPTIONS = {
  "dp-epsilon": number({
    placeholder: "E",
    help: "differential privacy per record: each client trains with DP-SGD and spends at most " +
      "epsilon E over all rounds (each client may keep a stricter budget)",
    range: rules.reals(0.01, MAX_DP_EPSILON),
    default: runtime("no DP"),
  }),
  "noise-multiplier": number({
    placeholder: "Z",
    help: "DP-SGD with this fixed noise multiplier instead of a target epsilon " +
      "(each client then reports the epsilon it spent)",
    range: rules.reals(0.1, 100),
    default: runtime("derived from --dp-epsilon"),
  }),
  "dp-delta": number({
    placeholder: "D",
    help: "delta of the (epsilon, delta) guarantee; below 1/records",
    range: rules.reals(1e-12, 0.001),
    default: 1e-5,
  }),
  "clip-norm": number({
    placeholder: "C",
    help: "L2 norm each example's gradient is clipped to",
    range: rules.reals(1e-6, 1000),
    default: 1,
  }),
} as const;

/**
 * The federation's DP settings from parsed options.
 *
 * @param v Values of a table that includes {@linkcode DP_OPTIONS}.
 * @returns The settings, or `undefined` when neither `--dp-epsilon` nor `--noise-multiplier` is given.
 * @throws {FlheError} `usage` if both are given.
 *
 * @example Usage
 * ```ts
 * import { dpConfig } from "./dp_options.ts";
 * dpConfig({ "dp-epsilon": 3, "noise-multiplier": undefined, "dp-delta": 1e-5, "clip-norm": 1 });
 * ```
 */
export function dpConfig(v: OptionValues<typeof DP_OPTIONS>): DpConfig | undefined {
  const epsilon = v["dp-epsilon"];
  const noiseMultiplier = v["noise-multiplier"];
  if (epsilon === undefined && noiseMultiplier === undefined) return undefined;
  if (epsilon !== undefined && noiseMultiplier !== undefined) {
    throw new FlheError("usage", "give --dp-epsilon or --noise-multiplier, not both");
  }
  return checkDpConfig("options", {
    ...(epsilon !== undefined ? { epsilon } : { noiseMultiplier: noiseMultiplier! }),
    delta: v["dp-delta"],
    clipNorm: v["clip-norm"],
  });
}
