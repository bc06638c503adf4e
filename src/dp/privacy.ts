/**
 * From RDP to `(epsilon, delta)`, and back to the noise a budget allows.
 *
 * The conversion is the one Opacus' `get_privacy_spent` uses (Balle, Barthe,
 * Gaboardi, Hsu and Sato, "Hypothesis Testing Interpretations and Rényi
 * Differential Privacy", AISTATS 2020, Theorem 21; also Google
 * dp-accounting's `compute_epsilon`): an `(alpha, r)`-RDP mechanism is
 * `(epsilon, delta)`-DP with
 *
 *     epsilon = r + log((alpha - 1) / alpha) - (log(delta) + log(alpha)) / (alpha - 1),
 *
 * minimised over the orders. It is tighter than the classic
 * `r - log(delta) / (alpha - 1)` (Mironov 2017, Proposition 3), which
 * TensorFlow Privacy used until 2021 and which its published MNIST figures
 * come from; `conversion: "classic"` gives that one, for comparison.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import {
  checkMechanism,
  checkOrders,
  checkSteps,
  computeRdp,
  DEFAULT_RDP_ORDERS,
  type GaussianSteps,
} from "./rdp.ts";

/** Which RDP to `(epsilon, delta)` conversion: see the module's doc. */
export type Conversion = "balle2020" | "classic";

/** An `(epsilon, delta)` statement and the order it came from. */
export interface PrivacySpent {
  /** The smallest epsilon over the orders (`Infinity` if no order bounds it). */
  readonly epsilon: number;
  /** The order that gave it. */
  readonly order: number;
  /**
   * The best order is the first or last of the list: a wider list of orders
   * may give a smaller epsilon (Opacus warns in this case).
   */
  readonly orderAtEdge: boolean;
}

/**
 * Checks a delta.
 *
 * @param delta Must be in `(0, 1)`.
 * @param name The parameter's name for the message.
 * @throws {FlheError} `range`, quoting the parameter.
 * @example
 * ```ts
 * import { checkDelta } from "./privacy.ts";
 * checkDelta(1e-5, "delta"); // fine; 0 or 1 would throw
 * ```
 */
export function checkDelta(delta: number, name: string): void {
  if (!(delta > 0 && delta < 1)) {
    throw new FlheError("range", `dp: ${name} ${delta} is not in (0, 1)`);
  }
}

/**
 * The part of epsilon at one order that does not depend on the RDP value:
 * epsilon at `order` is `rdp + conversionOffset(order, delta, conversion)`.
 *
 * @param order A Rényi order `> 1`.
 * @param delta The delta, in `(0, 1)`.
 * @param conversion `"balle2020"` or `"classic"`.
 * @returns The offset (unchecked arguments give NaN or Infinity).
 * @example
 * ```ts
 * import { conversionOffset } from "./privacy.ts";
 * conversionOffset(2, 1e-5, "classic"); // -log(1e-5) = 11.51...
 * ```
 */
export function conversionOffset(order: number, delta: number, conversion: Conversion): number {
  if (conversion === "classic") return -Math.log(delta) / (order - 1);
  return Math.log((order - 1) / order) - (Math.log(delta) + Math.log(order)) / (order - 1);
}

/**
 * Converts RDP values at several orders to the best `(epsilon, delta)`.
 * Epsilon is never below 0 (a negative bound at some order implies 0), and is
 * 0 when the RDP is below about `delta^2` at some order.
 *
 * @param orders The Rényi orders, each `> 1`.
 * @param rdp The RDP value at each order (same length).
 * @param delta The target delta, in `(0, 1)`.
 * @param conversion `"balle2020"` (default, as Opacus) or `"classic"`.
 * @returns The smallest epsilon and its order.
 * @throws {FlheError} `range` if delta, an order or the lengths are wrong, quoting them.
 * @example
 * ```ts
 * import { computeRdp, DEFAULT_RDP_ORDERS, rdpToEpsilon } from "./mod.ts";
 * const rdp = computeRdp({ sampleRate: 0.01, noiseMultiplier: 1.1, steps: 6000 });
 * const { epsilon } = rdpToEpsilon(DEFAULT_RDP_ORDERS, rdp, 1e-5);
 * ```
 */
export function rdpToEpsilon(
  orders: readonly number[],
  rdp: ArrayLike<number>,
  delta: number,
  conversion: Conversion = "balle2020",
): PrivacySpent {
  checkOrders(orders);
  checkDelta(delta, "delta");
  if (rdp.length !== orders.length) {
    throw new FlheError(
      "range",
      `dp: rdp has ${rdp.length} values for ${orders.length} orders`,
    );
  }
  let best = 0;
  let bestEpsilon = Infinity;
  for (let k = 0; k < orders.length; k++) {
    const r = rdp[k]!;
    if (Number.isNaN(r) || r < 0) {
      throw new FlheError("range", `dp: rdp[${k}] ${r} is not a number >= 0`);
    }
    // Rényi divergence grows with the order, so r also bounds the KL divergence, and
    // delta >= sqrt(1 - exp(-KL)) gives epsilon 0 (dp-accounting's rule; Opacus lacks it
    // and reports ~0.1 for zero RDP). It only fires when r < ~delta^2: nothing spent.
    const eps = delta * delta + Math.expm1(-r) > 0
      ? 0
      : r + conversionOffset(orders[k]!, delta, conversion);
    if (eps < bestEpsilon) {
      bestEpsilon = eps;
      best = k;
    }
  }
  return {
    epsilon: Math.max(0, bestEpsilon),
    order: orders[best]!,
    orderAtEdge: Number.isFinite(bestEpsilon) && (best === 0 || best === orders.length - 1),
  };
}

