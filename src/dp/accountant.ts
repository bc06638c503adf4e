/**
 * A running RDP accountant: what a client has spent so far, step by step and
 * round after round, and how many more steps its budget allows. Shaped like
 * Opacus' `RDPAccountant` (a history of `(noise multiplier, sample rate,
 * steps)` whose RDP is summed over the orders), with a JSON state to save with
 * the client's other state so that a restart never resets what was spent.
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
import {
  checkDelta,
  type Conversion,
  conversionOffset,
  type PrivacySpent,
  rdpToEpsilon,
} from "./privacy.ts";

/** The saved form of an {@linkcode RdpAccountant}: plain JSON. */
export interface AccountantState {
  /** Format tag, always `"flhe-rdp-accountant"`. */
  readonly format: "flhe-rdp-accountant";
  /** Format version, 1. */
  readonly version: 1;
  /** The Rényi orders. */
  readonly orders: readonly number[];
  /** Every mechanism applied so far, consecutive equal ones merged. */
  readonly history: readonly GaussianSteps[];
}

const FORMAT = "flhe-rdp-accountant";

/**
 * Composes subsampled Gaussian steps and converts the total to
 * `(epsilon, delta)`.
 *
 * @example Spend, check, save, restore
 * ```ts
 * import { RdpAccountant } from "./accountant.ts";
 * const acc = new RdpAccountant();
 * acc.step({ sampleRate: 0.01, noiseMultiplier: 1.1, steps: 100 });
 * const spent = acc.spent(1e-5).epsilon;
 * const left = acc.stepsWithin({ targetEpsilon: 3, delta: 1e-5, sampleRate: 0.01, noiseMultiplier: 1.1 });
 * const restored = RdpAccountant.fromJSON(JSON.parse(JSON.stringify(acc)));
 * ```
 */
export class RdpAccountant {
  readonly #orders: readonly number[];
  readonly #history: GaussianSteps[] = [];
  readonly #total: Float64Array;
  /** One step's RDP per (sample rate, noise multiplier), computed once. */
  readonly #perStep = new Map<string, Float64Array>();

  /**
   * @param orders Rényi orders, each `> 1` (default {@linkcode DEFAULT_RDP_ORDERS}).
   * @throws {FlheError} `range` if an order is not `> 1`, quoting it.
   */
  constructor(orders: readonly number[] = DEFAULT_RDP_ORDERS) {
    checkOrders(orders);
    this.#orders = Object.freeze([...orders]);
    this.#total = new Float64Array(orders.length);
  }

  /** The Rényi orders. */
  get orders(): readonly number[] {
    return this.#orders;
  }

  /** Every mechanism applied so far (consecutive equal ones merged), oldest first. */
  get history(): readonly GaussianSteps[] {
    return this.#history.map((h) => ({ ...h }));
  }

  /** Total steps taken. */
  get steps(): number {
    return this.#history.reduce((sum, h) => sum + h.steps, 0);
  }

  /** The composed RDP at each order (a copy). */
  rdp(): Float64Array {
    return this.#total.slice();
  }

  #oneStep(sampleRate: number, noiseMultiplier: number): Float64Array {
    const key = `${sampleRate}:${noiseMultiplier}`;
    let r = this.#perStep.get(key);
    if (r === undefined) {
      r = computeRdp({ sampleRate, noiseMultiplier, steps: 1 }, this.#orders);
      this.#perStep.set(key, r);
    }
    return r;
  }

  /**
   * Records `steps` steps (default 1) of one subsampled Gaussian mechanism.
   *
   * @param mechanism Sampling rate, noise multiplier and number of steps (default 1).
   * @throws {FlheError} `range` if a parameter is outside its domain, quoting it.
   */
  step(mechanism: Omit<GaussianSteps, "steps"> & { readonly steps?: number }): void {
    const { sampleRate, noiseMultiplier } = mechanism;
    const steps = mechanism.steps ?? 1;
    checkMechanism(sampleRate, noiseMultiplier);
    checkSteps(steps, "steps");
    if (steps === 0) return;
    const last = this.#history.at(-1);
    if (last && last.sampleRate === sampleRate && last.noiseMultiplier === noiseMultiplier) {
      this.#history[this.#history.length - 1] = { ...last, steps: last.steps + steps };
    } else {
      this.#history.push({ sampleRate, noiseMultiplier, steps });
    }
    // Summed from the history, so that a restored accountant has exactly the same RDP.
    this.#total.fill(0);
    for (const h of this.#history) {
      const r = this.#oneStep(h.sampleRate, h.noiseMultiplier);
      for (let k = 0; k < r.length; k++) this.#total[k]! += r[k]! * h.steps;
    }
  }

