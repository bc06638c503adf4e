/**
 * Server-side aggregation: ciphertext vectors checked and multiplied
 * slot-wise mod `n^2`, which adds the plaintexts without reading them.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { readBigint, writeBigint } from "./bytes.ts";
import type { PublicKey } from "./keys.ts";
import { gcd } from "./modular.ts";
import { checkCiphertext } from "./paillier.ts";

/**
 * Parses and checks a vector of fixed-width ciphertexts from outside.
 *
 * @param key The public key.
 * @param bytes `count * ciphertextBytes` bytes.
 * @param count The expected number of ciphertexts.
 * @param what Names the vector in error messages.
 * @returns The ciphertexts.
 * @throws {FlheError} `protocol` naming the vector and index of the first bad one.
 *
 * @example Usage
 * ```ts
 * import { generateKeyPair, parseCiphertexts } from "./mod.ts";
 * const { publicKey } = await generateKeyPair(512);
 * parseCiphertexts(publicKey, new Uint8Array(128), 1, "update"); // throws: update[0] is not in (0, n^2)
 * ```
 */
export function parseCiphertexts(
  key: PublicKey,
  bytes: Uint8Array,
  count: number,
  what: string,
): bigint[] {
  const width = key.ciphertextBytes;
  if (bytes.length !== count * width) {
    throw new FlheError(
      "protocol",
      `${what}: ${bytes.length} bytes, expected ${count} ciphertexts of ${width} bytes`,
    );
  }
  const out = new Array<bigint>(count);
  const { n, n2 } = key;
  // One gcd for the whole vector: p or q divides some c_i exactly when it
  // divides the product of all c_i mod n. Only on failure look for which.
  let product = 1n;
  for (let i = 0; i < count; i++) {
    const c = readBigint(bytes, i * width, width);
    if (c <= 0n || c >= n2) throw new FlheError("protocol", `${what}[${i}] is not in (0, n^2)`);
    product = (product * c) % n;
    out[i] = c;
  }
  if (count > 0 && gcd(product, n) !== 1n) {
    out.forEach((c, i) => checkCiphertext(key, c, `${what}[${i}]`));
  }
  return out;
}

/** A running homomorphic sum of ciphertext vectors of one length. */
export interface Accumulator {
  /** How many vectors have been added. */
  readonly added: number;
  /**
   * Adds a checked vector (from {@linkcode parseCiphertexts}).
   *
   * @param ciphertexts The vector; its length must match.
   */
  add(ciphertexts: readonly bigint[]): void;
  /**
   * The sum so far as fixed-width bytes.
   *
   * @returns `count * ciphertextBytes` bytes.
   */
  bytes(): Uint8Array;
}

/**
 * Creates an {@linkcode Accumulator} for vectors of `count` ciphertexts.
 *
 * @param key The public key.
 * @param count Ciphertexts per vector.
 * @returns The accumulator.
 *
 * @example Usage
 * ```ts
 * import { createAccumulator, generateKeyPair } from "./mod.ts";
 * const { publicKey } = await generateKeyPair(512);
 * const acc = createAccumulator(publicKey, 2);
 * ```
 */
export function createAccumulator(key: PublicKey, count: number): Accumulator {
  let sum: bigint[] | undefined;
  let added = 0;
  return {
    get added() {
      return added;
    },
    add(ciphertexts: readonly bigint[]): void {
      if (ciphertexts.length !== count) {
        throw new FlheError(
          "protocol",
          `aggregate: vector of ${ciphertexts.length}, expected ${count}`,
        );
      }
      if (sum === undefined) {
        sum = [...ciphertexts];
      } else {
        const n2 = key.n2;
        for (let i = 0; i < count; i++) sum[i] = (sum[i]! * ciphertexts[i]!) % n2;
      }
      added++;
    },
    bytes(): Uint8Array {
      if (sum === undefined) throw new FlheError("protocol", "aggregate: no vector added");
      const width = key.ciphertextBytes;
      const out = new Uint8Array(count * width);
      for (let i = 0; i < count; i++) writeBigint(sum[i]!, width, out, i * width);
      return out;
    },
  };
}
