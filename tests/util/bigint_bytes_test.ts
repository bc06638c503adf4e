import assert from "node:assert/strict";
import { readBigint, writeBigint } from "../../src/util/bigint_bytes.ts";

Deno.test("writeBigint() and readBigint() round-trip fixed-width big-endian values", () => {
  const values = [0n, 1n, 255n, 256n, 0xabcdefn, (1n << 127n) + 12345n, (1n << 128n) - 1n];
  for (const v of values) {
    const out = new Uint8Array(20).fill(0xee);
    writeBigint(v, 16, out, 2);
    assert.equal(readBigint(out, 2, 16), v);
    assert.equal(out[0], 0xee);
    assert.equal(out[18], 0xee);
  }
  const out = new Uint8Array(4);
  writeBigint(0x1020304n, 4, out, 0);
  assert.deepEqual([...out], [1, 2, 3, 4]);
});

Deno.test("writeBigint() rejects a negative value and one that does not fit", () => {
  assert.throws(() => writeBigint(-1n, 4, new Uint8Array(4), 0), /negative/);
  assert.throws(() => writeBigint(1n << 32n, 4, new Uint8Array(4), 0), /does not fit in 4 bytes/);
});

Deno.test("writeBigint() and readBigint() fill and read consecutive fixed-width slots", () => {
  const values = [3n, 0n, 65535n, 0x10000n];
  const out = new Uint8Array(values.length * 3);
  values.forEach((v, i) => writeBigint(v, 3, out, i * 3));
  assert.deepEqual([...out], [0, 0, 3, 0, 0, 0, 0, 255, 255, 1, 0, 0]);
  assert.deepEqual(values.map((_, i) => readBigint(out, i * 3, 3)), values);
});
