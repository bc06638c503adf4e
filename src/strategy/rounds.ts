/**
 * The words a strategy speaks: a round's fit configuration, the set of
 * members and their weights, a member's update and signed contribution, a
 * client's evaluation and the kind of model a round produces. These are not
 * wire messages: the party that owns a connection translates between them
 * and the protocol (as Flower's `Strategy` takes `FitRes`, not frames).
 *
 * @module
 */

/**
 * What a selected client is asked to do in a round (Flower's `FitIns`):
 * only which round and from which model. How to train is the owner-signed
 * federation's, and the shuffle seed the client's own (protocol v3).
 */
export interface FitConfig {
  /** The round. */
  readonly round: number;
  /** The round of the global model to train from (0: the initial model). */
  readonly baseRound: number;
}

/** A member of an announced set and its weight. */
export interface SetMember {
  /** Client id. */
  readonly id: string;
  /** Its integer weight in the round's mean. */
  readonly weight: number;
}

/** One member's update for an announcement (Flower's `FitRes`). */
export interface Update {
  /** The round it answers. */
  readonly round: number;
  /** SHA-256 (hex) of the base model the member trained from, as it states it. */
  readonly base: string;
  /** Values (or ciphertexts) in the payload. */
  readonly count: number;
  /** The member's integer weight, as announced. */
  readonly weight: number;
  /** Signature (hex) over the contribution (empty for plaintext FedAvg). */
  readonly signature: string;
  /** Fixed-width ciphertexts, or float32 values for plaintext FedAvg. */
  readonly payload: Uint8Array;
}

/** One signed contribution, as the owner checks it. */
export interface Contribution {
  /** Client id. */
  readonly id: string;
  /** SHA-256 (hex) of the client's payload. */
  readonly digest: string;
  /** Its Ed25519 signature (hex). */
  readonly signature: string;
}

/** A client's evaluation of a round's model (Flower's `EvaluateRes`). */
export interface EvaluateResult {
  /** Cross-entropy (classifiers) or mean squared error (regression). */
  readonly loss: number;
  /** Fraction classified right (NaN for regression). */
  readonly accuracy: number;
  /** Mean absolute error (regression; NaN for classifiers). */
  readonly mae: number;
  /** Test examples it was evaluated on (the weight in the mean). */
  readonly examples: number;
}

/**
 * What a finished round's model is: `sealed` (the new model, AES-GCM under
 * the group key: owner mode), `updates` (every member's signed ciphertexts,
 * which each client multiplies itself: shared-key mode) or `plain` (the
 * float32 sum: plaintext FedAvg).
 */
export type ModelKind = "sealed" | "updates" | "plain";
