/**
 * A client's training and test examples: its own files (checked against the
 * federation's model: input shape, classes, class names), or its share of
 * the federation's partition of an IDX data set (the MNIST demo).
 * Everything is read and checked before the client connects; a bad file
 * stops it with one line naming the file, and nothing is sent.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { deriveSeed, Rng } from "../util/rng.ts";
import {
  checkShape,
  clientShare,
  type Dataset,
  type DataSource,
  head,
  type LabelRules,
  loadDataFile,
  loadDataset,
  subset,
} from "../data/mod.ts";
import type { TrainerData, TrainerModel } from "./trainer_protocol.ts";

/** A client's examples. */
export interface ClientData {
  readonly train: Dataset;
  readonly test: Dataset;
  /** Where they came from, for the log. */
  readonly source: string;
}

/** What the labels must be for a model. */
export function labelRules(model: TrainerModel): LabelRules {
  const task = model.def.task;
  return {
    kind: task === "regression" ? "target" : task === "binary" ? "binary" : "class",
    classes: task === "multiclass" ? model.def.outputs : undefined,
    classNames: model.classNames,
  };
}

async function load(source: DataSource, model: TrainerModel): Promise<Dataset> {
  const { dataset, dropped } = await loadDataFile(source, labelRules(model));
  checkShape(dataset, model.def.inputShape, source.path);
  if (dropped > 0 && dataset.count === 0) throw new Error(`${source.path}: no examples left`);
  return dataset;
}

/**
 * Splits off a seeded test fraction: the same file and seed give the same split.
 *
 * @param ds The examples.
 * @param fraction Share held out, in (0, 1).
 * @param seed The federation's seed.
 * @param file Names the file in errors.
 * @returns Training and test examples.
 * @throws {Error} If either part would be empty.
 */
export function holdOut(
  ds: Dataset,
  fraction: number,
  seed: number,
  file: string,
): { train: Dataset; test: Dataset } {
  const testCount = Math.round(ds.count * fraction);
  if (testCount < 1 || testCount >= ds.count) {
    throw new Error(
      `${file}: ${ds.count} examples cannot be split ${Math.round((1 - fraction) * 100)}/${
        Math.round(fraction * 100)
      } into training and test examples; give --test FILE`,
    );
  }
  const order = new Rng(deriveSeed(seed, 0x7e57)).shuffle(
    Uint32Array.from({ length: ds.count }, (_, i) => i),
  );
  const testIdx = order.subarray(0, testCount).sort();
  const trainIdx = order.subarray(testCount).sort();
  return { train: subset(ds, trainIdx), test: subset(ds, testIdx) };
}

/**
 * Reads a client's examples.
 *
 * @param data Own files or the partition, limits, the model.
 * @returns Training and test examples.
 * @throws {FlheError} `input`, one line naming the file (and line, column or example).
 */
export async function loadClientData(data: TrainerData): Promise<ClientData> {
  try {
    const limit = (d: Dataset, n?: number) => n === undefined ? d : head(d, Math.min(n, d.count));
    let train: Dataset;
    let test: Dataset;
    let source: string;
    if (data.files) {
      const own = await load(data.files.train, data.model);
      if (data.files.test) {
        train = own;
        test = await load(data.files.test, data.model);
      } else {
        ({ train, test } = holdOut(own, data.files.testFraction, data.seed, data.files.train.path));
      }
      source = data.files.train.path;
    } else {
      const full = await loadDataset(data.dataDir);
      checkShape(full.train, data.model.def.inputShape, data.dataDir ?? "MNIST");
      const share = clientShare(full.train.labels, {
        scheme: data.scheme,
        clients: data.clients,
        seed: data.seed,
        alpha: data.alpha,
        shardsPerClient: data.shardsPerClient,
      }, data.shard - 1);
      train = subset(full.train, share);
      test = full.test;
      source = `shard ${data.shard}`;
    }
    return { train: limit(train, data.trainLimit), test: limit(test, data.testLimit), source };
  } catch (e) {
    if (e instanceof FlheError) throw e;
    throw new FlheError("input", e instanceof Error ? e.message : String(e), { cause: e });
  }
}
