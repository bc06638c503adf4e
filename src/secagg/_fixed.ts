/**
 * Fixed-width big-endian values modulo a bigint modulus: the byte layout of
 * packed Paillier plaintexts, shared by the mask code. Internal to secagg.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { checkInteger } from "./_checks.ts";

/** Widest value, in bytes (a 65,536-bit modulus). */
const MAX_WIDTH = 8192;

/**
 * Checks that `modulus` fits in `width`-byte values.
 *
 * @param where Names the caller in errors.
 * @param modulus The modulus.
 * @param width Bytes per value.
 */
export function checkModulus(where: string, modulus: bigint, width: number): void {
  checkInteger(where, "width", width, 1, "usage");
  if (width > MAX_WIDTH) {
    throw new FlheError("usage", `${where}: width is ${width} bytes, more than ${MAX_WIDTH}`);
  }
  if (typeof modulus !== "bigint" || modulus < 2n) {
    throw new FlheError("usage", `${where}: modulus must be a bigint >= 2`);
  }
  if (modulus >> BigInt(8 * width) !== 0n) {
    throw new FlheError(
      "range",
      `${where}: modulus of ${
        modulus.toString(2).length
      } bits does not fit in ${width}-byte values`,
    );
  }
}

/**
 * Compares `width` bytes of `a` at `offset` with `b` (big-endian).
 *
 * @param a Values.
 * @param offset Where the value starts in `a`.
 * @param b One value.
 * @param width Bytes.
 * @returns -1, 0 or 1.
 */
export function compareFixed(a: Uint8Array, offset: number, b: Uint8Array, width: number): number {
  for (let i = 0; i < width; i++) {
    const d = a[offset + i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