/** Options shared by the budget functions. */
export interface BudgetOptions {
  /** Rényi orders (default {@linkcode DEFAULT_RDP_ORDERS}). */
  readonly orders?: readonly number[];
  /** RDP to DP conversion (default `"balle2020"`, as Opacus). */
  readonly conversion?: Conversion;
}

/**
 * Epsilon of `steps` steps of DP-SGD with Poisson sampling rate `q` and noise
 * multiplier `sigma`, at `delta`: `compute_rdp` then `get_privacy_spent`, as
 * Opacus' `RDPAccountant.get_epsilon`.
 *
 * @param mechanism Sampling rate, noise multiplier and number of steps.
 * @param delta The target delta, in `(0, 1)`.
 * @param options Orders and conversion.
 * @returns Epsilon and the order that gave it.
 * @throws {FlheError} `range` if a parameter is outside its domain, quoting it.
 * @example
 * ```ts
 * import { epsilonFor } from "./mod.ts";
 * // Abadi et al.'s MNIST setting: batches of 256 of 60,000, sigma 1.1, 60 epochs.
 * const { epsilon } = epsilonFor({ sampleRate: 256 / 60000, noiseMultiplier: 1.1, steps: 14063 }, 1e-5);
 * ```
 */
export function epsilonFor(
  mechanism: GaussianSteps,
  delta: number,
  options: BudgetOptions = {},
): PrivacySpent {
  const orders = options.orders ?? DEFAULT_RDP_ORDERS;
  checkDelta(delta, "delta");
  return rdpToEpsilon(orders, computeRdp(mechanism, orders), delta, options.conversion);
}

/** What {@linkcode noiseMultiplierFor} needs. */
export interface NoiseTarget {
  /** The epsilon to stay within, `> 0`. */
  readonly targetEpsilon: number;
  /** The delta, in `(0, 1)`. */
  readonly delta: number;
  /** Poisson sampling probability of each record, in `(0, 1]`. */
  readonly sampleRate: number;
  /** Planned number of steps, `>= 1` (for epochs: `Math.floor(epochs / sampleRate)`, as Opacus). */
  readonly steps: number;
  /** Stop once epsilon is within this of the target from below (default 0.01, as Opacus). */
  readonly epsilonTolerance?: number;
}

/** Opacus' `MAX_SIGMA`: a budget that needs more noise than this is refused. */
const MAX_SIGMA = 1e6;
const MAX_BISECTIONS = 200;

/**
 * The smallest noise multiplier (to the tolerance) whose epsilon after
 * `steps` steps is at most `targetEpsilon`: Opacus' `get_noise_multiplier`
 * (what `make_private_with_epsilon` calls), the same doubling from 20 and
 * bisection, so the same answer. The returned multiplier always meets the
 * target: `targetEpsilon - epsilonTolerance < epsilon <= targetEpsilon`.
 *
 * @param target Target epsilon and delta, sampling rate, steps, tolerance.
 * @param options Orders and conversion.
 * @returns The noise multiplier and the epsilon it gives.
 * @throws {FlheError} `range` if a parameter is outside its domain, quoting it, or
 *   if the budget needs a noise multiplier above 1e6.
 * @example
 * ```ts
 * import { noiseMultiplierFor } from "./mod.ts";
 * const { noiseMultiplier } = noiseMultiplierFor({
 *   targetEpsilon: 3, delta: 1e-5, sampleRate: 256 / 60000, steps: 14063,
 * });
 * ```
 */
export function noiseMultiplierFor(
  target: NoiseTarget,
  options: BudgetOptions = {},
): { readonly noiseMultiplier: number; readonly epsilon: number } {
  const { targetEpsilon, delta, sampleRate, steps } = target;
  const tolerance = target.epsilonTolerance ?? 0.01;
  if (!(targetEpsilon > 0) || !Number.isFinite(targetEpsilon)) {
    throw new FlheError("range", `dp: targetEpsilon ${targetEpsilon} is not a finite number > 0`);
  }
  if (!(tolerance > 0 && tolerance < targetEpsilon)) {
    throw new FlheError(
      "range",
      `dp: epsilonTolerance ${tolerance} is not in (0, targetEpsilon ${targetEpsilon})`,
    );
  }
  checkDelta(delta, "delta");
  checkMechanism(sampleRate, 0);
  if (sampleRate === 0) throw new FlheError("range", "dp: sampleRate 0 spends no budget");
  checkSteps(steps, "steps");
  if (steps === 0) throw new FlheError("range", "dp: steps 0 spends no budget");
  const eps = (sigma: number): number =>
    epsilonFor({ sampleRate, noiseMultiplier: sigma, steps }, delta, options).epsilon;

  let low = 0;
  let high = 10;
  let epsHigh = Infinity;
  while (epsHigh > targetEpsilon) {
    high *= 2;
    epsHigh = eps(high);
    if (high > MAX_SIGMA) {
      throw new FlheError(
        "range",
        `dp: targetEpsilon ${targetEpsilon} at delta ${delta} needs a noise multiplier above ${MAX_SIGMA}`,
      );
    }
  }
  for (let n = 0; n < MAX_BISECTIONS && targetEpsilon - epsHigh > tolerance; n++) {
    const mid = (low + high) / 2;
    const e = eps(mid);
    if (e < targetEpsilon) {
      high = mid;
      epsHigh = e;
    } else {
      low = mid;
    }
  }
  return { noiseMultiplier: high, epsilon: epsHigh };
}
