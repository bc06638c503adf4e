/**
 * Fixed-width big-endian conversion between bigints and bytes: the form in
 * which ciphertexts, plaintexts and masks cross worker and network
 * boundaries.
 *
 * @module
 */

const HEX: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);
// Two ASCII hex digits per byte as one little-endian UTF-16 unit, and the
// value of each ASCII hex digit: a bigint crosses to and from bytes through
// a hex string, which V8 parses and prints in linear time.
const HEX_PAIR = new Uint16Array(256).map((_, i) =>
  HEX[i]!.charCodeAt(0) | (HEX[i]!.charCodeAt(1) << 8)
);
const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 16; i++) HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;
const latin1 = new TextDecoder("latin1");
const ascii = new TextEncoder();

/**
 * Writes `value` as `width` big-endian bytes into `out` at `offset`.
 *
 * @param value A non-negative bigint below `256 ** width`.
 * @param width Number of bytes to write.
 * @param out Destination buffer.
 * @param offset Index of the first byte to write.
 * @throws {RangeError} If `value` is negative or does not fit in `width` bytes.
 *
 * @example Usage
 * ```ts
 * import { writeBigint } from "./bigint_bytes.ts";
 * const out = new Uint8Array(4);
 * writeBigint(258n, 4, out, 0); // out = [0, 0, 1, 2]
 * ```
 */
export function writeBigint(value: bigint, width: number, out: Uint8Array, offset: number): void {
  if (value < 0n) throw new RangeError(`writeBigint: value is negative`);
  const hex = ascii.encode(value.toString(16));
  let i = hex.length;
  if (i > width * 2) {
    throw new RangeError(`writeBigint: value of ${i * 4} bits does not fit in ${width} bytes`);
  }
  let pos = offset + width - 1;
  while (i >= 2) {
    out[pos--] = (HEX_VALUE[hex[i - 2]!]! << 4) | HEX_VALUE[hex[i - 1]!]!;
    i -= 2;
  }
  if (i === 1) out[pos--] = HEX_VALUE[hex[0]!]!;
  out.fill(0, offset, pos + 1);
}

/**
 * Reads `width` big-endian bytes at `offset` as a non-negative bigint.
 *
 * @param bytes Source buffer.
 * @param offset Index of the first byte.
 * @param width Number of bytes to read.
 * @returns The bigint the bytes encode.
 *
 * @example Usage
 * ```ts
 * import { readBigint } from "./bigint_bytes.ts";
 * readBigint(new Uint8Array([0, 0, 1, 2]), 0, 4); // 258n
 * ```
 */
export function readBigint(bytes: Uint8Array, offset: number, width: number): bigint {
  const chars = new Uint16Array(width + 1);
  chars[0] = 0x7830; // "0x"
  for (let i = 0; i < width; i++) chars[i + 1] = HEX_PAIR[bytes[offset + i]!]!;
  return BigInt(latin1.decode(chars));
}
