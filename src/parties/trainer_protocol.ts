/**
 * Messages between a client and its training worker.
 *
 * @module
 */

import type { PartitionScheme } from "../data/mod.ts";
import type { TrainSettings } from "./trainer.ts";

/** Where the worker finds the client's share and test set. */
export interface TrainerData {
  /** An IDX data set folder (default: the MNIST that ships with flhe). */
  readonly dataDir?: string;
  readonly scheme: PartitionScheme;
  readonly clients: number;
  readonly seed: number;
  readonly alpha: number;
  readonly shardsPerClient: number;
  /** This client's shard, 1-based. */
  readonly shard: number;
  /** Train on only the first N examples of the share. */
  readonly trainLimit?: number;
  /** Evaluate on only the first N test images. */
  readonly testLimit?: number;
}

/** What the client asks. */
export type TrainerRequest =
  | { readonly type: "init"; readonly data: TrainerData; readonly weights: Float32Array }
  | {
    readonly type: "train";
    readonly weights: Float32Array;
    readonly fit: TrainSettings;
  }
  | { readonly type: "evaluate"; readonly weights: Float32Array };

/** What the worker answers. */
export type TrainerReply =
  | {
    readonly type: "ready";
    readonly trainCount: number;
    readonly testCount: number;
    readonly backend: string;
  }
  | { readonly type: "progress"; readonly done: number; readonly total: number }
  | {
    readonly type: "trained";
    readonly weights: Float32Array;
    readonly loss: number;
    readonly accuracy: number;
    readonly seconds: number;
  }
  | {
    readonly type: "evaluated";
    readonly loss: number;
    readonly accuracy: number;
    readonly samples: number;
  }
  | { readonly type: "warning"; readonly message: string }
  | { readonly type: "error"; readonly code: string; readonly message: string };
