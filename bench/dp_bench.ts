/**
 * Costs of the DP pieces a client pays: the accountant (once per round or per
 * check of the budget, and the noise-for-epsilon search once per federation),
 * Gaussian noise for one LeNet-sized gradient (61,706 values) per DP-SGD step,
 * plain and hardened, against the cost of its raw CSPRNG bytes alone, and one
 * Poisson batch of a 30,000-record shard. Run with `deno task bench` or
 * `deno bench -A bench/dp_bench.ts`. Samples per second = 61,706 / time.
 *
 * @module
 */

import {
  addGaussianNoise,
  epsilonFor,
  gaussianNoise,
  noiseMultiplierFor,
  poissonBatch,
  RdpAccountant,
} from "../src/dp/mod.ts";

const LENET_VALUES = 61_706;
const RECORDS = 30_000;
const Q = 256 / RECORDS;
const DELTA = 1e-5;

Deno.bench("dp: epsilon of 585 steps, q = 256/30000, sigma 1 (151 orders)", {
  group: "accountant",
  baseline: true,
}, () => {
  epsilonFor({ sampleRate: Q, noiseMultiplier: 1, steps: 585 }, DELTA);
});

Deno.bench("dp: epsilon of 14,063 steps, q = 256/60000, sigma 1.1", { group: "accountant" }, () => {
  epsilonFor({ sampleRate: 256 / 60_000, noiseMultiplier: 1.1, steps: 14_063 }, DELTA);
});

Deno.bench(
  "dp: epsilon of 100 steps, q = 0.5, sigma 5 (slow series)",
  { group: "accountant" },
  () => {
    epsilonFor({ sampleRate: 0.5, noiseMultiplier: 5, steps: 100 }, DELTA);
  },
);

Deno.bench("dp: noise multiplier for epsilon 3 over 585 steps", { group: "accountant" }, () => {
  noiseMultiplierFor({ targetEpsilon: 3, delta: DELTA, sampleRate: Q, steps: 585 });
});

const spent = new RdpAccountant();
spent.step({ sampleRate: Q, noiseMultiplier: 0.8, steps: 300 });
const budget = { targetEpsilon: 3, delta: DELTA, sampleRate: Q, noiseMultiplier: 0.8 };

Deno.bench("dp: accountant spent() after 300 steps", { group: "accountant" }, () => {
  spent.spent(DELTA);
});

Deno.bench("dp: accountant stepsWithin() a budget of 3", { group: "accountant" }, () => {
  spent.stepsWithin(budget);
});

const bytes = new Uint8Array(65_536);
const randomBytes = LENET_VALUES * 8;

Deno.bench(`dp: crypto.getRandomValues ${randomBytes.toLocaleString("en")} bytes`, {
  group: "noise",
  baseline: true,
}, () => {
  for (let done = 0; done < randomBytes; done += bytes.length) crypto.getRandomValues(bytes);
});

Deno.bench("dp: Gaussian noise, 61,706 values", { group: "noise" }, () => {
  gaussianNoise(LENET_VALUES, 1.1);
});

const gradient = new Float32Array(LENET_VALUES);

Deno.bench("dp: add Gaussian noise in place, 61,706 values", { group: "noise" }, () => {
  addGaussianNoise(gradient, 1.1);
});

Deno.bench("dp: Gaussian noise, 61,706 values, hardened (4 draws each)", { group: "noise" }, () => {
  gaussianNoise(LENET_VALUES, 1.1, { hardened: true });
});

Deno.bench("dp: Poisson batch of 30,000 records, q = 256/30000", () => {
  poissonBatch(RECORDS, Q);
});
