/**
 * The record of one closed round (finished or failed), as the server keeps
 * it in its history and the dashboard and report show it.
 *
 * @module
 */

import type { Failure } from "../strategy/mod.ts";

/** One row of the history file. */
export interface RoundRecord {
  /** The round, from 1. */
  readonly round: number;
  /** Why the round produced no model (absent when it did). */
  readonly failed?: string;
  /** The model was recovered from the owner after a server restart (not evaluated). */
  readonly recovered?: boolean;
  /** Clients whose updates are in the aggregate. */
  readonly participants: readonly string[];
  /** Selected clients without a usable update, and why. */
  readonly failures: readonly Failure[];
  /** Sum of the participants' weights. */
  readonly totalWeight: number;
  /** Bytes the server received from clients during the round. */
  readonly bytesIn: number;
  /** Bytes the server sent to clients during the round. */
  readonly bytesOut: number;
  /** Upload bytes per participant (mean). */
  readonly uploadBytesPerClient: number;
  /** Seconds per phase; train and encrypt are the slowest client's. */
  readonly seconds: {
    readonly train: number;
    readonly encrypt: number;
    readonly upload: number;
    readonly aggregate: number;
    readonly decrypt: number;
    readonly evaluate: number;
    readonly round: number;
  };
  /** Clients' test loss (mean squared error of a regression), weighted by test examples. */
  readonly loss: number;
  /** Clients' test accuracy, weighted by test examples (NaN for regression). */
  readonly accuracy: number;
  /**
   * Regression: the clients' test mean absolute error, weighted by test
   * examples (absent for classifiers, and for a round without reports).
   */
  readonly mae?: number;
  /**
   * Differential privacy: the epsilon each reporting client has spent so far
   * (DP federations only; absent otherwise).
   */
  readonly epsilonByClient?: Readonly<Record<string, number>>;
  /** The federation's worst (largest) spent epsilon among the reports. */
  readonly epsilon?: number;
}

/**
 * The record of a round the server did not run itself: one it recovered
 * from the owner after a restart, or one closed while it was away (`failed`).
 *
 * @param round The round.
 * @param failed Why the round failed; `undefined` for a recovered round.
 * @returns A record with no participants, bytes or seconds.
 *
 * @example Usage
 * ```ts
 * import { emptyRoundRecord } from "./record.ts";
 * emptyRoundRecord(3, undefined).recovered; // true
 * ```
 */
export function emptyRoundRecord(round: number, failed: string | undefined): RoundRecord {
  const zero = { train: 0, encrypt: 0, upload: 0, aggregate: 0, decrypt: 0, evaluate: 0, round: 0 };
  return {
    round,
    ...(failed ? { failed } : { recovered: true }),
    participants: [],
    failures: [],
    totalWeight: 0,
    bytesIn: 0,
    bytesOut: 0,
    uploadBytesPerClient: 0,
    seconds: zero,
    loss: NaN,
    accuracy: NaN,
  };
}
