/**
 * Local training and evaluation of a {@link Network} on {@link Examples} (typed arrays).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
// The Node build of tfjs-core registers no gradient functions; the tfjs-layers
// bundle registers them all on the same (shared) engine as a side effect.
import "@tensorflow/tfjs-layers";
import { checkData, hitCount, makeBatch, taskLoss } from "./batch.ts";
import { type DpSgdOptions, trainDpSgd } from "./dp_sgd.ts";
import type { Examples } from "./examples.ts";
import { type ForwardMode, forwardNetwork, type Network, updateBatchStats } from "./network.ts";
import {
  DEFAULT_LEARNING_RATES,
  DEFAULT_OPTIMIZER,
  makeUpdater,
  type OptimizerName,
  OPTIMIZERS,
  scheduleFactor,
  type ScheduleName,
  SCHEDULES,
} from "./optimizer.ts";
import { FlheError } from "../util/error.ts";
import { deriveSeed, Rng } from "../util/rng.ts";

export { type DpSgdOptions } from "./dp_sgd.ts";
export {
  DEFAULT_LEARNING_RATES,
  type OptimizerName,
  OPTIMIZERS,
  type ScheduleName,
  SCHEDULES,
} from "./optimizer.ts";

/** Options of {@link trainLocal}. */
export interface TrainOptions {
  /** Passes over the data; default 1. */
  epochs?: number;
  /**
   * Samples per gradient step; default 32. Not used with `dp`, whose batches
   * are Poisson-sampled (expected size `dp.sampleRate` x records; a caller
   * derives the rate from its batch size).
   */
  batchSize?: number;
  /**
   * Update rule; default `"momentum"`, as the command line: heavy-ball
   * momentum with the cosine schedule reached 97% by round 3 on two
   * Dirichlet(0.5) splits without the dips of constant-step SGD
   * (`bench/fedavg_sim.ts`). Adam with the cosine schedule is best for
   * central training: 98.6-98.7% on the MNIST test set after one epoch on
   * the 60,000 training images (3 seeds), against 97.6% for plain SGD.
   */
  optimizer?: OptimizerName;
  /**
   * Peak step size; default {@link DEFAULT_LEARNING_RATES} of the update rule:
   * 0.02 for `momentum`/`nesterov`, 0.05 for `sgd`, 0.002 for `adam`.
   */
  learningRate?: number;
  /** Momentum in [0, 1) of `momentum` and `nesterov`; default 0.9 for those (0 otherwise). */
  momentum?: number;
  /**
   * Step-size schedule over all steps of the call; default `"cosine"`: the
   * step size decays to ~0 by the last batch, which is what lifts one epoch
   * from ~97.9% to ~98.7% (the last, small steps average out batch noise).
   */
  schedule?: ScheduleName;
  /** Seed of the per-epoch shuffles. */
  seed: number;
  /** Called after every batch with samples done so far and the total to do. */
  onProgress?: (doneSamples: number, totalSamples: number) => void;
  /**
   * Train with DP-SGD instead: Poisson-sampled batches, each example's
   * gradient clipped, Gaussian noise on each step's sum (see
   * {@link DpSgdOptions}). Refused for models with batch normalization.
   */
  dp?: DpSgdOptions;
}

/** What {@link trainLocal} reports. */
export interface TrainResult {
  /**
   * Mean loss over the last epoch's batches (weighted by batch size):
   * cross-entropy for classifiers, squared error for regression.
   */
  loss: number;
  /** Fraction of the last epoch's samples classified right while training (NaN for regression). */
  accuracy: number;
  /** Mean absolute error over the last epoch (regression; NaN for classifiers). */
  mae: number;
  /** Samples processed, over all epochs (with `dp`, the records the batches drew). */
  samples: number;
  /** Update steps taken, over all epochs (with `dp`, `epochs * floor(1 / sampleRate)`). */
  steps: number;
  /** Wall time. */
  seconds: number;
}

/** What {@link evaluate} reports. */
export interface EvalResult {
  /** Mean cross-entropy (classifiers) or mean squared error (regression). */
  loss: number;
  /** Fraction classified right (NaN for regression). */
  accuracy: number;
  /** Mean absolute error (regression; NaN for classifiers). */
  mae: number;
  /** Samples evaluated. */
  samples: number;
}

