/**
 * The server's check of ciphertext vectors from outside, before it
 * aggregates them (the slot-wise product mod `n^2`, which adds the
 * plaintexts without reading them, runs in the pool: see `createPool`'s
 * `aggregate`).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { readBigint } from "./bytes.ts";
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
