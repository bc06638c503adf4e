/**
 * Rényi differential privacy of the Poisson-subsampled Gaussian mechanism
 * (Mironov, Talwar and Zhang, "Rényi Differential Privacy of the Sampled
 * Gaussian Mechanism", 2019, section 3.3): one step of DP-SGD that samples
 * each record with probability `q`, clips each record's gradient to L2 norm
 * `C` and adds `N(0, sigma^2 C^2)` to the sum is `(alpha, eps(alpha))`-RDP for
 * every order `alpha > 1`, with `eps(alpha) = log(A_alpha) / (alpha - 1)`.
 *
 * The computation is the one of TensorFlow Privacy's `rdp_accountant.py` and
 * Opacus' `accountants/analysis/rdp.py` (the same code): a finite binomial sum
 * for integer orders, and for fractional orders the two series of the paper
 * split at `z0`, with signed terms combined in log space and `log(erfc)` where
 * `erfc` would underflow. Only the neighbouring relation "add or remove one
 * record" is covered, as there.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { logAddExp, logErfc, logSubExp } from "./special.ts";

/**
 * The RDP orders of Opacus' `RDPAccountant.DEFAULT_ALPHAS` (and of TensorFlow
 * Privacy's tutorials): 1.1, 1.2, ..., 10.9, then 12, 13, ..., 63.
 *
 * @example
 * ```ts
 * import { computeRdp, DEFAULT_RDP_ORDERS } from "./rdp.ts";
 * const wider = [...DEFAULT_RDP_ORDERS, 128, 256]; // for very small epsilons
 * computeRdp({ sampleRate: 0.01, noiseMultiplier: 3, steps: 100 }, wider);
 * ```
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 52 }, (_, x) => 12 + x),
]);

/** The fractional series stops once both of its newest terms are below e^-30. */
const LOG_TERM_FLOOR = -30;
/** A fractional series that has not converged by then leaves its order out (`Infinity`). */
const MAX_SERIES_TERMS = 10_000;

/** `log(A_alpha)` for an integer order: a binomial sum of `alpha + 1` terms. */
function logAInteger(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoVar = 2 * sigma * sigma;
  let logA = -Infinity;
  let logBinom = 0; // log C(alpha, i), built term by term
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log((alpha - i + 1) / i);
    const term = logBinom + i * logQ + (alpha - i) * log1mQ + (i * i - i) / twoVar;
    logA = logAddExp(logA, term);
  }
  return logA;
}

/**
 * `log(A_alpha)` for a fractional order: the two series over `z <= z0` and
 * `z >= z0`. The generalised binomial coefficients change sign past
 * `i = alpha + 1`; such terms are subtracted. A subtraction that would go
 * below zero (rounding, never seen in practice) or a series that does not
 * converge leaves the order out, which only makes epsilon larger.
 */
function logAFractional(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoVar = 2 * sigma * sigma;
  const scale = Math.SQRT2 * sigma;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  let logBinom = 0; // log |C(alpha, i)|
  let positive = true; // sign of C(alpha, i)
  for (let i = 0; i < MAX_SERIES_TERMS; i++) {
    if (i > 0) {
      const factor = (alpha - i + 1) / i;
      logBinom += Math.log(Math.abs(factor));
      if (factor < 0) positive = !positive;
    }
    const j = alpha - i;
    const logT0 = logBinom + i * logQ + j * log1mQ;
    const logT1 = logBinom + j * logQ + i * log1mQ;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / scale);
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / scale);
    const logS0 = logT0 + (i * i - i) / twoVar + logE0;
    const logS1 = logT1 + (j * j - j) / twoVar + logE1;
    if (positive) {
      logA0 = logAddExp(logA0, logS0);
      logA1 = logAddExp(logA1, logS1);
    } else {
      logA0 = logSubExp(logA0, logS0);
      logA1 = logSubExp(logA1, logS1);
      if (Number.isNaN(logA0) || Number.isNaN(logA1)) return Infinity;
    }
    if (Math.max(logS0, logS1) < LOG_TERM_FLOOR) return logAddExp(logA0, logA1);
  }
  return Infinity;
}

/**
 * RDP of one step of the subsampled Gaussian mechanism at one order.
 *
 * @param sampleRate Poisson sampling probability `q` of each record, in `[0, 1]`.
 * @param noiseMultiplier `sigma`: noise standard deviation over the clipping norm, `>= 0`.
 * @param order The Rényi order `alpha > 1`.
 * @returns `eps(alpha)` of one step; `Infinity` with no noise (or an order left out).
 * @throws {FlheError} `range` if a parameter is outside its domain, quoting it.
 * @example
 * ```ts
 * import { rdpAtOrder } from "./rdp.ts";
 * rdpAtOrder(1, 2, 8); // 8 / (2 * 2^2) = 1: no sampling, the Gaussian mechanism
 * ```
 */
