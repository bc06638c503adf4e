/**
 * A client's privacy budget (DP-SGD): its plan (sampling rate, noise
 * multiplier, clip norm, delta, steps per round), its RDP accountant and
 * its limit, kept in `state/privacy.json`. Each round's steps are charged
 * and written to disk before the client trains, so a crash or a restart
 * never gives back budget; a round that would pass the limit is not
 * trained at all.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeFileAtomic } from "../util/fs.ts";
import type { Logger } from "../util/log.ts";
import { epsilonFor, noiseMultiplierFor, RdpAccountant, stepsPerEpoch } from "../dp/mod.ts";
import type { FederationConfig } from "../federation/mod.ts";

/** How this client trains under DP. */
export interface PrivacyPlan {
  /** Poisson sampling rate: expected batch over training examples. */
  readonly sampleRate: number;
  /** Gaussian noise multiplier sigma. */
  readonly noiseMultiplier: number;
  /** Per-example L2 clip norm. */
  readonly clipNorm: number;
  readonly delta: number;
  /** DP-SGD steps of one round (epochs x floor(1/q)). */
  readonly stepsPerRound: number;
  /** Epsilon this client never passes (Infinity: only reported). */
  readonly limit: number;
}

/** A client's budget. */
export interface PrivacyBudget {
  readonly plan: PrivacyPlan;
  /** Epsilon spent so far (0 before the first round). */
  spent(): number;
  /**
   * Charges one round's steps, on disk, before training it.
   *
   * @param round The round, for the message.
   * @throws {FlheError} `budget` if the round would pass the limit (nothing is charged).
   */
  charge(round: number): Promise<void>;
}

/** What the client asked for itself. */
export interface OwnBudget {
  /** A stricter epsilon than the federation's (`flhe client --dp-epsilon`). */
  readonly epsilon?: number;
}

/**
 * Opens the client's budget, or `undefined` if the federation trains without DP.
 *
 * @param dir The client's state folder.
 * @param config The federation.
 * @param trainCount The client's training examples.
 * @param own The client's own, stricter budget.
 * @param log Progress lines.
 * @param heldRound The round of the global model the client holds (0: the initial one).
 * @returns The budget.
 * @throws {FlheError} `usage` for an own budget in a federation without DP;
 *   `input` naming `privacy.json` if it is damaged, or missing from a client
 *   that has already taken part (it would start from nothing spent).
 *
 * @example Usage
 * ```ts
 * import { openPrivacyBudget } from "./client_privacy.ts";
 * declare const config: import("../federation/mod.ts").FederationConfig;
 * const budget = await openPrivacyBudget("federation/client-1/state", config, 1000, {}, console, 0);
 * ```
 */
export async function openPrivacyBudget(
  dir: string,
  config: FederationConfig,
  trainCount: number,
  own: OwnBudget,
  log: Pick<Logger, "info">,
  heldRound: number,
): Promise<PrivacyBudget | undefined> {
  const dp = config.dp;
  if (!dp) {
    if (own.epsilon !== undefined) {
      throw new FlheError(
        "usage",
        "--dp-epsilon: this federation trains without differential privacy (the owner sets it: owner init --dp-epsilon)",
      );
    }
    return undefined;
  }
  const path = `${dir}/privacy.json`;
  const saved = await readSaved(path);
  if (!saved && (heldRound > 0 || await hasContributed(dir))) {
    throw new FlheError(
      "input",
      `${path}: missing, but this client has already taken part (it holds the model of round ${heldRound} or has contributed); ` +
        "this file is its spent privacy budget and it does not train without it (restore the state folder from a backup)",
    );
  }
  // A restart keeps the plan (the noise) and the spent budget; it may only tighten the limit.
  // A plan saved without a limit (a fixed noise multiplier, before such plans
  // had one) gets what its planned rounds spend.
  const plan = saved
    ? {
      ...saved.plan,
      limit: Math.min(
        Number.isFinite(saved.plan.limit) ? saved.plan.limit : plannedEpsilon(saved.plan, config),
        own.epsilon ?? Infinity,
      ),
    }
    : makePlan(config, trainCount, own);
  const accountant = saved?.accountant ?? new RdpAccountant();
  const save = () =>
    writeFileAtomic(path, JSON.stringify({ plan, accountant: accountant.toJSON() }) + "\n", 0o600);
  if (!saved || plan.limit !== saved.plan.limit) await save();
  const spent = () => accountant.steps === 0 ? 0 : accountant.spent(plan.delta).epsilon;
  log.info(
    `differential privacy: sampling rate ${plan.sampleRate.toPrecision(3)}, noise multiplier ${
      plan.noiseMultiplier.toPrecision(4)
    }, clip ${plan.clipNorm}, delta ${plan.delta}; spent epsilon ${spent().toFixed(3)} of ${
      Number.isFinite(plan.limit) ? plan.limit : "(no limit)"
    }`,
  );
  return {
    plan,
    spent,
    async charge(round) {
      const step = {
        sampleRate: plan.sampleRate,
        noiseMultiplier: plan.noiseMultiplier,
        steps: plan.stepsPerRound,
      };
      const after = accountant.spentAfter(step, plan.delta).epsilon;
      if (after > plan.limit * (1 + 1e-9)) {
        throw new FlheError(
          "budget",
          `round ${round} would bring epsilon from ${spent().toFixed(3)} to ${
            after.toFixed(3)
          }, past this client's budget of ${plan.limit}`,
        );
      }
      accountant.step(step);
      await save();
    },
  };
}

