/**
 * The main-thread side of a client's training worker
 * ({@linkcode createTrainer}): one request at a time, progress reported as
 * it comes. Training off the main thread keeps the client's connection
 * alive (it answers the server's pings) through rounds of any length.
 *
 * @module
 */

import { FlheError, type FlheErrorCode } from "../util/error.ts";
import type { FederationConfig } from "../federation/mod.ts";
import type { TrainerData, TrainerReply, TrainerRequest } from "./trainer_protocol.ts";

/** A trained model and how training went. */
export interface Trained {
  readonly weights: Float32Array;
  readonly loss: number;
  readonly accuracy: number;
  readonly seconds: number;
}

/**
 * How a client trains a round: the owner-signed federation's settings and
 * the client's own shuffle seed (never the server's).
 */
export type TrainSettings = FederationConfig["training"] & {
  readonly seed: number;
  /** DP-SGD (per-example clipping, Gaussian noise, Poisson sampling); absent: plain SGD. */
  readonly dp?: {
    readonly clipNorm: number;
    readonly noiseMultiplier: number;
    readonly sampleRate: number;
  };
};

/** A client's training worker. */
export interface Trainer {
  /** Where the examples came from (a file, or the share of the partition). */
  readonly source: string;
  /** Training examples of this client's share. */
  readonly trainCount: number;
  /** Test images evaluated. */
  readonly testCount: number;
  /** The TensorFlow.js backend in use. */
  readonly backend: string;
  /**
   * Trains from `weights`.
   *
   * @param weights The model to start from.
   * @param fit The round's settings (and this client's shuffle seed).
   * @param onProgress Called with samples done and in all.
   * @returns The trained model.
   */
  train(
    weights: Float32Array,
    fit: TrainSettings,
    onProgress: (done: number, total: number) => void,
  ): Promise<Trained>;
  /**
   * Evaluates `weights` on the test images.
   *
   * @param weights The model.
   * @returns Loss, accuracy (0 for regression), mean absolute error (NaN for classifiers), samples.
   */
  evaluate(
    weights: Float32Array,
  ): Promise<{ loss: number; accuracy: number; mae: number; samples: number }>;
  /** Stops the worker. */
  close(): void;
}

/**
 * Starts the worker and loads the client's share into it.
 *
 * @param data Where the share comes from.
 * @param initial The initial weights (for the model's shapes).
 * @param onWarning Warnings from the backend setup.
 * @returns The trainer.
 * @throws {FlheError} What the worker reported (e.g. `input` for a bad data folder).
 *
 * @example Usage
 * ```ts
 * import { createTrainer } from "./trainer.ts";
 * declare const data: import("./trainer_protocol.ts").TrainerData;
 * const trainer = await createTrainer(data, new Float32Array(61_706), console.warn);
 * trainer.close();
 * ```
 */
export async function createTrainer(
  data: TrainerData,
  initial: Float32Array,
  onWarning: (message: string) => void,
): Promise<Trainer> {
  const worker = new Worker(new URL("./trainer_worker.ts", import.meta.url), { type: "module" });
  let waiting: ((reply: TrainerReply) => void) | undefined;
  let progress: ((done: number, total: number) => void) | undefined;
  let failure: Error | undefined;
  worker.onmessage = (e: MessageEvent<TrainerReply>) => {
    const reply = e.data;
    if (reply.type === "warning") onWarning(reply.message);
    else if (reply.type === "progress") progress?.(reply.done, reply.total);
    else waiting?.(reply);
  };
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    failure = new FlheError("unavailable", `training worker failed: ${e.message}`);
    waiting?.({ type: "error", code: "unavailable", message: failure.message });
  };
  // One request at a time: the client asks in order and waits for each answer.
  const ask = (req: TrainerRequest, transfer: Transferable[] = []): Promise<TrainerReply> => {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      waiting = (reply) => {
        waiting = undefined;
        if (reply.type === "error") {
          reject(new FlheError(reply.code as FlheErrorCode, reply.message));
        } else resolve(reply);
      };
      worker.postMessage(req, transfer);
    });
  };
  const ready = await ask({ type: "init", data, weights: Float32Array.from(initial) })
    .catch((e) => {
      worker.terminate();
      throw e;
    });
  if (ready.type !== "ready") throw new FlheError("unavailable", "training worker did not start");
  return {
    source: ready.source,
    trainCount: ready.trainCount,
    testCount: ready.testCount,
    backend: ready.backend,
    async train(weights, fit, onProgress) {
      progress = onProgress;
      const copy = Float32Array.from(weights);
      const reply = await ask({ type: "train", weights: copy, fit }, [copy.buffer]);
      progress = undefined;
      if (reply.type !== "trained") throw new FlheError("unavailable", "training worker: no model");
      return reply;
    },
    async evaluate(weights) {
      const reply = await ask({ type: "evaluate", weights: Float32Array.from(weights) });
      if (reply.type !== "evaluated") {
        throw new FlheError("unavailable", "training worker: no result");
      }
      return reply;
    },
    close: () => worker.terminate(),
  };
}
