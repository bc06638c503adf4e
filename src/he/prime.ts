/**
 * Random primes for key generation. `bigint-crypto-utils`' `prime()` tests
 * candidates in one worker per core but one, so on a one-core host it
 * starts no worker at all and its promise never settles: there, primes are
 * searched on the calling thread instead.
 *
 * @module
 */

import { cpus } from "node:os";
import { prime, primeSync } from "bigint-crypto-utils";

/**
 * A random prime of exactly `bits` bits.
 *
 * @param bits Bit length (>= 2).
 * @param cpuCount Cores of this host (default: `os.cpus().length`, which may be 0 where
 *   `/proc/cpuinfo` is hidden).
 * @returns The prime.
 * @throws {RangeError} If `bits` is below 1.
 *
 * @example Usage
 * ```ts
 * import { randomPrime } from "./prime.ts";
 * const p = await randomPrime(256);
 * ```
 */
export function randomPrime(bits: number, cpuCount: number = cpus().length): Promise<bigint> {
  if (cpuCount >= 2) return prime(bits);
  // Yields first so that two searches started together still interleave with I/O.
  return new Promise((resolve, reject) =>
    setTimeout(() => {
      try {
        resolve(primeSync(bits));
      } catch (e) {
        reject(e);
      }
    }, 0)
  );
}
