/**
 * Per-example gradients for DP-SGD without a backward pass per example.
 *
 * One forward pass adds a zero "probe" to the pre-activation output `z` of
 * every dense and conv2d layer, and one backward pass takes the gradient of
 * the summed loss with respect to the probes only (no weight gradients):
 * since examples do not mix, that gives each example's `delta_i = dL_i/dz_i`.
 * Each example's weight gradient follows from the layer's input `a_i`:
 *
 * - dense: `a_i^T delta_i` (an outer product), bias `delta_i`. Its squared
 *   norm is `|a_i|^2 |delta_i|^2` (the "ghost" norm of Goodfellow 2015, exact
 *   for a flat input), and the clipped sum `a^T (c * delta)` is one matrix
 *   product: the per-example gradients are never formed.
 * - conv2d: `sum_p patch_p(a_i)^T delta_i[p]` over output positions `p`
 *   (im2col times delta), computed for all examples at once as one
 *   depthwise convolution of the input with its channels and batch swapped
 *   (`[Cin, H, W, B]`) by `delta` as the filter (`[OH, OW, B, Cout]`): the
 *   filter gradient of a convolution with the batch as channels, so that no
 *   sum over examples happens. Bias: `sum_p delta_i[p]`.
 *
 * Each example's gradient over all trainable weights is clipped to L2 norm
 * `C` by the factor `min(1, C / (norm + 1e-6))` (as Opacus), and the clipped
 * gradients are summed. Batch normalization is refused: its batch statistics
 * make each example's output depend on the others, so there is no
 * per-example gradient to clip (Opacus refuses it too).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
// Gradient functions (see train.ts).
import "@tensorflow/tfjs-layers";
import { checkData, hitCount, makeBatch, taskLoss } from "./batch.ts";
import type { Examples } from "./examples.ts";
import { type LayerDef, layerOutputShapes } from "./layers.ts";
import { type ForwardMode, forwardNetwork, type Network } from "./network.ts";
import { FlheError } from "../util/error.ts";

type WeightLayer = Extract<LayerDef, { kind: "dense" | "conv2d" }>;

/** A layer whose weights DP-SGD trains: its index, definition and output shape. */
interface ProbedLayer {
  readonly index: number;
  readonly layer: WeightLayer;
  readonly shape: readonly number[];
}

/** What the probes give for one layer: its input and each example's output gradient. */
interface LayerSignal extends ProbedLayer {
  readonly input: tf.Tensor;
  readonly delta: tf.Tensor;
}

/** Each example's gradient of one layer, in three forms. */
interface LayerGrads {
  /** Squared L2 norm of each example's gradient (kernel and bias), `[B]`. */
  readonly sqNorms: tf.Tensor1D;
  /** Sum over examples of `factor_i` times each example's gradient: kernel, then bias if any. */
  weightedSum(factors: tf.Tensor1D): tf.Tensor[];
  /** Each example's gradient, `[B, ...weightShape]`: kernel, then bias if any. */
  perExample(): tf.Tensor[];
}

/** Opacus' guard against dividing by a zero norm. */
const NORM_EPSILON = 1e-6;

/**
 * The layers whose weights DP-SGD trains (dense and conv2d layers with
 * trainable weights), after checking that the model has no layer that mixes
 * examples.
 *
 * @param model The model.
 * @returns The trainable weight layers with their output shapes.
 * @throws {FlheError} `input` naming a batch-normalization layer, or if
 *   nothing is trainable.
 * @example
 * ```ts
 * const layers = dpLayers(model);
 * ```
 */