  /**
   * The `(epsilon, delta)` spent so far (0 before any step).
   *
   * @param delta The delta, in `(0, 1)`.
   * @param conversion RDP to DP conversion (default `"balle2020"`, as Opacus).
   * @returns Epsilon and the order that gave it.
   * @throws {FlheError} `range` if delta is not in `(0, 1)`.
   */
  spent(delta: number, conversion?: Conversion): PrivacySpent {
    return rdpToEpsilon(this.#orders, this.#total, delta, conversion);
  }

  /**
   * Epsilon after `steps` more steps of a mechanism, without recording them.
   *
   * @param mechanism The planned steps.
   * @param delta The delta, in `(0, 1)`.
   * @param conversion RDP to DP conversion (default `"balle2020"`).
   * @returns Epsilon and its order, as if the steps had been taken.
   * @throws {FlheError} `range` if a parameter is outside its domain, quoting it.
   */
  spentAfter(mechanism: GaussianSteps, delta: number, conversion?: Conversion): PrivacySpent {
    checkMechanism(mechanism.sampleRate, mechanism.noiseMultiplier);
    checkSteps(mechanism.steps, "steps");
    const r = this.#oneStep(mechanism.sampleRate, mechanism.noiseMultiplier);
    const n = mechanism.steps;
    const total = n === 0 ? this.#total : this.#total.map((t, k) => t + r[k]! * n);
    return rdpToEpsilon(this.#orders, total, delta, conversion);
  }

  /**
   * How many more steps of a mechanism keep the total within a budget: the
   * largest `n` with `spentAfter({..., steps: n}).epsilon <= targetEpsilon`
   * (0 if the budget is already spent; `Infinity` if steps cost nothing).
   * Exact, not searched: epsilon at each order is linear in `n`.
   *
   * @param budget The budget and the mechanism of the next steps.
   * @returns The number of steps that fit.
   * @throws {FlheError} `range` if a parameter is outside its domain, quoting it.
   */
  stepsWithin(budget: {
    readonly targetEpsilon: number;
    readonly delta: number;
    readonly sampleRate: number;
    readonly noiseMultiplier: number;
    readonly conversion?: Conversion;
  }): number {
    const { targetEpsilon, delta, sampleRate, noiseMultiplier, conversion } = budget;
    if (!(targetEpsilon >= 0)) {
      throw new FlheError("range", `dp: targetEpsilon ${targetEpsilon} is not a number >= 0`);
    }
    checkDelta(delta, "delta");
    checkMechanism(sampleRate, noiseMultiplier);
    const fits = (n: number): boolean =>
      this.spentAfter({ sampleRate, noiseMultiplier, steps: n }, delta, conversion).epsilon <=
        targetEpsilon;
    if (!fits(0)) return 0;
    const r = this.#oneStep(sampleRate, noiseMultiplier);
    let best = 0;
    for (let k = 0; k < r.length; k++) {
      // At order k, epsilon after n steps is total_k + n r_k + offset_k.
      const rk = r[k]!;
      if (rk === 0) return Infinity;
      const offset = conversionOffset(this.#orders[k]!, delta, conversion ?? "balle2020");
      const room = targetEpsilon - this.#total[k]! - offset;
      if (room >= 0 && Number.isFinite(rk)) best = Math.max(best, Math.floor(room / rk));
    }
    if (best > Number.MAX_SAFE_INTEGER) return Infinity;
    // Rounding can put the linear bound a step off either way, and the zero-epsilon
    // rule of the conversion can allow more: settle it exactly (fits() is monotone).
    while (best > 0 && !fits(best)) best--;
    let step = 1;
    while (best + step <= Number.MAX_SAFE_INTEGER && fits(best + step)) {
      best += step;
      step *= 2;
    }
    for (step = Math.floor(step / 2); step >= 1; step = Math.floor(step / 2)) {
      if (fits(best + step)) best += step;
    }
    return best;
  }

  /**
   * The saved form, for `JSON.stringify`.
   *
   * @returns Orders and history.
   */
  toJSON(): AccountantState {
    return { format: FORMAT, version: 1, orders: [...this.#orders], history: this.history };
  }

  /**
   * Rebuilds an accountant from its saved form (parsed JSON), checking every field.
   *
   * @param state Parsed JSON of {@linkcode RdpAccountant.toJSON}.
   * @returns The accountant, with the same RDP as the one saved.
   * @throws {FlheError} `input` naming the field that is missing or wrong.
   */
  static fromJSON(state: unknown): RdpAccountant {
    const s = state as Partial<Record<keyof AccountantState, unknown>> | null;
    if (typeof s !== "object" || s === null || s.format !== FORMAT) {
      throw new FlheError("input", `dp accountant state: format is not "${FORMAT}"`);
    }
    if (s.version !== 1) {
      throw new FlheError("input", `dp accountant state: version ${String(s.version)} is not 1`);
    }
    if (!Array.isArray(s.orders) || !s.orders.every((o) => typeof o === "number")) {
      throw new FlheError("input", "dp accountant state: orders is not a list of numbers");
    }
    if (!Array.isArray(s.history)) {
      throw new FlheError("input", "dp accountant state: history is not a list");
    }
    const acc = wrap(() => new RdpAccountant(s.orders as number[]), "orders");
    s.history.forEach((h: unknown, i: number) => {
      const e = h as Record<string, unknown> | null;
      const field = (name: keyof GaussianSteps): number => {
        const v = e?.[name];
        if (typeof v !== "number") {
          throw new FlheError(
            "input",
            `dp accountant state: history[${i}].${name} is not a number`,
          );
        }
        return v;
      };
      const mechanism = {
        sampleRate: field("sampleRate"),
        noiseMultiplier: field("noiseMultiplier"),
        steps: field("steps"),
      };
      wrap(() => acc.step(mechanism), `history[${i}]`);
    });
    return acc;
  }
}

function wrap<T>(run: () => T, where: string): T {
  try {
    return run();
  } catch (e) {
    if (!(e instanceof FlheError)) throw e;
    throw new FlheError("input", `dp accountant state: ${where}: ${e.message}`, { cause: e });
  }
}
