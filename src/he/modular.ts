/**
 * Modular arithmetic on bigints that the Paillier engine needs and the
 * language lacks: exponentiation and fixed-base exponentiation tables.
 *
 * @module
 */

/**
 * Computes `base ** exponent mod modulus` with a fixed 5-bit window, which
 * saves about a third of the multiplications of square-and-multiply at
 * 1024-bit exponents.
 *
 * @param base The base, any bigint.
 * @param exponent A non-negative exponent.
 * @param modulus A positive modulus.
 * @returns `base ** exponent mod modulus`, in `[0, modulus)`.
 * @throws {RangeError} If `exponent` is negative or `modulus` is not positive.
 *
 * @example Usage
 * ```ts
 * import { modPow } from "./modular.ts";
 * modPow(4n, 13n, 497n); // 445n
 * ```
 */
export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  if (modulus <= 0n) throw new RangeError("modPow: modulus must be positive");
  if (exponent < 0n) throw new RangeError("modPow: exponent must be non-negative");
  if (modulus === 1n) return 0n;
  let b = base % modulus;
  if (b < 0n) b += modulus;
  const windowBits = 5;
  const table = new Array<bigint>(1 << windowBits);
  table[0] = 1n;
  for (let i = 1; i < table.length; i++) table[i] = (table[i - 1]! * b) % modulus;
  const bits = exponent.toString(2);
  // Left-pad so the bit string splits into whole windows.
  const pad = (windowBits - (bits.length % windowBits)) % windowBits;
  const padded = "0".repeat(pad) + bits;
  let result = 1n;
  let started = false;
  for (let i = 0; i < padded.length; i += windowBits) {
    if (started) {
      for (let s = 0; s < windowBits; s++) result = (result * result) % modulus;
    }
    const digit = parseInt(padded.slice(i, i + windowBits), 2);
    if (digit !== 0) {
      result = started ? (result * table[digit]!) % modulus : table[digit]!;
      started = true;
    } else if (!started) {
      continue;
    }
  }
  return started ? result : 1n;
}

/**
 * The greatest common divisor of two non-negative bigints.
 *
 * @param a First value.
 * @param b Second value.
 * @returns `gcd(a, b)`.
 *
 * @example Usage
 * ```ts
 * import { gcd } from "./modular.ts";
 * gcd(12n, 18n); // 6n
 * ```
 */
export function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/**
 * The inverse of `a` modulo `m`.
 *
 * @param a The value to invert.
 * @param m The modulus.
 * @returns `x` in `[0, m)` with `a * x = 1 mod m`.
 * @throws {RangeError} If `a` has no inverse modulo `m`.
 *
 * @example Usage
 * ```ts
 * import { modInv } from "./modular.ts";
 * modInv(3n, 11n); // 4n
 * ```
 */
export function modInv(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new RangeError("modInv: value is not invertible");
  return ((oldS % m) + m) % m;
}

/**
 * Bit length of a positive bigint.
 *
 * @param x The value.
 * @returns The number of bits of `x` (0 for 0).
 *
 * @example Usage
 * ```ts
 * import { bitLength } from "./modular.ts";
 * bitLength(255n); // 8
 * ```
 */
export function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/**
 * A table for `base ** e mod modulus` with a fixed base and exponents of at
 * most `8 * exponentBytes` bits: entry `[i][d]` holds `base ** (d * 256 ** i)`,
 * so one exponentiation is one multiplication per exponent byte, with no
 * squaring. This is what makes DJN randomizers cheap.
 */
export interface FixedBaseTable {
  /** The modulus of every entry. */
  readonly modulus: bigint;
  /** The most exponent bytes the table covers. */
  readonly exponentBytes: number;
  /**
   * `base ** e mod modulus` where `e` is the big-endian number in `exponent`.
   *
   * @param exponent At most `exponentBytes` bytes, big-endian.
   * @returns The power.
   */
  pow(exponent: Uint8Array): bigint;
}

/**
 * Builds a {@linkcode FixedBaseTable}: 255 entries per exponent byte (16 MB
 * for a 4096-bit modulus and 128 exponent bytes), built once per key.
 *
 * @param base The fixed base.
 * @param modulus The modulus.
 * @param exponentBytes The longest exponent, in bytes.
 * @returns The table.
 *
 * @example Usage
 * ```ts
 * import { createFixedBaseTable } from "./modular.ts";
 * const t = createFixedBaseTable(3n, 1000003n, 2);
 * t.pow(new Uint8Array([1, 0])); // 3n ** 256n % 1000003n
 * ```
 */
export function createFixedBaseTable(
  base: bigint,
  modulus: bigint,
  exponentBytes: number,
): FixedBaseTable {
  const rows: bigint[][] = [];
  let rowBase = base % modulus;
  for (let i = 0; i < exponentBytes; i++) {
    const row = new Array<bigint>(256);
    row[0] = 1n;
    row[1] = rowBase;
    for (let d = 2; d < 256; d++) row[d] = (row[d - 1]! * rowBase) % modulus;
    rows.push(row);
    rowBase = (row[255]! * rowBase) % modulus;
  }
  return {
    modulus,
    exponentBytes,
    pow(exponent: Uint8Array): bigint {
      if (exponent.length > exponentBytes) {
        throw new RangeError(
          `FixedBaseTable.pow: exponent of ${exponent.length} bytes exceeds ${exponentBytes}`,
        );
      }
      let acc = 0n;
      let started = false;
      const last = exponent.length - 1;
      for (let j = 0; j <= last; j++) {
        const d = exponent[last - j]!;
        if (d === 0) continue;
        const entry = rows[j]![d]!;
        acc = started ? (acc * entry) % modulus : entry;
        started = true;
      }
      return started ? acc : 1n;
    },
  };
}
