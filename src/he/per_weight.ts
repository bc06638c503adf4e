/**
 * The per-weight encoding: every value on its own plaintext as a signed
 * fixed-point integer `round(clip(v) * 2^fracBits) * weight mod n`, as the
 * original python-paillier example does. Slow; kept as the faithful mode and
 * the reference for packing.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { readBigint, writeBigint } from "../util/bigint_bytes.ts";
import { checkWeight, type CodecParams } from "./codec_params.ts";

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
 * import { codecParams } from "./codec_params.ts";
 * import { encodePerWeight } from "./per_weight.ts";
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
 * import { codecParams } from "./codec_params.ts";
 * import { decodePerWeight, encodePerWeight } from "./per_weight.ts";
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
