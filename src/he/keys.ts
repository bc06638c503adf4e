/**
 * Paillier keys with `g = n + 1` and a DJN-style randomness base, in two kinds:
 *
 * - `standard`: `n = p q` with random primes; the public key holds
 *   `hs = h ** n mod n^2` where `h = -x^2 mod n` for a random `x`
 *   (Damgård-Jurik-Nielsen). Encryption draws its randomness as `hs ** a`
 *   for a random exponent `a` of `|n| / 2` bits instead of `r ** n`, which a
 *   fixed-base table makes about 20x cheaper. Decryption uses CRT with the
 *   exponents `p - 1` and `q - 1`.
 * - `subgroup` (Ma, Han and Lei, "Optimized Paillier's Cryptosystem with
 *   Fast Encryption and Decryption", ACSAC 2021): `p = 2 p0 p1 + 1` and
 *   `q = 2 q0 q1 + 1` with small primes `p0`, `q0` of `l / 2` bits
 *   ({@linkcode subgroupExponentBits}); `hs = (-y ** (2 p1 q1)) ** n mod n^2`
 *   for a random `y` has order dividing `2 p0 q0`, so randomizers `hs ** r`
 *   need only an `l`-bit `r`, and decryption needs only the exponents `2 p0`
 *   mod `p^2` and `2 q0` mod `q^2` (about 225 bits instead of 1,024 at 2048
 *   bits). Ciphertexts are ordinary Paillier ciphertexts, but security rests
 *   on an extra subgroup assumption beyond DCR: opt-in only.
 *
 * This file holds the key classes, the key kinds and the fingerprint; keys
 * are made by `generateKeyPair` (`key_gen.ts`, with the subgroup kind in
 * `subgroup_key_gen.ts`).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { sha256Hex } from "../util/hex.ts";
import { writeBigint } from "../util/bigint_bytes.ts";
import { bitLength, modInv, modPow } from "./modular.ts";

/** Key sizes flhe accepts. 2048 is the default; 3072 follows NIST's 128-bit level. */
export const KEY_BITS_ALLOWED: readonly number[] = [2048, 3072];

/** The structure of a key pair: see {@linkcode KEY_KINDS}. */
export type KeyKind = "standard" | "subgroup";

/**
 * Every key kind with a one-line description of its speed and security, for
 * help texts and documentation.
 *
 * @example Usage
 * ```ts
 * import { KEY_KINDS } from "./keys.ts";
 * for (const [kind, text] of Object.entries(KEY_KINDS)) console.log(`${kind}: ${text}`);
 * ```
 */
export const KEY_KINDS: Readonly<Record<KeyKind, string>> = Object.freeze({
  standard: "default; n = p q with random primes, DJN randomness with |n|/2-bit exponents, " +
    "CRT decryption with exponents p - 1 and q - 1; security rests on DCR and a " +
    "short-exponent assumption (as Intel's Paillier library, ABY and HEU)",
  subgroup: "faster; security rests on an extra subgroup assumption beyond DCR " +
    "(Ma, Han, Lei, ACSAC 2021); opt-in. Randomizers of a small subgroup " +
    "(448-bit exponents at 2048 bits, 512 at 3072) and CRT decryption with " +
    "~225-bit exponents; ciphertexts still decrypt the standard way",
});

/**
 * The key kind names, default first, e.g. for a command line choice.
 *
 * @example Usage
 * ```ts
 * import { KEY_KIND_NAMES } from "./keys.ts";
 * KEY_KIND_NAMES.includes("subgroup"); // true
 * ```
 */
export const KEY_KIND_NAMES: readonly KeyKind[] = Object.freeze(["standard", "subgroup"]);

/**
 * The randomizer exponent length `l` of a subgroup key, in bits: 448 for a
 * 2048-bit `n` and 512 for 3072 (the values of Ma, Han and Lei for 112- and
 * 128-bit security: recovering the `l / 2`-bit prime `p0` costs about
 * `2 ** (l / 4)`), 768 from 7680 bits. Smaller keys, which exist only for
 * tests, scale the 2048-bit ratio down: `l / 2 = 4 * ceil(keyBits * 7 / 256)`
 * bits (56 at 512 bits), at least 16. `l` is always a multiple of 8.
 *
 * @param keyBits Bit length of `n`.
 * @returns `l`, the bit length of `p0 q0` and of the random exponents.
 *
 * @example Usage
 * ```ts
 * import { subgroupExponentBits } from "./keys.ts";
 * subgroupExponentBits(2048); // 448
 * subgroupExponentBits(512); // 112
 * ```
 */
export function subgroupExponentBits(keyBits: number): number {
  if (keyBits >= 7680) return 768;
  if (keyBits >= 3072) return 512;
  if (keyBits >= 2048) return 448;
  return 2 * Math.max(16, 4 * Math.ceil((keyBits * 7) / 256));
}

