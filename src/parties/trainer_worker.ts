/**
 * A client's training worker: holds the client's share of the data set and
 * the model, and trains and evaluates off the main thread, so that the
 * client keeps answering its server (pings, messages) during a long round.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { Dataset } from "../data/mod.ts";
import {
  createNetwork,
  evaluate,
  getNetworkWeights,
  initBackend,
  type Network,
  setNetworkWeights,
  trainLocal,
} from "../nn/mod.ts";
import { addGaussianNoise, poissonBatch } from "../dp/mod.ts";
import { loadClientData } from "./client_data.ts";
import type { TrainerData, TrainerReply, TrainerRequest } from "./trainer_protocol.ts";

declare const self: {
  onmessage: ((e: MessageEvent<TrainerRequest>) => void) | null;
  postMessage(message: TrainerReply, transfer?: Transferable[]): void;
};

let train: Dataset | undefined;
let test: Dataset | undefined;
let model: Network | undefined;

async function init(data: TrainerData, weights: Float32Array): Promise<TrainerReply> {
  const loaded = await loadClientData(data);
  train = loaded.train;
  test = loaded.test;
  const backend = await initBackend({
    onWarn: (message) => self.postMessage({ type: "warning", message }),
  });
  model = createNetwork(data.model.def, weights, data.model.scaling);
  return {
    type: "ready",
    source: loaded.source,
    trainCount: train.count,
    testCount: test.count,
    backend,
  };
}

/**
 * Metrics as the wire carries them: accuracy in [0, 1] (0 where a
 * regression has none), loss capped at what a report may say.
 */
function wire<T extends { loss: number; accuracy: number }>(r: T): T {
  return {
    ...r,
    loss: Math.min(r.loss, 1e9),
    accuracy: Number.isNaN(r.accuracy) ? 0 : r.accuracy,
  };
}

interface Answer {
  readonly reply: TrainerReply;
  readonly transfer?: Transferable[];
}

async function handle(req: TrainerRequest): Promise<Answer> {
  if (req.type === "init") return { reply: await init(req.data, req.weights) };
  if (!model || !train || !test) throw new FlheError("usage", "trainer: not initialized");
  setNetworkWeights(model, req.weights);
  if (req.type === "evaluate") {
    return { reply: { type: "evaluated", ...wire(evaluate(model, test)) } };
  }
  let lastReport = 0;
  const { dp, ...fit } = req.fit;
  const result = trainLocal(model, train, {
    ...fit,
    // DP-SGD's noise from Web Crypto and its Poisson batches: never the seeded generator.
    ...(dp
      ? { dp: { ...dp, noise: (v, s) => void addGaussianNoise(v, s), sample: poissonBatch } }
      : {}),
    onProgress: (done, total) => {
      // A few progress messages per round are plenty.
      if (done === total || done - lastReport >= total / 20) {
        lastReport = done;
        self.postMessage({ type: "progress", done, total });
      }
    },
  });
  const weights = getNetworkWeights(model);
  return {
    reply: { type: "trained", ...wire(result), weights },
    transfer: [weights.buffer as ArrayBuffer],
  };
}

self.onmessage = async (e: MessageEvent<TrainerRequest>) => {
  try {
    const { reply, transfer } = await handle(e.data);
    self.postMessage(reply, transfer);
  } catch (err) {
    self.postMessage({
      type: "error",
      code: err instanceof FlheError ? err.code : "unavailable",
      message: err instanceof Error ? err.message : String(err),
    });
  }
};
