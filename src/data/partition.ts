/**
 * Splitting a labelled data set among federated clients: IID, Dirichlet label
 * skew (as Flower Datasets' `DirichletPartitioner`) and McMahan et al.'s
 * sorted shards.
 *
 * @module
 */

import { deriveSeed, Rng } from "../util/rng.ts";

/** Labels of a data set: class indices (or, for `iid` only, any numbers). */
export type Labels = ArrayLike<number>;

/**
 * The number of classes that class labels span: the largest label plus one.
 *
 * @param labels Class indices, integers >= 0.
 * @returns `max + 1` (0 for no labels).
 * @throws {Error} If a label is not an integer >= 0 (a regression target, say), naming its index.
 * @example
 * ```ts
 * classCount(Uint8Array.of(0, 2, 1)); // 3
 * ```
 */
export function classCount(labels: Labels): number {
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l > 65_535) {
      throw new Error(
        `partition: label ${l} at index ${i} is not a class index (an integer 0-65535); split regression data with the iid scheme`,
      );
    }
    if (l > max) max = l;
  }
  return max + 1;
}

/** Partition schemes. */
export type PartitionScheme = "iid" | "dirichlet" | "shards";

/** Names of the partition schemes, for CLI validation. */
export const PARTITION_SCHEMES: readonly PartitionScheme[] = ["iid", "dirichlet", "shards"];

/** How to split. The same options always give the same shares. */
export interface PartitionOptions {
  /** Scheme. */
  scheme: PartitionScheme;
  /** Number of clients, >= 1. */
  clients: number;
  /** Seed of the split. */
  seed: number;
  /** Dirichlet concentration (`dirichlet` only); smaller is more skewed. Default 0.5. */
  alpha?: number;
  /** Shards dealt to each client (`shards` only). Default 2. */
  shardsPerClient?: number;
  /** Smallest share allowed (`dirichlet` only); draws are retried below it. Default 10. */
  minPartitionSize?: number;
  /** Draws tried before giving up (`dirichlet` only). Default 10, as Flower. */
  maxRetries?: number;
}

/**
 * Splits sample indices among clients; every sample lands in exactly one share.
 *
 * - `iid`: a seeded shuffle cut into near-equal parts.
 * - `dirichlet`: for each class, its (shuffled) samples are cut among the
 *   clients in proportions drawn from Dirichlet(alpha); the whole draw is
 *   repeated (up to `maxRetries`) while some share is below `minPartitionSize`.
 * - `shards`: samples sorted by label (stable) are cut into
 *   `clients * shardsPerClient` contiguous shards of near-equal size, which are
 *   dealt at random, `shardsPerClient` to each client.
 *
 * @param labels Label of every sample (class indices; any numbers for `iid`).
 * @param opts Scheme and parameters.
 * @returns One ascending index array per client.
 * @throws {Error} On invalid options, too few samples, or when no Dirichlet
 *   draw meets the minimum share size.
 * @example
 * ```ts
 * const shares = partition(train.labels, { scheme: "dirichlet", clients: 4, seed: 1, alpha: 0.5 });
 * ```
 */
export function partition(labels: Labels, opts: PartitionOptions): Uint32Array[] {
  const { clients, seed } = opts;
  if (!Number.isInteger(clients) || clients < 1) {
    throw new Error(`partition: clients ${clients} is not an integer >= 1`);
  }
  if (!Number.isInteger(seed)) throw new Error(`partition: seed ${seed} is not an integer`);
  if (labels.length < clients) {
    throw new Error(`partition: ${labels.length} samples cannot be split among ${clients} clients`);
  }
  let shares: number[][];
  switch (opts.scheme) {
    case "iid":
      shares = iid(labels.length, clients, new Rng(deriveSeed(seed, 1)));
      break;
    case "dirichlet":
      shares = dirichlet(labels, opts);
      break;
    case "shards":
      shares = shards(labels, opts);
      break;
    default:
      throw new Error(
        `partition: unknown scheme "${opts.scheme}" (expected ${PARTITION_SCHEMES.join(", ")})`,
      );
  }
  return shares.map((s) => Uint32Array.from(s).sort());
}

