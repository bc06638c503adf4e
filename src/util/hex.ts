/**
 * Hexadecimal text and SHA-256 digests, for keys, tokens and fingerprints.
 *
 * @module
 */

import { FlheError } from "./error.ts";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Encodes bytes as lower-case hexadecimal.
 *
 * @param bytes The bytes.
 * @returns Two hex digits per byte.
 *
 * @example Usage
 * ```ts
 * import { toHex } from "./hex.ts";
 * toHex(new Uint8Array([1, 255])); // "01ff"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b];
  return s;
}

/**
 * Decodes lower-case hexadecimal.
 *
 * @param text An even number of hex digits.
 * @param what Names the value in the error.
 * @returns The bytes.
 * @throws {FlheError} `input` if `text` is not hex of even length.
 *
 * @example Usage
 * ```ts
 * import { fromHex } from "./hex.ts";
 * fromHex("01ff", "key"); // Uint8Array [1, 255]
 * ```
 */
export function fromHex(text: string, what: string): Uint8Array<ArrayBuffer> {
  if (!/^([0-9a-f]{2})*$/.test(text)) {
    throw new FlheError("input", `${what}: not lower-case hex of even length`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Hex SHA-256 of bytes.
 *
 * @param bytes The data.
 * @returns 64 hex digits.
 *
 * @example Usage
 * ```ts
 * import { sha256Hex } from "./hex.ts";
 * await sha256Hex(new TextEncoder().encode("abc"));
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // Copy only when needed: digest() wants a view of a plain ArrayBuffer.
  const view = bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes);
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", view)));
}
