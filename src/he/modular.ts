/**
 * Modular arithmetic on bigints that the Paillier engine needs and the
 * language lacks: exponentiation, inverses, uniform residues, `n`-th powers
 * by CRT and fixed-base exponentiation tables.
 *
 * @module
 */

import { toHex } from "../util/hex.ts";

/**
 * Computes `base ** exponent mod modulus` with a sliding window whose width
 * (1 to 6 bits) follows the exponent length: at a 1,024-bit exponent this
 * takes about 1,024 squarings and 180 multiplications, at a 225-bit one
 * (subgroup decryption) about 225 and 53.
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
  if (exponent === 0n) return 1n;
  let b = base % modulus;
  if (b < 0n) b += modulus;
  const bits = exponent.toString(2);
  const length = bits.length;
  // Window widths that minimise squarings + multiplications + table size.
  const windowBits = length > 671 ? 6 : length > 239 ? 5 : length > 79 ? 4 : length > 23 ? 3 : 2;
  // Odd powers b, b^3, ..., b^(2^windowBits - 1).
  const odd = new Array<bigint>(1 << (windowBits - 1));
  odd[0] = b;
  if (odd.length > 1) {
    const b2 = (b * b) % modulus;
    for (let i = 1; i < odd.length; i++) odd[i] = (odd[i - 1]! * b2) % modulus;
  }
  let result = 1n;
  let started = false;
  let i = 0;
  while (i < length) {
    if (bits.charCodeAt(i) === 48) {
      if (started) result = (result * result) % modulus;
      i++;
      continue;
    }
    // The longest window of at most windowBits bits from i that ends in a 1.
    let end = Math.min(i + windowBits, length);
    while (bits.charCodeAt(end - 1) === 48) end--;
    const entry = odd[parseInt(bits.slice(i, end), 2) >> 1]!;
    if (started) {
      for (let s = i; s < end; s++) result = (result * result) % modulus;
      result = (result * entry) % modulus;
    } else {
      result = entry;
      started = true;
    }
    i = end;
  }
  return result;
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
 * Draws a uniformly random bigint in `[1, bound)`.
 *
 * @param bound Exclusive upper bound, > 1.
 * @returns The random value.
 *
 * @example Usage
 * ```ts
 * import { randomBelow } from "./modular.ts";
 * randomBelow(10n) < 10n; // true
 * ```
 */
export function randomBelow(bound: bigint): bigint {
  const bytes = new Uint8Array(Math.ceil(bitLength(bound) / 8) + 8);
  for (;;) {
    crypto.getRandomValues(bytes);
    // 64 extra bits make the modulo bias negligible (< 2^-64).
    const x = BigInt("0x" + toHex(bytes)) % bound;
    if (x !== 0n) return x;
  }
}

/**
 * `x ** n mod n^2` for `n = p q` by CRT over `p^2` and `q^2` (about 3x faster
 * than directly). Internal to key generation (not exported by `mod.ts`).
 *
 * @param x The base.
 * @param n The modulus `p q`.
 * @param p First prime.
 * @param q Second prime.
 * @returns `x ** n mod n^2`.
 */
export function nthPowerCrt(x: bigint, n: bigint, p: bigint, q: bigint): bigint {
  const p2 = p * p;
  const q2 = q * q;
  const xp = modPow(x, n % (p * (p - 1n)), p2);
  const xq = modPow(x, n % (q * (q - 1n)), q2);
  return (xq + q2 * ((((xp - xq) % p2 + p2) * modInv(q2, p2)) % p2)) % (n * n);
}

/**
 * A table for `base ** e mod modulus` with a fixed base and exponents of at
 * most `8 * exponentBytes` bits, cut into windows of `windowBits` bits:
 * entry `[i][d]` holds `base ** (d * 2 ** (i * windowBits))`, so one
 * exponentiation is one multiplication per window, with no squaring. This is
 * what makes DJN randomizers cheap.
 */
export interface FixedBaseTable {
  /** The modulus of every entry. */
  readonly modulus: bigint;
  /** The most exponent bytes the table covers. */
  readonly exponentBytes: number;
  /** Bits per window (8 unless chosen otherwise). */
  readonly windowBits: number;
  /**
   * `base ** e mod modulus` where `e` is the big-endian number in `exponent`.
   *
   * @param exponent At most `exponentBytes` bytes, big-endian.
   * @returns The power.
   */
  pow(exponent: Uint8Array): bigint;
}

/**
 * Builds a {@linkcode FixedBaseTable}: `2 ** windowBits - 1` entries per
 * window, built once per key. With 8-bit windows that is 16 MB for a
 * 4096-bit modulus and 128 exponent bytes; each extra window bit saves about
 * one multiplication in nine but doubles the size.
 *
 * @param base The fixed base.
 * @param modulus The modulus.
 * @param exponentBytes The longest exponent, in bytes.
 * @param windowBits Bits per window, 1 to 16 (default 8).
 * @returns The table.
 * @throws {RangeError} If `windowBits` is not an integer in `[1, 16]`.
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
  windowBits = 8,
): FixedBaseTable {
  if (!Number.isInteger(windowBits) || windowBits < 1 || windowBits > 16) {
    throw new RangeError(`createFixedBaseTable: windowBits ${windowBits} is not in [1, 16]`);
  }
  const size = 1 << windowBits;
  const windows = Math.ceil((8 * exponentBytes) / windowBits);
  const rows: bigint[][] = [];
  let rowBase = base % modulus;
  if (rowBase < 0n) rowBase += modulus;
  for (let i = 0; i < windows; i++) {
    const row = new Array<bigint>(size);
    row[0] = 1n;
    row[1] = rowBase;
    for (let d = 2; d < size; d++) row[d] = (row[d - 1]! * rowBase) % modulus;
    rows.push(row);
    if (i + 1 < windows) rowBase = (row[size - 1]! * rowBase) % modulus;
  }
  const mask = size - 1;
  return {
    modulus,
    exponentBytes,
    windowBits,
    pow(exponent: Uint8Array): bigint {
      if (exponent.length > exponentBytes) {
        throw new RangeError(
          `FixedBaseTable.pow: exponent of ${exponent.length} bytes exceeds ${exponentBytes}`,
        );
      }
      let acc = 0n;
      let started = false;
      // Bits enter a little-endian buffer byte by byte; whole windows leave it.
      let buffer = 0;
      let buffered = 0;
      let window = 0;
      const take = (digit: number) => {
        if (digit !== 0) {
          const entry = rows[window]![digit]!;
          acc = started ? (acc * entry) % modulus : entry;
          started = true;
        }
        window++;
      };
      for (let j = exponent.length - 1; j >= 0; j--) {
        buffer |= exponent[j]! << buffered;
        buffered += 8;
        while (buffered >= windowBits) {
          take(buffer & mask);
          buffer >>>= windowBits;
          buffered -= windowBits;
        }
      }
      if (buffered > 0) take(buffer & mask);
      return started ? acc : 1n;
    },
  };
}