/**
 * The share of one client; the same as `partition(labels, opts)[index]`, so any
 * party knowing (scheme, seed, clients) derives the same split independently.
 *
 * @param labels Label of every sample.
 * @param opts Scheme and parameters.
 * @param index Client index, `0 <= index < opts.clients`.
 * @returns Ascending sample indices of that client.
 * @throws {Error} If `index` is out of range, or as {@link partition}.
 * @example
 * ```ts
 * const mine = clientShare(train.labels, { scheme: "iid", clients: 2, seed: 7 }, 1);
 * ```
 */
export function clientShare(
  labels: Labels,
  opts: PartitionOptions,
  index: number,
): Uint32Array {
  if (!Number.isInteger(index) || index < 0 || index >= opts.clients) {
    throw new Error(`partition: client index ${index} is not in 0..${opts.clients - 1}`);
  }
  return partition(labels, opts)[index]!;
}

/**
 * Per-client label histogram of a partition, as rows of counts.
 *
 * @param labels Label of every sample.
 * @param shares Index arrays, e.g. from {@link partition}.
 * @returns `counts[client][label]`.
 * @example
 * ```ts
 * const counts = labelCounts(train.labels, shares);
 * ```
 */
export function labelCounts(labels: Labels, shares: readonly Uint32Array[]): number[][] {
  const classes = classCount(labels);
  return shares.map((share) => {
    const row = new Array<number>(classes).fill(0);
    for (const i of share) row[labels[i]!]! += 1;
    return row;
  });
}

/**
 * Text table of a partition: one line per client with its size and its count
 * of each class (or, for regression targets, their mean), then a total line
 * (for `flhe data`).
 *
 * @param labels Label of every sample.
 * @param opts Scheme and parameters.
 * @returns The table, lines joined by "\n", with a trailing newline.
 * @throws {Error} As {@link partition}.
 * @example
 * ```ts
 * console.log(describePartition(train.labels, { scheme: "shards", clients: 4, seed: 0 }));
 * ```
 */
export function describePartition(
  labels: Labels,
  opts: PartitionOptions,
  classNames?: readonly string[],
): string {
  const shares = partition(labels, opts);
  const params = opts.scheme === "dirichlet"
    ? `, alpha ${opts.alpha ?? 0.5}`
    : opts.scheme === "shards"
    ? `, ${opts.shardsPerClient ?? 2} shards per client`
    : "";
  const title = `partition ${opts.scheme}, ${opts.clients} clients, seed ${opts.seed}${params}`;
  if (!isClassLabels(labels)) return targetTable(title, labels, shares);
  const counts = labelCounts(labels, shares);
  const classes = counts[0]?.length ?? 0;
  const header = [
    "client",
    "size",
    ...Array.from({ length: classes }, (_, i) => classNames?.[i] ?? `${i}`),
  ];
  const rows = counts.map((row, c) => [`${c + 1}`, `${sum(row)}`, ...row.map((n) => `${n}`)]);
  const totals = Array.from({ length: classes }, (_, l) => sum(counts.map((r) => r[l]!)));
  rows.push(["total", `${sum(totals)}`, ...totals.map((n) => `${n}`)]);
  return [title, ...alignedLines(header, rows)].join("\n") + "\n";
}

function isClassLabels(labels: Labels): boolean {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l > 65_535) return false;
  }
  return true;
}

