/**
 * The few special functions the accountant needs, in double precision and in
 * log space where values under- or overflow: the complementary error function
 * `erfc`, its scaled form `erfcx(x) = exp(x^2) erfc(x)`, `log(erfc(x))` for any
 * `x`, the standard normal CDF, and log-sum-exp helpers.
 *
 * `erfc` and `erfcx` follow W. J. Cody, "Rational Chebyshev approximations for
 * the error function" (Math. Comp. 23, 1969) as in his SPECFUN routine CALERF
 * (netlib): three rational approximations on `|x| <= 0.46875`,
 * `0.46875 < |x| <= 4` and `|x| > 4`, with relative errors near the double
 * rounding unit. `log(erfc(x))` never forms `erfc(x)` for large `x` (it
 * underflows past `x ~ 26.5`): it is `log(erfcx(x)) - x^2`, accurate far into
 * the tail, which the fractional orders of the accountant reach.
 *
 * @module
 */

const THRESH = 0.46875;
const RSQRT_PI = 0.56418958354775628695;
/** Past this, `erfcx(x) = 1 / (sqrt(pi) x)` to double precision. */
const X_HUGE = 6.71e7;

// Cody's coefficients (CALERF), as published: erf on |x| <= 0.46875 ...
const A = [
  3.16112374387056560e00,
  1.13864154151050156e02,
  3.77485237685302021e02,
  3.20937758913846947e03,
  1.85777706184603153e-1,
] as const;
const B = [
  2.36012909523441209e01,
  2.44024637934444173e02,
  1.28261652607737228e03,
  2.84423683343917062e03,
] as const;
// ... erfc on 0.46875 < x <= 4 ...
const C = [
  5.64188496988670089e-1,
  8.88314979438837594e00,
  6.61191906371416295e01,
  2.98635138197400131e02,
  8.81952221241769090e02,
  1.71204761263407058e03,
  2.05107837782607147e03,
  1.23033935479799725e03,
  2.15311535474403846e-8,
] as const;
const D = [
  1.57449261107098347e01,
  1.17693950891312499e02,
  5.37181101862009858e02,
  1.62138957456669019e03,
  3.29079923573345963e03,
  4.36261909014324716e03,
  3.43936767414372164e03,
  1.23033935480374942e03,
] as const;
// ... and erfc on x > 4.
const P = [
  3.05326634961232344e-1,
  3.60344899949804439e-1,
  1.25781726111229246e-1,
  1.60837851487422766e-2,
  6.58749161529837803e-4,
  1.63153871373020978e-2,
] as const;
const Q = [
  2.56852019228982242e00,
  1.87295284992346047e00,
  5.27905102951428412e-1,
  6.05183413124413191e-2,
  2.33520497626869185e-3,
] as const;

/** `erf(x)` for `|x| <= 0.46875`. */
function erfSmall(x: number): number {
  const z = x * x;
  let num = A[4] * z;
  let den = z;
  for (let i = 0; i < 3; i++) {
    num = (num + A[i]!) * z;
    den = (den + B[i]!) * z;
  }
  return (x * (num + A[3])) / (den + B[3]);
}

/** `erfcx(y)` for `y > 0.46875`. */
function erfcxLarge(y: number): number {
  if (y <= 4) {
    let num = C[8] * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + C[i]!) * y;
      den = (den + D[i]!) * y;
    }
    return (num + C[7]) / (den + D[7]);
  }
  if (y >= X_HUGE) return RSQRT_PI / y;
  const z = 1 / (y * y);
  let num = P[5] * z;
  let den = z;
  for (let i = 0; i < 4; i++) {
    num = (num + P[i]!) * z;
    den = (den + Q[i]!) * z;
  }
  return (RSQRT_PI - (z * (num + P[4])) / (den + Q[4])) / y;
}

/**
 * `exp(-y^2)` with `y^2` split as Cody does, so that the rounding of `y * y`
 * does not cost relative accuracy when `y^2` is large.
 */
