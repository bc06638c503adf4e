/**
 * The update rules and step-size schedules of local training: the rule's
 * arithmetic runs in JavaScript on copies of the weights (one read of the
 * gradients and one write of the weights per step), which is cheaper than a
 * dozen small tensor ops per weight tensor.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

/**
 * Update rules of `trainLocal`. Every rule's state (velocity, moments)
 * starts at zero on each call, so a federated client needs nothing kept
 * between rounds.
 *
 * - `sgd`: `w -= lr * g`.
 * - `momentum`: heavy ball, `v = mu * v + g; w -= lr * v`.
 * - `nesterov`: `v = mu * v + g; w -= lr * (g + mu * v)`.
 * - `adam`: Adam (beta1 0.9, beta2 0.999, epsilon 1e-7) with bias correction.
 *
 * @example
 * ```ts
 * trainLocal(model, share, { optimizer: "nesterov", learningRate: 0.02, seed: 1 });
 * ```
 */
export type OptimizerName = "sgd" | "momentum" | "nesterov" | "adam";

/**
 * The update rules, e.g. to check a command-line value.
 *
 * @example
 * ```ts
 * if (!OPTIMIZERS.includes(name as OptimizerName)) console.error(`unknown ${name}`);
 * ```
 */
export const OPTIMIZERS: readonly OptimizerName[] = ["sgd", "momentum", "nesterov", "adam"];

/**
 * Step-size schedules within one `trainLocal` call (after any warm-up):
 * `constant`, or `cosine` decay from the peak towards 0 at the last step.
 */
export type ScheduleName = "constant" | "cosine";

/** The schedules, e.g. to check a command-line value. */
export const SCHEDULES: readonly ScheduleName[] = ["constant", "cosine"];

/**
 * The update rule of `trainLocal` when none is given: heavy-ball
 * momentum, the command line's default (`src/cli/shared_options.ts`).
 */
export const DEFAULT_OPTIMIZER: OptimizerName = "momentum";

/** Default peak step size of each update rule. */
export const DEFAULT_LEARNING_RATES: Readonly<Record<OptimizerName, number>> = {
  sgd: 0.05,
  momentum: 0.02,
  nesterov: 0.02,
  adam: 0.002,
};

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-7;

/**
 * Multiplier of the peak step size at `step` (1-based) of `totalSteps`.
 *
 * @param schedule `constant`, or `cosine` decay towards 0.
 * @param step This step, from 1.
 * @param totalSteps Steps of the whole call.
 * @returns A factor in [0, 1].
 * @example
 * ```ts
 * scheduleFactor("cosine", 1, 100); // 1
 * ```
 */
export function scheduleFactor(
  schedule: ScheduleName,
  step: number,
  totalSteps: number,
): number {
  if (schedule === "constant") return 1;
  // Cosine from 1 down towards 0 over the call's steps.
  const progress = (step - 1) / Math.max(1, totalSteps);
  return 0.5 * (1 + Math.cos(Math.PI * progress));
}

/**
 * The update rule over JavaScript copies of the weights: each call takes the
 * gradients of one step, updates the copies and writes them to the variables.
 * The rule's state starts at zero.
 *
 * @param optimizer Update rule.
 * @param momentum Momentum of `momentum` and `nesterov`.
 * @param variables The variables to update, in the order of the gradients given.
 * @returns `(grads, lr, step)`: one step with these gradients, step size and 1-based step.
 * @example
 * ```ts
 * const update = makeUpdater("sgd", 0, variables);
 * update(grads, 0.05, 1);
 * ```
 */
export function makeUpdater(
  optimizer: OptimizerName,
  momentum: number,
  variables: tf.Variable[],
): (grads: Float32Array[], lr: number, step: number) => void {
  const weights = variables.map((v) => (v.dataSync() as Float32Array).slice());
  const first = optimizer === "sgd" ? [] : weights.map((w) => new Float32Array(w.length));
  const second = optimizer === "adam" ? weights.map((w) => new Float32Array(w.length)) : [];
  const nesterov = optimizer === "nesterov";
  return (grads, lr, step) => {
    // Adam's bias correction folded into the step size and epsilon.
    const c2 = Math.sqrt(1 - ADAM_BETA2 ** step);
    const adamLr = lr * c2 / (1 - ADAM_BETA1 ** step);
    const adamEps = ADAM_EPSILON * c2;
    variables.forEach((v, i) => {
      const w = weights[i]!;
      const g = grads[i]!;
      if (optimizer === "sgd") {
        for (let j = 0; j < w.length; j++) w[j] = w[j]! - lr * g[j]!;
      } else if (optimizer === "adam") {
        const m = first[i]!;
        const s = second[i]!;
        for (let j = 0; j < w.length; j++) {
          const gj = g[j]!;
          const mj = ADAM_BETA1 * m[j]! + (1 - ADAM_BETA1) * gj;
          const sj = ADAM_BETA2 * s[j]! + (1 - ADAM_BETA2) * gj * gj;
          m[j] = mj;
          s[j] = sj;
          w[j] = w[j]! - adamLr * mj / (Math.sqrt(sj) + adamEps);
        }
      } else {
        const m = first[i]!;
        for (let j = 0; j < w.length; j++) {
          const gj = g[j]!;
          const mj = momentum * m[j]! + gj;
          m[j] = mj;
          w[j] = w[j]! - lr * (nesterov ? gj + momentum * mj : mj);
        }
      }
      tf.tidy(() => v.assign(tf.tensor(w, v.shape)));
    });
  };
}
