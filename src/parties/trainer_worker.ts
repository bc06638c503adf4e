/**
 * A client's training worker: holds the client's share of the data set and
 * the model, and trains and evaluates off the main thread, so that the
 * client keeps answering its server (pings, messages) during a long round.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { clientShare, type Dataset, head, loadDataset, subset } from "../data/mod.ts";
import {
  createLeNet,
  evaluate,
  getWeights,
  initBackend,
  type LeNet,
  setWeights,
  trainLocal,
} from "../nn/mod.ts";
import type { TrainerData, TrainerReply, TrainerRequest } from "./trainer_protocol.ts";

declare const self: {
  onmessage: ((e: MessageEvent<TrainerRequest>) => void) | null;
  postMessage(message: TrainerReply, transfer?: Transferable[]): void;
};

let train: Dataset | undefined;
let test: Dataset | undefined;
let model: LeNet | undefined;

async function init(data: TrainerData, weights: Float32Array): Promise<TrainerReply> {
  const { train: fullTrain, test: fullTest } = await loadDataset(data.dataDir);
  const share = clientShare(fullTrain.labels, {
    scheme: data.scheme,
    clients: data.clients,
    seed: data.seed,
    alpha: data.alpha,
    shardsPerClient: data.shardsPerClient,
  }, data.shard - 1);
  const limit = (d: Dataset, n?: number) => n === undefined ? d : head(d, Math.min(n, d.count));
  train = limit(subset(fullTrain, share), data.trainLimit);
  test = limit(fullTest, data.testLimit);
  const backend = await initBackend({
    onWarn: (message) => self.postMessage({ type: "warning", message }),
  });
  model = createLeNet(weights);
  return { type: "ready", trainCount: train.count, testCount: test.count, backend };
}

interface Answer {
  readonly reply: TrainerReply;
  readonly transfer?: Transferable[];
}

async function handle(req: TrainerRequest): Promise<Answer> {
  if (req.type === "init") return { reply: await init(req.data, req.weights) };
  if (!model || !train || !test) throw new FlheError("usage", "trainer: not initialized");
  setWeights(model, req.weights);
  if (req.type === "evaluate") return { reply: { type: "evaluated", ...evaluate(model, test) } };
  let lastReport = 0;
  const result = trainLocal(model, train, {
    ...req.fit,
    onProgress: (done, total) => {
      // A few progress messages per round are plenty.
      if (done === total || done - lastReport >= total / 20) {
        lastReport = done;
        self.postMessage({ type: "progress", done, total });
      }
    },
  });
  const weights = getWeights(model);
  return {
    reply: { type: "trained", ...result, weights },
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