/**
 * Trains the model in place with minibatch gradient descent on the loss of
 * its task (softmax cross-entropy, sigmoid cross-entropy, or squared error;
 * by default, as the command line: heavy-ball momentum 0.9, peak step size
 * 0.02 decayed by a cosine over the call's steps; see {@link TrainOptions});
 * inputs are scaled by the network's {@link Scaling}. Batches come from a
 * seeded shuffle per epoch (dropout masks from the same seed), so the same
 * seed, data and weights give the same result on the same backend. The
 * update rule runs in JavaScript on copies of the weights (one read of the
 * gradients and one write of the weights per step), which is cheaper than a
 * dozen small tensor ops per weight tensor; batch-norm statistics move after
 * each step. All intermediate tensors are freed.
 *
 * With `dp`, trains with DP-SGD instead (`dp_sgd.ts`): `floor(1 / q)` steps
 * per epoch, each on a Poisson batch from `dp.sample`, each example's
 * gradient clipped to `dp.clipNorm`, noise from `dp.noise` on the sum,
 * divided by the expected batch size; the update rule and schedule as above.
 *
 * @param model Model to train.
 * @param data Examples of the model's input size, and labels.
 * @param opts Epochs, batch size, update rule and its settings, seed, progress callback, DP-SGD.
 * @returns Loss and accuracy (or MAE) of the last epoch, samples processed,
 *   steps taken and seconds.
 * @throws {FlheError} `input` if the examples do not fit the model, the data
 *   set is empty, or an option names an unknown rule or schedule or
 *   contradicts another, or `dp` is given for a model with batch
 *   normalization (naming the layer); `range` if a numeric option is out of range.
 * @example
 * ```ts
 * const r = trainLocal(model, share, { epochs: 1, seed: 1 });
 * ```
 */
export function trainLocal(model: Network, data: Examples, opts: TrainOptions): TrainResult {
  const resolved = resolveOptions(model, data, opts);
  if (opts.dp !== undefined) {
    const run = { ...resolved, seed: opts.seed, onProgress: opts.onProgress };
    return trainDpSgd(model, data, run, opts.dp);
  }
  const { epochs, batchSize, optimizer, learningRate, momentum, schedule } = resolved;
  const start = performance.now();
  const variables = model.trainable as tf.Variable[];
  const update = makeUpdater(optimizer, momentum, variables);
  const stepsPerEpoch = Math.ceil(data.count / batchSize);
  const totalSteps = epochs * stepsPerEpoch;
  const total = epochs * data.count;
  let step = 0;
  let done = 0;
  let lossSum = 0;
  let hitSum = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = new Rng(deriveSeed(opts.seed, epoch)).shuffle(
      Uint32Array.from({ length: data.count }, (_, i) => i),
    );
    lossSum = 0;
    hitSum = 0;
    for (let from = 0; from < data.count; from += batchSize) {
      const idx = order.subarray(from, Math.min(from + batchSize, data.count));
      step++;
      const lr = learningRate * scheduleFactor(schedule, step, totalSteps);
      const batchStats: NonNullable<ForwardMode["batchStats"]> = [];
      const mode = { training: true, seed: deriveSeed(opts.seed, 1_000_000 + step), batchStats };
      const stats = tf.tidy(() => {
        const { x, y } = makeBatch(model, data, idx);
        let hits: tf.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const out = forwardNetwork(model, x, mode);
          // variableGrads frees everything but the loss: keep the hit count by hand.
          hits = tf.keep(hitCount(model.def.task, out, y));
          return taskLoss(model.def.task, y, out);
        }, variables);
        update(variables.map((v) => grads[v.name]!.dataSync() as Float32Array), lr, step);
        const out = tf.stack([tf.mul(value, idx.length), hits!]);
        hits!.dispose();
        return out;
      });
      updateBatchStats(model, batchStats);
      const [l, c] = stats.dataSync();
      stats.dispose();
      lossSum += l!;
      hitSum += c!;
      done += idx.length;
      opts.onProgress?.(done, total);
    }
  }
  const regression = model.def.task === "regression";
  return {
    loss: lossSum / data.count,
    accuracy: regression ? NaN : hitSum / data.count,
    mae: regression ? hitSum / data.count : NaN,
    samples: done,
    steps: totalSteps,
    seconds: (performance.now() - start) / 1000,
  };
}

