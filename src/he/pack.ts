/**
 * Packing of the packed encoding (BatchCrypt-style): many weighted levels
 * side by side in one plaintext, slot `j` at bits
 * `[j * slotBits, (j + 1) * slotBits)`, and reading the slot sums back out
 * of a decrypted aggregate. A slot is wide enough for the sum of all clients'
 * weighted levels, so a carry into the next slot (or past the last one) can
 * only mean that the declared maximum total weight was exceeded, which
 * {@linkcode unpack} detects.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { checkWeight, type CodecParams, plaintextCount } from "./codec_params.ts";

/**
 * Packs weighted levels into plaintexts, fixed-width big-endian
 * (`ceil(keyBits / 8)` bytes each): slot `j` of a plaintext holds
 * `weight * level` at bits `[j * slotBits, (j + 1) * slotBits)`.
 *
 * @param levels Shifted levels (see `quantize`).
 * @param weight The client's integer weight, in `[1, maxTotalWeight]`.
 * @param params Packed codec parameters.
 * @returns `plaintextCount * plaintextBytes` bytes.
 * @throws {FlheError} `range` if `weight` or a level is out of range.
 *
 * @example Usage
 * ```ts
 * import { codecParams } from "./codec_params.ts";
 * import { pack } from "./pack.ts";
 * const params = codecParams({ keyBits: 2048 });
 * const bytes = pack(new Uint32Array([32767, 65534]), 3, params);
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

/** Throws if a bit at or above the last slot of plaintext `k` is set: a slot overflowed. */
function checkNoCarry(plaintexts: Uint8Array, k: number, width: number, usedBits: number): void {
  const base = k * width;
  const topBytes = width - Math.ceil(usedBits / 8);
  let carry = false;
  for (let b = 0; b < topBytes; b++) {
    if (plaintexts[base + b] !== 0) carry = true;
  }
  if (usedBits % 8 !== 0 && (plaintexts[base + topBytes]! >> (usedBits % 8)) !== 0) carry = true;
  if (carry) {
    throw new FlheError("range", `plaintext [${k}] overflows its slots (maxTotalWeight exceeded)`);
  }
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
 * import { codecParams } from "./codec_params.ts";
 * import { pack, unpack } from "./pack.ts";
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
  for (let k = 0; k < count; k++) checkNoCarry(plaintexts, k, width, slotsPerPlaintext * slotBits);
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
