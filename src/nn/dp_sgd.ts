/**
 * DP-SGD (Abadi et al., CCS 2016, as Opacus runs it): per step, a batch
 * drawn by Poisson sampling (each record independently with probability
 * `q`), each example's gradient clipped to L2 norm `C` over all trainable
 * weights, the clipped gradients summed, Gaussian noise `N(0, (sigma C)^2)`
 * added to the sum, the sum divided by the expected batch size `q N`, then
 * the update rule's step. `floor(1 / q)` steps make an epoch.
 *
 * The randomness that the privacy proof rests on (the batch draw and the
 * noise) comes from functions the caller injects, so that this folder
 * depends on no sampler: a federated client passes the CSPRNG samplers of
 * `src/dp` (`poissonBatch`, `addGaussianNoise`), which its accountant
 * assumes. Per-example gradients come from {@link clippedGradientSum}: one
 * forward and one backward pass per batch, no backward pass per example.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { makeBatch } from "./batch.ts";
import type { Examples } from "./examples.ts";
import type { Network } from "./network.ts";
import { makeUpdater, type OptimizerName, scheduleFactor, type ScheduleName } from "./optimizer.ts";
import { clippedGradientSum, dpLayers } from "./per_example.ts";
import { FlheError } from "../util/error.ts";
import { deriveSeed } from "../util/rng.ts";

/**
 * The DP-SGD mode of `trainLocal` (its `dp` option).
 *
 * @example Wired to the CSPRNG samplers of src/dp
 * ```ts
 * // addGaussianNoise and poissonBatch: src/dp's CSPRNG samplers.
 * const dp: DpSgdOptions = {
 *   clipNorm: 1, noiseMultiplier: 1.1, sampleRate: 256 / share.count,
 *   noise: (values, std) => void addGaussianNoise(values, std),
 *   sample: poissonBatch,
 * };
 * trainLocal(model, share, { epochs: 1, seed: 1, dp });
 * ```
 */
export interface DpSgdOptions {
  /**
   * Clipping norm `C`, positive: each example's gradient over all trainable
   * weights is scaled down to L2 norm at most `C` (by `min(1, C / (norm + 1e-6))`).
   */
  readonly clipNorm: number;
  /**
   * Noise multiplier `sigma`, >= 0: each step's sum of clipped gradients
   * gets `N(0, (sigma C)^2)` noise on every value. 0 clips without noise
   * (no privacy; for tests and comparisons).
   */
  readonly noiseMultiplier: number;
  /**
   * Sampling rate `q` in (0, 1]: each record joins each step's batch on its
   * own with this probability. An epoch is `floor(1 / q)` steps, and each
   * step's noisy sum is divided by the expected batch size `q N`.
   */
  readonly sampleRate: number;
  /**
   * Adds independent `N(0, std^2)` noise to every value of `values` in place
   * (src/dp's `addGaussianNoise`). Called once per step with all the
   * trainable weights' summed gradients, never with `std` 0.
   */
  readonly noise: (values: Float32Array, std: number) => void;
  /**
   * One Poisson batch: the indices in `[0, recordCount)`, each chosen
   * independently with probability `sampleRate` (src/dp's `poissonBatch`).
   * Called once per step; an empty batch is a step of noise alone.
   */
  readonly sample: (recordCount: number, sampleRate: number) => Uint32Array;
}

/** The update settings of a DP-SGD run (`trainLocal`'s options, defaults filled in). */
export interface DpRunOptions {
  readonly epochs: number;
  readonly optimizer: OptimizerName;
  readonly learningRate: number;
  readonly momentum: number;
  readonly schedule: ScheduleName;
  readonly seed: number;
  readonly onProgress?: (doneSamples: number, totalSamples: number) => void;
}

/** What a DP-SGD run reports (as `trainLocal`'s `TrainResult`). */
export interface DpRunResult {
  readonly loss: number;
  readonly accuracy: number;
  readonly mae: number;
  readonly samples: number;
  readonly steps: number;
  readonly seconds: number;
}

/**
 * Examples per forward and backward pass: a Poisson batch larger than this
 * (a high sampling rate on a large data set) runs in pieces whose clipped
 * sums add up to the same sum, so memory stays bounded.
 */
export const DP_PHYSICAL_BATCH = 512;

/**
 * Checks the DP-SGD options.
 *
 * @param dp The options.
 * @throws {FlheError} `range` quoting a number out of its range, `input` if
 *   a sampler is not a function.
 * @example
 * ```ts
 * checkDpOptions({ clipNorm: 1, noiseMultiplier: 1, sampleRate: 0.01, noise, sample });
 * ```
 */
