/**
 * Applying a mean update to a model, the one place where a round's result
 * becomes the next global model (clients in shared-key and plaintext runs,
 * the owner in owner mode).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";

/**
 * Adds an update to model weights.
 *
 * @param weights The current model.
 * @param update The mean update, same length.
 * @returns A new array `weights + update`.
 * @throws {FlheError} `input` if the lengths differ.
 *
 * @example Usage
 * ```ts
 * import { applyUpdate } from "./apply.ts";
 * applyUpdate(new Float32Array([1, 2]), new Float32Array([0.5, -1])); // [1.5, 1]
 * ```
 */
export function applyUpdate(weights: Float32Array, update: Float32Array): Float32Array {
  if (weights.length !== update.length) {
    throw new FlheError(
      "input",
      `nn: update has ${update.length} values, the model ${weights.length}`,
    );
  }
  const next = new Float32Array(weights.length);
  for (let i = 0; i < next.length; i++) next[i] = weights[i]! + update[i]!;
  return next;
}
