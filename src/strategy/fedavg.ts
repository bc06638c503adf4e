/**
 * Aggregation strategies, shaped like Flower's `Strategy`: configure a round
 * for the available clients, check each result as it arrives, aggregate the
 * results (given the failures), aggregate the evaluations. `FedAvgHE`
 * multiplies Paillier ciphertexts and never sees a plaintext weight;
 * plaintext `FedAvg` fits beside it for comparison runs.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import {
  type CodecParams,
  type PaillierPool,
  parseCiphertexts,
  plaintextCount,
  type PublicKey,
} from "../he/mod.ts";
import type { FitMessage, ModelMessage, ReportMessage, UpdateMessage } from "../net/mod.ts";
import type { FederationConfig } from "../federation/bundle.ts";

/** What a round asks of which clients. */
export interface FitInstructions {
  /** Ids of the selected clients. */
  readonly clients: readonly string[];
  /** The configuration sent to each. */
  readonly fit: FitMessage;
}

/** A checked update, ready to aggregate. */
export interface FitResult {
  /** The client that sent it. */
  readonly clientId: string;
  /** The update as received. */
  readonly update: UpdateMessage;
  /** The parsed payload, in the strategy's own form. */
  readonly parsed: unknown;
}

/** A selected client that gave no usable result. */
export interface Failure {
  readonly clientId: string;
  readonly reason: string;
}

/** A round's aggregate, ready to be finished (decrypted) and sent to clients. */
export interface Aggregate {
  /** The payload of the model message (ciphertexts or plain sums). */
  readonly payload: Uint8Array;
  /** Kind of the model message. */
  readonly kind: ModelMessage["kind"];
  /** Sum of the contributors' weights. */
  readonly totalWeight: number;
  /** Ids of the clients in the aggregate. */
  readonly contributors: readonly string[];
}

/** A strategy, in the spirit of Flower's `Strategy`. */
export interface Strategy {
  /** Name for logs and history. */
  readonly name: string;
  /**
   * Selects clients and builds the round's fit configuration.
   *
   * @param round The round (1-based).
   * @param available Ids of connected clients.
   * @returns The instructions, or `null` while too few clients are available.
   */
  configureFit(round: number, available: readonly string[]): FitInstructions | null;
  /**
   * Checks one update as it arrives.
   *
   * @param update The update.
   * @param acceptedWeight Sum of the weights already accepted this round.
   * @returns The parsed payload.
   * @throws {FlheError} `protocol` naming what is wrong.
   */
  checkUpdate(update: UpdateMessage, acceptedWeight: number): unknown;
  /**
   * Aggregates the accepted results.
   *
   * @param round The round.
   * @param results Accepted results.
   * @param failures Selected clients without a result.
   * @returns The aggregate, or `null` if the round cannot complete.
   */
  aggregateFit(
    round: number,
    results: readonly FitResult[],
    failures: readonly Failure[],
  ): Promise<Aggregate | null>;
  /**
   * Combines the clients' evaluations, weighted by test examples.
   *
   * @param reports The reports.
   * @returns Weighted loss and accuracy.
   */
  aggregateEvaluate(reports: readonly ReportMessage[]): { loss: number; accuracy: number };
}

/** Options shared by the FedAvg strategies (Flower's names). */
export interface FedAvgOptions {
  /** Fewest clients to train in a round. */
  readonly minFitClients: number;
  /** Fewest connected clients before a round starts. */
  readonly minAvailableClients: number;
  /** Fraction of available clients selected per round (default 1). */
  readonly fractionFit?: number;
  /** Whether a round may complete despite failures (default true). */
  readonly acceptFailures?: boolean;
}

function fedAvgBase(config: FederationConfig, options: FedAvgOptions) {
  const fraction = options.fractionFit ?? 1;
  return {
    configureFit(round: number, available: readonly string[]): FitInstructions | null {
      if (available.length < options.minAvailableClients) return null;
      const count = Math.max(options.minFitClients, Math.ceil(available.length * fraction));
      const clients = [...available].sort().slice(0, count);
      return {
        clients,
        fit: {
          type: "fit",
          round,
          epochs: config.training.epochs,
          batchSize: config.training.batchSize,
          optimizer: config.training.optimizer,
          learningRate: config.training.learningRate,
          momentum: config.training.momentum,
          schedule: config.training.schedule,
          seed: (config.data.seed * 1_000_003 + round) >>> 0,
        },
      };
    },
    enough(results: readonly FitResult[], failures: readonly Failure[]): boolean {
      if (results.length < options.minFitClients) return false;
      return failures.length === 0 || (options.acceptFailures ?? true);
    },
    aggregateEvaluate(reports: readonly ReportMessage[]): { loss: number; accuracy: number } {
      const total = reports.reduce((s, r) => s + r.examples, 0);
      if (total === 0) return { loss: NaN, accuracy: NaN };
      return {
        loss: reports.reduce((s, r) => s + r.loss * r.examples, 0) / total,
        accuracy: reports.reduce((s, r) => s + r.accuracy * r.examples, 0) / total,
      };
    },
  };
}