/** The options of {@link trainLocal} with every default filled in. */
type ResolvedOptions = Required<Omit<TrainOptions, "seed" | "onProgress" | "dp">>;

/** Fills in the defaults of {@link trainLocal} and checks the data and every option. */
function resolveOptions(model: Network, data: Examples, opts: TrainOptions): ResolvedOptions {
  const optimizer = opts.optimizer ?? DEFAULT_OPTIMIZER;
  const resolved: ResolvedOptions = {
    epochs: opts.epochs ?? 1,
    batchSize: opts.batchSize ?? 32,
    optimizer,
    learningRate: opts.learningRate ?? DEFAULT_LEARNING_RATES[optimizer],
    momentum: opts.momentum ?? (optimizer === "momentum" || optimizer === "nesterov" ? 0.9 : 0),
    schedule: opts.schedule ?? "cosine",
  };
  checkData(model, data);
  if (data.count === 0) throw new FlheError("input", "nn: cannot train on an empty data set");
  checkOptions(resolved);
  return resolved;
}

function checkOptions(o: ResolvedOptions): void {
  const { epochs, batchSize, optimizer, learningRate, momentum, schedule } = o;
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw new FlheError("range", `nn: epochs ${epochs} is not an integer >= 1`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new FlheError("range", `nn: batchSize ${batchSize} is not an integer >= 1`);
  }
  if (!OPTIMIZERS.includes(optimizer)) {
    throw new FlheError(
      "input",
      `nn: optimizer ${optimizer} is not one of ${OPTIMIZERS.join(", ")}`,
    );
  }
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
    throw new FlheError("range", `nn: learningRate ${learningRate} is not a positive number`);
  }
  if (!(momentum >= 0 && momentum < 1)) {
    throw new FlheError("range", `nn: momentum ${momentum} is not in [0, 1)`);
  }
  if (optimizer === "sgd" && momentum > 0) {
    throw new FlheError(
      "input",
      `nn: momentum ${momentum} needs optimizer "momentum" or "nesterov", not sgd`,
    );
  }
  if (!SCHEDULES.includes(schedule)) {
    throw new FlheError("input", `nn: schedule ${schedule} is not one of ${SCHEDULES.join(", ")}`);
  }
}

/**
 * Loss and accuracy (classifiers) or squared and absolute error
 * (regression) of the model on a data set (no training).
 *
 * @param model Model to evaluate.
 * @param data Examples of the model's input size, and labels.
 * @param batchSize Samples per forward pass; default 1000.
 * @returns Loss, accuracy or MAE, and sample count.
 * @throws {FlheError} `input` if the examples do not fit the model or the data set is empty.
 * @example
 * ```ts
 * const { accuracy } = evaluate(model, test);
 * ```
 */
export function evaluate(model: Network, data: Examples, batchSize = 1000): EvalResult {
  checkData(model, data);
  if (data.count === 0) throw new FlheError("input", "nn: cannot evaluate on an empty data set");
  const task = model.def.task;
  let lossSum = 0;
  let hitSum = 0;
  for (let from = 0; from < data.count; from += batchSize) {
    const to = Math.min(from + batchSize, data.count);
    const idx = Uint32Array.from({ length: to - from }, (_, i) => from + i);
    const stats = tf.tidy(() => {
      const { x, y } = makeBatch(model, data, idx);
      const out = forwardNetwork(model, x);
      return tf.stack([taskLoss(task, y, out, true), hitCount(task, out, y)]);
    });
    const [l, c] = stats.dataSync();
    stats.dispose();
    lossSum += l!;
    hitSum += c!;
  }
  const regression = task === "regression";
  return {
    loss: lossSum / data.count,
    accuracy: regression ? NaN : hitSum / data.count,
    mae: regression ? hitSum / data.count : NaN,
    samples: data.count,
  };
}
