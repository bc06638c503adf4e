/**
 * One-off measurement: LeNet-5 trained centrally for one epoch on the 60,000
 * MNIST training images (batch 32), then evaluated on the 10,000 test images.
 *
 * Run: `deno run -A bench/central_train.ts [--momentum 0.9] [--lr 0.05] [--epochs 1]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadDataset } from "../src/data/mod.ts";
import { createLeNet, evaluate, initBackend, trainLocal } from "../src/nn/mod.ts";

const { values } = parseArgs({
  options: {
    momentum: { type: "string", default: "0" },
    lr: { type: "string", default: "0.05" },
    epochs: { type: "string", default: "1" },
    batch: { type: "string", default: "32" },
    seed: { type: "string", default: "1" },
  },
});
const warnings: string[] = [];
const backend = await initBackend({ onWarn: (m) => warnings.push(m) });
const { train, test } = await loadDataset();
const model = createLeNet(Number(values.seed));
const r = trainLocal(model, train, {
  epochs: Number(values.epochs),
  batchSize: Number(values.batch),
  learningRate: Number(values.lr),
  momentum: Number(values.momentum),
  seed: Number(values.seed),
});
const t0 = performance.now();
const e = evaluate(model, test);
const evalSeconds = (performance.now() - t0) / 1000;
const report = [
  ...warnings,
  `backend ${backend}; lr ${values.lr}, momentum ${values.momentum}, batch ${values.batch}, epochs ${values.epochs}`,
  `train: ${r.samples} samples in ${r.seconds.toFixed(1)} s (${
    (r.samples / r.seconds).toFixed(0)
  } samples/s), last-epoch loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.accuracy).toFixed(2)}%`,
  `test: loss ${e.loss.toFixed(4)}, accuracy ${
    (100 * e.accuracy).toFixed(2)
  }% on ${e.samples} images in ${evalSeconds.toFixed(2)} s`,
].join("\n");
await Deno.stdout.write(new TextEncoder().encode(report + "\n"));
