/** Helpers of the nn tests. */
import type { LeNet } from "../../src/nn/mod.ts";

/**
 * Frees a model's variables (a test builds many models in one process; the
 * parties keep theirs for the process's life).
 *
 * @param model Model to free; unusable afterwards.
 */
export function disposeLeNet(model: LeNet): void {
  for (const v of model.variables) v.dispose();
}