function expMinusSquare(y: number): number {
  const head = Math.trunc(y * 16) / 16;
  const tail = (y - head) * (y + head);
  return Math.exp(-head * head) * Math.exp(-tail);
}

/**
 * The scaled complementary error function `erfcx(x) = exp(x^2) erfc(x)`.
 *
 * @param x Any number (`erfcx` overflows to `Infinity` below about -26.6).
 * @returns `exp(x^2) erfc(x)`.
 * @example
 * ```ts
 * import { erfcx } from "./special.ts";
 * erfcx(30); // 0.018795888861416751...
 * ```
 */
export function erfcx(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const y = Math.abs(x);
  let r: number;
  if (y <= THRESH) r = Math.exp(x * x) * (1 - erfSmall(x));
  else r = erfcxLarge(y);
  if (x >= 0 || y <= THRESH) return r;
  // erfc(-y) = 2 - erfc(y), so erfcx(-y) = 2 exp(y^2) - erfcx(y).
  const e = 1 / expMinusSquare(y);
  return e + e - r;
}

/**
 * The complementary error function `erfc(x) = 1 - erf(x)`, with full relative
 * accuracy for large positive `x` (it underflows to 0 past about 26.5; use
 * {@linkcode logErfc} there).
 *
 * @param x Any number.
 * @returns `erfc(x)`, in `[0, 2]`.
 * @example
 * ```ts
 * import { erfc } from "./special.ts";
 * erfc(1); // 0.15729920705028513
 * ```
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const y = Math.abs(x);
  if (y <= THRESH) return 1 - erfSmall(x);
  const r = y >= 27 ? 0 : erfcxLarge(y) * expMinusSquare(y);
  return x < 0 ? 2 - r : r;
}

/**
 * `log(erfc(x))` for any `x`, accurate where `erfc(x)` itself underflows.
 *
 * @param x Any number.
 * @returns `log(erfc(x))`: `log 2` as `x -> -Infinity`, `-Infinity` at `+Infinity`.
 * @example
 * ```ts
 * import { logErfc } from "./special.ts";
 * logErfc(40); // -1604.2615566532736 (erfc(40) is below the smallest double)
 * ```
 */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= THRESH) return Math.log(erfc(x));
  if (x === Infinity) return -Infinity;
  return Math.log(erfcxLarge(x)) - x * x;
}

/**
 * The standard normal cumulative distribution function.
 *
 * @param x Any number.
 * @returns `P(Z <= x)` for `Z ~ N(0, 1)`.
 * @example
 * ```ts
 * import { normalCdf } from "./special.ts";
 * normalCdf(-3); // 0.0013498980316300946
 * ```
 */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/**
 * `log(exp(a) + exp(b))` without overflow; `-Infinity` stands for 0.
 *
 * @param a A log-space value.
 * @param b A log-space value.
 * @returns The log of the sum.
 * @example
 * ```ts
 * import { logAddExp } from "./special.ts";
 * logAddExp(1000, 1000); // 1000 + log(2)
 * ```
 */
export function logAddExp(a: number, b: number): number {
  const hi = Math.max(a, b);
  const lo = Math.min(a, b);
  if (lo === -Infinity) return hi;
  return hi + Math.log1p(Math.exp(lo - hi));
}

/**
 * `log(exp(a) - exp(b))` for `a >= b`; `-Infinity` stands for 0. Returns NaN
 * when `a < b` (the difference would be negative), for the caller to decide.
 *
 * @param a The larger log-space value.
 * @param b The smaller log-space value.
 * @returns The log of the difference, `-Infinity` if they are equal, NaN if `a < b`.
 * @example
 * ```ts
 * import { logSubExp } from "./special.ts";
 * logSubExp(Math.log(3), Math.log(1)); // log(2)
 * ```
 */
export function logSubExp(a: number, b: number): number {
  if (a < b) return NaN;
  if (b === -Infinity) return a;
  if (a === b) return -Infinity;
  const d = a - b;
  // log(expm1(d)) loses nothing for small d; for large d, expm1 overflows and the result is a.
  return d > 700 ? a : b + Math.log(Math.expm1(d));
}
