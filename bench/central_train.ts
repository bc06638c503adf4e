/**
 * One-off measurement: LeNet-5 trained centrally (default one epoch on the
 * 60,000 MNIST training images with the default recipe of `trainLocal`), then
 * evaluated on the 10,000 test images. Also prints the largest |w - w0| of
 * the run, the figure to compare with the encoder's clipping range when the
 * same training runs as a federated client's round (`--clients 2 --client 0`
 * trains on one client's Dirichlet share instead of all the data).
 *
 * Run: `deno run -A bench/central_train.ts [--optimizer adam] [--lr 0.001]
 * [--momentum 0.9] [--schedule cosine] [--batch 32] [--epochs 1]
 * [--seed 1] [--init 1] [--clients 2 --client 0 --alpha 0.5]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { clientShare, loadDataset, subset } from "../src/data/mod.ts";
import {
  createLeNet,
  evaluate,
  getWeights,
  initBackend,
  initialWeights,
  type OptimizerName,
  type ScheduleName,
  trainLocal,
} from "../src/nn/mod.ts";

const { values } = parseArgs({
  options: {
    optimizer: { type: "string" },
    momentum: { type: "string" },
    lr: { type: "string" },
    schedule: { type: "string" },
    epochs: { type: "string", default: "1" },
    batch: { type: "string", default: "32" },
    seed: { type: "string", default: "1" },
    init: { type: "string" },
    clients: { type: "string", default: "1" },
    client: { type: "string", default: "0" },
    alpha: { type: "string", default: "0.5" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    "usage: deno run -A bench/central_train.ts [--optimizer sgd|momentum|nesterov|adam] " +
      "[--lr X] [--momentum M] [--schedule constant|cosine] [--batch N] " +
      "[--epochs N] [--seed S] [--init SEED] [--clients K --client I --alpha A]",
  );
  Deno.exit(0);
}
const num = (v: string | undefined): number | undefined => v === undefined ? undefined : Number(v);
const warnings: string[] = [];
const backend = await initBackend({ onWarn: (m) => warnings.push(m) });
const { train: all, test } = await loadDataset();
const clients = Number(values.clients);
const train = clients > 1
  ? subset(
    all,
    clientShare(all.labels, {
      scheme: "dirichlet",
      clients,
      alpha: Number(values.alpha),
      seed: Number(values.seed),
    }, Number(values.client)),
  )
  : all;
const w0 = initialWeights(Number(values.init ?? values.seed));
const model = createLeNet(w0);
const r = trainLocal(model, train, {
  epochs: Number(values.epochs),
  batchSize: Number(values.batch),
  optimizer: values.optimizer as OptimizerName | undefined,
  learningRate: num(values.lr),
  momentum: num(values.momentum),
  schedule: values.schedule as ScheduleName | undefined,
  seed: Number(values.seed),
});
const w = getWeights(model);
let maxUpdate = 0;
let outside = 0;
for (let i = 0; i < w.length; i++) {
  const d = Math.abs(w[i]! - w0[i]!);
  maxUpdate = Math.max(maxUpdate, d);
  if (d > 0.5) outside++;
}
const t0 = performance.now();
const e = evaluate(model, test);
const evalSeconds = (performance.now() - t0) / 1000;
const report = [
  ...warnings,
  `backend ${backend}; optimizer ${values.optimizer ?? "default"}, lr ${
    values.lr ?? "default"
  }, momentum ${values.momentum ?? "default"}, schedule ${
    values.schedule ?? "default"
  }, batch ${values.batch}, epochs ${values.epochs}, seed ${values.seed}`,
  `train: ${r.samples} samples in ${r.seconds.toFixed(1)} s (${
    (r.samples / r.seconds).toFixed(0)
  } samples/s), last-epoch loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.accuracy).toFixed(2)}%`,
  `update: max |w - w0| ${maxUpdate.toFixed(4)}, ${outside} of ${w.length} values beyond 0.5`,
  `test: loss ${e.loss.toFixed(4)}, accuracy ${
    (100 * e.accuracy).toFixed(2)
  }% on ${e.samples} images in ${evalSeconds.toFixed(2)} s`,
].join("\n");
await Deno.stdout.write(new TextEncoder().encode(report + "\n"));
