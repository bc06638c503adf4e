/**
 * Options that name a data owner's files (`client`, `owner serve --eval`,
 * `owner init --reference`, `demo`, `data`): the label column or labels
 * file, feature columns, missing values, and test data.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import * as rules from "../federation/rules.ts";
import type { DataSource } from "../data/mod.ts";
import type { OwnFiles } from "../parties/trainer_protocol.ts";
import { type OptionValues, runtime } from "./options.ts";
import { flag, number, path, string } from "./option_kinds.ts";

/** How a table or array file is read. */
export const FILE_READING_OPTIONS = {
  label: string({
    placeholder: "COLUMN",
    help: "label column of a CSV/TSV/JSON table (classes as indices 0, 1, ... or as names)",
  }),
  labels: path({
    placeholder: "FILE",
    help: "labels file of .npy or IDX features (one label per example)",
  }),
  features: string({
    placeholder: "COLUMNS",
    help: "comma-separated feature columns of a table, in the model's order",
    default: runtime("every column but the label"),
  }),
  "drop-missing": flag("skip table rows with a missing value (empty, NA, NaN, null, ?)"),
} as const;

/** A data owner's training and test files. */
export const OWN_DATA_OPTIONS = {
  data: path({
    placeholder: "PATH",
    help: "this data owner's examples: a .csv/.tsv/.json table (with --label), a .npy or IDX " +
      "file (with --labels), or a folder of MNIST-layout IDX files split by the federation's " +
      "partition",
    default: runtime("the federation's partition of the MNIST that ships with flhe"),
  }),
  ...FILE_READING_OPTIONS,
  test: path({
    placeholder: "PATH",
    help: "test examples in the format of --data (read with the same --label or --test-labels)",
  }),
  "test-labels": path({ placeholder: "FILE", help: "labels file of --test (.npy or IDX)" }),
  "test-fraction": number({
    placeholder: "F",
    help: "without --test: the share of --data held out for testing, chosen with the " +
      "federation's seed",
    range: rules.reals(0.01, 0.9),
    default: 0.2,
  }),
} as const;

/**
 * A data source from parsed file-reading options.
 *
 * @param file The data file.
 * @param v Values of a table with {@linkcode FILE_READING_OPTIONS}.
 * @param labels The labels file (default `--labels`).
 * @returns The source.
 *
 * @example Usage
 * ```ts
 * import { dataSource } from "./data_options.ts";
 * dataSource("d.csv", { label: "y", labels: undefined, features: undefined, "drop-missing": false });
 * ```
 */
export function dataSource(
  file: string,
  v: OptionValues<typeof FILE_READING_OPTIONS>,
  labels = v.labels,
): DataSource {
  return {
    path: file,
    label: v.label,
    labels,
    features: v.features?.split(",").map((c) => c.trim()).filter((c) => c !== ""),
    dropMissing: v["drop-missing"],
  };
}

/**
 * The data owner's own files, or `undefined` when `--data` is absent or a
 * folder (the federation's partition of an IDX data set).
 *
 * @param v Values of a table with {@linkcode OWN_DATA_OPTIONS}.
 * @returns The files, or `undefined`.
 * @throws {FlheError} `usage` for file options without a data file, or `--data` that does not exist.
 *
 * @example Usage
 * ```ts
 * import { ownFiles } from "./data_options.ts";
 * declare const v: Parameters<typeof ownFiles>[0];
 * await ownFiles(v);
 * ```
 */
export async function ownFiles(
  v: OptionValues<typeof OWN_DATA_OPTIONS>,
): Promise<OwnFiles | undefined> {
  const stat = v.data === undefined ? undefined : await Deno.stat(v.data).catch(() => {
    throw new FlheError("usage", `--data: ${v.data} does not exist`);
  });
  if (stat === undefined || stat.isDirectory) {
    const stray = (["label", "labels", "features", "test", "test-labels"] as const)
      .find((k) => v[k] !== undefined);
    if (stray) {
      throw new FlheError("usage", `--${stray}: needs --data FILE (this data owner's own file)`);
    }
    return undefined;
  }
  return {
    train: dataSource(v.data!, v),
    test: v.test === undefined ? undefined : dataSource(v.test, v, v["test-labels"]),
    testFraction: v["test-fraction"],
  };
}
