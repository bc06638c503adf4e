/**
 * `flhe data`: how a partition splits a data set among clients.
 *
 * @module
 */

import { describePartition, loadDataset } from "../data/mod.ts";
import { TASKS } from "../nn/mod.ts";
import * as rules from "../federation/rules.ts";
import { describeSplit, splitFile } from "../parties/demo_data.ts";
import { FlheError } from "../util/error.ts";
import { type Command, defineCommand } from "./command.ts";
import { choice, int } from "./option_kinds.ts";
import { ALPHA, PARTITION, seedOption, SHARDS_PER_CLIENT } from "./shared_options.ts";
import { dataSource, FILE_READING_OPTIONS, OWN_DATA_OPTIONS } from "./data_options.ts";

/** `flhe data`. */
export const data: Command = defineCommand({
  name: "data",
  summary: "show how a partition splits a data set among clients",
  description: `
Prints each client's share size and label histogram (or, for regression
targets, their mean and range), to show how non-IID a partition is. Uses the
MNIST training set that ships with flhe unless --data: a folder of
MNIST-layout IDX files, or one file as 'flhe demo --data' splits it (the
--test-fraction held out first).`,
  options: {
    partition: PARTITION,
    clients: int({
      placeholder: "K",
      help: "number of clients",
      range: rules.integers(1, 10_000),
      default: 2,
    }),
    alpha: ALPHA,
    "shards-per-client": SHARDS_PER_CLIENT,
    seed: seedOption("partition seed"),
    data: OWN_DATA_OPTIONS.data,
    ...FILE_READING_OPTIONS,
    "test-fraction": OWN_DATA_OPTIONS["test-fraction"],
    task: choice({
      placeholder: "TASK",
      help: "how the labels of --data FILE are read (classes, 0/1, or regression targets)",
      choices: TASKS,
      default: "multiclass",
    }),
  },
  async run(v, io) {
    const partition = {
      scheme: v.partition,
      clients: v.clients,
      alpha: v.alpha,
      shardsPerClient: v["shards-per-client"],
      seed: v.seed,
    };
    const stat = v.data === undefined ? undefined : await Deno.stat(v.data).catch(() => {
      throw new FlheError("usage", `--data: ${v.data} does not exist`);
    });
    if (stat?.isFile) {
      const options = {
        source: dataSource(v.data!, v),
        task: v.task,
        testFraction: v["test-fraction"],
        partition,
      };
      io.out(describeSplit(await splitFile(options), options));
      return 0;
    }
    const { train } = await loadDataset(v.data);
    io.out(describePartition(train.labels, partition));
    return 0;
  },
});
