/**
 * The neural network of flhe: LeNet-5 in TensorFlow.js on the wasm backend,
 * its flat weight vector, local training and evaluation.
 *
 * @example
 * ```ts
 * import { createLeNet, evaluate, getWeights, initBackend, trainLocal } from "./mod.ts";
 * await initBackend();
 * const model = createLeNet(42);
 * trainLocal(model, share, { epochs: 1, seed: 1 });
 * const update = getWeights(model);
 * ```
 *
 * @module
 */

export { type BackendName, initBackend, type InitBackendOptions } from "./backend.ts";
export { registerWasmKernels } from "./wasm_kernels.ts";
export {
  createLeNet,
  forward,
  getWeights,
  initialWeights,
  type LayerWeight,
  type LeNet,
  LENET_IMAGE_SIZE,
  LENET_PARAM_COUNT,
  LENET_WEIGHTS,
  setWeights,
} from "./lenet.ts";
export {
  DEFAULT_LEARNING_RATES,
  type EvalResult,
  evaluate,
  type OptimizerName,
  OPTIMIZERS,
  type ScheduleName,
  SCHEDULES,
  trainLocal,
  type TrainOptions,
  type TrainResult,
} from "./train.ts";
export { applyUpdate } from "./apply.ts";
export type { Examples } from "./examples.ts";