export function dpLayers(model: Network): ProbedLayer[] {
  const shapes = layerOutputShapes(model.def);
  const out: ProbedLayer[] = [];
  model.def.layers.forEach((layer, index) => {
    if (layer.kind === "batchNorm") {
      throw new FlheError(
        "input",
        `nn: DP-SGD cannot train model ${model.def.name}: layer "${layer.name}" (batchNorm): ` +
          "batch normalization mixes examples; use a model without it for DP",
      );
    }
    if ((layer.kind === "dense" || layer.kind === "conv2d") && layer.trainable) {
      out.push({ index, layer, shape: shapes[index]! });
    }
  });
  const count = out.reduce((s, l) => s + (l.layer.useBias ? 2 : 1), 0);
  if (count === 0 || count !== model.trainable.length) {
    throw new FlheError(
      "input",
      `nn: DP-SGD cannot train model ${model.def.name}: ` +
        (count === 0
          ? "it has no trainable weights"
          : "its trainable weights are not all in dense or conv2d layers"),
    );
  }
  return out;
}

/**
 * One forward pass with probes and one backward pass to them. The layers'
 * inputs and the logits are kept tensors, put in `kept` for the caller to
 * free (valueAndGrads frees everything else but the loss).
 */
function probeSignals(
  model: Network,
  layers: readonly ProbedLayer[],
  batch: { x: tf.Tensor; y: tf.Tensor },
  mode: ForwardMode,
  kept: Map<number | "out", tf.Tensor>,
): { signals: LayerSignal[]; loss: tf.Scalar; out: tf.Tensor2D } {
  const { x, y } = batch;
  const zeros = layers.map((l) => tf.zeros([x.shape[0]!, ...l.shape]));
  const inputs = kept as Map<number, tf.Tensor>;
  const { value, grads } = tf.valueAndGrads((...probes: tf.Tensor[]) => {
    const logits = forwardNetwork(model, x, {
      ...mode,
      probes: { zeros: new Map(layers.map((l, i) => [l.index, probes[i]!])), inputs },
    });
    kept.set("out", tf.keep(logits));
    return taskLoss(model.def.task, y, logits, true);
  })(zeros);
  const signals = layers.map((l, i) => ({ ...l, input: inputs.get(l.index)!, delta: grads[i]! }));
  return { signals, loss: value as tf.Scalar, out: kept.get("out") as tf.Tensor2D };
}

function denseGrads(s: LayerSignal): LayerGrads {
  const a = s.input as tf.Tensor2D;
  const d = s.delta as tf.Tensor2D;
  const deltaSq = tf.sum(tf.square(d), 1);
  const kernelSq = tf.mul(tf.sum(tf.square(a), 1), deltaSq);
  return {
    sqNorms: (s.layer.useBias ? tf.add(kernelSq, deltaSq) : kernelSq) as tf.Tensor1D,
    weightedSum(factors) {
      const scaled = tf.mul(d, tf.reshape(factors, [-1, 1]));
      const kernel = tf.matMul(a, scaled, true, false);
      return s.layer.useBias ? [kernel, tf.sum(scaled, 0)] : [kernel];
    },
    perExample() {
      const kernel = tf.mul(tf.expandDims(a, 2), tf.expandDims(d, 1));
      return s.layer.useBias ? [kernel, d] : [kernel];
    },
  };
}

function convGrads(s: LayerSignal): LayerGrads {
  const x = s.input as tf.Tensor4D;
  const d = s.delta as tf.Tensor4D;
  const layer = s.layer as Extract<WeightLayer, { kind: "conv2d" }>;
  const [batch, , , cin] = x.shape;
  const [kh, kw] = layer.kernel;
  const cout = layer.filters;
  const { top, bottom, left, right } = tf.backend_util.computeConv2DInfo(
    x.shape,
    [kh, kw, cin, cout],
    1,
    1,
    layer.padding,
  ).padInfo;
  // [Cin, kh, kw, B * Cout]: example b's filter gradient at [c, i, j, b * Cout + o].
  const perFilter = tf.depthwiseConv2d(
    tf.transpose(x, [3, 1, 2, 0]),
    tf.transpose(d, [1, 2, 0, 3]) as tf.Tensor4D,
    1,
    [[0, 0], [top, bottom], [left, right], [0, 0]],
  );
  const g = tf.reshape(perFilter, [cin * kh * kw, batch, cout]);
  // Reductions over trailing axes: tf.sum over inner axes of a rank-5
  // tensor transposes it first, and is then ~100x slower.
  const kernelSq = tf.sum(tf.sum(tf.square(g), 2), 0);
  const bias = tf.sum(d, [1, 2]);
  return {
    sqNorms:
      (layer.useBias ? tf.add(kernelSq, tf.sum(tf.square(bias), 1)) : kernelSq) as tf.Tensor1D,
    weightedSum(factors) {
      const summed = tf.sum(tf.mul(g, tf.reshape(factors, [1, -1, 1])), 1);
      const kernel = tf.transpose(tf.reshape(summed, [cin, kh, kw, cout]), [1, 2, 0, 3]);
      return layer.useBias ? [kernel, tf.sum(tf.mul(bias, tf.reshape(factors, [-1, 1])), 0)] : [
        kernel,
      ];
    },
    perExample() {
      const kernel = tf.transpose(tf.reshape(g, [cin, kh, kw, batch, cout]), [3, 1, 2, 0, 4]);
      return layer.useBias ? [kernel, bias] : [kernel];
    },
  };
}

