/**
 * Training kernels for the wasm backend: the one it lacks
 * (`Conv2DBackpropFilter`) and faster versions of three it has
 * (`Conv2DBackpropInput`, `MaxPoolGrad`, `BatchMatMul` with a transposed
 * operand), whose stock versions are plain loops many times slower than the
 * XNNPACK convolution and matrix product they are rewritten onto here.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { FlheError } from "../util/error.ts";

type Info = tf.TensorInfo;
interface WasmBackendLike {
  disposeData(dataId: object): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array;
}
type KernelArgs = { inputs: Record<string, Info>; backend: WasmBackendLike; attrs: unknown };
type KernelFn = (args: KernelArgs) => Info;

/** Stock kernels that the replacements fall back to for cases they do not cover. */
const stock = new Map<string, KernelFn>();

/**
 * Registers the training kernels for the `wasm` backend (idempotent; call
 * before `tf.setBackend("wasm")` so that the stock kernels' set-up still runs).
 *
 * - `Conv2DBackpropFilter` (missing in tfjs-backend-wasm): the filter gradient
 *   `dW[i,j,c,o] = sum_{n,y,x} xpad[n,y+i,x+j,c] * dy[n,y,x,o]` is a forward
 *   convolution of the input transposed to `[Cin, H, W, N]` (padded as in the
 *   forward pass) with `dy` transposed to `[OH, OW, N, Cout]`, giving
 *   `[Cin, fh, fw, Cout]`, transposed back to `[fh, fw, Cin, Cout]`.
 * - `Conv2DBackpropInput`: `dx` is the forward convolution of `dy`, padded by
 *   `f - 1 - pad`, with the filter rotated by 180 degrees and its channel axes
 *   swapped.
 * - `MaxPoolGrad` for non-overlapping `valid` windows: one pass in JavaScript
 *   over the wasm heap (the gradient goes to the first maximum of each window).
 * - `BatchMatMul` of matrices with `transposeA` and/or `transposeB`: rewritten
 *   with explicit transposes (`a^T b`, or `(b op(a)^T)^T` for `op(a) b^T`) so
 *   that XNNPACK's fast untransposed path is used.
 *
 * Strides and dilations other than 1 are rejected by the convolution kernels;
 * other pooling and matrix cases run the stock kernels.
 *
 * @throws {FlheError} `input` when a kernel runs with unsupported attributes,
 *   `unavailable` if the wasm backend lacks a kernel to wrap.
 * @example
 * ```ts
 * registerWasmKernels();
 * await tf.setBackend("wasm");
 * ```
 */
export function registerWasmKernels(): void {
  if (tf.getKernel(tf.Conv2DBackpropFilter, "wasm") === undefined) {
    tf.registerKernel({
      kernelName: tf.Conv2DBackpropFilter,
      backendName: "wasm",
      kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
    });
  }
  replace(tf.Conv2DBackpropInput, conv2dBackpropInput);
  replace(tf.MaxPoolGrad, maxPoolGrad);
  replace(tf.BatchMatMul, batchMatMul);
}

function replace(name: string, fn: KernelFn): void {
  if (stock.has(name)) return;
  const config = tf.getKernel(name, "wasm");
  if (config === undefined) {
    throw new FlheError("unavailable", `nn: wasm backend has no ${name} kernel`);
  }
  stock.set(name, config.kernelFunc as unknown as KernelFn);
  tf.unregisterKernel(name, "wasm");
  tf.registerKernel({ ...config, kernelFunc: fn as unknown as tf.KernelFunc });
}

function kernel(name: string): KernelFn {
  const fn = stock.get(name) ?? tf.getKernel(name, "wasm")?.kernelFunc;
  if (fn === undefined) {
    throw new FlheError("unavailable", `nn: wasm backend has no ${name} kernel`);
  }
  return fn as unknown as KernelFn;
}

