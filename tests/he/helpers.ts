/**
 * Helpers that only the tests of `src/he` need.
 *
 * @module
 */

import { modPow, type PublicKey } from "./deps.ts";

/**
 * Homomorphic multiplication by a plaintext scalar: `c ** k` encrypts `k * m`.
 * flhe itself never scales a ciphertext; the tests use it to check that
 * decryption is right for ciphertexts that no encryption produced directly.
 *
 * @param key The public key.
 * @param c A ciphertext.
 * @param k A non-negative scalar.
 * @returns A ciphertext of `k * m mod n`.
 */
export function multiplyPlain(key: PublicKey, c: bigint, k: bigint): bigint {
  if (k < 0n) throw new RangeError("multiplyPlain: scalar must be non-negative");
  return modPow(c, k, key.n2);
}