function checkWeight(update: UpdateMessage, acceptedWeight: number, maxTotalWeight: number): void {
  if (acceptedWeight + update.weight > maxTotalWeight) {
    throw new FlheError(
      "protocol",
      `update weight ${update.weight} would take the round's total past maxTotalWeight ${maxTotalWeight}`,
    );
  }
}

/**
 * FedAvgHE: checks every ciphertext as it arrives (`0 < c < n^2`,
 * `gcd(c, n) = 1`, count) and multiplies them slot-wise mod `n^2` in the
 * worker pool.
 *
 * @param config The federation.
 * @param publicKey Its public key.
 * @param codec Its codec parameters.
 * @param pool A worker pool for the public key (no secret needed).
 * @param options Client counts.
 * @returns The strategy.
 *
 * @example Usage
 * ```ts
 * import { createFedAvgHE } from "./fedavg.ts";
 * declare const bundle: import("../federation/bundle.ts").Bundle;
 * declare const codec: import("../he/mod.ts").CodecParams;
 * declare const pool: import("../he/mod.ts").PaillierPool;
 * createFedAvgHE(bundle.config, bundle.publicKey, codec, pool, { minFitClients: 2, minAvailableClients: 2 });
 * ```
 */
export function createFedAvgHE(
  config: FederationConfig,
  publicKey: PublicKey,
  codec: CodecParams,
  pool: PaillierPool,
  options: FedAvgOptions,
): Strategy {
  const base = fedAvgBase(config, options);
  const count = plaintextCount(codec, config.parameterCount);
  return {
    name: "FedAvgHE",
    configureFit: base.configureFit,
    aggregateEvaluate: base.aggregateEvaluate,
    checkUpdate(update, acceptedWeight) {
      if (update.count !== count) {
        throw new FlheError(
          "protocol",
          `update count ${update.count}, expected ${count} ciphertexts`,
        );
      }
      checkWeight(update, acceptedWeight, codec.maxTotalWeight);
      // Checked here, on arrival, so the sender hears what was wrong; the
      // bigints are not kept: the pool parses its own slices in parallel.
      parseCiphertexts(publicKey, update.payload, count, `update of round ${update.round}`);
      return update.payload;
    },
    async aggregateFit(_round, results, failures) {
      if (!base.enough(results, failures)) return null;
      return {
        kind: config.mode === "owner" ? "sealed" : "aggregate",
        payload: await pool.aggregate(results.map((r) => r.parsed as Uint8Array)),
        totalWeight: results.reduce((s, r) => s + r.update.weight, 0),
        contributors: results.map((r) => r.clientId),
      };
    },
  };
}

/**
 * Plaintext FedAvg: clients send their weighted update as float32; the
 * server sums them. The server sees every update: for comparison runs only.
 *
 * @param config The federation.
 * @param options Client counts.
 * @returns The strategy.
 *
 * @example Usage
 * ```ts
 * import { createFedAvg } from "./fedavg.ts";
 * declare const config: import("../federation/bundle.ts").FederationConfig;
 * createFedAvg(config, { minFitClients: 2, minAvailableClients: 2 });
 * ```
 */
export function createFedAvg(config: FederationConfig, options: FedAvgOptions): Strategy {
  const base = fedAvgBase(config, options);
  const count = config.parameterCount;
  return {
    name: "FedAvg",
    configureFit: base.configureFit,
    aggregateEvaluate: base.aggregateEvaluate,
    checkUpdate(update, acceptedWeight) {
      if (update.count !== count || update.payload.length !== count * 4) {
        throw new FlheError(
          "protocol",
          `update count ${update.count}, expected ${count} float32 values`,
        );
      }
      checkWeight(update, acceptedWeight, config.encoding.maxTotalWeight);
      const values = new Float32Array(update.payload.slice().buffer);
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new FlheError("protocol", `update value [${bad}] is not finite`);
      return values;
    },
    aggregateFit(_round, results, failures) {
      if (!base.enough(results, failures)) return Promise.resolve(null);
      const sum = new Float64Array(count);
      for (const r of results) (r.parsed as Float32Array).forEach((v, i) => sum[i]! += v);
      const payload = new Uint8Array(Float32Array.from(sum).buffer);
      return Promise.resolve({
        kind: "plain",
        payload,
        totalWeight: results.reduce((s, r) => s + r.update.weight, 0),
        contributors: results.map((r) => r.clientId),
      });
    },
  };
}
