/**
 * Gaussian noise for DP-SGD from the operating system's CSPRNG.
 *
 * Each normal value comes from the Box-Muller transform of two uniform
 * doubles with 53 random bits each (`sqrt(-2 log u1) * cos(2 pi u2)` and its
 * sine twin): no rejection loop, so the time a value takes hardly depends on
 * the draw (only through the branches inside `Math.log`, `cos` and `sin`),
 * unlike the discrete samplers whose running time Jin et al. (below) used to
 * read the noise; and no generator state to predict. Results are computed in
 * float64 and rounded once into the output.
 * The largest magnitude Box-Muller can give from 53-bit uniforms is
 * `sqrt(2 * 53 * log 2) = 8.57`: the tail beyond 8.57 sigma (probability
 * about 1e-17 per value) is missing, which no test or accountant can see.
 *
 * ## Floating point
 *
 * The privacy proof of DP-SGD is about real-valued noise. Mironov ("On
 * Significance of the Least Significant Bits for Differential Privacy", CCS
 * 2012) showed that a floating-point Laplace sampler leaks its input: the set
 * of doubles that `x + noise` can take depends on `x`, so one exact output
 * can tell `x` from `x'`. Jin, McMurtry, Rubinstein and Ohrimenko ("Are We
 * There Yet? Timing and Floating-Point Attacks on Differential Privacy
 * Systems", IEEE S&P 2022) did the same to Gaussian samplers, Opacus'
 * included. What holds here, and what does not:
 *
 * - The attack needs the exact floating-point value of one noisy sum. In
 *   flhe that value never leaves the client: it is scaled, folded into the
 *   weights over many steps, and the round's update is clipped, quantized to a
 *   few bits by stochastic rounding, masked and summed with other clients'
 *   before anyone else sees anything. The attack as published does not apply
 *   to what the other parties receive. This is an argument about post-processing
 *   that destroys low-order bits, not a proof: flhe claims no formal DP bound
 *   for floating-point arithmetic, and neither does any float-based DP-SGD.
 * - The noise is drawn with 53-bit resolution and added in float64 before the
 *   sum is rounded to float32, a grid about 2^29 times coarser than the noise's
 *   own: nearly every float32 near the result is reachable from either
 *   neighbouring input, which is what the attack exploits the absence of. This
 *   resembles Mironov's "snapping" remedy without its analysis.
 * - `hardened: true` sums four independent draws and halves the sum (same
 *   distribution), as Holohan and Braghin propose ("Secure Random Sampling in
 *   Differential Privacy", ESORICS 2021, section 5.1) and Opacus'
 *   `secure_mode` does: recovering the draws from one output then means a
 *   search over about 2^159 candidates instead of 2^53. It costs four times
 *   the sampling (see `bench/dp_bench.ts`).
 * - A discrete Gaussian on an integer grid (Canonne, Kamath and Steinke 2020)
 *   would remove the question, but needs integer gradients; not done here.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { secureWords, uniformClosedOpen, uniformOpenClosed, WORDS_PER_CALL } from "./random.ts";

/** Options of the Gaussian samplers. */
export interface GaussianOptions {
  /**
   * Sum four draws and halve the sum (Holohan and Braghin; Opacus'
   * `secure_mode`): same distribution, harder floating-point attacks, four
   * times the cost. Default `false`.
   */
  readonly hardened?: boolean;
}

/** Normals produced per call of the CSPRNG: two words per uniform, two uniforms per pair. */
const NORMALS_PER_CALL = WORDS_PER_CALL / 2;
const TWO_PI = 2 * Math.PI;

/**
 * Fills `out` with independent standard normals, `NORMALS_PER_CALL` at a time.
 * `words` is scratch space of `WORDS_PER_CALL` words.
 */
function standardNormals(out: Float64Array, words: Uint32Array): void {
  for (let at = 0; at < out.length; at += NORMALS_PER_CALL) {
    const n = Math.min(NORMALS_PER_CALL, out.length - at);
    const pairs = (n + 1) >> 1;
    secureWords(words.subarray(0, pairs * 4));
    for (let p = 0; p < pairs; p++) {
      const radius = Math.sqrt(-2 * Math.log(uniformOpenClosed(words, 4 * p)));
      const angle = TWO_PI * uniformClosedOpen(words, 4 * p + 2);
      const i = at + 2 * p;
      out[i] = radius * Math.cos(angle);
      if (i + 1 < out.length) out[i + 1] = radius * Math.sin(angle);
    }
  }
}

