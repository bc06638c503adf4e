/**
 * Quantization of the packed encoding: values clipped to `[-R, R]` and
 * rounded stochastically (without bias) to signed `b`-bit levels, shifted to
 * `[0, 2^b - 2]`; and back from summed levels to the weighted mean.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { checkWeight, type CodecParams } from "./codec_params.ts";

/** A source of uniform numbers in `[0, 1)`, for stochastic rounding. */
export type UniformRandom = () => number;

/**
 * Uniform numbers from the platform CSPRNG, drawn in blocks of 4,096, for
 * the stochastic rounding of {@linkcode quantize}.
 *
 * @returns A source of uniform numbers in `[0, 1)`.
 *
 * @example Usage
 * ```ts
 * import { cryptoUniform } from "./quantize.ts";
 * const random = cryptoUniform();
 * random(); // e.g. 0.7310...
 * ```
 */
export function cryptoUniform(): UniformRandom {
  const block = new Uint32Array(4096);
  let next = block.length;
  return () => {
    if (next === block.length) {
      crypto.getRandomValues(block);
      next = 0;
    }
    return block[next++]! / 4294967296;
  };
}

/** Result of {@linkcode quantize}. */
export interface Quantized {
  /** Shifted levels in `[0, 2^b - 2]`; level `L = 2^(b-1) - 1` is zero. */
  readonly levels: Uint32Array;
  /** How many values were clipped to `[-R, R]`. */
  readonly clipped: number;
}

/**
 * Clips to `[-R, R]` and quantizes each value to a shifted level with
 * unbiased stochastic rounding: `E[dequantize(level)] = clip(value)`, and the
 * error of one value is below one step `R / (2^(b-1) - 1)`.
 *
 * @param values The values.
 * @param params Packed codec parameters.
 * @param random Uniform source (default: the CSPRNG).
 * @returns The levels and the number of clipped values.
 * @throws {FlheError} `range` if a value is NaN or infinite, naming its index.
 *
 * @example Usage
 * ```ts
 * import { codecParams } from "./codec_params.ts";
 * import { quantize } from "./quantize.ts";
 * const q = quantize(new Float32Array([0, 0.5, -0.5]), codecParams({ keyBits: 2048 }));
 * q.levels; // [32767, 65534, 0]
 * ```
 */
export function quantize(
  values: Float32Array,
  params: CodecParams,
  random: UniformRandom = cryptoUniform(),
): Quantized {
  const half = 2 ** (params.quantBits - 1) - 1;
  const scale = half / params.clipRange;
  const levels = new Uint32Array(values.length);
  let clipped = 0;
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!;
    if (!Number.isFinite(v)) throw new FlheError("range", `update value [${i}] is ${v}`);
    if (v > params.clipRange) {
      v = params.clipRange;
      clipped++;
    } else if (v < -params.clipRange) {
      v = -params.clipRange;
      clipped++;
    }
    const x = v * scale + half;
    const floor = Math.floor(x);
    const level = floor + (random() < x - floor ? 1 : 0);
    levels[i] = Math.min(level, 2 * half);
  }
  return { levels, clipped };
}

/**
 * Turns slot sums into the weighted mean of the clipped values:
 * `(sum / totalWeight - L) * R / L` with `L = 2^(b-1) - 1`.
 *
 * @param sums Slot sums (see `unpack`).
 * @param totalWeight The sum of the weights of the clients in the aggregate.
 * @param params Packed codec parameters.
 * @returns The weighted mean per value.
 * @throws {FlheError} `range` if `totalWeight` is out of `[1, maxTotalWeight]`.
 *
 * @example Usage
 * ```ts
 * import { codecParams } from "./codec_params.ts";
 * import { dequantizeMean } from "./quantize.ts";
 * dequantizeMean(new Float64Array([65534]), 2, codecParams({ keyBits: 2048 })); // [0]
 * ```
 */
export function dequantizeMean(
  sums: Float64Array,
  totalWeight: number,
  params: CodecParams,
): Float32Array {
  checkWeight("totalWeight", totalWeight, params);
  const half = 2 ** (params.quantBits - 1) - 1;
  const step = params.clipRange / half;
  const out = new Float32Array(sums.length);
  for (let i = 0; i < sums.length; i++) out[i] = (sums[i]! / totalWeight - half) * step;
  return out;
}
