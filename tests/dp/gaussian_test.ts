/**
 * The Gaussian sampler draws from the CSPRNG, so these tests have no seed. Each
 * statistical check has a known false-alarm probability for a correct sampler
 * (about 4e-8 for the moments, 1e-7 per tail count, 1e-6 for each KS test: about
 * 3e-6 for the whole file), and each is shown, on the same draw, to reject a
 * distribution a few percent off by a wide margin.
 */

import assert from "node:assert/strict";
import { addGaussianNoise, fillGaussian, FlheError, gaussianNoise, normalCdf } from "./deps.ts";
import { binomialInterval, dkwBound, ksDistance } from "./stats.ts";

/** Normal quantile of a two-sided false alarm of 4e-8. */
const Z = 5.5;
const FALSE_ALARM = 1e-7;

function moments(values: ArrayLike<number>): { mean: number; variance: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  const mean = sum / values.length;
  let sq = 0;
  for (let i = 0; i < values.length; i++) sq += (values[i]! - mean) ** 2;
  return { mean, variance: sq / (values.length - 1) };
}

function beyond(values: ArrayLike<number>, limit: number): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (Math.abs(values[i]!) > limit) count++;
  return count;
}

/** Two-sided normal tail probability beyond k standard deviations. */
function tail(k: number): number {
  return 2 * normalCdf(-k);
}

for (const hardened of [false, true]) {
  const label = hardened ? " (hardened)" : "";
  const n = hardened ? 400_000 : 1_000_000;
  const std = 2.5;

  Deno.test(`gaussianNoise() has mean 0 and variance std^2${label}`, () => {
    const { mean, variance } = moments(gaussianNoise(n, std, { hardened }));
    // Mean ~ N(0, std^2 / n); sample variance ~ N(std^2, 2 std^4 / (n - 1)).
    assert.ok(Math.abs(mean) < Z * std / Math.sqrt(n), `mean ${mean}`);
    const sdVar = std * std * Math.sqrt(2 / (n - 1));
    assert.ok(Math.abs(variance - std * std) < Z * sdVar, `variance ${variance}`);
    // The same check rejects a standard deviation 2% off (by more than 12 standard errors).
    assert.ok(Math.abs(variance * 1.02 ** 2 - std * std) > Z * sdVar);
  });

  Deno.test(`gaussianNoise() puts the normal share of values beyond 3 and 4 sigma${label}`, () => {
    const values = gaussianNoise(n, std, { hardened });
    for (const k of [3, 4]) {
      const [lo, hi] = binomialInterval(n, tail(k), FALSE_ALARM);
      const count = beyond(values, k * std);
      assert.ok(count >= lo && count <= hi, `${count} beyond ${k} sigma, want [${lo}, ${hi}]`);
    }
    // A standard deviation 5% too small would put too few beyond 3 sigma.
    const [lo] = binomialInterval(n, tail(3), FALSE_ALARM);
    assert.ok(beyond(values, 3 * std * 1.05) < lo);
  });

  Deno.test(`gaussianNoise() passes a Kolmogorov-Smirnov test against the normal CDF${label}`, () => {
    const m = 200_000;
    const values = gaussianNoise(m, 1, { hardened });
    const bound = dkwBound(m, 1e-6); // P(distance > bound) <= 1e-6 for any sample size
    const distance = ksDistance(values, normalCdf);
    assert.ok(distance < bound, `KS distance ${distance} >= ${bound}`);
    // The test has the power to see a standard deviation 5% off.
    assert.ok(ksDistance(values.map((v) => v * 1.05), normalCdf) > bound);
  });
}

Deno.test("gaussianNoise() fills every position, whatever the length", () => {
  for (const length of [0, 1, 2, 3, 8191, 8192, 8193, 16_385, 61_706]) {
    for (const hardened of [false, true]) {
      const values = gaussianNoise(length, 1, { hardened });
      assert.equal(values.length, length);
      // A value of exactly 0 has probability ~0: a 0 is a position never written.
      values.forEach((v, i) => assert.ok(Number.isFinite(v) && v !== 0, `index ${i} of ${length}`));
    }
  }
});

Deno.test("gaussianNoise() draws only from crypto.getRandomValues, never Math.random", () => {
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
    gaussianNoise(61_706, 1);
    assert.equal(bytes, 61_706 * 8); // 53 bits (two words) per uniform, one uniform per value
    bytes = 0;
    gaussianNoise(61_706, 1, { hardened: true });
    assert.equal(bytes, 61_706 * 32);
  } finally {
    Math.random = random;
    crypto.getRandomValues = getRandomValues;
  }
  // No seed: two draws differ.
  assert.notDeepEqual(gaussianNoise(16, 1), gaussianNoise(16, 1));
});

Deno.test("addGaussianNoise() perturbs in place around the values and std 0 leaves them", () => {
  const n = 200_000;
  const values = new Float32Array(n).fill(3);
  assert.equal(addGaussianNoise(values, 0.5), values);
  const { mean, variance } = moments(values);
  assert.ok(Math.abs(mean - 3) < Z * 0.5 / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(variance - 0.25) < Z * 0.25 * Math.sqrt(2 / n), `variance ${variance}`);
  const same = Float64Array.of(1, -2, 3.5);
  addGaussianNoise(same, 0);
  assert.deepEqual([...same], [1, -2, 3.5]);
  const shifted = fillGaussian(new Float64Array(100_000), 1, {}, 10);
  assert.ok(Math.abs(moments(shifted).mean - 10) < Z / Math.sqrt(100_000));
});

Deno.test("the Gaussian samplers quote a bad std or length", () => {
  const cases: [() => unknown, string][] = [
    [() => gaussianNoise(10, -1), "std -1"],
    [() => gaussianNoise(10, NaN), "std NaN"],
    [() => gaussianNoise(10, Infinity), "std Infinity"],
    [() => gaussianNoise(-1, 1), "length -1"],
    [() => gaussianNoise(1.5, 1), "length 1.5"],
    [() => addGaussianNoise(new Float32Array(2), -0.1), "std -0.1"],
  ];
  for (const [run, text] of cases) {
    assert.throws(run, (e: unknown) => {
      assert.ok(e instanceof FlheError && e.code === "range", String(e));
      assert.ok(e.message.includes(text), `"${e.message}" does not name ${text}`);
      return true;
    });
  }
});
