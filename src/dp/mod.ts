/**
 * Differential privacy for DP-SGD on each client: the RDP accountant of the
 * Poisson-subsampled Gaussian mechanism (Mironov, Talwar and Zhang 2019; the
 * figures of Opacus and TensorFlow Privacy), its conversion to
 * `(epsilon, delta)` (Balle et al. 2020, as Opacus), the noise multiplier for
 * a target epsilon (as Opacus' `get_noise_multiplier`), a running accountant
 * with a saved state, and the samplers: Gaussian noise and Poisson batches
 * from the CSPRNG. It knows nothing of models, data or the network.
 *
 * @example Plan, sample, spend
 * ```ts
 * import {
 *   addGaussianNoise, noiseMultiplierFor, poissonBatch, RdpAccountant, stepsPerEpoch,
 * } from "./mod.ts";
 * const records = 30_000, sampleRate = 256 / records, clipNorm = 1, delta = 1e-5;
 * const steps = 5 * stepsPerEpoch(sampleRate);
 * const { noiseMultiplier } = noiseMultiplierFor({ targetEpsilon: 3, delta, sampleRate, steps });
 * const accountant = new RdpAccountant();
 * const batch = poissonBatch(records, sampleRate);          // indices of this step's records
 * const summed = new Float32Array(61_706);                  // sum of their clipped gradients
 * addGaussianNoise(summed, noiseMultiplier * clipNorm);
 * accountant.step({ sampleRate, noiseMultiplier });
 * accountant.spent(delta).epsilon;                          // well below 3 after one step
 * ```
 *
 * @module
 */

export { type AccountantState, RdpAccountant } from "./accountant.ts";
export { addGaussianNoise, fillGaussian, gaussianNoise, type GaussianOptions } from "./gaussian.ts";
export { poissonBatch, stepsPerEpoch } from "./poisson.ts";
export {
  type BudgetOptions,
  type Conversion,
  epsilonFor,
  noiseMultiplierFor,
  type NoiseTarget,
  type PrivacySpent,
  rdpToEpsilon,
} from "./privacy.ts";
export { computeRdp, DEFAULT_RDP_ORDERS, type GaussianSteps, rdpAtOrder } from "./rdp.ts";
export { erfc, erfcx, logErfc, normalCdf } from "./special.ts";
