/**
 * Paillier keys with `g = n + 1` and a DJN randomness base.
 *
 * The public key holds `n` and `hs = h ** n mod n^2` where `h = -x^2 mod n`
 * for a random `x` (Damgård-Jurik-Nielsen). Encryption then draws its
 * randomness as `hs ** a` for a short random exponent `a` instead of
 * `r ** n`, which a fixed-base table makes about 20x cheaper.
 *
 * @module
 */

import { prime } from "bigint-crypto-utils";
import { FlheError } from "../util/error.ts";
import { bitLength, gcd, modInv, modPow } from "./modular.ts";
import { toHex, writeBigint } from "./bytes.ts";

/** Key sizes flhe accepts. 2048 is the default; 3072 follows NIST's 128-bit level. */
export const KEY_BITS_ALLOWED: readonly number[] = [2048, 3072];

/**
 * A Paillier public key. Immutable; everything derived from `n` is computed once.
 *
 * @example Usage
 * ```ts
 * import { generateKeyPair } from "./keys.ts";
 * const { publicKey } = await generateKeyPair(512);
 * publicKey.ciphertextBytes; // 128
 * ```
 */
export class PublicKey {
  /** The modulus `n = p * q`. */
  readonly n: bigint;
  /** `n ** 2`, the ciphertext modulus. */
  readonly n2: bigint;
  /** The DJN randomness base `h ** n mod n^2`. */
  readonly hs: bigint;
  /** Bit length of `n`. */
  readonly keyBits: number;
  /** Bytes of a plaintext on the wire (fixed width). */
  readonly plaintextBytes: number;
  /** Bytes of a ciphertext on the wire (fixed width). */
  readonly ciphertextBytes: number;
  /**
   * Bytes of a DJN randomness exponent: `|n| / 2` bits, the length used by
   * Intel's Paillier library, ABY's DJN code and SecretFlow HEU.
   */
  readonly randomExponentBytes: number;

  /**
   * @param n The modulus.
   * @param hs The DJN base, in `(0, n^2)`.
   * @throws {FlheError} `input` if `hs` is out of range or `n` is too small.
   */
  constructor(n: bigint, hs: bigint) {
    const n2 = n * n;
    if (n < 3n || n % 2n === 0n) throw new FlheError("input", "public key: n must be odd and > 2");
    if (hs <= 0n || hs >= n2) throw new FlheError("input", "public key: hs must be in (0, n^2)");
    this.n = n;
    this.n2 = n2;
    this.hs = hs;
    this.keyBits = bitLength(n);
    this.plaintextBytes = Math.ceil(this.keyBits / 8);
    this.ciphertextBytes = Math.ceil(bitLength(n2) / 8);
    this.randomExponentBytes = Math.ceil(this.keyBits / 16);
    Object.freeze(this);
  }
}

