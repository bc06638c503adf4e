/**
 * Encodings of a float vector (a model update) into Paillier plaintexts.
 *
 * `packed` (default, BatchCrypt-style): each value is clipped to `[-R, R]`,
 * quantized to a signed `b`-bit level with unbiased stochastic rounding,
 * shifted to `[0, 2^b - 2]`, multiplied by the client's integer weight, and
 * many such slots are packed into one plaintext. Each slot has
 * `b + ceil(log2(W))` bits for a declared maximum total weight `W`, so the
 * sum over all clients (whose weights add up to at most `W`) cannot carry
 * into the next slot: overflow is impossible by construction, and the codec
 * refuses any input that would break that bound.
 *
 * `per-weight`: every value on its own plaintext as a signed fixed-point
 * integer, as the original python-paillier example does. Slow; kept as the
 * faithful mode and the reference for packing.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { readBigint, writeBigint } from "./bytes.ts";

/** The encodings flhe supports. */
export type Encoding = "packed" | "per-weight";

/** Options from which {@linkcode codecParams} derives a codec. */
export interface CodecOptions {
  /** `packed` (default) or `per-weight`. */
  readonly encoding?: Encoding;
  /** Bit length of the Paillier modulus `n`. */
  readonly keyBits: number;
  /** Quantization bits `b` of the packed encoding (2..24, default 16). */
  readonly quantBits?: number;
  /** Clip range `R`: values are clipped to `[-R, R]` (default 0.5). */
  readonly clipRange?: number;
  /** The largest sum of client weights an aggregate may have (default 65,536). */
  readonly maxTotalWeight?: number;
  /** Fractional bits of the per-weight fixed-point encoding (default 32). */
  readonly fracBits?: number;
}

/** Everything needed to encode and decode; the same on every party. */
export interface CodecParams {
  /** The encoding. */
  readonly encoding: Encoding;
  /** Bit length of `n`. */
  readonly keyBits: number;
  /** Quantization bits `b`. */
  readonly quantBits: number;
  /** Clip range `R`. */
  readonly clipRange: number;
  /** Declared maximum total weight `W`. */
  readonly maxTotalWeight: number;
  /** Fixed-point fractional bits (per-weight). */
  readonly fracBits: number;
  /** Bits per slot: `b + ceil(log2(W))` (packed; 0 for per-weight). */
  readonly slotBits: number;
  /** Values per plaintext (1 for per-weight). */
  readonly slotsPerPlaintext: number;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FlheError("range", `${name}: ${value} is not an integer in [${min}, ${max}]`);
  }
}

/**
 * Derives the codec parameters from key size, `b` and `W`, and checks them.
 *
 * @param options Key size and encoding options.
 * @returns The parameters.
 * @throws {FlheError} `range`, naming the parameter, if a value is out of range
 *   or a slot would not fit below `n`.
 *
 * @example Usage
 * ```ts
 * import { codecParams } from "./codec.ts";
 * const p = codecParams({ keyBits: 2048 });
 * p.slotBits; // 32
 * p.slotsPerPlaintext; // 63
 * ```
 */
export function codecParams(options: CodecOptions): CodecParams {
  const encoding = options.encoding ?? "packed";
  if (encoding !== "packed" && encoding !== "per-weight") {
    throw new FlheError("range", `encoding: "${encoding}" is not "packed" or "per-weight"`);
  }
  const quantBits = options.quantBits ?? 16;
  const clipRange = options.clipRange ?? 0.5;
  const maxTotalWeight = options.maxTotalWeight ?? 65_536;
  const fracBits = options.fracBits ?? 32;
  const keyBits = options.keyBits;
  checkInteger("keyBits", keyBits, 64, 16_384);
  checkInteger("quantBits", quantBits, 2, 24);
  checkInteger("maxTotalWeight", maxTotalWeight, 1, 2 ** 24);
  checkInteger("fracBits", fracBits, 0, 64);
  if (!(clipRange > 0 && Number.isFinite(clipRange))) {
    throw new FlheError("range", `clipRange: ${clipRange} is not a positive number`);
  }
  if (encoding === "per-weight") {
    // |value| * 2^fracBits * W must stay below n / 2 to keep its sign.
    const needBits = Math.ceil(Math.log2(clipRange) + fracBits + Math.log2(maxTotalWeight)) + 2;
    if (needBits >= keyBits) {
      throw new FlheError("range", `fracBits: ${fracBits} leaves no headroom below n`);
    }
    return Object.freeze({
      encoding,
      keyBits,
      quantBits,
      clipRange,
      maxTotalWeight,
      fracBits,
      slotBits: 0,
      slotsPerPlaintext: 1,
    });
  }
  const maxLevel = 2 ** quantBits - 2;
  // At most 24 + 24 bits: slot values stay exact in Number arithmetic.
  const slotBits = Math.ceil(Math.log2(maxLevel * maxTotalWeight + 1));
  // The packed integer must stay below n, which has keyBits bits: use keyBits - 1.
  const slotsPerPlaintext = Math.floor((keyBits - 1) / slotBits);
  return Object.freeze({
    encoding,
    keyBits,
    quantBits,
    clipRange,
    maxTotalWeight,
    fracBits,
    slotBits,
    slotsPerPlaintext,
  });
}

