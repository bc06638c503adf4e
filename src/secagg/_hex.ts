/**
 * Hexadecimal conversion for keys and digests (short values; the mask code
 * has its own bulk conversion).
 *
 * @module
 */

const DIGITS = "0123456789abcdef";

/**
 * Encodes bytes as lower-case hexadecimal.
 *
 * @param bytes The bytes.
 * @returns Two hex digits per byte.
 *
 * @example Usage
 * ```ts
 * import { toHex } from "./_hex.ts";
 * toHex(new Uint8Array([1, 255])); // "01ff"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += DIGITS[b >> 4]! + DIGITS[b & 15]!;
  return s;
}

/**
 * Decodes lower-case hexadecimal that the caller has already checked
 * (even length, digits `0-9a-f` only).
 *
 * @param hex The hex string.
 * @returns One byte per two digits.
 *
 * @example Usage
 * ```ts
 * import { fromHex } from "./_hex.ts";
 * fromHex("01ff"); // Uint8Array [1, 255]
 * ```
 */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** 64 lower-case hex digits: a raw 32-byte key or a SHA-256 digest. */
export const HEX32_PATTERN: RegExp = /^[0-9a-f]{64}$/;
