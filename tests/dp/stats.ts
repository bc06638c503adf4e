/**
 * Statistical checks for the samplers' tests, each with a known, tiny false-alarm
 * probability, so that a correct sampler fails a run about once in a million.
 *
 * @module
 */

import { logAddExp } from "../../src/dp/special.ts";

/**
 * The Kolmogorov-Smirnov distance between the empirical CDF of `values` and `cdf`.
 *
 * @param values The sample (any order; copied and sorted).
 * @param cdf The hypothesised CDF.
 * @returns `sup |F_n(x) - F(x)|`.
 */
export function ksDistance(values: ArrayLike<number>, cdf: (x: number) => number): number {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = cdf(sorted[i]!);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  return d;
}

/**
 * The Dvoretzky-Kiefer-Wolfowitz bound (Massart's constant): for any n and any
 * continuous CDF, `P(KS distance > bound) <= falseAlarm`.
 *
 * @param n Sample size.
 * @param falseAlarm Probability of exceeding the bound under the hypothesis.
 * @returns The bound.
 */
export function dkwBound(n: number, falseAlarm: number): number {
  return Math.sqrt(Math.log(2 / falseAlarm) / (2 * n));
}

/**
 * The smallest interval `[lo, hi]` with `P(X < lo) <= falseAlarm / 2` and
 * `P(X > hi) <= falseAlarm / 2` for `X ~ Binomial(n, p)`, exactly (log space).
 *
 * @param n Trials.
 * @param p Success probability, in `(0, 1)`.
 * @param falseAlarm Total probability outside the interval, at most.
 * @returns `[lo, hi]`.
 */
export function binomialInterval(n: number, p: number, falseAlarm: number): [number, number] {
  const logTail = Math.log(falseAlarm / 2);
  const ratio = Math.log(p) - Math.log1p(-p);
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  const top = Math.min(n, Math.ceil(mean + 12 * sd + 20));
  const logPmf: number[] = [n * Math.log1p(-p)];
  for (let k = 0; k < top; k++) {
    logPmf.push(logPmf[k]! + Math.log((n - k) / (k + 1)) + ratio);
  }
  let lo = 0;
  let acc = -Infinity;
  while (lo < top && logAddExp(acc, logPmf[lo]!) <= logTail) acc = logAddExp(acc, logPmf[lo++]!);
  let hi = top;
  acc = -Infinity;
  while (hi > 0 && logAddExp(acc, logPmf[hi]!) <= logTail) acc = logAddExp(acc, logPmf[hi--]!);
  return [lo, hi];
}

/**
 * The upper `falseAlarm` quantile of the chi-square distribution with `k`
 * degrees of freedom (Wilson-Hilferty; within a few percent for k >= 3).
 *
 * @param k Degrees of freedom.
 * @param z The standard normal quantile of the false alarm (4.75 for 1e-6).
 * @returns The quantile.
 */
export function chiSquareQuantile(k: number, z: number): number {
  const a = 2 / (9 * k);
  return k * (1 - a + z * Math.sqrt(a)) ** 3;
}