/** Each example's clipping factor `min(1, C / (norm + 1e-6))`. */
function clipFactors(norms: tf.Tensor1D, clipNorm: number): tf.Tensor1D {
  return tf.minimum(1, tf.div(clipNorm, tf.add(norms, NORM_EPSILON)));
}

/**
 * Runs the probed passes on a batch and hands the per-layer gradients and
 * each example's norm to `use`, inside one `tf.tidy`; frees the kept tensors.
 */
function withGrads<T extends tf.Tensor | tf.Tensor[]>(
  model: Network,
  layers: readonly ProbedLayer[],
  x: tf.Tensor,
  y: tf.Tensor,
  mode: ForwardMode,
  use: (grads: LayerGrads[], norms: tf.Tensor1D, loss: tf.Scalar, out: tf.Tensor2D) => T,
): T {
  const kept = new Map<number | "out", tf.Tensor>();
  try {
    return tf.tidy(() => {
      const { signals, loss, out } = probeSignals(model, layers, { x, y }, mode, kept);
      const grads = signals.map((s) => s.layer.kind === "dense" ? denseGrads(s) : convGrads(s));
      const norms = tf.sqrt(tf.addN(grads.map((g) => g.sqNorms))) as tf.Tensor1D;
      return use(grads, norms, loss, out);
    });
  } finally {
    for (const t of kept.values()) t.dispose();
  }
}

/** What {@link clippedGradientSum} reports. */
export interface ClippedSum {
  /** Sum of the examples' clipped gradients over the trainable weights, in their order, flat. */
  readonly sum: Float32Array;
  /** Sum of the examples' losses. */
  readonly loss: number;
  /** Right answers (classifiers) or sum of absolute errors (regression). */
  readonly hits: number;
}

/**
 * The sum of the examples' gradients, each clipped to L2 norm `clipNorm`
 * over all trainable weights, from one forward and one backward pass (see
 * the module doc). One read from the backend.
 *
 * @param model The model; its trainable weights all in dense and conv2d layers.
 * @param layers {@link dpLayers} of the model.
 * @param batch Scaled inputs and labels, from {@link makeBatch}; at least one example.
 * @param clipNorm The clipping norm `C`, positive.
 * @param mode Training mode (dropout seed); no batch statistics.
 * @returns The flat clipped sum, summed loss and hits.
 * @example
 * ```ts
 * const { sum } = clippedGradientSum(model, dpLayers(model), batch, 1, { training: true });
 * ```
 */
export function clippedGradientSum(
  model: Network,
  layers: readonly ProbedLayer[],
  batch: { x: tf.Tensor; y: tf.Tensor },
  clipNorm: number,
  mode: ForwardMode,
): ClippedSum {
  let part = batch;
  try {
    for (;;) {
      const r = clippedSumOnce(model, layers, part, clipNorm, mode);
      if (r.finite) return r.result;
      // An example whose gradient overflows (an extreme input, or a model
      // crafted so that one record overflows) would turn the whole sum into
      // NaN, and a NaN that appears only when one record is present tells
      // that it is. Each such example contributes nothing instead: a choice
      // made from that example alone, so the sum still moves by at most C
      // per example.
      const keep = r.norms.flatMap((n, i) => (Number.isFinite(n) ? [i] : []));
      if (keep.length === 0) {
        return { sum: new Float32Array(r.result.sum.length), loss: 0, hits: 0 };
      }
      const kept = tf.tidy(() => {
        const idx = tf.tensor1d(keep, "int32");
        return { x: tf.gather(part.x, idx), y: tf.gather(part.y, idx) };
      });
      if (part !== batch) tf.dispose([part.x, part.y]);
      part = kept;
    }
  } finally {
    if (part !== batch) tf.dispose([part.x, part.y]);
  }
}

