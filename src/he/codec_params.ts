/**
 * The parameters of the update codecs (see `codec.ts`): which encoding, the
 * quantization bits `b`, clip range `R`, declared maximum total weight `W`
 * and fixed-point bits, and what they imply for a key size: bits per slot
 * and slots per plaintext. Every party derives the same parameters from the
 * same options.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";

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
 * Checks a client weight or a total weight against the codec's declared
 * maximum. Internal to the codecs (not exported by `mod.ts`).
 *
 * @param name Names the value in the error.
 * @param weight The weight.
 * @param params The codec parameters.
 * @throws {FlheError} `range` if `weight` is not an integer in `[1, maxTotalWeight]`.
 */
export function checkWeight(name: string, weight: number, params: CodecParams): void {
  checkInteger(name, weight, 1, params.maxTotalWeight);
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
 * import { codecParams } from "./codec_params.ts";
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
  const common = { encoding, keyBits, quantBits, clipRange, maxTotalWeight, fracBits };
  if (encoding === "per-weight") {
    // |value| * 2^fracBits * W must stay below n / 2 to keep its sign.
    const needBits = Math.ceil(Math.log2(clipRange) + fracBits + Math.log2(maxTotalWeight)) + 2;
    if (needBits >= keyBits) {
      throw new FlheError("range", `fracBits: ${fracBits} leaves no headroom below n`);
    }
    return Object.freeze({ ...common, slotBits: 0, slotsPerPlaintext: 1 });
  }
  const maxLevel = 2 ** quantBits - 2;
  // At most 24 + 24 bits: slot values stay exact in Number arithmetic.
  const slotBits = Math.ceil(Math.log2(maxLevel * maxTotalWeight + 1));
  // The packed integer must stay below n, which has keyBits bits: use keyBits - 1.
  const slotsPerPlaintext = Math.floor((keyBits - 1) / slotBits);
  return Object.freeze({ ...common, slotBits, slotsPerPlaintext });
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
 * import { codecParams, plaintextCount } from "./codec_params.ts";
 * plaintextCount(codecParams({ keyBits: 2048 }), 61_706); // 980
 * ```
 */
export function plaintextCount(params: CodecParams, valueCount: number): number {
  return Math.ceil(valueCount / params.slotsPerPlaintext);
}
