/**
 * Key generation: {@linkcode generateKeyPair} for both key kinds (the
 * subgroup kind's primes come from `subgroup_key_gen.ts`), and the DJN
 * randomness base of a standard key.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { KEY_KIND_NAMES, type KeyKind, type KeyPair, PublicKey, SecretKey } from "./keys.ts";
import { bitLength, gcd, nthPowerCrt, randomBelow } from "./modular.ts";
import { generateSubgroupKeyPair } from "./subgroup_key_gen.ts";
import { randomPrime } from "./prime.ts";

/** Options of {@linkcode generateKeyPair}. */
export interface KeyOptions {
  /** The key kind (default `standard`; see {@linkcode KEY_KINDS}). */
  readonly kind?: KeyKind;
}

/** The DJN base `hs = (-x^2 mod n) ** n mod n^2` for a random unit `x`, by CRT. */
function djnBase(n: bigint, p: bigint, q: bigint): bigint {
  let x: bigint;
  do x = randomBelow(n); while (gcd(x, n) !== 1n);
  const h = n - ((x * x) % n);
  return nthPowerCrt(h, n, p, q);
}

/**
 * Generates a key pair with `g = n + 1` and a fresh randomness base. The
 * primes of a standard key, and the small primes `p0`, `q0` of a subgroup
 * key, come from `bigint-crypto-utils` (the prime generator `paillier-bigint`
 * uses); the primes `p = 2 p0 p1 + 1` of a subgroup key are found by sieving
 * `p1` and testing with its `isProbablyPrime` (about a second at 2048 bits).
 *
 * @param keyBits Bit length of `n`: 2048 (default) or 3072; smaller even
 *   sizes (>= 128) are accepted for tests.
 * @param options The key kind (default `standard`).
 * @returns The key pair.
 * @throws {FlheError} `input` if `keyBits` is not an even number >= 128 or the kind is unknown.
 *
 * @example Usage
 * ```ts
 * import { generateKeyPair } from "./key_gen.ts";
 * const { publicKey, secretKey } = await generateKeyPair(512);
 * const fast = await generateKeyPair(512, { kind: "subgroup" });
 * ```
 */
export async function generateKeyPair(
  keyBits = 2048,
  options: KeyOptions = {},
): Promise<KeyPair> {
  if (!Number.isInteger(keyBits) || keyBits < 128 || keyBits % 2 !== 0) {
    throw new FlheError("input", `keyBits: ${keyBits} is not an even number >= 128`);
  }
  const kind = options.kind ?? "standard";
  if (!KEY_KIND_NAMES.includes(kind)) {
    throw new FlheError("input", `kind: "${kind}" is not one of ${KEY_KIND_NAMES.join(", ")}`);
  }
  if (kind === "subgroup") return await generateSubgroupKeyPair(keyBits);
  for (;;) {
    // bigint-crypto-utils searches with one worker per core but one: on two
    // cores a single search leaves a core idle, so both run at once.
    const [p, q] = await Promise.all([randomPrime(keyBits / 2), randomPrime(keyBits / 2)]);
    const n = p * q;
    if (p === q || bitLength(n) !== keyBits || gcd(n, (p - 1n) * (q - 1n)) !== 1n) continue;
    const publicKey = new PublicKey(n, djnBase(n, p, q));
    return { publicKey, secretKey: new SecretKey(p, q, publicKey) };
  }
}