export function checkDpOptions(dp: DpSgdOptions): void {
  if (!(dp.clipNorm > 0) || !Number.isFinite(dp.clipNorm)) {
    throw new FlheError("range", `nn: dp.clipNorm ${dp.clipNorm} is not a positive number`);
  }
  if (!(dp.noiseMultiplier >= 0) || !Number.isFinite(dp.noiseMultiplier)) {
    throw new FlheError(
      "range",
      `nn: dp.noiseMultiplier ${dp.noiseMultiplier} is not a finite number >= 0`,
    );
  }
  if (!(dp.sampleRate > 0 && dp.sampleRate <= 1)) {
    throw new FlheError("range", `nn: dp.sampleRate ${dp.sampleRate} is not in (0, 1]`);
  }
  for (const key of ["noise", "sample"] as const) {
    if (typeof dp[key] !== "function") {
      const sampler = key === "noise" ? "addGaussianNoise" : "poissonBatch";
      throw new FlheError(
        "input",
        `nn: dp.${key} is not a function; pass src/dp's CSPRNG sampler (${sampler})`,
      );
    }
  }
}

/** One step's Poisson batch from the injected sampler, checked. */
function drawBatch(dp: DpSgdOptions, recordCount: number): Uint32Array {
  const idx = dp.sample(recordCount, dp.sampleRate);
  if (!(idx instanceof Uint32Array) || idx.length > recordCount) {
    throw new FlheError("input", `nn: dp.sample gave no batch of at most ${recordCount} indices`);
  }
  for (const i of idx) {
    if (i >= recordCount) {
      throw new FlheError("input", `nn: dp.sample gave index ${i} of ${recordCount} records`);
    }
  }
  return idx;
}

/**
 * Trains the model in place with DP-SGD (see the module doc); the loop of
 * `trainLocal` with its `dp` option.
 *
 * @param model Model to train (no batch normalization).
 * @param data Examples, checked by the caller, at least one.
 * @param o Update rule, schedule, epochs, seed (dropout), progress.
 * @param dp Clipping norm, noise multiplier, sampling rate, samplers.
 * @returns Loss and accuracy (or MAE) over the last epoch's sampled records,
 *   records sampled, steps taken, seconds.
 * @throws {FlheError} As {@link checkDpOptions} and {@link dpLayers}; `input`
 *   if `dp.sample` gives an index out of range.
 * @example
 * ```ts
 * const r = trainDpSgd(model, share, run, dp);
 * ```
 */
export function trainDpSgd(
  model: Network,
  data: Examples,
  o: DpRunOptions,
  dp: DpSgdOptions,
): DpRunResult {
  checkDpOptions(dp);
  const layers = dpLayers(model);
  const start = performance.now();
  const variables = model.trainable as tf.Variable[];
  const update = makeUpdater(o.optimizer, o.momentum, variables);
  const flatSize = variables.reduce((s, v) => s + v.size, 0);
  const stepsPerEpoch = Math.floor(1 / dp.sampleRate);
  const totalSteps = o.epochs * stepsPerEpoch;
  const expectedBatch = dp.sampleRate * data.count;
  const std = dp.noiseMultiplier * dp.clipNorm;
  const total = o.epochs * data.count;
  let step = 0;
  let samples = 0;
  let epochSamples = 0;
  let lossSum = 0;
  let hitSum = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    epochSamples = lossSum = hitSum = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      step++;
      const idx = drawBatch(dp, data.count);
      const grad = new Float32Array(flatSize);
      for (let from = 0; from < idx.length; from += DP_PHYSICAL_BATCH) {
        const part = idx.subarray(from, Math.min(from + DP_PHYSICAL_BATCH, idx.length));
        const seed = deriveSeed(deriveSeed(o.seed, 1_000_000 + step), from);
        const batch = tf.tidy(() => makeBatch(model, data, part));
        const r = clippedGradientSum(model, layers, batch, dp.clipNorm, { training: true, seed });
        batch.x.dispose();
        batch.y.dispose();
        for (let j = 0; j < flatSize; j++) grad[j] = grad[j]! + r.sum[j]!;
        lossSum += r.loss;
        hitSum += r.hits;
      }
      if (std > 0) dp.noise(grad, std);
      for (let j = 0; j < flatSize; j++) grad[j] = grad[j]! / expectedBatch;
      const lr = o.learningRate * scheduleFactor(o.schedule, step, totalSteps);
      update(splitFlat(grad, variables), lr, step);
      samples += idx.length;
      epochSamples += idx.length;
      o.onProgress?.(Math.round(total * step / totalSteps), total);
    }
  }
  const regression = model.def.task === "regression";
  return {
    loss: lossSum / epochSamples,
    accuracy: regression ? NaN : hitSum / epochSamples,
    mae: regression ? hitSum / epochSamples : NaN,
    samples,
    steps: totalSteps,
    seconds: (performance.now() - start) / 1000,
  };
}

/** Views of a flat vector, one per variable. */
function splitFlat(flat: Float32Array, variables: readonly tf.Variable[]): Float32Array[] {
  let offset = 0;
  return variables.map((v) => flat.subarray(offset, offset += v.size));
}
