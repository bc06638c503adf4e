/**
 * The models of flhe: built-ins (LeNet-5, MLP, logistic regression, a small
 * CNN) and TensorFlow.js Layers `model.json` files, as TensorFlow.js
 * variables on the wasm backend; their flat weight vector, local training
 * (plain, or DP-SGD with per-example clipping from one backward pass per
 * batch: `trainLocal`'s `dp` option, samplers injected) and evaluation on
 * typed arrays.
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
 * @example DP-SGD, with the CSPRNG samplers of src/dp wired in by the caller
 * ```ts
 * // addGaussianNoise and poissonBatch: src/dp's CSPRNG samplers.
 * trainLocal(model, share, {
 *   seed: 1,
 *   dp: {
 *     clipNorm: 1, noiseMultiplier: 0.78, sampleRate: 256 / share.count,
 *     noise: (values, std) => void addGaussianNoise(values, std), sample: poissonBatch,
 *   },
 * });
 * ```
 *
 * @module
 */

export { type BackendName, initBackend, type InitBackendOptions } from "./backend.ts";
export { registerWasmKernels } from "./wasm_kernels.ts";
export {
  createLeNet,
  getWeights,
  initialWeights,
  type LayerWeight,
  type LeNet,
  LENET_DEF,
  LENET_IMAGE_SIZE,
  LENET_PARAM_COUNT,
  LENET_WEIGHTS,
  PIXEL_SCALING,
  setWeights,
} from "./lenet.ts";
export {
  type ActivationName,
  ACTIVATIONS,
  type LayerDef,
  type ModelDef,
  modelWeights,
  parameterCount,
  type Task,
  TASKS,
  type WeightSpec,
} from "./layers.ts";
export {
  createNetwork,
  disposeNetwork,
  type ForwardMode,
  forwardNetwork,
  getNetworkWeights,
  initialNetworkWeights,
  type Network,
  NO_SCALING,
  type Scaling,
  setNetworkWeights,
} from "./network.ts";
export {
  type KerasModel,
  type ManifestGroup,
  type ManifestWeight,
  parseKerasModel,
  SUPPORTED_LAYERS,
} from "./keras_model.ts";
export { manifestPaths, weightsFromManifest, weightsManifest } from "./keras_weights.ts";
export {
  type LayersModelFiles,
  layersModelFiles,
  type LayersModelOptions,
} from "./keras_export.ts";
export {
  BUILTIN_MODELS,
  type BuiltinName,
  type BuiltinOptions,
  builtinTopology,
  type ModelSpec,
  parseModelSpec,
} from "./builtin_models.ts";
export {
  DEFAULT_LEARNING_RATES,
  type DpSgdOptions,
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
export { DP_PHYSICAL_BATCH } from "./dp_sgd.ts";
export { type PerExampleGradients, perExampleGradients } from "./per_example.ts";
export type { Examples } from "./examples.ts";
