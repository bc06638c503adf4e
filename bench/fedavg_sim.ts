/**
 * One-off measurement: the federated-averaging loop of `flhe demo` simulated
 * in one process, without encryption, to compare training recipes quickly.
 * The clients train one after the other on their Dirichlet shares of the
 * 60,000 MNIST training images, exactly as the demo's clients do: each round
 * every client starts from the global model and runs `trainLocal` with seed
 * `roundSeed ^ shard` (round seed `(seed * 1_000_003 + round) >>> 0`, shards
 * 1..K); the server adds the sample-weighted mean of the updates
 * `w_k - global` to the global model, which is then evaluated on the 10,000
 * test images. Updates pass through the demo's encoder first (clipped to
 * +-0.5 and stochastically rounded to 16-bit levels, with seeded instead of
 * cryptographic randomness; `--clip 0` skips it and averages raw floats).
 * Prints per round the test accuracy and the largest |update| value of any
 * client before clipping.
 *
 * `--decay D` multiplies the peak step size by `D^(round - 1)`, a per-round
 * schedule the server can set through its fit instructions.
 *
 * Run: `deno run -A bench/fedavg_sim.ts [--optimizer sgd] [--lr 0.05]
 * [--momentum 0.9] [--schedule constant] [--decay 1] [--batch 32]
 * [--epochs 1] [--rounds 6] [--seed 1] [--init SEED] [--clients 2] [--alpha 0.5]
 * [--clip 0.5] [--quant-bits 16]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadDataset, partition, Rng, subset } from "../src/data/mod.ts";
import { codecParams, quantize } from "../src/he/mod.ts";
import {
  createLeNet,
  DEFAULT_LEARNING_RATES,
  evaluate,
  getWeights,
  initBackend,
  initialWeights,
  type OptimizerName,
  OPTIMIZERS,
  type ScheduleName,
  SCHEDULES,
  setWeights,
  trainLocal,
} from "../src/nn/mod.ts";

const { values } = parseArgs({
  options: {
    optimizer: { type: "string", default: "adam" },
    lr: { type: "string" },
    momentum: { type: "string" },
    schedule: { type: "string", default: "cosine" },
    decay: { type: "string", default: "1" },
    batch: { type: "string", default: "32" },
    epochs: { type: "string", default: "1" },
    rounds: { type: "string", default: "6" },
    seed: { type: "string", default: "1" },
    init: { type: "string" },
    clients: { type: "string", default: "2" },
    alpha: { type: "string", default: "0.5" },
    clip: { type: "string", default: "0.5" },
    "quant-bits": { type: "string", default: "16" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    "usage: deno run -A bench/fedavg_sim.ts [--optimizer sgd|momentum|nesterov|adam] " +
      "[--lr X] [--momentum M] [--schedule constant|cosine] [--decay D] " +
      "[--batch N] [--epochs N] [--rounds R] [--seed S] [--init SEED] [--clients K] [--alpha A] " +
      "[--clip RANGE (0: off)] [--quant-bits B]",
  );
  Deno.exit(0);
}

const optimizer = values.optimizer as OptimizerName;
if (!OPTIMIZERS.includes(optimizer)) throw new Error(`unknown optimizer ${optimizer}`);
const schedule = values.schedule as ScheduleName;
if (!SCHEDULES.includes(schedule)) throw new Error(`unknown schedule ${schedule}`);
const lr = values.lr === undefined ? DEFAULT_LEARNING_RATES[optimizer] : Number(values.lr);
const momentum = values.momentum === undefined ? undefined : Number(values.momentum);
const decay = Number(values.decay);
const rounds = Number(values.rounds);
const seed = Number(values.seed);
const init = Number(values.init ?? values.seed);
const clients = Number(values.clients);
const clip = Number(values.clip);
const codec = clip > 0
  ? codecParams({ keyBits: 2048, clipRange: clip, quantBits: Number(values["quant-bits"]) })
  : undefined;
const half = codec ? 2 ** (codec.quantBits - 1) - 1 : 0;
const rng = new Rng(seed);
const uniform = () => rng.float();
const common = {
  epochs: Number(values.epochs),
  batchSize: Number(values.batch),
  optimizer,
  momentum,
  schedule,
};

const print = (line: string) => console.log(line);
const backend = await initBackend({ onWarn: print });
const { train, test } = await loadDataset();
const shares = partition(train.labels, {
  scheme: "dirichlet",
  clients,
  seed,
  alpha: Number(values.alpha),
}).map((idx) => subset(train, idx));
print(
  `backend ${backend}; ${optimizer} lr ${lr} momentum ${momentum ?? "default"} ${schedule} ` +
    `decay ${decay} batch ${common.batchSize} epochs ${common.epochs}; ` +
    (codec ? `clip ${clip} quant ${codec.quantBits} bits; ` : "no clip/quantization; ") +
    `seed ${seed} init ${init}; shares ${shares.map((s) => s.count).join(", ")}`,
);

const global = initialWeights(init);
const model = createLeNet(global);
const total = shares.reduce((s, d) => s + d.count, 0);
const start = performance.now();
for (let round = 1; round <= rounds; round++) {
  const roundSeed = (seed * 1_000_003 + round) >>> 0;
  const learningRate = lr * decay ** (round - 1);
  const sum = new Float64Array(global.length);
  let maxUpdate = 0;
  let beyond = 0;
  const trainAcc: string[] = [];
  for (let k = 0; k < shares.length; k++) {
    const share = shares[k]!;
    setWeights(model, global);
    const r = trainLocal(model, share, { ...common, learningRate, seed: roundSeed ^ (k + 1) });
    trainAcc.push((100 * r.accuracy).toFixed(1));
    const w = getWeights(model);
    const update = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) {
      update[i] = w[i]! - global[i]!;
      const a = Math.abs(update[i]!);
      if (a > maxUpdate) maxUpdate = a;
      if (a > 0.5) beyond++;
    }
    if (codec) {
      // What the server decodes: the dequantized levels.
      const { levels } = quantize(update, codec, uniform);
      const step = codec.clipRange / half;
      for (let i = 0; i < update.length; i++) update[i] = (levels[i]! - half) * step;
    }
    for (let i = 0; i < update.length; i++) sum[i]! += share.count * update[i]!;
  }
  for (let i = 0; i < global.length; i++) global[i] = global[i]! + sum[i]! / total;
  setWeights(model, global);
  const e = evaluate(model, test);
  print(
    `round ${round}: lr ${learningRate.toPrecision(3)}, test accuracy ${
      (100 * e.accuracy).toFixed(2)
    }% (loss ${e.loss.toFixed(4)}), client train accuracy ${trainAcc.join("/")}%, ` +
      `max |update| ${maxUpdate.toFixed(4)} (${beyond} beyond 0.5), ${
        ((performance.now() - start) / 1000).toFixed(0)
      } s`,
  );
}
