/**
 * Subgroup key generation (Ma, Han and Lei, ACSAC 2021; see `keys.ts`):
 * primes `p = 2 p0 p1 + 1` and `q = 2 q0 q1 + 1` around small primes `p0`,
 * `q0`, found by sieving, and the base `hs` of the subgroup of order
 * `2 p0 q0`.
 *
 * @module
 */

import { isProbablyPrime } from "bigint-crypto-utils";
import { FlheError } from "../util/error.ts";
import { randomPrime } from "./prime.ts";
import {
  type KeyPair,
  PublicKey,
  SecretKey,
  subgroupExponentBits,
  type SubgroupPrimes,
} from "./keys.ts";
import { bitLength, gcd, modPow, nthPowerCrt, randomBelow } from "./modular.ts";

/**
 * Computes the base of a subgroup key, `hs = (-y ** (2 p1 q1) mod n) ** n mod
 * n^2` for a random unit `y`, where `p = 2 p0 p1 + 1` and `q = 2 q0 q1 + 1`.
 * Its order divides `2 p0 q0`; the `y` is redrawn until it is exactly that
 * (so that `hs ** r` spreads over the whole subgroup).
 *
 * @param p First prime.
 * @param q Second prime.
 * @param subgroup The small primes `p0` and `q0`.
 * @returns `hs`.
 * @throws {FlheError} `input` if `2 p0` does not divide `p - 1` or `2 q0` does not divide `q - 1`.
 *
 * @example Usage
 * ```ts
 * import { subgroupBase } from "./subgroup_key_gen.ts";
 * // p = 2 * 3 * 5 + 1, q = 2 * 7 * 3 + 1
 * subgroupBase(31n, 43n, { p0: 3n, q0: 7n }) < (31n * 43n) ** 2n; // true
 * ```
 */
export function subgroupBase(p: bigint, q: bigint, subgroup: SubgroupPrimes): bigint {
  const { p0, q0 } = subgroup;
  if ((p - 1n) % (2n * p0) !== 0n || (q - 1n) % (2n * q0) !== 0n) {
    throw new FlheError(
      "input",
      "subgroup base: 2 p0 must divide p - 1 and 2 q0 must divide q - 1",
    );
  }
  const n = p * q;
  const e = 2n * ((p - 1n) / (2n * p0)) * ((q - 1n) / (2n * q0));
  for (;;) {
    const y = randomBelow(n);
    if (gcd(y, n) !== 1n) continue;
    const z = modPow(y, e, n);
    // z has order p0 mod p and q0 mod q unless it is 1 there (probability 1/p0).
    if (z % p === 1n || z % q === 1n) continue;
    return nthPowerCrt(n - z, n, p, q);
  }
}

/** Odd primes below 2^14, for sieving candidates before a probabilistic test. */
const SIEVE_PRIMES: readonly number[] = (() => {
  const limit = 1 << 14;
  const composite = new Uint8Array(limit);
  const out: number[] = [];
  for (let i = 3; i < limit; i += 2) {
    if (composite[i]) continue;
    out.push(i);
    for (let j = i * i; j < limit; j += 2 * i) composite[j] = 1;
  }
  return out;
})();

/** `a ** -1 mod m` for small numbers (`m` prime, `a` not a multiple of it). */
function smallInverse(a: number, m: number): number {
  let [r0, r1, s0, s1] = [a % m, m, 1, 0];
  while (r1 !== 0) {
    const t = Math.floor(r0 / r1);
    [r0, r1, s0, s1] = [r1, r0 - t * r1, s1, s0 - t * s1];
  }
  return ((s0 % m) + m) % m;
}

/**
 * Finds a prime `P = 2 * small * k + 1` with `k` odd and `3 * 2^(bits-2) <=
 * P < 2^bits` (so that the product of two such primes has exactly `2 * bits`
 * bits): a random odd start `k`, then `k, k + 2, ...` sieved by the odd
 * primes below 2^14, a base-2 Fermat test and 16 Miller-Rabin rounds.
 */
async function primeAboveFactor(bits: number, small: bigint): Promise<bigint> {
  const step = 4n * small; // k += 2
  const low = 3n << BigInt(bits - 2);
  const high = 1n << BigInt(bits);
  const kMin = (low - 1n + 2n * small - 1n) / (2n * small);
  const kMax = (high - 2n) / (2n * small);
  const window = 4096;
  if (kMax - kMin < 8n * BigInt(window)) {
    throw new FlheError("input", `keyBits: ${2 * bits} is too small for a subgroup key`);
  }
  const sieve = new Uint8Array(window);
  for (;;) {
    const k0 = (kMin + randomBelow(kMax - kMin - 2n * BigInt(window))) | 1n;
    const start = 2n * small * k0 + 1n;
    sieve.fill(0);
    for (const r of SIEVE_PRIMES) {
      const stepMod = Number(step % BigInt(r));
      if (stepMod === 0) continue;
      const startMod = Number(start % BigInt(r));
      // First i with start + i * step = 0 mod r.
      let i = ((r - startMod) % r) * smallInverse(stepMod, r) % r;
      for (; i < window; i += r) sieve[i] = 1;
    }
    for (let i = 0; i < window; i++) {
      if (sieve[i]) continue;
      const candidate = start + BigInt(i) * step;
      if (modPow(2n, candidate - 1n, candidate) !== 1n) continue;
      if (await isProbablyPrime(candidate, 16, true)) return candidate;
    }
  }
}

/**
 * Generates a subgroup key pair of `keyBits` bits (see `generateKeyPair`,
 * which checks `keyBits`). Internal to key generation (not exported by `mod.ts`).
 *
 * @param keyBits Bit length of `n`, even.
 * @returns The key pair.
 * @throws {FlheError} `input` if `keyBits` is too small for a subgroup key.
 */
export async function generateSubgroupKeyPair(keyBits: number): Promise<KeyPair> {
  const half = keyBits / 2;
  const smallBits = subgroupExponentBits(keyBits) / 2;
  for (;;) {
    const p0 = await randomPrime(smallBits);
    const q0 = await randomPrime(smallBits);
    if (p0 === q0) continue;
    const p = await primeAboveFactor(half, p0);
    const q = await primeAboveFactor(half, q0);
    const p1 = (p - 1n) / (2n * p0);
    const q1 = (q - 1n) / (2n * q0);
    // p0, q0, p1, q1 pairwise coprime (as Ma, Han and Lei and PrimiHub require).
    if (p === q || gcd(p0 * q0, p1 * q1) !== 1n || gcd(p1, q1) !== 1n) continue;
    const n = p * q;
    if (bitLength(n) !== keyBits || gcd(n, (p - 1n) * (q - 1n)) !== 1n) continue;
    const subgroup = { p0, q0 };
    const publicKey = new PublicKey(n, subgroupBase(p, q, subgroup), "subgroup");
    return { publicKey, secretKey: new SecretKey(p, q, publicKey, subgroup) };
  }
}
