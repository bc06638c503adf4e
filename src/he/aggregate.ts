/**
 * The server's check of ciphertext vectors from outside, before it
 * aggregates them (the slot-wise product mod `n^2`, which adds the
 * plaintexts without reading them, runs in the pool: see `createPool`'s
 * `aggregate`).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { readBigint } from "../util/bigint_bytes.ts";
import type { PublicKey } from "./keys.ts";
import { gcd } from "./modular.ts";
import { checkCiphertext } from "./paillier.ts";

/**
 * Checks a vector of fixed-width ciphertexts from outside: its length, and
 * every ciphertext's range and `gcd(c, n) = 1`. The vector stays bytes: the
 * pool reads it where it works on it.
 *
 * @param key The public key.
 * @param bytes `count * ciphertextBytes` bytes.
 * @param count The expected number of ciphertexts.
 * @param what Names the vector in error messages.
 * @throws {FlheError} `protocol` naming the vector and index of the first bad one.
 *
 * @example Usage
 * ```ts
 * import { checkCiphertexts, generateKeyPair } from "./mod.ts";
 * const { publicKey } = await generateKeyPair(512);
 * checkCiphertexts(publicKey, new Uint8Array(128), 1, "update"); // throws: update[0] is not in (0, n^2)
 * ```
 */
export function checkCiphertexts(
  key: PublicKey,
  bytes: Uint8Array,
  count: number,
  what: string,
): void {
  const width = key.ciphertextBytes;
  if (bytes.length !== count * width) {
    throw new FlheError(
      "protocol",
      `${what}: ${bytes.length} bytes, expected ${count} ciphertexts of ${width} bytes`,
    );
  }
  const { n, n2 } = key;
  // One gcd for the whole vector: p or q divides some c_i exactly when it
  // divides the product of all c_i mod n. Only on failure look for which.
  let product = 1n;
  for (let i = 0; i < count; i++) {
    const c = readBigint(bytes, i * width, width);
    if (c <= 0n || c >= n2) throw new FlheError("protocol", `${what}[${i}] is not in (0, n^2)`);
    product = (product * c) % n;
  }
  if (count === 0 || gcd(product, n) === 1n) return;
  for (let i = 0; i < count; i++) {
    checkCiphertext(key, readBigint(bytes, i * width, width), `${what}[${i}]`);
  }
}