/**
 * A Paillier public key. Immutable; everything derived from `n` is computed once.
 *
 * @example Usage
 * ```ts
 * import { generateKeyPair } from "./key_gen.ts";
 * const { publicKey } = await generateKeyPair(512);
 * publicKey.ciphertextBytes; // 128
 * ```
 */
export class PublicKey {
  /** The modulus `n = p * q`. */
  readonly n: bigint;
  /** `n ** 2`, the ciphertext modulus. */
  readonly n2: bigint;
  /** The randomness base, an `n`-th residue mod `n^2`. */
  readonly hs: bigint;
  /** The key kind, which sets the randomizer exponent length. */
  readonly kind: KeyKind;
  /** Bit length of `n`. */
  readonly keyBits: number;
  /** Bytes of a plaintext on the wire (fixed width). */
  readonly plaintextBytes: number;
  /** Bytes of a ciphertext on the wire (fixed width). */
  readonly ciphertextBytes: number;
  /**
   * Bits of a random exponent `a` in `hs ** a`: `|n| / 2` for a standard key
   * (the length used by Intel's Paillier library, ABY's DJN code and
   * SecretFlow HEU), `l` ({@linkcode subgroupExponentBits}) for a subgroup key.
   */
  readonly randomExponentBits: number;
  /** Bytes of a random exponent: `randomExponentBits / 8`, rounded up. */
  readonly randomExponentBytes: number;

  /**
   * Checks the values and derives the sizes.
   *
   * @param n The modulus.
   * @param hs The randomness base, in `(0, n^2)`.
   * @param kind The key kind (default `standard`).
   * @throws {FlheError} `input` if `hs` is out of range, `n` is too small or
   *   `kind` is unknown.
   */
  constructor(n: bigint, hs: bigint, kind: KeyKind = "standard") {
    const n2 = n * n;
    if (n < 3n || n % 2n === 0n) throw new FlheError("input", "public key: n must be odd and > 2");
    if (hs <= 0n || hs >= n2) throw new FlheError("input", "public key: hs must be in (0, n^2)");
    if (!KEY_KIND_NAMES.includes(kind)) {
      throw new FlheError("input", `public key: kind "${kind}" is not one of ${KEY_KIND_NAMES}`);
    }
    this.n = n;
    this.n2 = n2;
    this.hs = hs;
    this.kind = kind;
    this.keyBits = bitLength(n);
    this.plaintextBytes = Math.ceil(this.keyBits / 8);
    this.ciphertextBytes = Math.ceil(bitLength(n2) / 8);
    this.randomExponentBytes = kind === "subgroup"
      ? Math.ceil(subgroupExponentBits(this.keyBits) / 8)
      : Math.ceil(this.keyBits / 16);
    this.randomExponentBits = kind === "subgroup"
      ? subgroupExponentBits(this.keyBits)
      : 8 * this.randomExponentBytes;
    Object.freeze(this);
  }
}

/** The small primes of a subgroup key: `2 p0 | p - 1` and `2 q0 | q - 1`. */
export interface SubgroupPrimes {
  /** `p0`, the order of the randomizers mod `p` up to a factor 2. */
  readonly p0: bigint;
  /** `q0`, the order of the randomizers mod `q` up to a factor 2. */
  readonly q0: bigint;
}

/**
 * A Paillier secret key: the primes, and what CRT decryption derives from them.
 *
 * @example Usage
 * ```ts
 * import { generateKeyPair } from "./key_gen.ts";
 * const { secretKey } = await generateKeyPair(512);
 * secretKey.p * secretKey.q === secretKey.publicKey.n; // true
 * ```
 */
export class SecretKey {
  /** The first prime. */
  readonly p: bigint;
  /** The second prime. */
  readonly q: bigint;
  /** The matching public key. */
  readonly publicKey: PublicKey;
  /** The key kind (that of the public key). */
  readonly kind: KeyKind;
  /** `p0` of a subgroup key (`2 p0 | p - 1`); `undefined` for a standard key. */
  readonly p0: bigint | undefined;
  /** `q0` of a subgroup key (`2 q0 | q - 1`); `undefined` for a standard key. */
  readonly q0: bigint | undefined;
  /** `p ** 2`. */
  readonly p2: bigint;
  /** `q ** 2`. */
  readonly q2: bigint;
  /** The decryption exponent mod `p^2`: `p - 1` (standard) or `2 p0` (subgroup). */
  readonly exponentP: bigint;
  /** The decryption exponent mod `q^2`: `q - 1` (standard) or `2 q0` (subgroup). */
  readonly exponentQ: bigint;
  /** `L_p(g ** exponentP mod p^2) ** -1 mod p`. */
  readonly hp: bigint;
  /** `L_q(g ** exponentQ mod q^2) ** -1 mod q`. */
  readonly hq: bigint;
  /**
   * `L_p(g ** (p - 1) mod p^2) ** -1 mod p`: the standard half, for a
   * ciphertext outside a subgroup key's subgroup (equal to `hp` for a
   * standard key).
   */
  readonly hpFull: bigint;
  /** `L_q(g ** (q - 1) mod q^2) ** -1 mod q`, as {@linkcode SecretKey.hpFull}. */
  readonly hqFull: bigint;
  /** `q ** -1 mod p`, for recombining by CRT. */
  readonly qInvP: bigint;

