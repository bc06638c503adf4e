/**
 * A data owner's own files as examples: CSV or JSON tables with a label
 * column, NumPy `.npy` arrays and IDX files of any shape (features and
 * labels in two files), each checked against what the model takes before
 * anything else happens.
 *
 * @module
 */

import { parseCsv, parseRecords, type Table } from "./csv.ts";
import { type Dataset, exampleSize } from "./dataset.ts";
import { parseIdx } from "./idx.ts";
import { parseNpy } from "./npy.ts";
import { type LabelKind, tableToDataset } from "./table.ts";

/** Where a data owner's examples are. */
export interface DataSource {
  /** A `.csv`, `.tsv`, `.json` (list of records), `.npy` or IDX file (raw or gzipped). */
  readonly path: string;
  /** The labels file of `.npy` or IDX features. */
  readonly labels?: string;
  /** The label column of a table. */
  readonly label?: string;
  /** Feature columns of a table (default: all but the label). */
  readonly features?: readonly string[];
  /** Skip table rows with a missing value instead of refusing the file. */
  readonly dropMissing?: boolean;
}

/** What the labels must be. */
export interface LabelRules {
  /** Class indices, 0/1, or regression targets. */
  readonly kind: LabelKind;
  /** Number of classes (`class` labels must be below it). */
  readonly classes?: number;
  /** Class names of a table's text labels. */
  readonly classNames?: readonly string[];
  /** Name classes from the data when its labels are text. */
  readonly discoverClasses?: boolean;
}

/** Examples read from files. */
export interface LoadedData {
  readonly dataset: Dataset;
  /** Feature column names of a table. */
  readonly featureNames?: readonly string[];
  /** Class names found or used. */
  readonly classNames?: readonly string[];
  /** Table rows skipped for a missing value. */
  readonly dropped: number;
  /** Where example `i` is, for messages (`line 12`, `example 11`). */
  readonly where: (i: number) => string;
}

async function read(path: string): Promise<Uint8Array> {
  try {
    const bytes = await Deno.readFile(path);
    if (bytes.length === 0) throw new Error("empty file");
    return bytes;
  } catch (e) {
    throw new Error(`${path}: cannot read (${e instanceof Error ? e.message : e})`);
  }
}

function kindOf(path: string): "table" | "json" | "npy" | "idx" {
  if (/\.(csv|tsv)$/i.test(path)) return "table";
  if (/\.json$/i.test(path)) return "json";
  if (/\.npy$/i.test(path)) return "npy";
  return "idx";
}

/**
 * Reads a data owner's examples and checks the labels.
 *
 * @param source The files and columns.
 * @param rules What the labels must be.
 * @returns The examples, with where each came from.
 * @throws {Error} One line naming the file (and line, column or example):
 *   an unreadable or empty file, a format error, a missing or non-numeric
 *   value, a bad label, features and labels of different counts, or an
 *   option that does not fit the format.
 * @example
 * ```ts
 * const { dataset } = await loadDataFile({ path: "mine.csv", label: "y" }, { kind: "target" });
 * ```
 */
export async function loadDataFile(source: DataSource, rules: LabelRules): Promise<LoadedData> {
  const kind = kindOf(source.path);
  if (kind === "table" || kind === "json") {
    if (source.label === undefined) {
      throw new Error(`${source.path}: name the label column with --label COLUMN`);
    }
    if (source.labels !== undefined) {
      throw new Error(
        `${source.path}: a table has its labels in a column (--label), not in --labels`,
      );
    }
    const bytes = await read(source.path);
    const text = new TextDecoder().decode(bytes);
    let table: Table;
    if (kind === "table") table = parseCsv(text, source.path);
    else {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw new Error(`${source.path}: not JSON (${(e as Error).message})`);
      }
      table = parseRecords(value, source.path);
    }
    const t = tableToDataset(table, source.path, {
      label: source.label,
      features: source.features,
      kind: rules.kind,
      classNames: rules.classNames,
      discoverClasses: rules.discoverClasses,
      dropMissing: source.dropMissing,
    });
    checkLabels(t, source.path, rules);
    return t;
  }
  if (source.label !== undefined || source.features !== undefined) {
    throw new Error(
      `${source.path}: --label and --features name table columns; give --labels FILE`,
    );
  }
  if (source.labels === undefined) {
    throw new Error(`${source.path}: give the labels file with --labels FILE`);
  }
  const dataset = await arrays(source.path, source.labels, kind === "npy");
  const data = { dataset, dropped: 0, where: (i: number) => `example ${i + 1}` };
  checkLabels(data, source.labels, rules);
  return data;
}

async function arrays(path: string, labelsPath: string, npy: boolean): Promise<Dataset> {
  const [fBytes, lBytes] = await Promise.all([read(path), read(labelsPath)]);
  const parse = async (bytes: Uint8Array, file: string) => {
    if (npy) return parseNpy(bytes, file);
    const idx = await parseIdx(bytes, file);
    return { shape: idx.dims, data: idx.data };
  };
  const [x, y] = [await parse(fBytes, path), await parse(lBytes, labelsPath)];
  if (x.shape.length < 2) {
    throw new Error(`${path}: shape ${x.shape.join("x")}; examples need a first axis and a shape`);
  }
  const rank1 = y.shape.length === 1 || (y.shape.length === 2 && y.shape[1] === 1);
  if (!rank1) throw new Error(`${labelsPath}: shape ${y.shape.join("x")}; one label per example`);
  if (y.shape[0] !== x.shape[0]) {
    throw new Error(`${labelsPath}: ${y.shape[0]} labels for ${x.shape[0]} examples in ${path}`);
  }
  if (x.shape[0] === 0) throw new Error(`${path}: no examples`);
  const features = x.data instanceof Int32Array ? Float32Array.from(x.data) : x.data;
  return { features, labels: y.data, count: x.shape[0]!, shape: x.shape.slice(1) };
}

function checkLabels(data: LoadedData, file: string, rules: LabelRules): void {
  const { labels } = data.dataset;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    const where = `${file}: ${data.where(i)}`;
    if (!Number.isFinite(l)) throw new Error(`${where}: label ${l} is not a number`);
    if (rules.kind === "target") continue;
    if (!Number.isInteger(l) || l < 0) throw new Error(`${where}: label ${l} is not a class index`);
    const classes = rules.kind === "binary" ? 2 : rules.classes;
    if (classes !== undefined && l >= classes) {
      throw new Error(
        `${where}: label ${l} is not one of the model's ${classes} classes (0-${classes - 1})`,
      );
    }
  }
}

/**
 * Checks that examples fit a model's input: the same shape, or grey images
 * without a channel axis for a one-channel model, or any shape of the same
 * size for a model of flat inputs (read row-major, as Keras' Flatten).
 *
 * @param data The examples.
 * @param inputShape The model's input shape.
 * @param file Names the file in errors.
 * @throws {Error} Naming the file and both shapes.
 * @example
 * ```ts
 * checkShape(dataset, [28, 28, 1], "train-images-idx3-ubyte"); // 28x28 examples fit
 * ```
 */
export function checkShape(data: Dataset, inputShape: readonly number[], file: string): void {
  const got = data.shape.join("x");
  const want = inputShape.join("x");
  const fits = got === want || `${got}x1` === want ||
    (inputShape.length === 1 && exampleSize(data) === inputShape[0]);
  if (!fits) {
    throw new Error(`${file}: examples are ${got}, the model takes ${want}`);
  }
}
