/**
 * Batches for training and evaluation: scaled inputs and labels as tensors,
 * the loss of each task, and its right answers.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import type { Examples } from "./examples.ts";
import type { Task } from "./layers.ts";
import type { Network } from "./network.ts";
import { FlheError } from "../util/error.ts";

/**
 * The loss of a task from the labels and the output layer's logits:
 * softmax cross-entropy, sigmoid cross-entropy or squared error.
 *
 * @param task The model's task.
 * @param y Labels as {@link makeBatch} gives them.
 * @param out Logits, `[batch, outputs]`.
 * @param sum Sum over the batch instead of the mean (the sum of each example's own loss).
 * @returns The loss.
 * @example
 * ```ts
 * const loss = taskLoss("multiclass", y, forwardNetwork(net, x));
 * ```
 */
export function taskLoss(task: Task, y: tf.Tensor, out: tf.Tensor2D, sum = false): tf.Scalar {
  const r = sum ? tf.Reduction.SUM : tf.Reduction.SUM_BY_NONZERO_WEIGHTS;
  if (task === "multiclass") {
    return tf.losses.softmaxCrossEntropy(y, out, undefined, undefined, r) as tf.Scalar;
  }
  if (task === "binary") {
    return tf.losses.sigmoidCrossEntropy(y, out, undefined, undefined, r) as tf.Scalar;
  }
  return tf.losses.meanSquaredError(y, out, undefined, r) as tf.Scalar;
}

/**
 * Right answers in a batch (classifiers), or the sum of absolute errors (regression).
 *
 * @param task The model's task.
 * @param out Logits, `[batch, outputs]`.
 * @param y Labels as {@link makeBatch} gives them.
 * @returns A scalar.
 * @example
 * ```ts
 * const hits = hitCount("multiclass", out, y);
 * ```
 */
export function hitCount(task: Task, out: tf.Tensor2D, y: tf.Tensor): tf.Tensor {
  if (task === "multiclass") {
    return tf.sum(tf.cast(tf.equal(tf.argMax(out, 1), tf.argMax(y, 1)), "float32"));
  }
  if (task === "binary") {
    return tf.sum(tf.cast(tf.equal(tf.cast(tf.greater(out, 0), "float32"), y), "float32"));
  }
  return tf.sum(tf.abs(tf.sub(out, y)));
}

/**
 * Checks that the examples fit the model's input.
 *
 * @param model The model.
 * @param data The examples.
 * @throws {FlheError} `input` if the feature or label count is wrong.
 * @example
 * ```ts
 * checkData(model, share);
 * ```
 */
export function checkData(model: Network, data: Examples): void {
  const size = model.inputSize;
  if (data.features.length !== data.count * size || data.labels.length !== data.count) {
    throw new FlheError(
      "input",
      `nn: ${data.count} examples need ${data.count * size} values (${
        model.def.inputShape.join("x")
      } each) and ${data.count} labels, got ${data.features.length} and ${data.labels.length}`,
    );
  }
}

/**
 * Scaled inputs and the labels as the task's loss takes them (one-hot for
 * `multiclass`, a column otherwise).
 *
 * @param model The model (its input shape, scaling and task).
 * @param data The examples.
 * @param idx Which examples, in batch order.
 * @returns `x` of `[idx.length, ...inputShape]` and `y`.
 * @example
 * ```ts
 * const { x, y } = tf.tidy(() => makeBatch(model, share, Uint32Array.of(0, 1)));
 * ```
 */
export function makeBatch(
  model: Network,
  data: Examples,
  idx: Uint32Array,
): { x: tf.Tensor; y: tf.Tensor } {
  const size = model.inputSize;
  const { center, divisor } = model.scaling;
  const values = new Float32Array(idx.length * size);
  const labels = new Float32Array(idx.length);
  for (let b = 0; b < idx.length; b++) {
    const j = idx[b]!;
    const src = data.features.subarray(j * size, (j + 1) * size);
    const off = b * size;
    if (typeof center === "number" && typeof divisor === "number") {
      for (let p = 0; p < size; p++) values[off + p] = (src[p]! - center) / divisor;
    } else {
      for (let p = 0; p < size; p++) {
        const c = typeof center === "number" ? center : center[p]!;
        const d = typeof divisor === "number" ? divisor : divisor[p]!;
        values[off + p] = (src[p]! - c) / d;
      }
    }
    labels[b] = data.labels[j]!;
  }
  const x = tf.tensor(values, [idx.length, ...model.def.inputShape]);
  if (model.def.task === "multiclass") {
    return { x, y: tf.oneHot(tf.tensor1d(Int32Array.from(labels), "int32"), model.def.outputs) };
  }
  return { x, y: tf.tensor2d(labels, [idx.length, 1]) };
}
