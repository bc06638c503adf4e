/**
 * The accountant against published reference implementations.
 *
 * Where the figures come from (regenerate with `python3 scripts/dp_reference.py`):
 *
 * - `opacus`: Opacus 1.5.4 (github.com/pytorch/opacus at commit 4d0ebc84613d, whose
 *   `opacus/version.py` says 1.5.4), `opacus/accountants/analysis/rdp.py` `compute_rdp` +
 *   `get_privacy_spent` with `RDPAccountant.DEFAULT_ALPHAS` (the orders this project
 *   uses by default), run unmodified with Python 3.11.7, numpy 2.4.6 and scipy 1.17.1
 *   (the package's `__init__` replaced by a stub that leaves out its torch imports,
 *   which the accountant does not use). `order` is the order Opacus picked.
 * - `dpAccounting`: Google dp-accounting 0.6.0 (github.com/google/differential-privacy
 *   at commit b5b0286e313b, `python/dp_accounting`, whose `VERSION` says 0.6.0),
 *   `rdp/rdp_privacy_accountant.py` `RdpAccountant(orders)` composing
 *   `PoissonSampledDpEvent(q, GaussianDpEvent(sigma))` `steps` times, same orders. It
 *   sums the absolute values of the fractional-order series (an upper bound where
 *   Opacus and TensorFlow Privacy subtract the negative terms) and drops orders whose
 *   series has not converged in 1,000 terms, so it is up to 0.5% higher here.
 * - Noise multipliers: Opacus 1.5.4 `opacus/accountants/utils.py`
 *   `get_noise_multiplier(target_epsilon, target_delta, sample_rate, steps)` (RDP).
 * - Published: TensorFlow Privacy's `tutorials/README.md` (github.com/tensorflow/privacy),
 *   the MNIST DP-SGD table at delta 1e-5, batches of 256 of 60,000 records:
 *   noise 1.3 for 15 epochs -> eps 1.19, 1.1 for 60 -> 3.01, 0.7 for 45 -> 7.10. Those
 *   were computed with the classic conversion `rdp - log(delta) / (order - 1)`, which
 *   `tensorflow_privacy/privacy/analysis/rdp_accountant.py` used until commit e4f9794
 *   (2020-12-21); running that file with `steps = ceil(epochs * 60000 / 256)` and the
 *   same orders gives the unrounded values below.
 */

import assert from "node:assert/strict";
import { epsilonFor, noiseMultiplierFor } from "./deps.ts";

interface ReferenceCase {
  readonly q: number;
  readonly sigma: number;
  readonly steps: number;
  readonly delta: number;
  readonly opacus: number;
  readonly order: number;
  readonly dpAccounting: number;
}

const CASES: readonly ReferenceCase[] = [
  // MNIST, batches of 256 of 60,000: the TensorFlow Privacy tutorial's three settings
  {
    q: 256 / 60000,
    sigma: 1.1,
    steps: 14063,
    delta: 1e-5,
    opacus: 2.5966555286883684,
    order: 8.1,
    dpAccounting: 2.596655529521983,
  },
  {
    q: 256 / 60000,
    sigma: 1.3,
    steps: 3516,
    delta: 1e-5,
    opacus: 0.9545639531462444,
    order: 17,
    dpAccounting: 0.9545639531461374,
  },
  {
    q: 256 / 60000,
    sigma: 0.7,
    steps: 10547,
    delta: 1e-5,
    opacus: 6.3183839653375635,
    order: 3.8,
    dpAccounting: 6.31974800597639,
  },
  // Abadi et al.'s (CCS 2016) example setting: q 0.01, sigma 4, 10,000 steps
  {
    q: 0.01,
    sigma: 4,
    steps: 10000,
    delta: 1e-5,
    opacus: 1.0354900660362476,
    order: 17,
    dpAccounting: 1.0354900660362436,
  },
  {
    q: 0.01,
    sigma: 1,
    steps: 1000,
    delta: 1e-6,
    opacus: 2.436693803022139,
    order: 8,
    dpAccounting: 2.4366938030221523,
  },
  {
    q: 0.001,
    sigma: 0.8,
    steps: 100000,
    delta: 1e-7,
    opacus: 3.541120645096194,
    order: 7.6,
    dpAccounting: 3.541120945883255,
  },
  {
    q: 0.1,
    sigma: 2,
    steps: 500,
    delta: 1e-5,
    opacus: 6.034322441891099,
    order: 4.4,
    dpAccounting: 6.034562203370491,
  },
  {
    q: 0.5,
    sigma: 5,
    steps: 100,
    delta: 1e-5,
    opacus: 4.862240845489545,
    order: 5.2,
    dpAccounting: 4.866435609334787,
  },
  // No sampling: the Gaussian mechanism itself
  {
    q: 1,
    sigma: 10,
    steps: 1,
    delta: 1e-5,
    opacus: 0.3752912223662765,
    order: 41,
    dpAccounting: 0.3752912223662765,
  },
  // Little noise, large delta: the best order is a fractional one near 1
  {
    q: 0.05,
    sigma: 0.5,
    steps: 50,
    delta: 1e-3,
    opacus: 11.120941581854268,
    order: 1.8,
    dpAccounting: 11.169644109382357,
  },
  // One flhe demo client: 30,000 records, batches of 256, 5 rounds of one epoch
  {
    q: 256 / 30000,
    sigma: 1,
    steps: 585,
    delta: 1e-5,
    opacus: 1.5277347764795948,
    order: 8.6,
    dpAccounting: 1.5277350007226183,
  },
  {
    q: 1e-4,
    sigma: 0.6,
    steps: 1000000,
    delta: 1e-8,
    opacus: 3.827153131563163,
    order: 5.9,
    dpAccounting: 3.827154053242859,
  },
  {
    q: 0.02,
    sigma: 0.9,
    steps: 2000,
    delta: 1e-5,
    opacus: 7.6652146314032645,
    order: 3.6,
    dpAccounting: 7.6684886708304525,
  },
];

