/**
 * Uniform randomness for the DP samplers, from the operating system's CSPRNG
 * (`crypto.getRandomValues`) only: never `Math.random`, never a seeded
 * generator. What the samplers draw must stay unknown to everyone, the client
 * included after the fact, or neither the noise nor the subsampling protects
 * anything; a seed would let whoever learns it replay both.
 *
 * @module
 */

/**
 * The most `crypto.getRandomValues` fills in one call: 65,536 bytes, in 32-bit words.
 *
 * @example
 * ```ts
 * import { WORDS_PER_CALL } from "./random.ts";
 * crypto.getRandomValues(new Uint32Array(WORDS_PER_CALL)); // one more word would throw
 * ```
 */
export const WORDS_PER_CALL = 16_384;

/** 2^-53: one unit in the last place of a double in `[0.5, 1)`. */
const ULP53 = 1 / 9007199254740992;

/**
 * Fills 32-bit words from the CSPRNG, in as many calls as its size needs.
 *
 * @param out The words to fill.
 * @returns `out`.
 * @example
 * ```ts
 * import { secureWords } from "./random.ts";
 * const words = secureWords(new Uint32Array(100_000));
 * ```
 */
export function secureWords(out: Uint32Array): Uint32Array {
  for (let at = 0; at < out.length; at += WORDS_PER_CALL) {
    crypto.getRandomValues(out.subarray(at, Math.min(out.length, at + WORDS_PER_CALL)));
  }
  return out;
}

/**
 * The 53-bit integer `k` in `[0, 2^53)` made of two random words (21 bits of
 * the first, 32 of the second): every double `k * 2^-53` in `[0, 1)` is
 * equally likely, with no 32-bit grid.
 *
 * @param words Random words.
 * @param at Index of the first of the two words.
 * @returns An integer in `[0, 2^53)`, exact in a double.
 * @example
 * ```ts
 * import { int53, secureWords } from "./random.ts";
 * const u = int53(secureWords(new Uint32Array(2)), 0) / 2 ** 53; // uniform in [0, 1)
 * ```
 */
export function int53(words: Uint32Array, at: number): number {
  return (words[at]! >>> 11) * 4294967296 + words[at + 1]!;
}

/**
 * A uniform double in `(0, 1]` from two random words: `(k + 1) * 2^-53`, never 0
 * (so that its logarithm is finite).
 *
 * @param words Random words.
 * @param at Index of the first of the two words.
 * @returns A double in `(0, 1]`.
 * @example
 * ```ts
 * import { secureWords, uniformOpenClosed } from "./random.ts";
 * Math.log(uniformOpenClosed(secureWords(new Uint32Array(2)), 0)); // finite, <= 0
 * ```
 */
export function uniformOpenClosed(words: Uint32Array, at: number): number {
  return (int53(words, at) + 1) * ULP53;
}

/**
 * A uniform double in `[0, 1)` from two random words: `k * 2^-53`.
 *
 * @param words Random words.
 * @param at Index of the first of the two words.
 * @returns A double in `[0, 1)`.
 * @example
 * ```ts
 * import { secureWords, uniformClosedOpen } from "./random.ts";
 * const angle = 2 * Math.PI * uniformClosedOpen(secureWords(new Uint32Array(2)), 0);
 * ```
 */
export function uniformClosedOpen(words: Uint32Array, at: number): number {
  return int53(words, at) * ULP53;
}
