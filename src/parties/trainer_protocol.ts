/**
 * Messages between a client and its training worker.
 *
 * @module
 */

import type { DataSource, PartitionScheme } from "../data/mod.ts";
import type { ModelDef, Scaling } from "../nn/mod.ts";
import type { TrainSettings } from "./trainer.ts";

/** A data owner's own files: training examples, and test examples or a fraction held out. */
export interface OwnFiles {
  /** Training examples (with the test fraction, also the test examples). */
  readonly train: DataSource;
  /** Test examples. */
  readonly test?: DataSource;
  /** Without `test`: the fraction of `train` held out for testing (seeded by `seed`). */
  readonly testFraction: number;
}

/** The model the worker trains, as the federation fixed it. */
export interface TrainerModel {
  readonly def: ModelDef;
  readonly scaling: Scaling;
  /** Class names of text labels. */
  readonly classNames?: readonly string[];
}

/** Where the worker finds the client's share and test set. */
export interface TrainerData {
  /** The model. */
  readonly model: TrainerModel;
  /** The data owner's own files; without them, its share of the federation's partition. */
  readonly files?: OwnFiles;
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
    /** Where the examples came from, for the client's first lines. */
    readonly source: string;
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
    /** Mean absolute error (regression; NaN otherwise). */
    readonly mae: number;
    readonly samples: number;
  }
  | { readonly type: "warning"; readonly message: string }
  | { readonly type: "error"; readonly code: string; readonly message: string };
