/**
 * A table (CSV or JSON records) read as examples: numeric feature columns
 * and one label column, every cell checked, a bad one named by file, line
 * and column.
 *
 * @module
 */

import type { Table } from "./csv.ts";
import type { Dataset } from "./dataset.ts";

/** What the labels are: class indices or names (classification), or numbers (regression). */
export type LabelKind = "class" | "binary" | "target";

/** How to read a table. */
export interface TableOptions {
  /** The label column. */
  readonly label: string;
  /** Feature columns, in order (default: every other column). */
  readonly features?: readonly string[];
  /** What the labels are. */
  readonly kind: LabelKind;
  /**
   * Class names, index = class: a label cell is looked up here. Without
   * them, class labels must be integers 0, 1, ... (or, with
   * `discoverClasses`, any text: the sorted distinct values become the names).
   */
  readonly classNames?: readonly string[];
  /** Name the classes from the data (the model owner's reference file, a demo's file). */
  readonly discoverClasses?: boolean;
  /** Drop rows with a missing cell in a used column instead of refusing the file. */
  readonly dropMissing?: boolean;
}

/** A table read as examples. */
export interface TableData {
  /** The examples (float32 features of shape `[features]`). */
  readonly dataset: Dataset;
  /** Feature column names, in order. */
  readonly featureNames: readonly string[];
  /** Class names, if the labels are names. */
  readonly classNames?: readonly string[];
  /** Rows dropped for a missing value (with `dropMissing`). */
  readonly dropped: number;
  /** Where example `i` is in the file (`line 12`, `record 11`). */
  readonly where: (i: number) => string;
}

const MISSING = new Set(["", "na", "n/a", "nan", "null", "none", "?"]);

function isMissing(v: string | number | null): boolean {
  return v === null || (typeof v === "string" && MISSING.has(v.trim().toLowerCase())) ||
    (typeof v === "number" && Number.isNaN(v));
}

/**
 * Reads the label and feature columns of a table.
 *
 * @param table The table.
 * @param file Names the file in errors.
 * @param opts Label and feature columns, label kind, class names.
 * @returns The examples, feature names, class names, rows dropped.
 * @throws {Error} One line naming the file, the line and the column: an
 *   unknown column, a missing or non-numeric value, a label that is no
 *   class; or no rows left.
 * @example
 * ```ts
 * const { dataset } = tableToDataset(parseCsv(text, "d.csv"), "d.csv", { label: "y", kind: "target" });
 * ```
 */
export function tableToDataset(table: Table, file: string, opts: TableOptions): TableData {
  const col = (name: string): number => {
    const i = table.columns.indexOf(name);
    if (i < 0) {
      throw new Error(
        `${file}: no column "${name}" (columns: ${table.columns.join(", ")})`,
      );
    }
    return i;
  };
  const labelAt = col(opts.label);
  const featureNames = opts.features ?? table.columns.filter((c) => c !== opts.label);
  if (featureNames.length === 0) throw new Error(`${file}: no feature columns besides the label`);
  const featureAt = featureNames.map(col);
  if (featureAt.includes(labelAt)) {
    throw new Error(`${file}: column "${opts.label}" is both the label and a feature`);
  }
  const used = [...featureAt, labelAt];
  const keep: number[] = [];
  table.rows.forEach((row, r) => {
    const gap = used.find((c) => isMissing(row[c]!));
    if (gap === undefined) keep.push(r);
    else if (!opts.dropMissing) {
      throw new Error(
        `${file}: ${table.where(r)}, column "${
          table.columns[gap]
        }": missing value (pass --drop-missing to skip such rows)`,
      );
    }
  });
  if (keep.length === 0) throw new Error(`${file}: no rows left without missing values`);
  const features = new Float32Array(keep.length * featureAt.length);
  keep.forEach((r, k) => {
    featureAt.forEach((c, j) => {
      features[k * featureAt.length + j] = numberCell(table, file, r, c);
    });
  });
  const { labels, classNames } = readLabels(table, file, keep, labelAt, opts);
  return {
    dataset: { features, labels, count: keep.length, shape: [featureAt.length] },
    featureNames,
    classNames,
    dropped: table.rows.length - keep.length,
    where: (i) => table.where(keep[i]!),
  };
}

function numberCell(table: Table, file: string, r: number, c: number): number {
  const v = table.rows[r]![c]!;
  const n = typeof v === "number" ? v : Number(String(v).trim());
  if (!Number.isFinite(n)) {
    throw new Error(
      `${file}: ${table.where(r)}, column "${table.columns[c]}": ${
        JSON.stringify(v)
      } is not a number`,
    );
  }
  return n;
}

function readLabels(
  table: Table,
  file: string,
  keep: readonly number[],
  c: number,
  opts: TableOptions,
): { labels: Float32Array | Int32Array; classNames?: readonly string[] } {
  if (opts.kind === "target") {
    return { labels: Float32Array.from(keep, (r) => numberCell(table, file, r, c)) };
  }
  const text = (r: number): string => String(table.rows[r]![c]!).trim();
  let names = opts.classNames;
  if (!names && opts.discoverClasses && keep.some((r) => !/^\d+$/.test(text(r)))) {
    names = [...new Set(keep.map(text))].sort();
  }
  const labels = Int32Array.from(keep, (r) => {
    const t = text(r);
    const index = names ? names.indexOf(t) : /^\d+$/.test(t) ? Number(t) : -1;
    if (index < 0) {
      throw new Error(
        `${file}: ${table.where(r)}, column "${table.columns[c]}": label ${JSON.stringify(t)} is ${
          names ? `not one of the classes ${names.join(", ")}` : "not a class index 0, 1, ..."
        }`,
      );
    }
    if (opts.kind === "binary" && index > 1) {
      throw new Error(
        `${file}: ${table.where(r)}, column "${table.columns[c]}": label ${
          JSON.stringify(t)
        } is not 0 or 1 (a binary model)`,
      );
    }
    return index;
  });
  return { labels, classNames: names };
}
