/**
 * Hex helpers for secagg's keys and digests (internal): the project's one
 * hex codec, and the pattern of a 32-byte value.
 *
 * @module
 */

import { fromHex as decodeHex } from "../util/hex.ts";

export { toHex } from "../util/hex.ts";

/**
 * Decodes hex that a pattern check has already accepted.
 *
 * @param hex Lower-case hex of even length.
 * @returns The bytes.
 *
 * @example Usage
 * ```ts
 * import { fromHex } from "./_hex.ts";
 * fromHex("01ff"); // Uint8Array [1, 255]
 * ```
 */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  return decodeHex(hex, "hex value");
}

/** 64 lower-case hex digits: a raw 32-byte key or a SHA-256 digest. */
export const HEX32_PATTERN: RegExp = /^[0-9a-f]{64}$/;
