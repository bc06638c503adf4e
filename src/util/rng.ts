/**
 * A small seeded pseudo-random generator (xoshiro128**) with the samplers the
 * partitions and the network initialiser need. Deterministic on every platform:
 * only 32-bit integer arithmetic and IEEE doubles are used.
 *
 * @module
 */

import { FlheError } from "./error.ts";

/** Mixes a 32-bit state into a well-spread 32-bit value (splitmix32 finaliser). */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Combines a seed and any number of integer tags into one 32-bit seed, so that
 * independent streams (one per client, per epoch, per layer) never overlap by
 * accident of arithmetic such as `seed + 1`.
 *
 * @param seed Base seed; any finite integer (bits above 2^53 are lost).
 * @param tags Integers naming the stream.
 * @returns A 32-bit unsigned seed.
 * @throws {FlheError} `range` if the seed or a tag is not a finite integer.
 * @example
 * ```ts
 * const epochSeed = deriveSeed(42, 3); // stream for epoch 3 of seed 42
 * ```
 */
export function deriveSeed(seed: number, ...tags: number[]): number {
  if (!Number.isInteger(seed)) throw new FlheError("range", `rng: seed ${seed} is not an integer`);
  tags.forEach((t, i) => {
    if (!Number.isInteger(t)) {
      throw new FlheError("range", `rng: tag ${i} (${t}) is not an integer`);
    }
  });
  let h = 0x243f6a88;
  for (const v of [seed, ...tags]) {
    const lo = v >>> 0;
    const hi = Math.floor(v / 0x100000000) >>> 0;
    h = splitmix32(h ^ lo);
    h = splitmix32(h ^ hi);
  }
  return h;
}

/**
 * Seeded generator (xoshiro128**, period 2^128 - 1).
 *
 * @example
 * ```ts
 * const rng = new Rng(7);
 * const u = rng.float(); // in [0, 1)
 * ```
 */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  #spareNormal: number | undefined;

  /**
   * @param seed Any integer; equal seeds give equal streams.
   * @throws {FlheError} `range` if `seed` is not an integer.
   */
  constructor(seed: number) {
    let s = deriveSeed(seed);
    s = splitmix32(s);
    this.#s0 = s;
    s = splitmix32(s);
    this.#s1 = s;
    s = splitmix32(s);
    this.#s2 = s;
    s = splitmix32(s);
    this.#s3 = s;
    // The all-zero state is the one fixed point of xoshiro.
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /**
   * Next 32-bit unsigned integer.
   *
   * @returns An integer in `[0, 2^32)`.
   */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /**
   * Uniform double with 53 random bits.
   *
   * @returns A number in `[0, 1)`.
   */
  float(): number {
    const hi = this.u32() >>> 5; // 27 bits
    const lo = this.u32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * Uniform integer below `n`, without modulo bias.
   *
   * @param n Exclusive upper bound, `1 <= n <= 2^32`.
   * @returns An integer in `[0, n)`.
   * @throws {FlheError} `range` if `n` is out of range.
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) {
      throw new FlheError("range", `rng: int() bound n ${n} is not an integer in [1, 2^32]`);
    }
    const limit = 0x100000000 - (0x100000000 % n);
    let x = this.u32();
    while (x >= limit) x = this.u32();
    return x % n;
  }

  /**
   * Shuffles in place (Fisher-Yates).
   *
   * @param a Array to shuffle.
   * @returns The same array.
   */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /**
   * Standard normal sample (Box-Muller, the second value is kept for the next call).
   *
   * @returns A sample of N(0, 1).
   */
  normal(): number {
    if (this.#spareNormal !== undefined) {
      const v = this.#spareNormal;
      this.#spareNormal = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Gamma(shape, 1) sample (Marsaglia-Tsang; shapes below 1 use the
   * `Gamma(shape + 1) * U^(1/shape)` boost).
   *
   * @param shape Shape parameter, > 0.
   * @returns A positive sample.
   * @throws {FlheError} `range` if `shape` is not a positive finite number.
   */
  gamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) {
      throw new FlheError("range", `rng: gamma shape ${shape} is not a positive finite number`);
    }
    if (shape < 1) {
      let u = 0;
      while (u === 0) u = this.float();
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.float();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /**
   * Dirichlet sample with all concentrations equal to `alpha`.
   *
   * @param alpha Concentration, > 0 (small values give skewed proportions).
   * @param k Number of components, >= 1.
   * @returns `k` non-negative proportions summing to 1.
   * @throws {FlheError} `range` if `alpha` or `k` is invalid.
   */
  dirichlet(alpha: number, k: number): Float64Array {
    if (!Number.isInteger(k) || k < 1) {
      throw new FlheError("range", `rng: dirichlet size k ${k} is not an integer >= 1`);
    }
    const p = new Float64Array(k);
    let sum = 0;
    for (let i = 0; i < k; i++) {
      p[i] = this.gamma(alpha);
      sum += p[i]!;
    }
    // With tiny alpha every gamma may underflow to 0: fall back to one-hot.
    if (sum === 0) {
      p[this.int(k)] = 1;
      return p;
    }
    for (let i = 0; i < k; i++) p[i] = p[i]! / sum;
    return p;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
