/**
 * What the dashboard knows, built only from the server's events
 * ({@linkcode ServerEvent}) and a few fields of the federation's
 * configuration: never a ciphertext, token or key. Every string it keeps is
 * cut short and has long runs of hex or base64 elided, every number is
 * copied one by one, and it holds at most one row per round and one entry
 * per client of the federation.
 *
 * @module
 */

import type { Bundle } from "../federation/mod.ts";
import {
  type ClientActivity,
  type RoundPhase,
  type RoundRecord,
  type RoundStatus,
  roundStatus,
  type ServerEvent,
} from "../rounds/mod.ts";

/** The federation as the dashboard shows it. */
export interface FederationInfo {
  /** Key custody: `owner` or `shared-key`. */
  readonly mode: string;
  /** `fedavg-he` or `fedavg` (plaintext). */
  readonly strategy: string;
  /** Paillier key size. */
  readonly keyBits: number;
  /** Paillier key structure: `standard` or `subgroup`. */
  readonly keyKind: string;
  /** SHA-256 fingerprint of the public key (hex). */
  readonly fingerprint: string;
  /** Rounds in all. */
  readonly rounds: number;
  /** Clients of the federation. */
  readonly clients: number;
  /** The model's name (`lenet5`, `mlp:16`, a model file's name). */
  readonly model?: string;
  /** What it learns: `multiclass`, `binary` or `regression` (whose loss is the test MSE, with an MAE). */
  readonly task?: string;
}

/** Seconds per phase of a round. */
export type PhaseSeconds = RoundRecord["seconds"];

/** One row of the round table. */
export interface RoundRow {
  /** The round, from 1. */
  readonly round: number;
  /** `ok`, `failed` or `recovered`. */
  readonly status: RoundStatus;
  /** Why a failed round produced no model. */
  readonly reason?: string;
  /** Clients whose updates are in the aggregate. */
  readonly clients: number;
  /** Selected clients without a usable update (at most {@linkcode MAX_FAILURES}). */
  readonly failures: readonly { readonly client: string; readonly reason: string }[];
  /** Weighted test accuracy (null: not evaluated, or a regression). */
  readonly accuracy: number | null;
  /** Weighted test loss, the mean squared error of a regression (null: not evaluated). */
  readonly loss: number | null;
  /** Weighted test mean absolute error (null: a classifier, or not evaluated). */
  readonly mae: number | null;
  /** Differential privacy: the largest epsilon a client has spent (null: no DP). */
  readonly epsilon: number | null;
  /** Seconds per phase. */
  readonly seconds: PhaseSeconds;
  /** Bytes the server received from clients. */
  readonly bytesIn: number;
  /** Bytes the server sent to clients. */
  readonly bytesOut: number;
  /** Upload bytes per participant. */
  readonly uploadBytesPerClient: number;
}

/** A client and what it is doing. */
export interface ClientView {
  /** Its id, e.g. `client-1`. */
  readonly id: string;
  /** Its last activity. */
  readonly activity: ClientActivity;
  /** Since when (ms since the epoch). */
  readonly since: number;
}

/** The round in progress and its phase (`closed` once its row is in). */
export interface PhaseView {
  /** The round. */
  readonly round: number;
  /** Its phase. */
  readonly phase: RoundPhase | "closed";
  /** Since when (ms since the epoch). */
  readonly since: number;
}

/** Everything the page shows. */
export interface Snapshot {
  /** The federation (null when unknown, e.g. a report from a bare history file). */
  readonly federation: FederationInfo | null;
  /** The round in progress. */
  readonly phase: PhaseView | null;
  /** Clients seen, in order of first appearance. */
  readonly clients: readonly ClientView[];
  /** Closed rounds, by round number. */
  readonly rounds: readonly RoundRow[];
}

/** A change to a {@linkcode Snapshot}, sent to live pages. */
export type Update =
  | { readonly type: "client"; readonly client: ClientView }
  | { readonly type: "phase"; readonly phase: PhaseView }
  | { readonly type: "round"; readonly row: RoundRow };

/** The dashboard's state. */
export interface DashboardState {
  /**
   * Takes in one server event.
   *
   * @param event The event.
   * @returns The change for live pages, or `undefined` if the event was dropped.
   */
  apply(event: ServerEvent): Update | undefined;
  /**
   * Everything, for a page that just connected or a report.
   *
   * @returns A copy.
   */
  snapshot(): Snapshot;
}

/** Most failures a row lists. */
export const MAX_FAILURES = 10;

/** Longest text kept (a failure reason). */
const MAX_TEXT = 200;

/** Runs that could be a key, token, signature or ciphertext (hex or base64). */
const OPAQUE = /[A-Za-z0-9+/=_-]{32,}/g;

const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Makes a text safe to show: no control characters, long opaque runs
 * elided to their first 8 characters, at most `max` characters.
 *
 * @param text Any text.
 * @param max Longest result.
 * @returns The text.
 *
 * @example Usage
 * ```ts
 * import { cleanText } from "./state.ts";
 * cleanText(`bad ${"ab".repeat(40)}`); // "bad abababab…"
 * ```
 */
export function cleanText(text: string, max = MAX_TEXT): string {
  // deno-lint-ignore no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, " ").replace(
    OPAQUE,
    (run) => `${run.slice(0, 8)}…`,
  );
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function finite(n: number): number {
  return Number.isFinite(n) ? n : 0;
}