/**
 * How many plaintexts (and so ciphertexts) a vector of `valueCount` values needs.
 *
 * @param params The codec parameters.
 * @param valueCount Number of values.
 * @returns `ceil(valueCount / slotsPerPlaintext)`.
 *
 * @example Usage
 * ```ts
 * import { codecParams, plaintextCount } from "./codec.ts";
 * plaintextCount(codecParams({ keyBits: 2048 }), 61_706); // 980
 * ```
 */
export function plaintextCount(params: CodecParams, valueCount: number): number {
  return Math.ceil(valueCount / params.slotsPerPlaintext);
}

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
 * import { cryptoUniform } from "./codec.ts";
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
 * import { codecParams, quantize } from "./codec.ts";
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

function checkWeight(name: string, weight: number, params: CodecParams): void {
  checkInteger(name, weight, 1, params.maxTotalWeight);
}

/**
 * Packs weighted levels into plaintexts, fixed-width big-endian
 * (`ceil(keyBits / 8)` bytes each): slot `j` of a plaintext holds
 * `weight * level` at bits `[j * slotBits, (j + 1) * slotBits)`.
 *
 * @param levels Shifted levels from {@linkcode quantize}.
 * @param weight The client's integer weight, in `[1, maxTotalWeight]`.
 * @param params Packed codec parameters.
 * @returns `plaintextCount * plaintextBytes` bytes.
 * @throws {FlheError} `range` if `weight` or a level is out of range.
 *
 * @example Usage
 * ```ts
 * import { codecParams, pack, quantize } from "./codec.ts";
 * const params = codecParams({ keyBits: 2048 });
 * const bytes = pack(quantize(new Float32Array(100), params).levels, 3, params);
 * ```
 */
export function pack(levels: Uint32Array, weight: number, params: CodecParams): Uint8Array {
  checkWeight("weight", weight, params);
  const maxLevel = 2 ** params.quantBits - 2;
  const width = Math.ceil(params.keyBits / 8);
  const count = plaintextCount(params, levels.length);
  const out = new Uint8Array(count * width);
  const { slotBits, slotsPerPlaintext } = params;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level > maxLevel) throw new FlheError("range", `level [${i}] exceeds 2^quantBits - 2`);
    let v = level * weight;
    const end = (Math.floor(i / slotsPerPlaintext) + 1) * width - 1;
    let bit = (i % slotsPerPlaintext) * slotBits;
    // Write the slot bit by bit from its least significant end.
    for (let t = 0; t < slotBits && v > 0; t++, bit++) {
      if (v % 2 === 1) out[end - (bit >> 3)]! |= 1 << (bit & 7);
      v = Math.floor(v / 2);
    }
  }
  return out;
}

/**
 * Reads the slot sums back out of (aggregated) plaintexts.
 *
 * @param plaintexts Fixed-width plaintexts from decryption.
 * @param valueCount Number of values packed.
 * @param params Packed codec parameters.
 * @returns One sum per value.
 * @throws {FlheError} `range` if the byte length does not match or bits above
 *   the last slot are set (a carry: the declared maximum weight was exceeded).
 *
 * @example Usage
 * ```ts
 * import { codecParams, pack, unpack } from "./codec.ts";
 * const params = codecParams({ keyBits: 2048 });
 * unpack(pack(new Uint32Array([5, 7]), 2, params), 2, params); // [10, 14]
 * ```
 */