/**
 * A Paillier secret key: the primes, and what CRT decryption derives from them.
 *
 * @example Usage
 * ```ts
 * import { generateKeyPair } from "./keys.ts";
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
  /** `p ** 2`. */
  readonly p2: bigint;
  /** `q ** 2`. */
  readonly q2: bigint;
  /** `L_p(g ** (p-1) mod p^2) ** -1 mod p`. */
  readonly hp: bigint;
  /** `L_q(g ** (q-1) mod q^2) ** -1 mod q`. */
  readonly hq: bigint;
  /** `q ** -1 mod p`, for recombining by CRT. */
  readonly qInvP: bigint;

  /**
   * @param p First prime.
   * @param q Second prime.
   * @param publicKey The public key with `n = p * q`.
   * @throws {FlheError} `input` if `p * q` is not the public key's `n`.
   */
  constructor(p: bigint, q: bigint, publicKey: PublicKey) {
    if (p * q !== publicKey.n || p === q || p < 2n || q < 2n) {
      throw new FlheError("input", "secret key: p * q does not equal the public key's n");
    }
    this.p = p;
    this.q = q;
    this.publicKey = publicKey;
    this.p2 = p * p;
    this.q2 = q * q;
    const g = publicKey.n + 1n;
    this.hp = modInv((modPow(g, p - 1n, this.p2) - 1n) / p, p);
    this.hq = modInv((modPow(g, q - 1n, this.q2) - 1n) / q, q);
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
 * Draws a uniformly random bigint in `[1, bound)`.
 *
 * @param bound Exclusive upper bound, > 1.
 * @returns The random value.
 *
 * @example Usage
 * ```ts
 * import { randomBelow } from "./keys.ts";
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
 * Computes the DJN base `hs = (-x^2 mod n) ** n mod n^2` for a random unit `x`.
 *
 * @param n The modulus.
 * @param p Optional first prime, to compute by CRT (about 3x faster).
 * @param q Optional second prime.
 * @returns `hs`.
 *
 * @example Usage
 * ```ts
 * import { djnBase } from "./keys.ts";
 * djnBase(77n) < 77n * 77n; // true
 * ```
 */
export function djnBase(n: bigint, p?: bigint, q?: bigint): bigint {
  let x: bigint;
  do x = randomBelow(n); while (gcd(x, n) !== 1n);
  const h = n - ((x * x) % n);
  const n2 = n * n;
  if (p === undefined || q === undefined) return modPow(h, n, n2);
  const p2 = p * p;
  const q2 = q * q;
  const hp = modPow(h, n % (p * (p - 1n)), p2);
  const hq = modPow(h, n % (q * (q - 1n)), q2);
  // CRT over p^2 and q^2.
  return (hq + q2 * ((((hp - hq) % p2 + p2) * modInv(q2, p2)) % p2)) % n2;
}

/**
 * Generates a key pair with `g = n + 1` and a fresh DJN base. The primes
 * come from `bigint-crypto-utils` (the prime generator `paillier-bigint` uses).
 *
 * @param keyBits Bit length of `n`: 2048 (default) or 3072; smaller even
 *   sizes (>= 128) are accepted for tests.
 * @returns The key pair.
 * @throws {FlheError} `input` if `keyBits` is not an even number >= 128.
 *
 * @example Usage
 * ```ts
 * import { generateKeyPair } from "./keys.ts";
 * const { publicKey, secretKey } = await generateKeyPair(512);
 * ```
 */
export async function generateKeyPair(keyBits = 2048): Promise<KeyPair> {
  if (!Number.isInteger(keyBits) || keyBits < 128 || keyBits % 2 !== 0) {
    throw new FlheError("input", `keyBits: ${keyBits} is not an even number >= 128`);
  }
  for (;;) {
    const p = await prime(keyBits / 2);
    const q = await prime(keyBits / 2);
    const n = p * q;
    if (p === q || bitLength(n) !== keyBits || gcd(n, (p - 1n) * (q - 1n)) !== 1n) continue;
    const publicKey = new PublicKey(n, djnBase(n, p, q));
    return { publicKey, secretKey: new SecretKey(p, q, publicKey) };
  }
}

/**
 * The SHA-256 fingerprint of a public key, over its fixed-width `n` and `hs`:
 * what every party prints and checks so that all of them use the same key.
 *
 * @param key The public key.
 * @returns 64 lower-case hex digits.
 *
 * @example Usage
 * ```ts
 * import { fingerprint, generateKeyPair } from "./keys.ts";
 * const { publicKey } = await generateKeyPair(512);
 * (await fingerprint(publicKey)).length; // 64
 * ```
 */
export async function fingerprint(key: PublicKey): Promise<string> {
  const label = new TextEncoder().encode("flhe-paillier-v1");
  const bytes = new Uint8Array(label.length + key.plaintextBytes + key.ciphertextBytes);
  bytes.set(label, 0);
  writeBigint(key.n, key.plaintextBytes, bytes, label.length);
  writeBigint(key.hs, key.ciphertextBytes, bytes, label.length + key.plaintextBytes);
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}