export function rdpAtOrder(sampleRate: number, noiseMultiplier: number, order: number): number {
  checkMechanism(sampleRate, noiseMultiplier);
  checkOrder(order, "order");
  return rdpUnchecked(sampleRate, noiseMultiplier, order);
}

function rdpUnchecked(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (alpha === Infinity) return Infinity;
  const logA = Number.isInteger(alpha)
    ? logAInteger(q, sigma, alpha)
    : logAFractional(q, sigma, alpha);
  return logA / (alpha - 1);
}

/** What {@linkcode computeRdp} composes: `steps` steps of one subsampled Gaussian. */
export interface GaussianSteps {
  /** Poisson sampling probability `q` of each record, in `[0, 1]`. */
  readonly sampleRate: number;
  /** `sigma`: noise standard deviation over the clipping norm, `>= 0`. */
  readonly noiseMultiplier: number;
  /** How many steps, a non-negative integer. */
  readonly steps: number;
}

/**
 * RDP of `steps` steps of the subsampled Gaussian mechanism at each order
 * (RDP composes by addition: `steps` times one step's value).
 *
 * @param mechanism Sampling rate, noise multiplier and number of steps.
 * @param orders Rényi orders, each `> 1` (default {@linkcode DEFAULT_RDP_ORDERS}).
 * @returns One RDP value per order, `Infinity` where unbounded.
 * @throws {FlheError} `range` if a parameter or an order is outside its domain, quoting it.
 * @example
 * ```ts
 * import { computeRdp } from "./rdp.ts";
 * const rdp = computeRdp({ sampleRate: 256 / 60000, noiseMultiplier: 1.1, steps: 14063 });
 * ```
 */
export function computeRdp(
  mechanism: GaussianSteps,
  orders: readonly number[] = DEFAULT_RDP_ORDERS,
): Float64Array {
  const { sampleRate, noiseMultiplier, steps } = mechanism;
  checkMechanism(sampleRate, noiseMultiplier);
  checkSteps(steps, "steps");
  checkOrders(orders);
  const out = new Float64Array(orders.length);
  if (steps === 0) return out;
  orders.forEach((alpha, k) => {
    out[k] = rdpUnchecked(sampleRate, noiseMultiplier, alpha) * steps;
  });
  return out;
}

/**
 * Checks a sampling rate and a noise multiplier.
 *
 * @param sampleRate Must be in `[0, 1]`.
 * @param noiseMultiplier Must be finite and `>= 0`.
 * @throws {FlheError} `range`, quoting the parameter.
 * @example
 * ```ts
 * import { checkMechanism } from "./rdp.ts";
 * checkMechanism(0.01, 1.1); // fine; a rate of 1.5 or a multiplier of -1 would throw
 * ```
 */
export function checkMechanism(sampleRate: number, noiseMultiplier: number): void {
  if (!(sampleRate >= 0 && sampleRate <= 1)) {
    throw new FlheError("range", `dp: sampleRate ${sampleRate} is not in [0, 1]`);
  }
  if (!(noiseMultiplier >= 0) || !Number.isFinite(noiseMultiplier)) {
    throw new FlheError(
      "range",
      `dp: noiseMultiplier ${noiseMultiplier} is not a finite number >= 0`,
    );
  }
}

/**
 * Checks a count of steps.
 *
 * @param steps Must be a non-negative safe integer.
 * @param name The parameter's name for the message.
 * @throws {FlheError} `range`, quoting the parameter.
 * @example
 * ```ts
 * import { checkSteps } from "./rdp.ts";
 * checkSteps(585, "steps"); // fine; 2.5 or -1 would throw
 * ```
 */
export function checkSteps(steps: number, name: string): void {
  if (!Number.isSafeInteger(steps) || steps < 0) {
    throw new FlheError("range", `dp: ${name} ${steps} is not a non-negative integer`);
  }
}

function checkOrder(order: number, name: string): void {
  if (!(order > 1)) throw new FlheError("range", `dp: ${name} ${order} is not > 1`);
}

/**
 * Checks a list of Rényi orders.
 *
 * @param orders Must be non-empty, each `> 1`.
 * @throws {FlheError} `range`, quoting the first bad order and its index.
 * @example
 * ```ts
 * import { checkOrders } from "./rdp.ts";
 * checkOrders([1.5, 2, 32]); // fine; [2, 1] would throw naming orders[1]
 * ```
 */
export function checkOrders(orders: readonly number[]): void {
  if (orders.length === 0) throw new FlheError("range", "dp: orders is empty");
  orders.forEach((order, k) => checkOrder(order, `orders[${k}]`));
}
