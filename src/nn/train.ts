/**
 * Local training and evaluation of {@link LeNet} on a {@link Dataset}.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
// The Node build of tfjs-core registers no gradient functions; the tfjs-layers
// bundle registers them all on the same (shared) engine as a side effect.
import "@tensorflow/tfjs-layers";
import type { Dataset } from "../data/dataset.ts";
import { deriveSeed, Rng } from "../data/rng.ts";
import { forward, type LeNet, LENET_IMAGE_SIZE } from "./lenet.ts";

/** Options of {@link trainLocal}. */
export interface TrainOptions {
  /** Passes over the data; default 1. */
  epochs?: number;
  /** Samples per gradient step; default 32. */
  batchSize?: number;
  /** SGD step size; default 0.05. */
  learningRate?: number;
  /** Heavy-ball momentum in [0, 1); default 0 (plain SGD). Buffers start at zero on every call. */
  momentum?: number;
  /** Seed of the per-epoch shuffles. */
  seed: number;
  /** Called after every batch with samples done so far and the total to do. */
  onProgress?: (doneSamples: number, totalSamples: number) => void;
}

/** What {@link trainLocal} reports. */
export interface TrainResult {
  /** Mean cross-entropy over the last epoch's batches (weighted by batch size). */
  loss: number;
  /** Fraction of the last epoch's samples classified right while training. */
  accuracy: number;
  /** Samples processed, over all epochs. */
  samples: number;
  /** Wall time. */
  seconds: number;
}

/** What {@link evaluate} reports. */
export interface EvalResult {
  /** Mean cross-entropy. */
  loss: number;
  /** Fraction classified right. */
  accuracy: number;
  /** Samples evaluated. */
  samples: number;
}

/**
 * Trains the model in place with minibatch SGD (optionally with momentum) on
 * softmax cross-entropy; pixels are scaled to [0, 1]. Batches come from a
 * seeded shuffle per epoch, so the same seed, data and weights give the same
 * result on the same backend. All intermediate tensors are freed.
 *
 * @param model Model to train.
 * @param data Training images (28x28) and labels.
 * @param opts Epochs, batch size, learning rate, momentum, seed, progress callback.
 * @returns Loss and accuracy of the last epoch, samples processed and seconds taken.
 * @throws {Error} If the images are not 28x28, the data set is empty, or an
 *   option is out of range.
 * @example
 * ```ts
 * const r = trainLocal(model, share, { epochs: 1, batchSize: 32, learningRate: 0.05, seed: 1 });
 * ```
 */
export function trainLocal(model: LeNet, data: Dataset, opts: TrainOptions): TrainResult {
  const epochs = opts.epochs ?? 1;
  const batchSize = opts.batchSize ?? 32;
  const learningRate = opts.learningRate ?? 0.05;
  const momentum = opts.momentum ?? 0;
  checkData(data);
  if (data.count === 0) throw new Error("nn: cannot train on an empty data set");
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw new Error(`nn: epochs ${epochs} is not an integer >= 1`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`nn: batchSize ${batchSize} is not an integer >= 1`);
  }
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
    throw new Error(`nn: learningRate ${learningRate} is not a positive number`);
  }
  if (!(momentum >= 0 && momentum < 1)) {
    throw new Error(`nn: momentum ${momentum} is not in [0, 1)`);
  }
  const start = performance.now();
  const variables = model.variables as tf.Variable[];
  const velocity = momentum > 0
    ? variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)))
    : [];
  const lr = tf.scalar(learningRate);
  const mu = tf.scalar(momentum);
  const total = epochs * data.count;
  let done = 0;
  let lossSum = 0;
  let correct = 0;
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = new Rng(deriveSeed(opts.seed, epoch)).shuffle(
        Uint32Array.from({ length: data.count }, (_, i) => i),
      );
      lossSum = 0;
      correct = 0;
      for (let from = 0; from < data.count; from += batchSize) {
        const idx = order.subarray(from, Math.min(from + batchSize, data.count));
        const stats = tf.tidy(() => {
          const { x, y, labels } = makeBatch(data, idx);
          let hits: tf.Tensor | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const logits = forward(model, x);
            // variableGrads frees everything but the loss: keep the hit count by hand.
            hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "float32")));
            return tf.losses.softmaxCrossEntropy(y, logits);
          }, variables);
          variables.forEach((v, i) => {
            const g = grads[v.name]!;
            if (momentum > 0) {
              const m = velocity[i]!;
              m.assign(tf.add(tf.mul(m, mu), g));
              v.assign(tf.sub(v, tf.mul(m, lr)));
            } else {
              v.assign(tf.sub(v, tf.mul(g, lr)));
            }
          });
          const out = tf.stack([tf.mul(value, idx.length), hits!]);
          hits!.dispose();
          return out;
        });
        const [l, c] = stats.dataSync();
        stats.dispose();
        lossSum += l!;
        correct += c!;
        done += idx.length;
        opts.onProgress?.(done, total);
      }
    }
  } finally {
    for (const m of velocity) m.dispose();
    lr.dispose();
    mu.dispose();
  }
  return {
    loss: lossSum / data.count,
    accuracy: correct / data.count,
    samples: done,
    seconds: (performance.now() - start) / 1000,
  };
}

