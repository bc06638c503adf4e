/**
 * What `flhe demo --model SPEC --data FILE` prepares before the parties
 * start: the model the owner chooses, and the file split into one data file
 * per client plus a common test file (which the owner also holds, as its
 * validation set).
 *
 * @module
 */

import type { DataSource, PartitionScheme } from "../data/mod.ts";
import type { Logger } from "../util/log.ts";
import { chooseModel, type FederationModel, type ModelRequest } from "./model_choice.ts";
import { describeSplit, splitFile, writeSplit } from "./demo_data.ts";

/** The model and each party's data arguments. */
export interface DemoFiles {
  readonly model: FederationModel;
  /** Extra arguments of each client (its `--data`, the common `--test`). */
  readonly clients: readonly string[][];
  /** Extra arguments of the owner service (`--eval`). */
  readonly owner: readonly string[];
}

/** What {@linkcode demoFiles} needs of the demo's options. */
export interface DemoFilesOptions {
  readonly model?: ModelRequest;
  readonly data?: { readonly source: DataSource; readonly testFraction: number };
  readonly clients: number;
  readonly partition: PartitionScheme;
  readonly alpha: number;
  readonly seed: number;
  readonly log: Logger;
}

/** Arguments that make a party read `source`. */
export function sourceArgs(source: DataSource, file = "--data", labels = "--labels"): string[] {
  return [
    file,
    source.path,
    ...(source.label === undefined ? [] : ["--label", source.label]),
    ...(source.labels === undefined ? [] : [labels, source.labels]),
  ];
}

/**
 * Prepares the model and the data files of a demo; `undefined` for the
 * MNIST demo with LeNet-5 (nothing to prepare).
 *
 * @param o The demo's model, data and partition.
 * @param dir The demo's folder.
 * @returns The model and the parties' data arguments.
 * @throws {FlheError} `input` or `usage` naming the file or option.
 */
export async function demoFiles(o: DemoFilesOptions, dir: string): Promise<DemoFiles | undefined> {
  if (!o.model && !o.data) return undefined;
  const request: ModelRequest = o.model ?? { spec: "lenet5" };
  if (!o.data) {
    // The MNIST partition: 28x28 grey images, 10 classes, pixels / 255.
    const model = await chooseModel({
      ...request,
      inputShape: request.inputShape ?? [28, 28, 1],
      classes: request.classes ?? 10,
      scale: request.scale ?? "1/255",
    });
    return { model, clients: [], owner: [] };
  }
  const task = request.task ??
    (request.spec.endsWith(".json") ? (await chooseModel(request)).def.task : "multiclass");
  const splitOptions = {
    source: o.data.source,
    task,
    testFraction: o.data.testFraction,
    partition: { scheme: o.partition, clients: o.clients, seed: o.seed, alpha: o.alpha },
  };
  const split = await splitFile(splitOptions);
  for (const line of describeSplit(split, splitOptions).trimEnd().split("\n")) o.log.info(line);
  const files = await writeSplit(split, o.data.source, dir);
  const table = split.data.featureNames !== undefined;
  const model = await chooseModel({
    ...request,
    // Tables are standardised by default: features of different units train badly raw.
    scale: request.scale ?? (table ? "standard" : undefined),
    reference: files.reference,
  });
  return {
    model,
    clients: files.clients.map((c) => [
      ...sourceArgs(c),
      ...sourceArgs(files.test, "--test", "--test-labels"),
    ]),
    owner: sourceArgs(files.test, "--eval", "--labels"),
  };
}
