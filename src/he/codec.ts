/**
 * Encodings of a float vector (a model update) into Paillier plaintexts, and
 * of a decrypted aggregate back into the weighted mean update.
 *
 * `packed` (default, BatchCrypt-style): each value is clipped to `[-R, R]`,
 * quantized to a signed `b`-bit level with unbiased stochastic rounding,
 * shifted to `[0, 2^b - 2]` (`quantize.ts`), multiplied by the client's
 * integer weight, and many such slots are packed into one plaintext
 * (`pack.ts`). Each slot has `b + ceil(log2(W))` bits for a declared maximum
 * total weight `W` (`codec_params.ts`), so the sum over all clients (whose
 * weights add up to at most `W`) cannot carry into the next slot: overflow
 * is impossible by construction, and the codec refuses any input that would
 * break that bound.
 *
 * `per-weight`: every value on its own plaintext as a signed fixed-point
 * integer, as the original python-paillier example does (`per_weight.ts`).
 * Slow; kept as the faithful mode and the reference for packing.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { CodecParams } from "./codec_params.ts";
import { pack, unpack } from "./pack.ts";
import { decodePerWeight, encodePerWeight } from "./per_weight.ts";
import { dequantizeMean, quantize, type UniformRandom } from "./quantize.ts";

/**
 * Encodes an update with the codec's encoding (`packed` or `per-weight`)
 * into fixed-width plaintexts ready for the pool's `encrypt` (see `createPool`).
 *
 * @param values The update.
 * @param weight The client's integer weight.
 * @param n The Paillier modulus.
 * @param params Codec parameters.
 * @param random Uniform source for stochastic rounding (packed).
 * @returns The plaintexts and how many values were clipped to `[-R, R]`.
 * @throws {FlheError} `range` as the underlying encoder.
 *
 * @example Usage
 * ```ts
 * import { codecParams } from "./codec_params.ts";
 * import { encodeUpdate } from "./codec.ts";
 * const params = codecParams({ keyBits: 512 });
 * const { plaintexts } = encodeUpdate(new Float32Array(10), 1, 2n ** 511n + 1n, params);
 * ```
 */
export function encodeUpdate(
  values: Float32Array,
  weight: number,
  n: bigint,
  params: CodecParams,
  random?: UniformRandom,
): { plaintexts: Uint8Array; clipped: number } {
  if (params.encoding === "per-weight") {
    let clipped = 0;
    for (const v of values) if (Math.abs(v) > params.clipRange) clipped++;
    return { plaintexts: encodePerWeight(values, weight, n, params), clipped };
  }
  const { levels, clipped } = quantize(values, params, random);
  return { plaintexts: pack(levels, weight, params), clipped };
}

/**
 * Decodes decrypted aggregate plaintexts into the weighted mean update.
 *
 * @param plaintexts Fixed-width plaintexts.
 * @param valueCount Number of values.
 * @param totalWeight Sum of the contributors' weights.
 * @param n The Paillier modulus.
 * @param params Codec parameters.
 * @returns The weighted mean.
 * @throws {FlheError} `range` on overflow or a bad total weight.
 *
 * @example Usage
 * ```ts
 * import { codecParams } from "./codec_params.ts";
 * import { decodeMean, encodeUpdate } from "./codec.ts";
 * const params = codecParams({ keyBits: 512 });
 * const n = 2n ** 511n + 1n;
 * decodeMean(encodeUpdate(new Float32Array(3), 2, n, params).plaintexts, 3, 2, n, params);
 * ```
 */
export function decodeMean(
  plaintexts: Uint8Array,
  valueCount: number,
  totalWeight: number,
  n: bigint,
  params: CodecParams,
): Float32Array {
  if (params.encoding === "per-weight") {
    const width = Math.ceil(params.keyBits / 8);
    if (plaintexts.length !== valueCount * width) {
      throw new FlheError(
        "range",
        `plaintexts: ${plaintexts.length} bytes, expected ${valueCount * width}`,
      );
    }
    return decodePerWeight(plaintexts, totalWeight, n, params);
  }
  return dequantizeMean(unpack(plaintexts, valueCount, params), totalWeight, params);
}