function convInfo(
  xShape: number[],
  filterShape: [number, number, number, number],
  attrs: {
    strides: [number, number] | number;
    pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
    dataFormat: "NHWC" | "NCHW";
    dimRoundingMode?: "floor" | "round" | "ceil";
  },
  name: string,
): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat !== "NHWC") {
    throw new FlheError("input", `nn: wasm ${name} supports NHWC only, got ${attrs.dataFormat}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  if (info.strideHeight !== 1 || info.strideWidth !== 1) {
    throw new FlheError("input", `nn: wasm ${name} supports stride 1 only, got ${attrs.strides}`);
  }
  return info;
}

function conv2dBackpropFilter(args: KernelArgs): Info {
  const { inputs: { x, dy }, backend } = args;
  const attrs = args.attrs as tf.Conv2DBackpropFilterAttrs;
  const info = convInfo(x!.shape, attrs.filterShape, attrs, "Conv2DBackpropFilter");
  const transpose = kernel(tf.Transpose);
  const xt = transpose({ inputs: { x: x! }, backend, attrs: { perm: [3, 1, 2, 0] } });
  const dyt = transpose({ inputs: { x: dy! }, backend, attrs: { perm: [1, 2, 0, 3] } });
  const { top, bottom, left, right } = info.padInfo;
  const grad = kernel(tf.Conv2D)({
    inputs: { x: xt, filter: dyt },
    backend,
    attrs: {
      strides: 1,
      dilations: 1,
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dataFormat: "NHWC",
    },
  });
  backend.disposeData(xt.dataId);
  backend.disposeData(dyt.dataId);
  const out = transpose({ inputs: { x: grad }, backend, attrs: { perm: [1, 2, 0, 3] } });
  backend.disposeData(grad.dataId);
  return out;
}

function conv2dBackpropInput(args: KernelArgs): Info {
  const { inputs: { dy, filter }, backend } = args;
  const attrs = args.attrs as tf.Conv2DBackpropInputAttrs;
  const [fh, fw] = filter!.shape as [number, number, number, number];
  const info = convInfo(
    attrs.inputShape,
    filter!.shape as [number, number, number, number],
    attrs,
    "Conv2DBackpropInput",
  );
  const { top, bottom, left, right } = info.padInfo;
  const pads = [fh - 1 - top, fh - 1 - bottom, fw - 1 - left, fw - 1 - right];
  if (pads.some((p) => p < 0)) {
    return stock.get(tf.Conv2DBackpropInput)!(args);
  }
  const reversed = kernel(tf.Reverse)({ inputs: { x: filter! }, backend, attrs: { dims: [0, 1] } });
  const rotated = kernel(tf.Transpose)({
    inputs: { x: reversed },
    backend,
    attrs: { perm: [0, 1, 3, 2] },
  });
  backend.disposeData(reversed.dataId);
  const out = kernel(tf.Conv2D)({
    inputs: { x: dy!, filter: rotated },
    backend,
    attrs: {
      strides: 1,
      dilations: 1,
      pad: [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]],
      dataFormat: "NHWC",
    },
  });
  backend.disposeData(rotated.dataId);
  return out;
}

function maxPoolGrad(args: KernelArgs): Info {
  const { inputs: { dy, input }, backend } = args;
  const attrs = args.attrs as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input!.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const fh = info.filterHeight;
  const fw = info.filterWidth;
  if (
    info.padInfo.top !== 0 || info.padInfo.left !== 0 || info.strideHeight !== fh ||
    info.strideWidth !== fw || input!.dtype !== "float32"
  ) {
    return stock.get(tf.MaxPoolGrad)!(args);
  }
  const dx = backend.makeOutput(input!.shape, "float32");
  // Views taken after makeOutput: an allocation may grow (and move) the heap.
  const out = backend.typedArrayFromHeap(dx);
  const x = backend.typedArrayFromHeap(input!);
  const g = backend.typedArrayFromHeap(dy!);
  out.fill(0);
  const { batchSize, inHeight, inWidth, outHeight, outWidth } = info;
  const channels = info.inChannels;
  const rowStride = inWidth * channels;
  for (let n = 0; n < batchSize; n++) {
    const inBase = n * inHeight * rowStride;
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const gBase = ((n * outHeight + oy) * outWidth + ox) * channels;
        const winBase = inBase + oy * fh * rowStride + ox * fw * channels;
        for (let c = 0; c < channels; c++) {
          let best = winBase + c;
          let bestValue = x[best]!;
          for (let i = 0; i < fh; i++) {
            for (let j = 0; j < fw; j++) {
              const k = winBase + i * rowStride + j * channels + c;
              if (x[k]! > bestValue) {
                bestValue = x[k]!;
                best = k;
              }
            }
          }
          out[best] = g[gBase + c]!;
        }
      }
    }
  }
  return dx;
}

function batchMatMul(args: KernelArgs): Info {
  const attrs = args.attrs as tf.BatchMatMulAttrs;
  const a = args.inputs.a!;
  const b = args.inputs.b!;
  if (
    !(attrs.transposeA || attrs.transposeB) || a.shape.length !== 2 || b.shape.length !== 2 ||
    a.dtype !== "float32" || b.dtype !== "float32"
  ) {
    return stock.get(tf.BatchMatMul)!(args);
  }
  const { backend } = args;
  const transpose = kernel(tf.Transpose);
  const plain = { ...attrs, transposeA: false, transposeB: false };
  if (!attrs.transposeB) {
    const at = transpose({ inputs: { x: a }, backend, attrs: { perm: [1, 0] } });
    const out = stock.get(tf.BatchMatMul)!({ inputs: { a: at, b }, backend, attrs: plain });
    backend.disposeData(at.dataId);
    return out;
  }
  // op(a) @ b^T = (b @ op(a)^T)^T: the stock transposeB path is ~15x slower
  // than a plain product, and the right operand (the one XNNPACK packs anew
  // for every new tensor) becomes op(a)^T, in training the small activation
  // or gradient rather than the weight matrix.
  const right = attrs.transposeA
    ? a
    : transpose({ inputs: { x: a }, backend, attrs: { perm: [1, 0] } });
  const product = stock.get(tf.BatchMatMul)!({ inputs: { a: b, b: right }, backend, attrs: plain });
  if (right !== a) backend.disposeData(right.dataId);
  const out = transpose({ inputs: { x: product }, backend, attrs: { perm: [1, 0] } });
  backend.disposeData(product.dataId);
  return out;
}