/** The table of regression targets: size, mean and range of each share. */
function targetTable(title: string, labels: Labels, shares: readonly Uint32Array[]): string {
  const stats = (idx: ArrayLike<number>): string[] => {
    let s = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k < idx.length; k++) {
      const v = labels[idx[k]!]!;
      s += v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const n = idx.length;
    const short = (x: number): string => String(Number(x.toPrecision(5)));
    return [`${n}`, n ? short(s / n) : "-", n ? `${short(lo)}..${short(hi)}` : "-"];
  };
  const rows = shares.map((share, c) => [`${c + 1}`, ...stats(share)]);
  rows.push(["total", ...stats(Uint32Array.from({ length: labels.length }, (_, i) => i))]);
  return [title, ...alignedLines(["client", "size", "mean target", "range"], rows)].join("\n") +
    "\n";
}

function alignedLines(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))
      .join("  ");
  return [line(header), ...rows.map(line)];
}

function sum(a: readonly number[]): number {
  return a.reduce((s, x) => s + x, 0);
}

function iid(n: number, clients: number, rng: Rng): number[][] {
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  return Array.from(
    { length: clients },
    (_, c) => order.slice(Math.floor((c * n) / clients), Math.floor(((c + 1) * n) / clients)),
  );
}

function byClass(labels: Labels): number[][] {
  const classes: number[][] = Array.from({ length: classCount(labels) }, () => []);
  for (let i = 0; i < labels.length; i++) classes[labels[i]!]!.push(i);
  return classes;
}

function dirichlet(labels: Labels, opts: PartitionOptions): number[][] {
  const alpha = opts.alpha ?? 0.5;
  const minSize = opts.minPartitionSize ?? 10;
  const maxRetries = opts.maxRetries ?? 10;
  if (!(alpha > 0) || !Number.isFinite(alpha)) {
    throw new Error(`partition: dirichlet alpha ${alpha} is not a positive number`);
  }
  if (!Number.isInteger(minSize) || minSize < 0) {
    throw new Error(`partition: minPartitionSize ${minSize} is not an integer >= 0`);
  }
  const classes = byClass(labels);
  const rng = new Rng(deriveSeed(opts.seed, 2));
  let smallest = 0;
  for (let attempt = 0; attempt < Math.max(1, maxRetries); attempt++) {
    const shares: number[][] = Array.from({ length: opts.clients }, () => []);
    for (const members of classes) {
      const idx = rng.shuffle(members.slice());
      const p = rng.dirichlet(alpha, opts.clients);
      // Cut points as in Flower: floor(cumsum(p) * n), the last one being n.
      let start = 0;
      let cum = 0;
      for (let c = 0; c < opts.clients; c++) {
        cum += p[c]!;
        const end = c === opts.clients - 1 ? idx.length : Math.min(
          idx.length,
          Math.floor(cum * idx.length),
        );
        for (let k = start; k < end; k++) shares[c]!.push(idx[k]!);
        start = Math.max(start, end);
      }
    }
    smallest = Math.min(...shares.map((s) => s.length));
    if (smallest >= minSize) return shares;
  }
  throw new Error(
    `partition: no Dirichlet(alpha ${alpha}) draw in ${maxRetries} tries gave every one of ${opts.clients} clients >= ${minSize} samples (smallest ${smallest}); raise alpha or lower minPartitionSize`,
  );
}

function shards(labels: Labels, opts: PartitionOptions): number[][] {
  const per = opts.shardsPerClient ?? 2;
  if (!Number.isInteger(per) || per < 1) {
    throw new Error(`partition: shardsPerClient ${per} is not an integer >= 1`);
  }
  const total = opts.clients * per;
  const n = labels.length;
  if (n < total) throw new Error(`partition: ${n} samples cannot make ${total} shards`);
  const sorted = byClass(labels).flat();
  const order = new Rng(deriveSeed(opts.seed, 3)).shuffle(
    Array.from({ length: total }, (_, i) => i),
  );
  return Array.from({ length: opts.clients }, (_, c) => {
    const share: number[] = [];
    for (let k = 0; k < per; k++) {
      const s = order[c * per + k]!;
      const from = Math.floor((s * n) / total);
      const to = Math.floor(((s + 1) * n) / total);
      for (let i = from; i < to; i++) share.push(sorted[i]!);
    }
    return share;
  });
}