export function unpack(
  plaintexts: Uint8Array,
  valueCount: number,
  params: CodecParams,
): Float64Array {
  const width = Math.ceil(params.keyBits / 8);
  const count = plaintextCount(params, valueCount);
  if (plaintexts.length !== count * width) {
    throw new FlheError(
      "range",
      `plaintexts: ${plaintexts.length} bytes, expected ${count * width} for ${valueCount} values`,
    );
  }
  const { slotBits, slotsPerPlaintext } = params;
  const usedBits = slotsPerPlaintext * slotBits;
  for (let k = 0; k < count; k++) {
    // Anything at or above bit usedBits means a slot overflowed into it.
    const base = k * width;
    const topBytes = width - Math.ceil(usedBits / 8);
    for (let b = 0; b < topBytes; b++) {
      if (plaintexts[base + b] !== 0) {
        throw new FlheError(
          "range",
          `plaintext [${k}] overflows its slots (maxTotalWeight exceeded)`,
        );
      }
    }
    if (usedBits % 8 !== 0 && (plaintexts[base + topBytes]! >> (usedBits % 8)) !== 0) {
      throw new FlheError(
        "range",
        `plaintext [${k}] overflows its slots (maxTotalWeight exceeded)`,
      );
    }
  }
  const sums = new Float64Array(valueCount);
  for (let i = 0; i < valueCount; i++) {
    const end = (Math.floor(i / slotsPerPlaintext) + 1) * width - 1;
    let bit = (i % slotsPerPlaintext) * slotBits + slotBits - 1;
    let v = 0;
    for (let t = 0; t < slotBits; t++, bit--) {
      v = v * 2 + ((plaintexts[end - (bit >> 3)]! >> (bit & 7)) & 1);
    }
    sums[i] = v;
  }
  return sums;
}

/**
 * Turns slot sums into the weighted mean of the clipped values:
 * `(sum / totalWeight - L) * R / L` with `L = 2^(b-1) - 1`.
 *
 * @param sums Slot sums from {@linkcode unpack}.
 * @param totalWeight The sum of the weights of the clients in the aggregate.
 * @param params Packed codec parameters.
 * @returns The weighted mean per value.
 * @throws {FlheError} `range` if `totalWeight` is out of `[1, maxTotalWeight]`.
 *
 * @example Usage
 * ```ts
 * import { codecParams, dequantizeMean } from "./codec.ts";
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

/**
 * Encodes each value alone as `round(clip(v) * 2^fracBits) * weight mod n`
 * (negative values wrap below `n`), fixed-width big-endian.
 *
 * @param values The values.
 * @param weight The client's integer weight.
 * @param n The Paillier modulus.
 * @param params Per-weight codec parameters.
 * @returns `values.length * ceil(keyBits / 8)` bytes.
 * @throws {FlheError} `range` if a value is not finite or `weight` is out of range.
 *
 * @example Usage
 * ```ts
 * import { codecParams, encodePerWeight } from "./codec.ts";
 * const params = codecParams({ keyBits: 64, encoding: "per-weight", fracBits: 8 });
 * encodePerWeight(new Float32Array([0.5]), 1, 2n ** 63n + 1n, params);
 * ```
 */
export function encodePerWeight(
  values: Float32Array,
  weight: number,
  n: bigint,
  params: CodecParams,
): Uint8Array {
  checkWeight("weight", weight, params);
  const width = Math.ceil(params.keyBits / 8);
  const out = new Uint8Array(values.length * width);
  const scale = 2 ** params.fracBits;
  const w = BigInt(weight);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new FlheError("range", `update value [${i}] is ${v}`);
    const clippedValue = Math.max(-params.clipRange, Math.min(params.clipRange, v));
    let m = BigInt(Math.round(clippedValue * scale)) * w;
    if (m < 0n) m += n;
    writeBigint(m, width, out, i * width);
  }
  return out;
}

/**
 * Decodes summed per-weight plaintexts into the weighted mean.
 *
 * @param plaintexts Fixed-width plaintexts, one per value.
 * @param totalWeight The sum of the clients' weights.
 * @param n The Paillier modulus.
 * @param params Per-weight codec parameters.
 * @returns The weighted mean per value.
 * @throws {FlheError} `range` if `totalWeight` is out of range.
 *
 * @example Usage
 * ```ts
 * import { codecParams, decodePerWeight, encodePerWeight } from "./codec.ts";
 * const n = 2n ** 63n + 1n;
 * const params = codecParams({ keyBits: 64, encoding: "per-weight", fracBits: 8 });
 * decodePerWeight(encodePerWeight(new Float32Array([-0.5]), 1, n, params), 1, n, params); // [-0.5]
 * ```
 */
export function decodePerWeight(
  plaintexts: Uint8Array,
  totalWeight: number,
  n: bigint,
  params: CodecParams,
): Float32Array {
  checkWeight("totalWeight", totalWeight, params);
  const width = Math.ceil(params.keyBits / 8);
  const count = plaintexts.length / width;
  const out = new Float32Array(count);
  const half = n / 2n;
  const divisor = 2 ** params.fracBits * totalWeight;
  for (let i = 0; i < count; i++) {
    let m = readBigint(plaintexts, i * width, width);
    if (m > half) m -= n;
    out[i] = Number(m) / divisor;
  }
  return out;
}

/**
 * Encodes an update with the codec's encoding (`packed` or `per-weight`)
 * into fixed-width plaintexts ready for {@linkcode createPool}'s `encrypt`.
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
 * import { codecParams, encodeUpdate } from "./codec.ts";
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
 * import { codecParams, decodeMean, encodeUpdate } from "./codec.ts";
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
