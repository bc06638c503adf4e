/**
 * Paillier encryption, decryption and homomorphic operations on bigints.
 *
 * With `g = n + 1`, `g ** m = 1 + m * n mod n^2`, so encryption is one
 * multiplication by a randomizer. Randomizers do not depend on the message:
 * they can be computed ahead of time (see {@linkcode createRandomizerSource}).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { PublicKey, SecretKey } from "./keys.ts";
import { createFixedBaseTable, type FixedBaseTable, gcd, modPow, randomBelow } from "./modular.ts";

/**
 * How encryption draws its randomness:
 * - `djn` (default): `hs ** a` with a random exponent `a` of
 *   `key.randomExponentBits` bits (`|n|/2` for a standard key, `l` for a
 *   subgroup key), from a fixed-base table. For a standard key its security
 *   rests on a short-exponent assumption beyond DCR (as in Intel's Paillier
 *   library, ABY and HEU), for a subgroup key on the subgroup assumption of
 *   Ma, Han and Lei.
 * - `classic`: `r ** n` for a uniform unit `r`, as in the original scheme.
 *   Under a subgroup key such ciphertexts are valid but fall outside the
 *   subgroup, so they decrypt at the speed of a standard key.
 */
export type Randomness = "djn" | "classic";

/** Produces fresh randomizers (`r ** n` or `hs ** a`, mod `n^2`) for one key. */
export interface RandomizerSource {
  /** The randomness kind. */
  readonly randomness: Randomness;
  /**
   * A fresh randomizer.
   *
   * @returns A random element of the `n`-th residues mod `n^2`.
   */
  next(): bigint;
}

/**
 * Bits per window of the fixed-base table of a key: 8 for a standard key
 * (128 windows and 16 MB at 2048 bits, 38 MB at 3072), 10 for a subgroup
 * key, whose exponents are short enough (448 bits at 2048) that the wider
 * window costs about 24 MB at 2048 bits (42 MB at 3072) and saves a fifth
 * of the multiplications (45 instead of 56 per randomizer).
 *
 * @param key The public key.
 * @returns The window width in bits.
 *
 * @example Usage
 * ```ts
 * import { generateKeyPair, tableWindowBits } from "./mod.ts";
 * tableWindowBits((await generateKeyPair(512)).publicKey); // 8
 * ```
 */
export function tableWindowBits(key: PublicKey): number {
  return key.kind === "subgroup" ? 10 : 8;
}

/**
 * Creates a {@linkcode RandomizerSource}. For `djn` this builds a fixed-base
 * table (16 MB for a 2048-bit key; see {@linkcode tableWindowBits}), so
 * create one per worker and reuse it.
 *
 * @param key The public key.
 * @param randomness `djn` (default) or `classic`.
 * @returns The source.
 *
 * @example Usage
 * ```ts
 * import { createRandomizerSource, generateKeyPair } from "./mod.ts";
 * const { publicKey } = await generateKeyPair(512);
 * const r = createRandomizerSource(publicKey).next();
 * ```
 */
export function createRandomizerSource(
  key: PublicKey,
  randomness: Randomness = "djn",
): RandomizerSource {
  if (randomness === "classic") {
    return { randomness, next: () => modPow(randomBelow(key.n), key.n, key.n2) };
  }
  let table: FixedBaseTable | undefined;
  const exponent = new Uint8Array(key.randomExponentBytes);
  const excess = 8 * key.randomExponentBytes - key.randomExponentBits;
  return {
    randomness,
    next(): bigint {
      table ??= createFixedBaseTable(
        key.hs,
        key.n2,
        key.randomExponentBytes,
        tableWindowBits(key),
      );
      crypto.getRandomValues(exponent);
      // Keep exactly randomExponentBits bits.
      if (excess > 0) exponent[0]! &= 0xff >> excess;
      return table.pow(exponent);
    },
  };
}

/**
 * Encrypts `m` with a given randomizer: `(1 + m * n) * randomizer mod n^2`.
 *
 * @param key The public key.
 * @param m The plaintext, in `[0, n)`.
 * @param randomizer A randomizer from {@linkcode RandomizerSource.next}.
 * @returns The ciphertext.
 * @throws {FlheError} `range` if `m` is outside `[0, n)`.
 *
 * @example Usage
 * ```ts
 * import { createRandomizerSource, encrypt, generateKeyPair } from "./mod.ts";
 * const { publicKey } = await generateKeyPair(512);
 * const c = encrypt(publicKey, 42n, createRandomizerSource(publicKey).next());
 * ```
 */
