/**
 * One file made into a federation's worth of data owners (`flhe demo
 * --data FILE`, `flhe data --data FILE`): a seeded test split, the rest
 * partitioned among the clients (by label for classification), each share
 * written as the file its client reads (a CSV for tables, `.npy` for
 * arrays), and the training union as the owner's reference sample.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeFileAtomic } from "../util/fs.ts";
import {
  type Dataset,
  type DataSource,
  describePartition,
  loadDataFile,
  type LoadedData,
  npyBytes,
  partition,
  type PartitionOptions,
  subset,
} from "../data/mod.ts";
import type { Task } from "../nn/mod.ts";
import { holdOut } from "./client_data.ts";

/** How to split one file. */
export interface SplitOptions {
  /** The file and how to read it. */
  readonly source: DataSource;
  /** The model's task (how labels are read). */
  readonly task: Task;
  /** Share held out as the common test set. */
  readonly testFraction: number;
  /** The partition of the rest. */
  readonly partition: PartitionOptions;
}

/** One file split: test set, training union, the clients' shares. */
export interface Split {
  readonly data: LoadedData;
  readonly train: Dataset;
  readonly test: Dataset;
  readonly shares: readonly Uint32Array[];
}

/**
 * Reads a file and splits it: `testFraction` held out (seeded), the rest
 * partitioned.
 *
 * @param o The file, task, test share and partition.
 * @returns The split.
 * @throws {FlheError} `input` naming the file; `usage` for a partition that does not fit the task.
 */
export async function splitFile(o: SplitOptions): Promise<Split> {
  let data: LoadedData;
  try {
    data = await loadDataFile(o.source, {
      kind: o.task === "regression" ? "target" : o.task === "binary" ? "binary" : "class",
      discoverClasses: true,
    });
  } catch (e) {
    throw new FlheError("input", (e as Error).message, { cause: e });
  }
  if (o.task === "regression" && o.partition.scheme !== "iid") {
    throw new FlheError(
      "usage",
      `--partition ${o.partition.scheme} splits by class; use iid for regression`,
    );
  }
  const { train, test } = holdOut(data.dataset, o.testFraction, o.partition.seed, o.source.path);
  let shares: Uint32Array[];
  try {
    shares = partition(train.labels, { minPartitionSize: 5, ...o.partition });
  } catch (e) {
    throw new FlheError("usage", `${o.source.path}: ${(e as Error).message}`, { cause: e });
  }
  return { data, train, test, shares };
}

/**
 * The `flhe data` table of a split: each client's size and its classes (or targets).
 *
 * @param split The split.
 * @param o How it was made.
 * @returns The text.
 */
export function describeSplit(split: Split, o: SplitOptions): string {
  return `${o.source.path}: ${split.data.dataset.count} examples` +
    (split.data.dropped ? ` (${split.data.dropped} rows with missing values skipped)` : "") +
    `, ${split.test.count} held out for testing\n` +
    describePartition(split.train.labels, o.partition, split.data.classNames);
}

/** Float32 written with the fewest digits that read back as the same float32. */
function shortest(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const t = Number(v.toPrecision(p));
    if (Math.fround(t) === v) return String(t);
  }
  return String(v);
}

function csvText(ds: Dataset, data: LoadedData, label: string): string {
  const quote = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const names = data.featureNames!;
  const size = names.length;
  const lines = [[...names, label].map(quote).join(",")];
  for (let i = 0; i < ds.count; i++) {
    const row = Array.from(ds.features.subarray(i * size, (i + 1) * size), shortest);
    const l = ds.labels[i]!;
    row.push(data.classNames ? quote(data.classNames[l]!) : shortest(l));
    lines.push(row.join(","));
  }
  return lines.join("\n") + "\n";
}

/**
 * Writes examples as the file a client reads, in the source's kind: a CSV
 * (tables) or two `.npy` files (arrays).
 *
 * @param ds The examples.
 * @param data What they were read from (feature and class names).
 * @param source How the original was read.
 * @param base Path without extension.
 * @returns How a client reads the written file.
 */
export async function writeShare(
  ds: Dataset,
  data: LoadedData,
  source: DataSource,
  base: string,
): Promise<DataSource> {
  if (data.featureNames) {
    const label = source.label!;
    await writeFileAtomic(`${base}.csv`, csvText(ds, data, label));
    return { path: `${base}.csv`, label };
  }
  const labels = ds.labels instanceof Float32Array ? ds.labels : Int32Array.from(ds.labels);
  await writeFileAtomic(`${base}.npy`, npyBytes(ds.features, [ds.count, ...ds.shape]));
  await writeFileAtomic(`${base}-labels.npy`, npyBytes(labels, [ds.count]));
  return { path: `${base}.npy`, labels: `${base}-labels.npy` };
}

/**
 * Writes the clients' shares, the common test set and the training union.
 *
 * @param split The split.
 * @param source How the original was read.
 * @param dir Folder to write into.
 * @returns Each client's source, the test source and the reference (training union).
 */
export async function writeSplit(
  split: Split,
  source: DataSource,
  dir: string,
): Promise<{ clients: DataSource[]; test: DataSource; reference: DataSource }> {
  const clients: DataSource[] = [];
  for (let i = 0; i < split.shares.length; i++) {
    clients.push(
      await writeShare(
        subset(split.train, split.shares[i]!),
        split.data,
        source,
        `${dir}/client-${i + 1}`,
      ),
    );
  }
  return {
    clients,
    test: await writeShare(split.test, split.data, source, `${dir}/test`),
    reference: await writeShare(split.train, split.data, source, `${dir}/train`),
  };
}
