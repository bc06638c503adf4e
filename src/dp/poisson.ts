/**
 * Poisson sampling of DP-SGD batches: each record joins each batch on its
 * own with probability `q`, from the CSPRNG, so batch sizes vary
 * (Binomial(N, q)) and a batch may be empty. This is the sampling the RDP
 * accountant assumes; shuffling and cutting fixed-size batches is a different
 * mechanism that the subsampled Gaussian analysis does not cover. Which
 * records were drawn must stay secret (amplification by subsampling rests on
 * it), hence the CSPRNG rather than the seeded generator used for
 * reproducible shuffles.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { int53, secureWords, WORDS_PER_CALL } from "./random.ts";

const TWO_POW_53 = 9007199254740992;
const RECORDS_PER_CALL = WORDS_PER_CALL / 2;

function checkSampleRate(sampleRate: number): void {
  if (!(sampleRate > 0 && sampleRate <= 1)) {
    throw new FlheError("range", `dp: sampleRate ${sampleRate} is not in (0, 1]`);
  }
}

/**
 * Draws one Poisson batch: every index in `[0, recordCount)` independently
 * with probability `sampleRate` (exactly `ceil(q 2^53) / 2^53`, within 2^-53 of `q`).
 *
 * @param recordCount How many records, a non-negative integer below 2^32.
 * @param sampleRate Inclusion probability `q`, in `(0, 1]`.
 * @returns The chosen indices in increasing order (possibly none).
 * @throws {FlheError} `range` if a parameter is outside its domain, quoting it.
 * @example
 * ```ts
 * import { poissonBatch } from "./poisson.ts";
 * const batch = poissonBatch(30_000, 256 / 30_000); // about 256 indices
 * ```
 */
export function poissonBatch(recordCount: number, sampleRate: number): Uint32Array {
  if (!Number.isInteger(recordCount) || recordCount < 0 || recordCount >= 2 ** 32) {
    throw new FlheError("range", `dp: recordCount ${recordCount} is not an integer in [0, 2^32)`);
  }
  checkSampleRate(sampleRate);
  const threshold = sampleRate * TWO_POW_53; // exact: a power-of-two scaling
  const words = new Uint32Array(WORDS_PER_CALL);
  const chosen: number[] = [];
  for (let start = 0; start < recordCount; start += RECORDS_PER_CALL) {
    const n = Math.min(RECORDS_PER_CALL, recordCount - start);
    secureWords(words.subarray(0, 2 * n));
    for (let i = 0; i < n; i++) {
      if (int53(words, 2 * i) < threshold) chosen.push(start + i);
    }
  }
  return Uint32Array.from(chosen);
}

/**
 * Steps in one "epoch" of Poisson sampling, as Opacus counts them
 * (`int(1 / sample_rate)`): each record is then used about once per epoch.
 *
 * @param sampleRate Inclusion probability `q`, in `(0, 1]`.
 * @returns `floor(1 / q)`.
 * @throws {FlheError} `range` if the rate is not in `(0, 1]`, quoting it.
 * @example
 * ```ts
 * import { stepsPerEpoch } from "./poisson.ts";
 * stepsPerEpoch(256 / 60_000); // 234
 * ```
 */
export function stepsPerEpoch(sampleRate: number): number {
  checkSampleRate(sampleRate);
  return Math.floor(1 / sampleRate);
}
