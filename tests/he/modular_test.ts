import assert from "node:assert/strict";
import { createFixedBaseTable, modPow, randomBelow } from "./deps.ts";

function naivePow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  let x = ((b % m) + m) % m;
  for (let k = e; k > 0n; k >>= 1n) {
    if (k & 1n) r = (r * x) % m;
    x = (x * x) % m;
  }
  return r % m;
}

Deno.test("modPow() matches square-and-multiply at every window width", () => {
  const m = randomBelow(1n << 256n) | 1n;
  for (const bits of [1, 2, 7, 8, 23, 24, 79, 80, 225, 239, 240, 671, 672, 1100]) {
    for (let i = 0; i < 3; i++) {
      const e = randomBelow(1n << BigInt(bits)) | (1n << BigInt(bits - 1));
      const b = randomBelow(m);
      assert.equal(modPow(b, e, m), naivePow(b, e, m), `${bits}-bit exponent`);
    }
  }
  // Exponents with long runs of zeros and ones.
  for (const e of [(1n << 300n) + 1n, (1n << 300n) - 1n, 0b1000000000001000001n]) {
    assert.equal(modPow(3n, e, m), naivePow(3n, e, m));
  }
  assert.equal(modPow(-2n, 3n, 11n), 3n);
  assert.equal(modPow(7n, 0n, 1n), 0n);
  assert.throws(() => modPow(2n, -1n, 7n), RangeError);
  assert.throws(() => modPow(2n, 1n, 0n), RangeError);
});

Deno.test("createFixedBaseTable() agrees with modPow() for windows of 1 to 16 bits", () => {
  const m = randomBelow(1n << 512n) | 1n;
  const base = randomBelow(m);
  for (const windowBits of [1, 3, 7, 8, 9, 10, 11, 13, 16]) {
    const table = createFixedBaseTable(base, m, 6, windowBits);
    assert.equal(table.windowBits, windowBits);
    for (let i = 0; i < 5; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(1 + (i % 6)));
      const e = bytes.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
      assert.equal(table.pow(bytes), modPow(base, e, m), `window ${windowBits}, e = ${e}`);
    }
    assert.equal(table.pow(new Uint8Array(6)), 1n);
    assert.equal(table.pow(new Uint8Array(6).fill(255)), modPow(base, (1n << 48n) - 1n, m));
    assert.throws(() => table.pow(new Uint8Array(7)), /exceeds 6/);
  }
  assert.throws(() => createFixedBaseTable(2n, m, 4, 0), /windowBits/);
  assert.throws(() => createFixedBaseTable(2n, m, 4, 17), /windowBits/);
});
