/**
 * Adding a mask to packed plaintexts, slot by slot, modulo the Paillier `n`.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeBigint } from "../util/bigint_bytes.ts";
import { checkModulus, compareFixed } from "./_fixed.ts";

/**
 * Adds a mask to packed plaintexts slot by slot, mod `modulus`: the masked
 * plaintexts to encrypt. Runs on bytes (no BigInt): `(a + b) mod n` for
 * `a, b < n` is one addition and at most one subtraction.
 *
 * @param plaintexts Fixed-width big-endian values, each below `modulus`.
 * @param mask A mask from {@linkcode maskVector}, same length.
 * @param modulus The modulus (Paillier `n`).
 * @param width Bytes per value.
 * @returns The slot-wise sums mod `modulus`, fixed-width big-endian.
 * @throws {FlheError} `usage` if the lengths differ or are not a multiple of
 *   `width`; `range` naming the slot if a value is not below `modulus`.
 *
 * @example Usage
 * ```ts
 * import { addMask } from "./add_mask.ts";
 * addMask(new Uint8Array([0, 7]), new Uint8Array([0, 9]), 11n, 2); // [0, 5]
 * ```
 */
export function addMask(
  plaintexts: Uint8Array,
  mask: Uint8Array,
  modulus: bigint,
  width: number,
): Uint8Array {
  const where = "addMask";
  checkModulus(where, modulus, width);
  if (plaintexts.length !== mask.length || plaintexts.length % width !== 0) {
    throw new FlheError(
      "usage",
      `${where}: ${plaintexts.length} plaintext bytes and ${mask.length} mask bytes ` +
        `are not the same whole number of ${width}-byte values`,
    );
  }
  const n = new Uint8Array(width);
  writeBigint(modulus, width, n, 0);
  const out = new Uint8Array(plaintexts.length);
  const count = plaintexts.length / width;
  for (let v = 0; v < count; v++) {
    const offset = v * width;
    if (compareFixed(plaintexts, offset, n, width) >= 0) {
      throw new FlheError("range", `${where}: plaintext ${v} is not below the modulus`);
    }
    if (compareFixed(mask, offset, n, width) >= 0) {
      throw new FlheError("range", `${where}: mask value ${v} is not below the modulus`);
    }
    let carry = 0;
    for (let i = width - 1; i >= 0; i--) {
      const s = plaintexts[offset + i]! + mask[offset + i]! + carry;
      out[offset + i] = s & 255;
      carry = s >> 8;
    }
    // The true sum is below 2n; subtract n once if it reached n.
    if (carry === 1 || compareFixed(out, offset, n, width) >= 0) {
      let borrow = 0;
      for (let i = width - 1; i >= 0; i--) {
        const d = out[offset + i]! - n[i]! - borrow;
        out[offset + i] = d & 255;
        borrow = d < 0 ? 1 : 0;
      }
    }
  }
  return out;
}
