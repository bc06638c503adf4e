/**
 * The identity of a global model in protocol v3: the SHA-256 of its float32
 * bytes. Masks, signatures and the client's contribution ledger are bound to
 * it, so that a model cannot be passed off under another round number to
 * collect a second contribution from it.
 *
 * @module
 */

import { sha256Hex } from "../util/hex.ts";

/**
 * SHA-256 (hex) of a model's float32 bytes.
 *
 * @param weights The model.
 * @returns 64 lower-case hex digits.
 *
 * @example Usage
 * ```ts
 * import { modelDigest } from "./model_digest.ts";
 * await modelDigest(new Float32Array(4));
 * ```
 */
export async function modelDigest(weights: Float32Array): Promise<string> {
  return await sha256Hex(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
}
