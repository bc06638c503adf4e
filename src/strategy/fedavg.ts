/**
 * FedAvg, the round bookkeeping both FedAvg strategies share: client
 * selection (Flower's `fraction_fit`, `min_fit_clients`,
 * `min_available_clients`), the announced set with its weight caps, the
 * updates accepted for it, and the weighted evaluation. What an update is
 * (ciphertexts or floats) and how updates combine is given by the concrete
 * strategy.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { packingTotal } from "../federation/limits.ts";
import type { Contribution, EvaluateResult, SetMember, Update } from "./rounds.ts";
import type {
  Aggregate,
  Announcement,
  Evaluation,
  Failure,
  FitInstructions,
  Ready,
  Strategy,
} from "./strategy.ts";

/** Options shared by the FedAvg strategies (Flower's names where they exist). */
export interface FedAvgOptions {
  /** Fewest clients to contribute to a round. */
  readonly minFitClients: number;
  /** Fewest connected clients before a round starts. */
  readonly minAvailableClients: number;
  /** Fraction of available clients selected per round (default 1). */
  readonly fractionFit?: number;
  /** Largest weight one client may declare. */
  readonly maxClientWeight: number;
  /** Packing headroom: the announced weights are scaled to sum to at most this. */
  readonly maxTotalWeight: number;
}

/** What a concrete strategy makes of one update. */
export interface CheckedUpdate {
  /** The payload to combine. */
  readonly payload: Uint8Array;
  /** The signed contribution the owner will check. */
  readonly contribution: Contribution;
}

/** The parts that differ between FedAvg and FedAvgHE. */
export interface UpdateRules {
  /** Strategy name. */
  readonly name: string;
  /** Values (or ciphertexts) per update. */
  readonly count: number;
  /** Checks one update's payload and signature against the announcement. */
  check(
    clientId: string,
    update: Update,
    announcement: Announcement,
  ): Promise<CheckedUpdate>;
  /** Combines the members' payloads. */
  combine(payloads: readonly Uint8Array[]): Promise<Uint8Array>;
}

interface RoundState {
  readonly round: number;
  readonly selected: ReadonlySet<string>;
  readonly baseRound: number;
  announcement?: Announcement;
  readonly accepted: Map<string, CheckedUpdate & { readonly base: string }>;
  readonly failures: Failure[];
}

function weightedEvaluation(results: readonly EvaluateResult[]): Evaluation {
  const mean = (metric: (r: EvaluateResult) => number) => {
    // A metric a report does not have (NaN) is left out, with its examples.
    const having = results.filter((r) => !Number.isNaN(metric(r)));
    const total = having.reduce((s, r) => s + r.examples, 0);
    return total === 0 ? NaN : having.reduce((s, r) => s + metric(r) * r.examples, 0) / total;
  };
  return { loss: mean((r) => r.loss), accuracy: mean((r) => r.accuracy), mae: mean((r) => r.mae) };
}

/**
 * Builds a FedAvg-shaped {@linkcode Strategy} from the rules of its updates.
 *
 * @param options Client counts, caps and training settings.
 * @param rules How updates are checked and combined.
 * @returns The strategy.
 *
 * @example Usage
 * ```ts
 * import { createFedAvgCore } from "./fedavg.ts";
 * declare const rules: import("./fedavg.ts").UpdateRules;
 * declare const options: import("./fedavg.ts").FedAvgOptions;
 * const strategy = createFedAvgCore(options, rules);
 * ```
 */
