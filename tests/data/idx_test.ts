import assert from "node:assert/strict";
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx, readIdx } from "../../src/data/mod.ts";

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

const pixels = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);

Deno.test("parseIdx() reads a 3-D image file", async () => {
  const idx = await parseIdx(idxBytes(IDX_IMAGES_MAGIC, [2, 3, 4], pixels), "x", IDX_IMAGES_MAGIC);
  assert.deepEqual(idx.dims, [2, 3, 4]);
  assert.deepEqual(idx.data, pixels);
  assert.equal(idx.magic, IDX_IMAGES_MAGIC);
});

Deno.test("readIdx() reads raw and .gz files alike", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const raw = idxBytes(IDX_LABELS_MAGIC, [5], Uint8Array.of(1, 2, 3, 4, 5));
    await Deno.writeFile(`${dir}/a`, raw);
    await Deno.writeFile(`${dir}/a.gz`, await gzip(raw));
    const a = await readIdx(`${dir}/a`, IDX_LABELS_MAGIC);
    const b = await readIdx(`${dir}/a.gz`, IDX_LABELS_MAGIC);
    assert.deepEqual(a.data, Uint8Array.of(1, 2, 3, 4, 5));
    assert.deepEqual(b.data, a.data);
    assert.deepEqual(b.dims, [5]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseIdx() rejects a bad magic number", async () => {
  const bytes = idxBytes(0x00000d03, [2, 3, 4], pixels); // float data, not bytes
  await assert.rejects(parseIdx(bytes, "f.idx"), /f\.idx: bad IDX magic number 0x00000d03/);
  await assert.rejects(parseIdx(Uint8Array.of(0x12, 0x34, 0x08, 0x01, 0, 0, 0, 0), "g"), /bad IDX/);
});

Deno.test("parseIdx() rejects labels where images are expected", async () => {
  const bytes = idxBytes(IDX_LABELS_MAGIC, [3], Uint8Array.of(1, 2, 3));
  await assert.rejects(
    parseIdx(bytes, "l", IDX_IMAGES_MAGIC),
    /l: IDX magic number 0x00000801 has 1 dimensions, expected 0x00000803/,
  );
});

Deno.test("readIdx() rejects a truncated file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const full = idxBytes(IDX_IMAGES_MAGIC, [2, 3, 4], pixels);
    await Deno.writeFile(`${dir}/t`, full.subarray(0, full.length - 1));
    await assert.rejects(
      readIdx(`${dir}/t`),
      /\/t: truncated IDX data \(23 bytes, dimensions 2x3x4 need 24\)/,
    );
    await Deno.writeFile(`${dir}/h`, full.subarray(0, 10));
    await assert.rejects(readIdx(`${dir}/h`), /\/h: truncated IDX header/);
    await Deno.writeFile(`${dir}/e`, full.subarray(0, 2));
    await assert.rejects(readIdx(`${dir}/e`), /\/e: truncated IDX file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseIdx() rejects dimensions that disagree with the length", async () => {
  const bytes = idxBytes(IDX_IMAGES_MAGIC, [2, 3, 3], pixels);
  await assert.rejects(parseIdx(bytes, "d"), /d: 6 bytes after the IDX data \(dimensions 2x3x3\)/);
});

Deno.test("readIdx() rejects corrupt gzip data and missing files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gz = await gzip(idxBytes(IDX_LABELS_MAGIC, [3], Uint8Array.of(1, 2, 3)));
    await Deno.writeFile(`${dir}/c.gz`, gz.subarray(0, gz.length - 6));
    await assert.rejects(readIdx(`${dir}/c.gz`), /c\.gz: corrupt gzip data/);
    await assert.rejects(readIdx(`${dir}/none`), /none: cannot read IDX file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
