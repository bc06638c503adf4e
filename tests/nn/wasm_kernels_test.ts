import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../../src/data/mod.ts";
import { initBackend } from "../../src/nn/mod.ts";

await initBackend({ onWarn: (m) => assert.fail(m) });

/** Largest normwise relative error allowed for wasm vs cpu: max|wasm - cpu| / max|cpu|. */
const MAX_RELATIVE_ERROR = 1e-5;

function random(shape: number[], rng: Rng): { values: Float32Array; shape: number[] } {
  const size = shape.reduce((a, b) => a * b, 1);
  return { values: Float32Array.from({ length: size }, () => rng.normal()), shape };
}

async function onBackend(
  name: "wasm" | "cpu",
  fn: () => tf.Tensor,
): Promise<Float32Array> {
  const previous = tf.getBackend();
  await tf.setBackend(name);
  try {
    const t = fn();
    const out = t.dataSync() as Float32Array;
    t.dispose();
    return out.slice();
  } finally {
    await tf.setBackend(previous);
  }
}

function backpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number,
  pad: "same" | "valid",
): tf.Tensor {
  // The op is not exported by tfjs-core's public API; call the kernel as conv2d's gradient does.
  return tf.engine().runKernel(
    tf.Conv2DBackpropFilter,
    { x, dy },
    { strides, pad, dataFormat: "NHWC", filterShape },
  ) as tf.Tensor;
}

function relativeError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

const cases: {
  x: number[];
  filter: [number, number, number, number];
  pad: "same" | "valid";
}[] = [
  { x: [8, 28, 28, 1], filter: [5, 5, 1, 6], pad: "same" }, // LeNet conv1
  { x: [8, 14, 14, 6], filter: [5, 5, 6, 16], pad: "valid" }, // LeNet conv2
  { x: [3, 9, 7, 2], filter: [3, 4, 2, 5], pad: "same" }, // odd, asymmetric padding
  { x: [2, 6, 6, 3], filter: [2, 2, 3, 4], pad: "valid" },
];

for (const c of cases) {
  Deno.test(
    `wasm Conv2DBackpropFilter matches cpu for x ${c.x}, filter ${c.filter}, ${c.pad}`,
    async () => {
      const rng = new Rng(c.x[0]! * 1000 + c.filter[0]!);
      const x = random(c.x, rng);
      const outShape = tf.backend_util.computeConv2DInfo(
        c.x as [number, number, number, number],
        c.filter,
        1,
        1,
        c.pad,
      ).outShape;
      const dy = random(outShape, rng);
      const run = (): tf.Tensor =>
        backpropFilter(
          tf.tensor4d(x.values, x.shape as [number, number, number, number]),
          tf.tensor4d(dy.values, outShape),
          c.filter,
          1,
          c.pad,
        );
      const wasm = await onBackend("wasm", run);
      const cpu = await onBackend("cpu", run);
      const err = relativeError(wasm, cpu);
      assert.ok(err <= MAX_RELATIVE_ERROR, `relative error ${err}`);
    },
  );
}

Deno.test("wasm Conv2DBackpropFilter rejects strides other than 1", async () => {
  await tf.setBackend("wasm");
  const x = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
  const dy = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
  assert.throws(() => backpropFilter(x, dy, [2, 2, 1, 2], 2, "valid"), /stride 1 only/);
  tf.dispose([x, dy]);
});

for (const c of cases) {
  Deno.test(
    `wasm Conv2DBackpropInput matches cpu for x ${c.x}, filter ${c.filter}, ${c.pad}`,
    async () => {
      const rng = new Rng(c.x[1]! * 1000 + c.filter[1]!);
      const w = random(c.filter, rng);
      const outShape = tf.backend_util.computeConv2DInfo(
        c.x as [number, number, number, number],
        c.filter,
        1,
        1,
        c.pad,
      ).outShape;
      const dy = random(outShape, rng);
      const run = (): tf.Tensor =>
        tf.conv2dTranspose(
          tf.tensor4d(dy.values, outShape),
          tf.tensor4d(w.values, c.filter),
          c.x as [number, number, number, number],
          1,
          c.pad,
        );
      const err = relativeError(await onBackend("wasm", run), await onBackend("cpu", run));
      assert.ok(err <= MAX_RELATIVE_ERROR, `relative error ${err}`);
    },
  );
}

Deno.test("wasm MaxPoolGrad matches cpu for 2x2 pooling", async () => {
  const rng = new Rng(3);
  const x = random([4, 10, 10, 3], rng);
  const dy = random([4, 5, 5, 3], rng);
  const run = (): tf.Tensor =>
    tf.engine().runKernel(
      tf.MaxPoolGrad,
      {
        dy: tf.tensor4d(dy.values, [4, 5, 5, 3]),
        input: tf.tensor4d(x.values, [4, 10, 10, 3]),
        output: tf.maxPool(tf.tensor4d(x.values, [4, 10, 10, 3]), 2, 2, "valid"),
      },
      { filterSize: 2, strides: 2, pad: "valid" },
    ) as tf.Tensor;
  const err = relativeError(await onBackend("wasm", run), await onBackend("cpu", run));
  assert.equal(err, 0);
});

Deno.test("wasm BatchMatMul matches cpu with transposed operands", async () => {
  const rng = new Rng(4);
  const a = random([32, 40], rng);
  const b = random([32, 12], rng);
  for (const [ta, tb] of [[true, false], [false, false], [false, true], [true, true]] as const) {
    const run = (): tf.Tensor =>
      tf.matMul(
        tf.tensor2d(a.values, ta ? [32, 40] : [40, 32]),
        tf.tensor2d(b.values, tb ? [12, 32] : [32, 12]),
        ta,
        tb,
      );
    const err = relativeError(await onBackend("wasm", run), await onBackend("cpu", run));
    assert.ok(
      err <= MAX_RELATIVE_ERROR,
      `transposeA ${ta}, transposeB ${tb}: relative error ${err}`,
    );
  }
});
