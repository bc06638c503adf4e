/**
 * `flhe data`: how a partition splits the data set.
 *
 * @module
 */

import { describePartition, loadDataset } from "../data/mod.ts";
import * as rules from "../federation/rules.ts";
import { type Command, defineCommand } from "./command.ts";
import { int } from "./option_kinds.ts";
import { ALPHA, DATA_DIR, PARTITION, seedOption, SHARDS_PER_CLIENT } from "./shared_options.ts";

/** `flhe data`. */
export const data: Command = defineCommand({
  name: "data",
  summary: "show how a partition splits the data set among clients",
  description: `
Prints each client's share size and label histogram, to show how non-IID a
partition is. Uses the MNIST training set that ships with flhe unless --data.`,
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
    data: DATA_DIR,
  },
  async run(v, io) {
    const { train } = await loadDataset(v.data);
    io.out(describePartition(train.labels, {
      scheme: v.partition,
      clients: v.clients,
      alpha: v.alpha,
      shardsPerClient: v["shards-per-client"],
      seed: v.seed,
    }));
    return 0;
  },
});
