/**
 * Canonical, unambiguous byte encodings for what flhe signs and derives keys
 * from: every string and byte field carries its length, every number is a
 * fixed 8 bytes, so two different tuples can never encode to the same bytes
 * (unlike `a|b|c` joins, where `"a|b", "c"` and `"a", "b|c"` collide).
 *
 * @module
 */

const utf8 = new TextEncoder();

/**
 * Accumulates length-prefixed fields and returns their concatenation.
 *
 * @example Usage
 * ```ts
 * import { CanonicalWriter } from "./_canonical.ts";
 * const bytes = new CanonicalWriter().string("flhe-model-v2").uint(3).finish();
 * ```
 */
export class CanonicalWriter {
  #parts: Uint8Array[] = [];
  #length = 0;

  #push(part: Uint8Array): void {
    this.#parts.push(part);
    this.#length += part.length;
  }

  #u32(n: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    this.#push(b);
  }

  /**
   * Appends a string as its UTF-8 byte length (4 bytes) and bytes.
   *
   * @param s The string.
   * @returns This writer.
   *
   * @example Usage
   * ```ts
   * import { CanonicalWriter } from "./_canonical.ts";
   * new CanonicalWriter().string("client-1");
   * ```
   */
  string(s: string): this {
    return this.bytes(utf8.encode(s));
  }

  /**
   * Appends bytes as their length (4 bytes) and the bytes.
   *
   * @param b The bytes.
   * @returns This writer.
   *
   * @example Usage
   * ```ts
   * import { CanonicalWriter } from "./_canonical.ts";
   * new CanonicalWriter().bytes(new Uint8Array(32));
   * ```
   */
  bytes(b: Uint8Array): this {
    this.#u32(b.length);
    this.#push(b);
    return this;
  }

  /**
   * Appends a non-negative safe integer as 8 big-endian bytes.
   *
   * @param n The integer (the caller has checked it).
   * @returns This writer.
   *
   * @example Usage
   * ```ts
   * import { CanonicalWriter } from "./_canonical.ts";
   * new CanonicalWriter().uint(42);
   * ```
   */
  uint(n: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n));
    this.#push(b);
    return this;
  }

  /**
   * @returns All fields written so far, concatenated.
   *
   * @example Usage
   * ```ts
   * import { CanonicalWriter } from "./_canonical.ts";
   * new CanonicalWriter().uint(1).finish().length; // 8
   * ```
   */
  finish(): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(this.#length);
    let offset = 0;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}
