/**
 * Reader for NumPy `.npy` arrays (format versions 1-3, C order,
 * little-endian float32, float64, uint8, int32 and int64).
 *
 * @module
 */

/** A parsed `.npy` array. */
export interface NpyArray {
  /** The NumPy dtype, e.g. `<f4`. */
  readonly dtype: string;
  /** Dimension sizes, outermost first. */
  readonly shape: readonly number[];
  /** The values: bytes stay bytes; integers and doubles become int32 and float32. */
  readonly data: Uint8Array | Int32Array | Float32Array;
}

const DTYPES = ["<f4", "<f8", "|u1", "<u1", "<i4", "<i8"];

/**
 * Parses `.npy` bytes.
 *
 * @param bytes The file's content.
 * @param file Names the file in errors.
 * @returns The array.
 * @throws {Error} Naming the file: a bad magic string or header, Fortran
 *   order, an unsupported dtype, a payload of the wrong length, an int64
 *   beyond int32, a non-finite float.
 * @example
 * ```ts
 * const x = parseNpy(await Deno.readFile("x.npy"), "x.npy");
 * ```
 */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) {
    throw new Error(`${file}: not a .npy file (no \\x93NUMPY magic string)`);
  }
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new Error(`${file}: .npy format version ${major} is unknown`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start + headerLength) throw new Error(`${file}: truncated .npy header`);
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = header.match(/'descr'\s*:\s*'([^']+)'/)?.[1];
  const fortran = header.match(/'fortran_order'\s*:\s*(True|False)/)?.[1];
  const shapeText = header.match(/'shape'\s*:\s*\(([^)]*)\)/)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(`${file}: .npy header lacks descr, fortran_order or shape`);
  }
  if (fortran === "True") {
    throw new Error(`${file}: Fortran-ordered array; save it with np.ascontiguousarray`);
  }
  if (!DTYPES.includes(descr)) {
    throw new Error(
      `${file}: dtype ${descr} is not supported (float32, float64, uint8, int32, int64, little-endian)`,
    );
  }
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${file}: .npy shape (${shapeText}) is not a list of sizes`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const width = descr.endsWith("1") ? 1 : descr.endsWith("4") ? 4 : 8;
  const offset = start + headerLength;
  if (bytes.length - offset !== count * width) {
    throw new Error(
      `${file}: ${bytes.length - offset} bytes of data, shape (${
        shape.join(", ")
      }) of ${descr} needs ${count * width}`,
    );
  }
  return { dtype: descr, shape, data: values(view, offset, count, descr, file) };
}

function values(
  view: DataView,
  offset: number,
  count: number,
  descr: string,
  file: string,
): Uint8Array | Int32Array | Float32Array {
  if (descr.endsWith("u1")) {
    return new Uint8Array(view.buffer, view.byteOffset + offset, count).slice();
  }
  if (descr === "<i4" || descr === "<i8") {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const v = descr === "<i4"
        ? view.getInt32(offset + 4 * i, true)
        : Number(view.getBigInt64(offset + 8 * i, true));
      if (v > 2 ** 31 - 1 || v < -(2 ** 31)) {
        throw new Error(`${file}: value ${i} (${v}) does not fit in 32 bits`);
      }
      out[i] = v;
    }
    return out;
  }
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const v = descr === "<f4"
      ? view.getFloat32(offset + 4 * i, true)
      : view.getFloat64(offset + 8 * i, true);
    if (!Number.isFinite(v)) throw new Error(`${file}: value ${i} is ${v}, not a finite number`);
    out[i] = v;
  }
  return out;
}

/**
 * Writes an array as `.npy` bytes (format 1.0), e.g. to hand a split to a client.
 *
 * @param data Float32 values (`<f4`), int32 (`<i4`) or bytes (`|u1`).
 * @param shape Dimension sizes.
 * @returns The file's bytes.
 * @example
 * ```ts
 * await Deno.writeFile("y.npy", npyBytes(Int32Array.of(0, 1), [2]));
 * ```
 */
export function npyBytes(
  data: Float32Array | Int32Array | Uint8Array,
  shape: number[],
): Uint8Array {
  const descr = data instanceof Float32Array ? "<f4" : data instanceof Int32Array ? "<i4" : "|u1";
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  // Header padded with spaces so that the data starts on a 64-byte boundary.
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + head.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, head.length, true);
  out.set(head, 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + head.length);
  return out;
}