export function encrypt(key: PublicKey, m: bigint, randomizer: bigint): bigint {
  if (m < 0n || m >= key.n) throw new FlheError("range", "encrypt: plaintext outside [0, n)");
  return ((1n + m * key.n) * randomizer) % key.n2;
}

/**
 * One CRT half of a decryption: `m mod prime` from `c mod prime^2`. With a
 * subgroup key's short exponent, `c ** exponent = 1 mod prime` exactly when
 * the randomizer of `c` lies in the subgroup; otherwise (a `classic` or
 * foreign ciphertext) the half is computed with the full exponent
 * `prime - 1`, so the result is always the standard Paillier decryption.
 */
function decryptHalf(
  c: bigint,
  prime: bigint,
  prime2: bigint,
  exponent: bigint,
  h: bigint,
  hFull: bigint,
): bigint {
  const base = c % prime2;
  let u = modPow(base, exponent, prime2);
  if (u % prime !== 1n && exponent !== prime - 1n) {
    u = modPow(base, prime - 1n, prime2);
    h = hFull;
  }
  return (((u - 1n) / prime) * h) % prime;
}

/**
 * Decrypts with CRT: one exponentiation mod `p^2` and one mod `q^2`, with
 * the key's exponents: `p - 1` and `q - 1` for a standard key, `2 p0` and
 * `2 q0` (about 225 bits at 2048) for a subgroup key. For every `c` the
 * result equals standard Paillier decryption: a ciphertext whose randomizer
 * is not in a subgroup key's subgroup (`classic` randomness, another
 * library's encryption) is decrypted with the full exponents instead.
 *
 * @param key The secret key.
 * @param c A ciphertext in `(0, n^2)`.
 * @returns The plaintext in `[0, n)`.
 *
 * @example Usage
 * ```ts
 * import { createRandomizerSource, decrypt, encrypt, generateKeyPair } from "./mod.ts";
 * const { publicKey, secretKey } = await generateKeyPair(512);
 * decrypt(secretKey, encrypt(publicKey, 7n, createRandomizerSource(publicKey).next())); // 7n
 * ```
 */
export function decrypt(key: SecretKey, c: bigint): bigint {
  const { p, q } = key;
  const mp = decryptHalf(c, p, key.p2, key.exponentP, key.hp, key.hpFull);
  const mq = decryptHalf(c, q, key.q2, key.exponentQ, key.hq, key.hqFull);
  const diff = (((mp - mq) % p) + p) % p;
  return mq + q * ((diff * key.qInvP) % p);
}

/**
 * Homomorphic addition: the product of ciphertexts encrypts the sum of plaintexts.
 *
 * @param key The public key.
 * @param a A ciphertext.
 * @param b A ciphertext.
 * @returns A ciphertext of `m_a + m_b mod n`.
 *
 * @example Usage
 * ```ts
 * import { addCiphertexts, createRandomizerSource, decrypt, encrypt, generateKeyPair } from "./mod.ts";
 * const { publicKey: pk, secretKey } = await generateKeyPair(512);
 * const r = createRandomizerSource(pk);
 * decrypt(secretKey, addCiphertexts(pk, encrypt(pk, 2n, r.next()), encrypt(pk, 3n, r.next()))); // 5n
 * ```
 */
export function addCiphertexts(key: PublicKey, a: bigint, b: bigint): bigint {
  return (a * b) % key.n2;
}

/**
 * Checks a ciphertext that came from outside: `0 < c < n^2` and
 * `gcd(c, n) = 1`. A value failing either is not a valid encryption, and one
 * sharing a factor with `n` would reveal it.
 *
 * @param key The public key.
 * @param c The candidate ciphertext.
 * @param what Names the value in the error message (e.g. `update[12]`).
 * @throws {FlheError} `protocol`, naming `what` and the failed check.
 *
 * @example Usage
 * ```ts
 * import { checkCiphertext, generateKeyPair } from "./mod.ts";
 * const { publicKey } = await generateKeyPair(512);
 * checkCiphertext(publicKey, 0n, "c"); // throws: c is not in (0, n^2)
 * ```
 */
export function checkCiphertext(key: PublicKey, c: bigint, what = "ciphertext"): void {
  if (c <= 0n || c >= key.n2) throw new FlheError("protocol", `${what} is not in (0, n^2)`);
  if (gcd(c, key.n) !== 1n) throw new FlheError("protocol", `${what} shares a factor with n`);
}