  /**
   * Checks the primes against the public key and derives the CRT values.
   *
   * @param p First prime.
   * @param q Second prime.
   * @param publicKey The public key with `n = p * q`.
   * @param subgroup The small primes, required for (and only for) a subgroup key.
   * @throws {FlheError} `input` if `p * q` is not the public key's `n`, or the
   *   small primes are missing, superfluous or do not match `p`, `q` and `hs`.
   */
  constructor(p: bigint, q: bigint, publicKey: PublicKey, subgroup?: SubgroupPrimes) {
    if (p * q !== publicKey.n || p === q || p < 2n || q < 2n) {
      throw new FlheError("input", "secret key: p * q does not equal the public key's n");
    }
    this.p = p;
    this.q = q;
    this.publicKey = publicKey;
    this.kind = publicKey.kind;
    this.p2 = p * p;
    this.q2 = q * q;
    if (publicKey.kind === "subgroup") {
      if (!subgroup) throw new FlheError("input", "secret key: a subgroup key needs p0 and q0");
      const { p0, q0 } = subgroup;
      const half = subgroupExponentBits(publicKey.keyBits) / 2;
      for (const [name, small, big] of [["p0", p0, p], ["q0", q0, q]] as const) {
        if (small < 3n || bitLength(small) > half || (big - 1n) % (2n * small) !== 0n) {
          throw new FlheError(
            "input",
            `secret key: ${name} is not an odd factor of at most ${half} bits of (${
              name[0]
            } - 1) / 2`,
          );
        }
      }
      // Fast decryption needs hs in the subgroup of order dividing 2 p0 q0.
      if (
        modPow(publicKey.hs % this.p2, 2n * p0, this.p2) !== 1n ||
        modPow(publicKey.hs % this.q2, 2n * q0, this.q2) !== 1n
      ) {
        throw new FlheError("input", "secret key: hs is not in the subgroup of order 2 p0 q0");
      }
      this.p0 = p0;
      this.q0 = q0;
      this.exponentP = 2n * p0;
      this.exponentQ = 2n * q0;
    } else {
      if (subgroup) throw new FlheError("input", "secret key: p0 and q0 given for a standard key");
      this.p0 = undefined;
      this.q0 = undefined;
      this.exponentP = p - 1n;
      this.exponentQ = q - 1n;
    }
    const g = publicKey.n + 1n;
    this.hp = modInv((modPow(g, this.exponentP, this.p2) - 1n) / p, p);
    this.hq = modInv((modPow(g, this.exponentQ, this.q2) - 1n) / q, q);
    // L((1 + n) ** (prime - 1) mod prime^2) = -other mod prime.
    this.hpFull = modInv(p - (q % p), p);
    this.hqFull = modInv(q - (p % q), q);
    this.qInvP = modInv(q, p);
    Object.freeze(this);
  }
}

/** A public key and its secret key. */
export interface KeyPair {
  /** The public key. */
  readonly publicKey: PublicKey;
  /** The secret key. */
  readonly secretKey: SecretKey;
}

/**
 * The SHA-256 fingerprint of a public key, over a label naming its kind and
 * its fixed-width `n` and `hs`: what every party prints and checks so that
 * all of them use the same key. Standard keys keep the label they always
 * had (`flhe-paillier-v1`), so their fingerprints do not change; subgroup
 * keys use `flhe-paillier-subgroup-v1`, so the kind cannot be swapped
 * without changing the fingerprint.
 *
 * @param key The public key.
 * @returns 64 lower-case hex digits.
 *
 * @example Usage
 * ```ts
 * import { generateKeyPair } from "./key_gen.ts";
 * import { fingerprint } from "./keys.ts";
 * const { publicKey } = await generateKeyPair(512);
 * (await fingerprint(publicKey)).length; // 64
 * ```
 */
export async function fingerprint(key: PublicKey): Promise<string> {
  const label = new TextEncoder().encode(
    key.kind === "standard" ? "flhe-paillier-v1" : `flhe-paillier-${key.kind}-v1`,
  );
  const bytes = new Uint8Array(label.length + key.plaintextBytes + key.ciphertextBytes);
  bytes.set(label, 0);
  writeBigint(key.n, key.plaintextBytes, bytes, label.length);
  writeBigint(key.hs, key.ciphertextBytes, bytes, label.length + key.plaintextBytes);
  return await sha256Hex(bytes);
}