function checkStd(std: number): void {
  if (!(std >= 0) || !Number.isFinite(std)) {
    throw new FlheError("range", `dp: noise std ${std} is not a finite number >= 0`);
  }
}

/** Chunk of values handled at once: bounded scratch memory whatever the output size. */
const CHUNK = 8192;

/**
 * Calls `sink(start, noise)` for consecutive chunks of `N(0, std^2)` values
 * (in float64) covering `length` values.
 */
function forEachNoiseChunk(
  length: number,
  std: number,
  options: GaussianOptions,
  sink: (start: number, noise: Float64Array) => void,
): void {
  const draws = options.hardened ? 4 : 1;
  const scale = options.hardened ? std / 2 : std;
  const words = new Uint32Array(WORDS_PER_CALL);
  const raw = new Float64Array(CHUNK * draws);
  const noise = new Float64Array(CHUNK);
  for (let start = 0; start < length; start += CHUNK) {
    const n = Math.min(CHUNK, length - start);
    const view = noise.subarray(0, n);
    standardNormals(raw.subarray(0, n * draws), words);
    for (let i = 0; i < n; i++) {
      let z = raw[i]!;
      for (let d = 1; d < draws; d++) z += raw[i + d * n]!;
      view[i] = z * scale;
    }
    sink(start, view);
  }
}

/**
 * Fills `out` with independent `N(mean, std^2)` values from the CSPRNG.
 *
 * @param out The array to fill (float32 or float64).
 * @param std Standard deviation, finite and `>= 0` (for DP-SGD: `noiseMultiplier * clipNorm`).
 * @param options `hardened`: sum of four draws (see the module's doc).
 * @param mean Mean (default 0).
 * @returns `out`.
 * @throws {FlheError} `range` if std is negative or not finite, quoting it.
 * @example
 * ```ts
 * import { fillGaussian } from "./gaussian.ts";
 * const noise = fillGaussian(new Float32Array(61_706), 1.1 * 1.0);
 * ```
 */
export function fillGaussian<T extends Float32Array | Float64Array>(
  out: T,
  std: number,
  options: GaussianOptions = {},
  mean = 0,
): T {
  checkStd(std);
  forEachNoiseChunk(out.length, std, options, (start, noise) => {
    for (let i = 0; i < noise.length; i++) out[start + i] = mean + noise[i]!;
  });
  return out;
}

/**
 * A new float32 array of `length` independent `N(0, std^2)` values from the CSPRNG.
 *
 * @param length How many values, a non-negative integer.
 * @param std Standard deviation, finite and `>= 0`.
 * @param options `hardened`: sum of four draws (see the module's doc).
 * @returns The noise.
 * @throws {FlheError} `range` if length or std is invalid, quoting it.
 * @example
 * ```ts
 * import { gaussianNoise } from "./gaussian.ts";
 * const noise = gaussianNoise(61_706, 1.1, { hardened: true });
 * ```
 */
export function gaussianNoise(
  length: number,
  std: number,
  options: GaussianOptions = {},
): Float32Array {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new FlheError("range", `dp: noise length ${length} is not a non-negative integer`);
  }
  return fillGaussian(new Float32Array(length), std, options);
}

/**
 * Adds independent `N(0, std^2)` noise to each value in place: the noise is
 * added in float64 and each sum rounded once to the array's type. This is
 * the "noisy sum" step of DP-SGD: `values` holds the sum of a batch's
 * clipped per-example gradients.
 *
 * @param values The sums to perturb (modified in place).
 * @param std Standard deviation, finite and `>= 0` (`noiseMultiplier * clipNorm`).
 * @param options `hardened`: sum of four draws (see the module's doc).
 * @returns `values`.
 * @throws {FlheError} `range` if std is invalid, quoting it.
 * @example
 * ```ts
 * import { addGaussianNoise } from "./gaussian.ts";
 * const summedClippedGrads = new Float32Array(61_706);
 * addGaussianNoise(summedClippedGrads, 1.1 * 1.0);
 * ```
 */
export function addGaussianNoise<T extends Float32Array | Float64Array>(
  values: T,
  std: number,
  options: GaussianOptions = {},
): T {
  checkStd(std);
  forEachNoiseChunk(values.length, std, options, (start, noise) => {
    for (let i = 0; i < noise.length; i++) values[start + i] = values[start + i]! + noise[i]!;
  });
  return values;
}
