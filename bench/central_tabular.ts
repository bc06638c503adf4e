/**
 * One-off measurement: a model trained centrally on the union of the data
 * that `flhe demo --data FILE` splits among its clients (the same test
 * split, the same input scaling, the same recipe), for as many epochs as
 * the federation's rounds x local epochs, then evaluated on the same test
 * set: the figure a federated run is compared with.
 *
 * Run: `deno run -A bench/central_tabular.ts --data FILE --label COL [--features A,B]
 * [--drop-missing] [--model mlp:16] [--task multiclass] [--epochs 100] [--optimizer adam]
 * [--lr 0.01] [--batch 32] [--seed 1] [--test-fraction 0.2]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  createNetwork,
  evaluate,
  initBackend,
  type OptimizerName,
  type Task,
  trainLocal,
} from "../src/nn/mod.ts";
import { chooseModel } from "../src/parties/model_choice.ts";
import { splitFile, writeSplit } from "../src/parties/demo_data.ts";
import { networkScaling } from "../src/federation/mod.ts";

const { values } = parseArgs({
  options: {
    data: { type: "string" },
    label: { type: "string" },
    features: { type: "string" },
    "drop-missing": { type: "boolean", default: false },
    model: { type: "string", default: "mlp:16" },
    task: { type: "string", default: "multiclass" },
    epochs: { type: "string", default: "100" },
    optimizer: { type: "string", default: "adam" },
    lr: { type: "string", default: "0.01" },
    batch: { type: "string", default: "32" },
    seed: { type: "string", default: "1" },
    "test-fraction": { type: "string", default: "0.2" },
  },
});
if (!values.data || !values.label) {
  console.log("usage: deno run -A bench/central_tabular.ts --data FILE --label COL [options]");
  Deno.exit(2);
}
await initBackend();
const task = values.task as Task;
const source = {
  path: values.data,
  label: values.label,
  features: values.features?.split(","),
  dropMissing: values["drop-missing"],
};
const seed = Number(values.seed);
const split = await splitFile({
  source,
  task,
  testFraction: Number(values["test-fraction"]),
  partition: { scheme: "iid", clients: 1, seed },
});
const dir = await Deno.makeTempDir();
const files = await writeSplit(split, source, dir);
const model = await chooseModel({
  spec: values.model,
  task,
  scale: "standard",
  reference: files.reference,
});
await Deno.remove(dir, { recursive: true });
const net = createNetwork(model.def, seed, networkScaling({ ...model.config, topologySha256: "" }));
const r = trainLocal(net, split.train, {
  epochs: Number(values.epochs),
  optimizer: values.optimizer as OptimizerName,
  learningRate: Number(values.lr),
  batchSize: Number(values.batch),
  seed,
});
const ev = evaluate(net, split.test);
console.log(JSON.stringify({
  data: values.data,
  model: values.model,
  train: split.train.count,
  test: split.test.count,
  epochs: Number(values.epochs),
  seconds: Math.round(r.seconds * 10) / 10,
  test_accuracy: ev.accuracy,
  test_loss: ev.loss,
  test_mae: ev.mae,
}));