function clippedSumOnce(
  model: Network,
  layers: readonly ProbedLayer[],
  batch: { x: tf.Tensor; y: tf.Tensor },
  clipNorm: number,
  mode: ForwardMode,
): { result: ClippedSum; norms: number[]; finite: boolean } {
  const result = withGrads(model, layers, batch.x, batch.y, mode, (grads, norms, loss, out) => {
    const factors = clipFactors(norms, clipNorm);
    const sums = grads.flatMap((g) => g.weightedSum(factors)).map((t) => tf.reshape(t, [-1]));
    return tf.concat([...sums, tf.stack([loss, hitCount(model.def.task, out, batch.y)]), norms]);
  });
  const values = result.dataSync() as Float32Array;
  result.dispose();
  const count = batch.x.shape[0]!;
  const n = values.length - 2 - count;
  const sum = values.subarray(0, n);
  let total = 0;
  for (let j = 0; j < n; j++) total += sum[j]!;
  return {
    result: { sum, loss: values[n]!, hits: values[n + 1]! },
    norms: Array.from(values.subarray(n + 2)),
    finite: Number.isFinite(total),
  };
}

/** What {@link perExampleGradients} gives. */
export interface PerExampleGradients {
  /**
   * Each example's gradient over the trainable weights (in their order,
   * flat), clipped to `clipNorm` if one was given.
   */
  readonly gradients: Float32Array[];
  /** Each example's gradient norm before clipping. */
  readonly norms: Float32Array;
}

/**
 * Each example's gradient of its own loss (as a batch of one would give it),
 * computed for the whole batch at once as DP-SGD does, optionally clipped:
 * what {@link clippedGradientSum} sums, for audits and tests.
 *
 * @param model The model (no batch normalization).
 * @param data Examples.
 * @param indices Which examples (at least one).
 * @param clipNorm Clip each example's gradient to this L2 norm; default none.
 * @param seed Dropout seed (training mode); default 0.
 * @returns Per-example gradients and norms.
 * @throws {FlheError} `input` as {@link dpLayers}, or if the examples do not fit the model.
 * @example
 * ```ts
 * const { gradients, norms } = perExampleGradients(model, share, Uint32Array.of(0, 1, 2), 1);
 * ```
 */
export function perExampleGradients(
  model: Network,
  data: Examples,
  indices: Uint32Array,
  clipNorm = Infinity,
  seed = 0,
): PerExampleGradients {
  checkData(model, data);
  const layers = dpLayers(model);
  const batch = tf.tidy(() => makeBatch(model, data, indices));
  try {
    const [flatT, normsT] = withGrads(model, layers, batch.x, batch.y, {
      training: true,
      seed,
    }, (grads, norms) => {
      const factors = clipFactors(norms, clipNorm);
      const parts = grads.flatMap((g) => g.perExample())
        .map((t) => tf.mul(tf.reshape(t, [indices.length, -1]), tf.reshape(factors, [-1, 1])));
      return [tf.concat(parts, 1), norms];
    });
    const flat = flatT!.dataSync() as Float32Array;
    const norms = normsT!.dataSync() as Float32Array;
    flatT!.dispose();
    normsT!.dispose();
    const size = flat.length / indices.length;
    const gradients = Array.from(
      { length: indices.length },
      (_, i) => flat.slice(i * size, (i + 1) * size),
    );
    return { gradients, norms };
  } finally {
    batch.x.dispose();
    batch.y.dispose();
  }
}
