/**
 * The federation's differential privacy settings, written by the model owner
 * into `federation.json` (field `dp`, absent when DP is off): DP-SGD on every
 * client with per-example clipping to `clipNorm`, and either a target
 * (epsilon, delta) over all planned rounds, from which each client derives
 * its own noise multiplier for its own sampling rate, or a fixed noise
 * multiplier, whose epsilon each client then reports. Each client may keep
 * a stricter budget of its own and never trains past it.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { JsonFields } from "../util/fs.ts";

/** DP-SGD settings of a federation. */
export interface DpConfig {
  /** Target epsilon over all planned rounds (absent: a fixed `noiseMultiplier`). */
  readonly epsilon?: number;
  /** Fixed noise multiplier sigma (absent: derived from `epsilon` by each client). */
  readonly noiseMultiplier?: number;
  /** Delta of the (epsilon, delta) guarantee. */
  readonly delta: number;
  /** L2 norm each example's gradient is clipped to. */
  readonly clipNorm: number;
}

/** Largest epsilon accepted (beyond it DP says nothing useful). */
export const MAX_DP_EPSILON = 100;

/**
 * Checks DP settings, from the command line or a file.
 *
 * @param where Names the source in errors (a file, or "owner init").
 * @param dp The settings.
 * @returns The same settings.
 * @throws {FlheError} `input` naming the field that is wrong.
 *
 * @example Usage
 * ```ts
 * import { checkDpConfig } from "./dp_config.ts";
 * checkDpConfig("owner init", { epsilon: 3, delta: 1e-5, clipNorm: 1 });
 * ```
 */
export function checkDpConfig(where: string, dp: DpConfig): DpConfig {
  const fail = (field: string, why: string): never => {
    throw new FlheError("input", `${where}: dp ${field} ${why}`);
  };
  if ((dp.epsilon === undefined) === (dp.noiseMultiplier === undefined)) {
    fail("epsilon", "or noiseMultiplier: give exactly one of them");
  }
  if (dp.epsilon !== undefined && !(dp.epsilon > 0 && dp.epsilon <= MAX_DP_EPSILON)) {
    fail("epsilon", `is ${dp.epsilon}, not in (0, ${MAX_DP_EPSILON}]`);
  }
  if (
    dp.noiseMultiplier !== undefined && !(dp.noiseMultiplier >= 0.1 && dp.noiseMultiplier <= 100)
  ) {
    fail("noiseMultiplier", `is ${dp.noiseMultiplier}, not in [0.1, 100]`);
  }
  if (!(dp.delta > 0 && dp.delta < 0.01)) fail("delta", `is ${dp.delta}, not in (0, 0.01)`);
  if (!(dp.clipNorm > 0 && dp.clipNorm <= 1000)) {
    fail("clipNorm", `is ${dp.clipNorm}, not in (0, 1000]`);
  }
  return dp;
}

/**
 * Parses the `dp` field of `federation.json`.
 *
 * @param path The file, for errors.
 * @param value The field's value (`undefined`: DP off).
 * @returns The settings, or `undefined`.
 * @throws {FlheError} `input` naming the field that is wrong.
 *
 * @example Usage
 * ```ts
 * import { parseDpConfig } from "./dp_config.ts";
 * parseDpConfig("federation.json", { epsilon: 3, delta: 1e-5, clipNorm: 1 });
 * ```
 */
export function parseDpConfig(path: string, value: unknown): DpConfig | undefined {
  if (value === undefined) return undefined;
  const f = new JsonFields(path, value, "dp.");
  const has = (name: string) => (value as Record<string, unknown>)[name] !== undefined;
  return checkDpConfig(path, {
    ...(has("epsilon") ? { epsilon: f.number("epsilon", 0, MAX_DP_EPSILON, false) } : {}),
    ...(has("noiseMultiplier")
      ? { noiseMultiplier: f.number("noiseMultiplier", 0, 100, false) }
      : {}),
    delta: f.number("delta", 0, 1, false),
    clipNorm: f.number("clipNorm", 0, 1000, false),
  });
}