function metric(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

/**
 * The dashboard's row of a history record: each shown field copied one by
 * one, texts cleaned, participants counted rather than listed.
 *
 * @param r A record of the server's history.
 * @returns The row.
 *
 * @example Usage
 * ```ts
 * import { rowOf } from "./state.ts";
 * declare const record: import("../rounds/mod.ts").RoundRecord;
 * rowOf(record).status; // "ok", "failed" or "recovered"
 * ```
 */
export function rowOf(r: RoundRecord): RoundRow {
  const s = r.seconds;
  return {
    round: r.round,
    status: roundStatus(r),
    ...(r.failed ? { reason: cleanText(r.failed) } : {}),
    clients: r.participants.length,
    failures: r.failures.slice(0, MAX_FAILURES).map((f) => ({
      client: cleanText(f.clientId, 64),
      reason: cleanText(f.reason),
    })),
    accuracy: metric(r.accuracy),
    loss: metric(r.loss),
    mae: r.mae === undefined ? null : metric(r.mae),
    epsilon: r.epsilon === undefined ? null : metric(r.epsilon),
    seconds: {
      train: finite(s.train),
      encrypt: finite(s.encrypt),
      upload: finite(s.upload),
      aggregate: finite(s.aggregate),
      decrypt: finite(s.decrypt),
      evaluate: finite(s.evaluate),
      round: finite(s.round),
    },
    bytesIn: finite(r.bytesIn),
    bytesOut: finite(r.bytesOut),
    uploadBytesPerClient: finite(r.uploadBytesPerClient),
  };
}

/**
 * The fields of a bundle the dashboard shows, and nothing else of it.
 *
 * @param bundle The server's bundle.
 * @returns Mode, strategy, key size and kind, fingerprint, rounds, clients.
 *
 * @example Usage
 * ```ts
 * import { federationInfo } from "./state.ts";
 * import { loadBundle } from "../federation/mod.ts";
 * federationInfo(await loadBundle("federation/server")).keyBits; // 2048
 * ```
 */
export function federationInfo(bundle: Bundle): FederationInfo {
  const { config } = bundle;
  return {
    mode: config.mode,
    strategy: config.strategy,
    keyBits: config.keyBits,
    keyKind: bundle.publicKey.kind,
    fingerprint: /^[0-9a-f]{64}$/.test(config.fingerprint) ? config.fingerprint : "",
    rounds: config.rounds,
    clients: config.clients,
    model: config.model.name,
    task: config.model.task,
  };
}

/** Limits and clock of {@linkcode createDashboardState}. */
export interface StateOptions {
  /** Most rows kept (default: the federation's rounds, else 100,000). */
  readonly maxRounds?: number;
  /** Most clients kept (default: the federation's clients, else 1,000). */
  readonly maxClients?: number;
  /** The clock, in ms since the epoch (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * Creates the dashboard's state.
 *
 * @param federation The federation, if known.
 * @param options Limits and clock.
 * @returns The state, empty.
 *
 * @example Usage
 * ```ts
 * import { createDashboardState } from "./state.ts";
 * const state = createDashboardState(null);
 * state.apply({ type: "client", id: "client-1", activity: "connected" });
 * state.snapshot().clients.length; // 1
 * ```
 */
export function createDashboardState(
  federation: FederationInfo | null,
  options: StateOptions = {},
): DashboardState {
  const maxRounds = options.maxRounds ?? federation?.rounds ?? 100_000;
  const maxClients = options.maxClients ?? federation?.clients ?? 1000;
  const now = options.now ?? Date.now;
  const rounds = new Map<number, RoundRow>();
  const clients = new Map<string, ClientView>();
  let phase: PhaseView | null = null;
  const apply = (event: ServerEvent): Update | undefined => {
    switch (event.type) {
      case "client": {
        if (!CLIENT_ID.test(event.id)) return undefined;
        if (!clients.has(event.id) && clients.size >= maxClients) return undefined;
        const client = { id: event.id, activity: event.activity, since: now() };
        clients.set(event.id, client);
        return { type: "client", client };
      }
      case "phase":
        phase = { round: event.round, phase: event.phase, since: now() };
        return { type: "phase", phase };
      case "round": {
        const row = rowOf(event.record);
        if (!rounds.has(row.round) && rounds.size >= maxRounds) {
          rounds.delete(rounds.keys().next().value!);
        }
        rounds.set(row.round, row);
        if (phase?.round === row.round) phase = { ...phase, phase: "closed", since: now() };
        return { type: "round", row };
      }
    }
  };
  return {
    apply,
    snapshot: () => ({
      federation: federation ? { ...federation } : null,
      phase,
      clients: [...clients.values()],
      rounds: [...rounds.values()].sort((a, b) => a.round - b.round),
    }),
  };
}

/**
 * A snapshot of a finished federation from its history, built through the
 * same state as the live dashboard.
 *
 * @param history The server's history.
 * @param federation The federation, if known.
 * @returns The snapshot: every round's row, no clients, no phase.
 *
 * @example Usage
 * ```ts
 * import { snapshotOfHistory } from "./state.ts";
 * snapshotOfHistory([], null).rounds.length; // 0
 * ```
 */
export function snapshotOfHistory(
  history: readonly RoundRecord[],
  federation: FederationInfo | null,
): Snapshot {
  const state = createDashboardState(federation, { maxRounds: Math.max(1, history.length) });
  for (const record of history) state.apply({ type: "round", record });
  return state.snapshot();
}