export function createFedAvgCore(options: FedAvgOptions, rules: UpdateRules): Strategy {
  let state: RoundState | undefined;
  // Members of the last round's set that broke it sit out the next round
  // when enough others are available, so one client cannot stall every round.
  let benched = new Set<string>();
  const current = (): RoundState => {
    if (!state) throw new FlheError("protocol", "no round is open");
    return state;
  };
  const announce = (s: RoundState, set: SetMember[]): Announcement | null => {
    if (set.length < options.minFitClients) return null;
    s.announcement = { round: s.round, baseRound: s.baseRound, set };
    return s.announcement;
  };
  return {
    name: rules.name,
    get failures() {
      return current().failures;
    },
    configureFit(round, baseRound, available): FitInstructions | null {
      if (available.length < options.minAvailableClients) return null;
      if (state?.round !== round) benched = breakers(state);
      const clients = select(options, available, benched);
      state = {
        round,
        baseRound,
        selected: new Set(clients),
        accepted: new Map(),
        failures: [],
      };
      return { clients, fit: { round, baseRound } };
    },
    configureAnnounce(ready) {
      const s = current();
      const usable: Ready[] = [];
      for (const r of ready) {
        if (!s.selected.has(r.clientId)) continue;
        if (r.weight > options.maxClientWeight) {
          s.failures.push({
            clientId: r.clientId,
            reason: `declared weight ${r.weight} exceeds the cap ${options.maxClientWeight}`,
          });
        } else usable.push(r);
      }
      return announce(s, contributorSet(usable, s.failures).sort((a, b) => compareIds(a.id, b.id)));
    },
    async acceptUpdate(clientId, update) {
      const s = current();
      const a = checkMembership(s, clientId, update, rules.count);
      const first = s.accepted.values().next().value;
      if (first && first.base !== update.base) {
        throw new FlheError(
          "protocol",
          `${clientId} trained from another model than the set's other members`,
        );
      }
      s.accepted.set(clientId, { ...await rules.check(clientId, update, a), base: update.base });
    },
    missing() {
      const s = current();
      return (s.announcement?.set ?? []).map((m) => m.id).filter((id) => !s.accepted.has(id));
    },
    fail(failure) {
      current().failures.push(failure);
    },
    async aggregateFit(): Promise<Aggregate | null> {
      const s = current();
      const a = s.announcement;
      if (!a || a.set.some((m) => !s.accepted.has(m.id))) return null;
      const checked = a.set.map((m) => s.accepted.get(m.id)!);
      return {
        announcement: a,
        contributions: checked.map((c) => c.contribution),
        totalWeight: packingTotal(a.set, options.maxTotalWeight),
        payload: await rules.combine(checked.map((c) => c.payload)),
        count: rules.count,
      };
    },
    aggregateEvaluate: weightedEvaluation,
  };
}

/** The round's clients: Flower's fraction of the available ones, the benched left out if possible. */
function select(
  options: FedAvgOptions,
  available: readonly string[],
  benched: ReadonlySet<string>,
): string[] {
  const rested = available.filter((id) => !benched.has(id));
  const pool = rested.length >= options.minAvailableClients ? rested : available;
  const fraction = options.fractionFit ?? 1;
  const count = Math.max(options.minFitClients, Math.ceil(pool.length * fraction));
  return [...pool].sort(compareIds).slice(0, count);
}

/** The checks of an update against the open announcement that need no cryptography. */
function checkMembership(
  s: RoundState,
  clientId: string,
  update: Update,
  count: number,
): Announcement {
  const a = s.announcement;
  if (!a) throw new FlheError("protocol", `no set has been announced for round ${s.round}`);
  if (update.round !== a.round) {
    throw new FlheError(
      "protocol",
      `update for round ${update.round}, but round ${a.round} is open`,
    );
  }
  const member = a.set.find((m) => m.id === clientId);
  if (!member) throw new FlheError("protocol", `${clientId} is not in the announced set`);
  if (s.accepted.has(clientId)) {
    throw new FlheError("protocol", `${clientId} already sent its update for this round`);
  }
  if (update.weight !== member.weight) {
    throw new FlheError(
      "protocol",
      `update weight ${update.weight} differs from the announced ${member.weight}`,
    );
  }
  if (update.count !== count) {
    throw new FlheError("protocol", `update count ${update.count}, expected ${count}`);
  }
  return a;
}

