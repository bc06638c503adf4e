/**
 * Poisson batches come from the CSPRNG, so these tests have no seed: each
 * statistical check has a false-alarm probability of about 1e-6 or less for a
 * correct sampler.
 */

import assert from "node:assert/strict";
import { FlheError, poissonBatch, stepsPerEpoch } from "./deps.ts";
import { binomialInterval, chiSquareQuantile } from "./stats.ts";

const RECORDS = 1000;
const RATE = 0.05;
const BATCHES = 2000;

function draw(): { sizes: number[]; inclusions: Uint32Array } {
  const sizes: number[] = [];
  const inclusions = new Uint32Array(RECORDS);
  for (let b = 0; b < BATCHES; b++) {
    const batch = poissonBatch(RECORDS, RATE);
    sizes.push(batch.length);
    for (const i of batch) inclusions[i]!++;
  }
  return { sizes, inclusions };
}

/** Binomial(n, p) probabilities of 0..n. */
function binomialPmf(n: number, p: number): number[] {
  const pmf = [Math.exp(n * Math.log1p(-p))];
  for (let k = 0; k < n; k++) pmf.push(pmf[k]! * ((n - k) / (k + 1)) * (p / (1 - p)));
  return pmf;
}

const { sizes, inclusions } = draw();

Deno.test("poissonBatch() sizes follow Binomial(N, q) (chi-square)", () => {
  const pmf = binomialPmf(RECORDS, RATE);
  // Pool sizes into bins with an expected count of at least 5 (tails merged into the ends).
  const bins: { lo: number; hi: number; expected: number }[] = [];
  let lo = 0;
  let expected = 0;
  for (let k = 0; k <= RECORDS; k++) {
    expected += pmf[k]! * BATCHES;
    const restExpected = pmf.slice(k + 1).reduce((a, b) => a + b, 0) * BATCHES;
    if (expected >= 5 && restExpected >= 5) {
      bins.push({ lo, hi: k, expected });
      lo = k + 1;
      expected = 0;
    } else if (restExpected < 5) {
      bins.push({ lo, hi: RECORDS, expected: expected + restExpected });
      break;
    }
  }
  let chi2 = 0;
  for (const bin of bins) {
    const observed = sizes.filter((s) => s >= bin.lo && s <= bin.hi).length;
    chi2 += (observed - bin.expected) ** 2 / bin.expected;
  }
  const limit = chiSquareQuantile(bins.length - 1, 4.753); // upper 1e-6 quantile
  assert.ok(chi2 < limit, `chi-square ${chi2.toFixed(1)} over ${bins.length} bins >= ${limit}`);
  // Fixed-size batches (every batch of the mean size) would fail the same test.
  const mean = RECORDS * RATE;
  const fixed = bins.reduce((sum, bin) => {
    const observed = mean >= bin.lo && mean <= bin.hi ? BATCHES : 0;
    return sum + (observed - bin.expected) ** 2 / bin.expected;
  }, 0);
  assert.ok(fixed > limit);
});

Deno.test("poissonBatch() sizes have mean N q and variance N q (1 - q)", () => {
  const mean = sizes.reduce((a, b) => a + b, 0) / BATCHES;
  const variance = sizes.reduce((a, s) => a + (s - mean) ** 2, 0) / (BATCHES - 1);
  const want = RECORDS * RATE * (1 - RATE);
  assert.ok(Math.abs(mean - RECORDS * RATE) < 5.5 * Math.sqrt(want / BATCHES), `mean ${mean}`);
  // The sample variance of 2,000 near-normal values has a relative error of ~3.2%.
  assert.ok(Math.abs(variance / want - 1) < 5.5 * Math.sqrt(2 / (BATCHES - 1)), `var ${variance}`);
});

Deno.test("poissonBatch() includes every record with probability q", () => {
  // Each record's count is Binomial(2000, q); with 1,000 records, 1e-9 each.
  const [lo, hi] = binomialInterval(BATCHES, RATE, 1e-9);
  inclusions.forEach((c, i) =>
    assert.ok(c >= lo && c <= hi, `record ${i}: ${c} not in [${lo}, ${hi}]`)
  );
});

Deno.test("poissonBatch() returns increasing indices within range, all of them at q = 1", () => {
  for (const [n, q] of [[RECORDS, RATE], [20_000, 0.3], [9000, 0.9]] as const) {
    const batch = poissonBatch(n, q);
    for (let i = 1; i < batch.length; i++) assert.ok(batch[i - 1]! < batch[i]!);
    assert.ok(batch.length === 0 || batch.at(-1)! < n);
  }
  assert.deepEqual([...poissonBatch(10, 1)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(poissonBatch(0, 0.5).length, 0);
  // Empty batches happen, and are returned as such (DP-SGD still adds noise for them).
  assert.equal(poissonBatch(3, 1e-12).length, 0);
});

Deno.test("poissonBatch() draws only from crypto.getRandomValues, never Math.random", () => {
  const random = Math.random;
  const getRandomValues = crypto.getRandomValues;
  let bytes = 0;
  Math.random = () => {
    throw new Error("Math.random called");
  };
  const counting = <T extends ArrayBufferView>(array: T): T => {
    bytes += array.byteLength;
    getRandomValues.call(crypto, array);
    return array;
  };
  crypto.getRandomValues = counting;
  try {
    poissonBatch(30_000, 256 / 30_000);
  } finally {
    Math.random = random;
    crypto.getRandomValues = getRandomValues;
  }
  assert.equal(bytes, 30_000 * 8); // 53 bits per record
});

Deno.test("stepsPerEpoch() counts as Opacus and the samplers quote bad parameters", () => {
  assert.equal(stepsPerEpoch(256 / 60_000), 234);
  assert.equal(stepsPerEpoch(1), 1);
  const cases: [() => unknown, string][] = [
    [() => poissonBatch(10, 0), "sampleRate 0"],
    [() => poissonBatch(10, 1.5), "sampleRate 1.5"],
    [() => poissonBatch(10, NaN), "sampleRate NaN"],
    [() => poissonBatch(-1, 0.5), "recordCount -1"],
    [() => poissonBatch(2.5, 0.5), "recordCount 2.5"],
    [() => stepsPerEpoch(0), "sampleRate 0"],
  ];
  for (const [run, text] of cases) {
    assert.throws(run, (e: unknown) => {
      assert.ok(e instanceof FlheError && e.code === "range", String(e));
      assert.ok(e.message.includes(text), `"${e.message}" does not name ${text}`);
      return true;
    });
  }
});