/**
 * Loss and accuracy of the model on a data set (no training).
 *
 * @param model Model to evaluate.
 * @param data Images (28x28) and labels.
 * @param batchSize Samples per forward pass; default 1000.
 * @returns Mean cross-entropy, accuracy and sample count.
 * @throws {Error} If the images are not 28x28 or the data set is empty.
 * @example
 * ```ts
 * const { accuracy } = evaluate(model, test);
 * ```
 */
export function evaluate(model: LeNet, data: Dataset, batchSize = 1000): EvalResult {
  checkData(data);
  if (data.count === 0) throw new Error("nn: cannot evaluate on an empty data set");
  let lossSum = 0;
  let correct = 0;
  for (let from = 0; from < data.count; from += batchSize) {
    const to = Math.min(from + batchSize, data.count);
    const idx = Uint32Array.from({ length: to - from }, (_, i) => from + i);
    const stats = tf.tidy(() => {
      const { x, y, labels } = makeBatch(data, idx);
      const logits = forward(model, x);
      const loss = tf.losses.softmaxCrossEntropy(y, logits, undefined, undefined, tf.Reduction.SUM);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "float32"));
      return tf.stack([loss, hits]);
    });
    const [l, c] = stats.dataSync();
    stats.dispose();
    lossSum += l!;
    correct += c!;
  }
  return { loss: lossSum / data.count, accuracy: correct / data.count, samples: data.count };
}

function checkData(data: Dataset): void {
  if (data.rows !== LENET_IMAGE_SIZE || data.cols !== LENET_IMAGE_SIZE) {
    throw new Error(`nn: images are ${data.rows}x${data.cols}, LeNet-5 needs 28x28`);
  }
}

function makeBatch(
  data: Dataset,
  idx: Uint32Array,
): { x: tf.Tensor4D; y: tf.Tensor2D; labels: tf.Tensor1D } {
  const size = LENET_IMAGE_SIZE * LENET_IMAGE_SIZE;
  const pixels = new Float32Array(idx.length * size);
  const labels = new Int32Array(idx.length);
  for (let b = 0; b < idx.length; b++) {
    const j = idx[b]!;
    const src = data.images.subarray(j * size, (j + 1) * size);
    const off = b * size;
    for (let p = 0; p < size; p++) pixels[off + p] = src[p]! / 255;
    labels[b] = data.labels[j]!;
  }
  const lab = tf.tensor1d(labels, "int32");
  return {
    x: tf.tensor4d(pixels, [idx.length, LENET_IMAGE_SIZE, LENET_IMAGE_SIZE, 1]),
    y: tf.oneHot(lab, 10) as tf.Tensor2D,
    labels: lab,
  };
}
