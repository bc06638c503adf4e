/**
 * The shape of an aggregation strategy, after Flower's `Strategy`: configure
 * a round for the available clients, announce who contributes, accept each
 * update as it arrives, aggregate the accepted updates (given the failures)
 * and combine the evaluations. A strategy owns the state of the round it is
 * running; how an aggregate becomes a model (owner decryption, shared-key,
 * plaintext) is a {@linkcode Finisher} injected beside it.
 *
 * @module
 */

import type {
  Contribution,
  EvaluateResult,
  FitConfig,
  ModelKind,
  SetMember,
  Update,
} from "./rounds.ts";

/** What a round asks of which clients. */
export interface FitInstructions {
  /** Ids of the selected clients. */
  readonly clients: readonly string[];
  /** The configuration each is asked to train with. */
  readonly fit: FitConfig;
}

/** A client that trained and declared its weight. */
export interface Ready {
  /** The client. */
  readonly clientId: string;
  /** Its declared weight. */
  readonly weight: number;
  /** Seconds it trained. */
  readonly trainSeconds: number;
  /**
   * The set it already contributed to from this round's base model (empty
   * if none): it contributes from that model to no other set.
   */
  readonly contributed: readonly SetMember[];
}

/** Who contributes to a round, as told to every member. */
export interface Announcement {
  /** The round. */
  readonly round: number;
  /** The round of the model the members trained from. */
  readonly baseRound: number;
  /** The members, sorted by id. */
  readonly set: readonly SetMember[];
}

/** A selected client that gave no usable result. */
export interface Failure {
  /** The client. */
  readonly clientId: string;
  /** Why, in one line. */
  readonly reason: string;
}

/** A round's aggregate over exactly the announced set. */
export interface Aggregate {
  /** The announcement the updates answer. */
  readonly announcement: Announcement;
  /** The signed contributions, one per member. */
  readonly contributions: readonly Contribution[];
  /** Sum of the members' packing weights (the divisor of the mean). */
  readonly totalWeight: number;
  /**
   * FedAvgHE: every member's ciphertexts, one update after the other in set
   * order (the server does not multiply them: whoever decrypts multiplies
   * exactly what the members signed); FedAvg: the float32 sum.
   */
  readonly payload: Uint8Array;
  /** Values (or ciphertexts) per member's update. */
  readonly count: number;
}

/** A finished round's model: what every client receives. */
export interface FinishedModel {
  /** What the payload is. */
  readonly kind: ModelKind;
  /** The payload for clients. */
  readonly payload: Uint8Array;
  /** The owner's signature (hex) over a sealed model; empty otherwise. */
  readonly signature: string;
  /** Seconds the owner spent decrypting (0 when clients decrypt). */
  readonly decryptSeconds: number;
}

/** What a finisher knows of rounds closed before the server (re)started. */
export interface Recovered {
  /** The last round the finisher has decided (sealed or refused; 0: none). */
  readonly decidedRounds: number;
  /** The last model it finished, if any. */
  readonly model?: FinishedModel & { readonly round: number };
}

/** Turns an aggregate into the model message's payload. */
export interface Finisher {
  /**
   * Asks, once at start, what was decided while the server was away (owner
   * mode: a server restarted from an older checkpoint).
   *
   * @returns What the finisher knows, or `undefined` if it keeps no state.
   */
  recover?(): Promise<Recovered | undefined>;
  /**
   * Finishes a round.
   *
   * @param aggregate The round's aggregate.
   * @returns The model for clients.
   * @throws {FlheError} `protocol` if the round cannot be finished (it is then lost).
   */
  finish(aggregate: Aggregate): Promise<FinishedModel>;
  /** Tells the finisher the federation is over and releases it. */
  close(): Promise<void>;
}

/** Weighted evaluation of a round. */
export interface Evaluation {
  /** Test loss, weighted by test examples. */
  readonly loss: number;
  /** Test accuracy, weighted by test examples (NaN for regression). */
  readonly accuracy: number;
  /** Test mean absolute error, weighted by test examples (regression; NaN for classifiers). */
  readonly mae: number;
}

/** A strategy, in the spirit of Flower's `Strategy`. */
export interface Strategy {
  /** Name for logs and history. */
  readonly name: string;
  /**
   * Selects clients and builds the round's fit configuration; starts the round.
   *
   * @param round The round (1-based).
   * @param baseRound The round of the global model clients train from.
   * @param available Ids of connected clients.
   * @returns The instructions, or `null` while too few clients are available.
   */
  configureFit(
    round: number,
    baseRound: number,
    available: readonly string[],
  ): FitInstructions | null;
  /**
   * Announces the contributors from the clients that are ready.
   *
   * @param ready Clients that trained, with their declared weights.
   * @returns The announcement, or `null` if too few are usable (the
   *   rejected ones are added to {@linkcode Strategy.failures}).
   */
  configureAnnounce(ready: readonly Ready[]): Announcement | null;
  /**
   * Checks and keeps one update of the announced set.
   *
   * @param clientId The sender.
   * @param update The update.
   * @throws {FlheError} `protocol` naming what is wrong.
   */
  acceptUpdate(clientId: string, update: Update): Promise<void>;
  /**
   * Members of the current announcement without an accepted update.
   *
   * @returns Their ids.
   */
  missing(): string[];
  /**
   * Records a selected client's failure this round.
   *
   * @param failure Who and why.
   */
  fail(failure: Failure): void;
  /** The round's failures so far. */
  readonly failures: readonly Failure[];
  /**
   * Aggregates the updates of the announced set.
   *
   * @returns The aggregate, or `null` if a member's update is missing.
   */
  aggregateFit(): Promise<Aggregate | null>;
  /**
   * Combines the clients' evaluations, weighted by test examples.
   *
   * @param results The clients' evaluations.
   * @returns Weighted loss, accuracy and MAE, each over the reports that have it.
   */
  aggregateEvaluate(results: readonly EvaluateResult[]): Evaluation;
}
