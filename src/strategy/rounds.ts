/**
 * The words a strategy speaks: a round's fit configuration, the set of
 * members and their weights, a member's update and signed contribution, a
 * client's evaluation and the kind of model a round produces. These are not
 * wire messages: the party that owns a connection translates between them
 * and the protocol (as Flower's `Strategy` takes `FitRes`, not frames).
 *
 * @module
 */

/** Local training settings of each round. */
export interface TrainingConfig {
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: "sgd" | "momentum" | "nesterov" | "adam";
  readonly learningRate: number;
  readonly momentum: number;
  readonly schedule: "constant" | "cosine";
}

/** What a selected client is asked to do in a round (Flower's `FitIns` config). */
export interface FitConfig extends TrainingConfig {
  /** The round. */
  readonly round: number;
  /** The round of the global model to train from (0: the initial model). */
  readonly baseRound: number;
  /** Seed of this round's local shuffles. */
  readonly seed: number;
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
  /** The announcement (attempt) it answers. */
  readonly attempt: number;
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
  readonly loss: number;
  readonly accuracy: number;
  /** Test examples it was evaluated on (the weight in the mean). */
  readonly examples: number;
}

/**
 * What a finished round's model is: `sealed` (the new model, AES-GCM under
 * the group key: owner mode), `aggregate` (the summed ciphertexts: shared-key
 * mode) or `plain` (the float32 sum: plaintext FedAvg).
 */
export type ModelKind = "sealed" | "aggregate" | "plain";