/**
 * The plan: the noise that fits every planned round into the stricter
 * budget. With a fixed noise multiplier and no budget of the client's own,
 * the budget is what the planned rounds spend at that noise: whatever a
 * server does, a client never releases more than the federation planned.
 */
function makePlan(config: FederationConfig, trainCount: number, own: OwnBudget): PrivacyPlan {
  const dp = config.dp!;
  const sampleRate = Math.min(1, config.training.batchSize / Math.max(1, trainCount));
  const stepsPerRound = config.training.epochs * stepsPerEpoch(sampleRate);
  const steps = config.rounds * stepsPerRound;
  const budget = Math.min(dp.epsilon ?? Infinity, own.epsilon ?? Infinity);
  const noiseMultiplier = Math.max(
    Number.isFinite(budget)
      ? noiseMultiplierFor({ targetEpsilon: budget, delta: dp.delta, sampleRate, steps })
        .noiseMultiplier
      : 0,
    dp.noiseMultiplier ?? 0,
  );
  const plan = {
    sampleRate,
    noiseMultiplier,
    clipNorm: dp.clipNorm,
    delta: dp.delta,
    stepsPerRound,
  };
  return { ...plan, limit: Number.isFinite(budget) ? budget : plannedEpsilon(plan, config) };
}

/** What every planned round spends with a plan's noise. */
function plannedEpsilon(plan: Omit<PrivacyPlan, "limit">, config: FederationConfig): number {
  const { sampleRate, noiseMultiplier, stepsPerRound, delta } = plan;
  return epsilonFor({ sampleRate, noiseMultiplier, steps: config.rounds * stepsPerRound }, delta)
    .epsilon;
}

async function hasContributed(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(`${dir}/ledger`)) return true;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return false;
}

async function readSaved(
  path: string,
): Promise<{ plan: PrivacyPlan; accountant: RdpAccountant } | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new FlheError("input", `${path}: cannot read (${(e as Error).message})`);
  }
  try {
    const value = JSON.parse(text);
    const plan = value.plan as PrivacyPlan;
    for (const k of ["sampleRate", "noiseMultiplier", "clipNorm", "delta", "stepsPerRound"]) {
      const v = (plan as unknown as Record<string, unknown>)[k];
      if (typeof v !== "number" || !(v > 0)) throw new Error(`plan.${k} is not a positive number`);
    }
    const limit = value.plan.limit === null ? Infinity : plan.limit;
    return { plan: { ...plan, limit }, accountant: RdpAccountant.fromJSON(value.accountant) };
  } catch (e) {
    throw new FlheError(
      "input",
      `${path}: ${
        (e as Error).message
      }; this file is the client's spent privacy budget and it does not train without it (restore the state folder from a backup)`,
    );
  }
}