function rel(got: number, want: number): number {
  return Math.abs(got - want) / want;
}

Deno.test("epsilonFor() matches Opacus 1.5.4 to 1e-9 and dp-accounting 0.6.0 to 1% on 13 cases", () => {
  for (const c of CASES) {
    const got = epsilonFor({ sampleRate: c.q, noiseMultiplier: c.sigma, steps: c.steps }, c.delta);
    const name = `q ${c.q}, sigma ${c.sigma}, steps ${c.steps}, delta ${c.delta}`;
    assert.ok(rel(got.epsilon, c.opacus) < 1e-9, `${name}: ${got.epsilon} vs Opacus ${c.opacus}`);
    assert.equal(got.order, c.order, `${name}: order`);
    assert.ok(
      rel(got.epsilon, c.dpAccounting) < 0.01,
      `${name}: ${got.epsilon} vs dp-accounting ${c.dpAccounting}`,
    );
    assert.equal(got.orderAtEdge, false);
  }
});

Deno.test("epsilonFor() with the classic conversion gives TensorFlow Privacy's published MNIST table", () => {
  const published = [
    { sigma: 1.3, steps: 3516, published: 1.19, code: 1.1922644089661774 },
    { sigma: 1.1, steps: 14063, published: 3.01, code: 3.0083810468253627 },
    { sigma: 0.7, steps: 10547, published: 7.1, code: 7.100551710150296 },
  ];
  for (const p of published) {
    const { epsilon } = epsilonFor(
      { sampleRate: 256 / 60000, noiseMultiplier: p.sigma, steps: p.steps },
      1e-5,
      { conversion: "classic" },
    );
    assert.ok(rel(epsilon, p.code) < 1e-9, `sigma ${p.sigma}: ${epsilon} vs ${p.code}`);
    assert.equal(Math.round(epsilon * 100) / 100, p.published);
  }
});

Deno.test("noiseMultiplierFor() returns Opacus' get_noise_multiplier and meets the target", () => {
  const cases = [
    { target: 1, delta: 1e-5, q: 256 / 30000, steps: 585, opacus: 1.2109375 },
    { target: 3, delta: 1e-5, q: 256 / 30000, steps: 585, opacus: 0.777587890625 },
    { target: 8, delta: 1e-5, q: 256 / 30000, steps: 585, opacus: 0.56121826171875 },
    { target: 3, delta: 1e-5, q: 256 / 60000, steps: 14063, opacus: 1.015625 },
    { target: 0.5, delta: 1e-6, q: 0.01, steps: 5000, opacus: 6.25 },
  ];
  for (const c of cases) {
    const got = noiseMultiplierFor({
      targetEpsilon: c.target,
      delta: c.delta,
      sampleRate: c.q,
      steps: c.steps,
    });
    assert.equal(got.noiseMultiplier, c.opacus, `target ${c.target}`);
    // Round trip: the multiplier spends at most the target, and within the tolerance of it.
    const { epsilon } = epsilonFor(
      { sampleRate: c.q, noiseMultiplier: got.noiseMultiplier, steps: c.steps },
      c.delta,
    );
    assert.equal(epsilon, got.epsilon);
    assert.ok(epsilon <= c.target && epsilon > c.target - 0.01, `target ${c.target}: ${epsilon}`);
  }
});