/** Members of a round's announced set whose update did not arrive or was refused. */
function breakers(state: RoundState | undefined): Set<string> {
  // Members that uploaded are bound to that set: its breakers are needed to complete it.
  if (state?.accepted.size) return new Set();
  const failed = new Set(state?.failures.map((f) => f.clientId));
  return new Set(state?.announcement?.set.map((m) => m.id).filter((id) => failed.has(id)));
}

const setKey = (set: readonly SetMember[]) =>
  set.map((m) => `${m.id}:${m.weight}`).sort().join(",");

/**
 * Who can contribute together. A client contributes from a base model to
 * one set only (protocol v3): if a round failed after some members
 * uploaded, those members are ready only for that same set. So the first
 * such set whose members are all ready (with the same weights) is announced
 * again; otherwise the clients not bound to any set form the set, and the
 * bound ones sit out until the model moves on.
 */
function contributorSet(ready: readonly Ready[], failures: Failure[]): SetMember[] {
  const byId = new Map(ready.map((r) => [r.clientId, r]));
  for (const r of ready) {
    if (r.contributed.length === 0) continue;
    const fits = r.contributed.every((m) => {
      const other = byId.get(m.id);
      return other?.weight === m.weight &&
        (other.contributed.length === 0 || setKey(other.contributed) === setKey(r.contributed));
    });
    if (fits) return r.contributed.map(({ id, weight }) => ({ id, weight }));
  }
  for (const r of ready) {
    if (r.contributed.length === 0) continue;
    failures.push({
      clientId: r.clientId,
      reason: `contributed from this model to ${
        r.contributed.map((m) => m.id).join(", ")
      } already, and that set is not complete`,
    });
  }
  return ready.filter((r) => r.contributed.length === 0)
    .map((r) => ({ id: r.clientId, weight: r.weight }));
}

/**
 * Orders client ids by their number (`client-2` before `client-10`).
 *
 * @param a An id.
 * @param b Another id.
 * @returns Negative, zero or positive.
 *
 * @example Usage
 * ```ts
 * import { compareIds } from "./fedavg.ts";
 * ["client-10", "client-2"].sort(compareIds); // ["client-2", "client-10"]
 * ```
 */
export function compareIds(a: string, b: string): number {
  const na = Number(a.replace(/^\D+/, ""));
  const nb = Number(b.replace(/^\D+/, ""));
  return na - nb || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Plaintext FedAvg: clients send their weighted update as float32; the
 * server sums them. The server sees every update: for comparison runs only.
 *
 * @param options Client counts, caps and training settings.
 * @param parameterCount Model parameters.
 * @returns The strategy.
 *
 * @example Usage
 * ```ts
 * import { createFedAvg } from "./fedavg.ts";
 * declare const options: import("./fedavg.ts").FedAvgOptions;
 * createFedAvg(options, 61_706);
 * ```
 */
export function createFedAvg(options: FedAvgOptions, parameterCount: number): Strategy {
  return createFedAvgCore(options, {
    name: "FedAvg",
    count: parameterCount,
    check(clientId, update) {
      if (update.payload.length !== parameterCount * 4) {
        throw new FlheError(
          "protocol",
          `update payload of ${update.payload.length} bytes, expected ${parameterCount} float32 values`,
        );
      }
      const values = new Float32Array(update.payload.slice().buffer);
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new FlheError("protocol", `update value [${bad}] is not finite`);
      return Promise.resolve({
        payload: update.payload,
        contribution: { id: clientId, digest: "0".repeat(64), signature: "0".repeat(128) },
      });
    },
    combine(payloads) {
      const sum = new Float64Array(parameterCount);
      for (const p of payloads) {
        new Float32Array(p.slice().buffer).forEach((v, i) => sum[i]! += v);
      }
      return Promise.resolve(new Uint8Array(Float32Array.from(sum).buffer));
    },
  });
}
