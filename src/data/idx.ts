/**
 * Reader for the IDX format of the MNIST files (big-endian header, unsigned
 * byte payload), raw or gzip-compressed.
 *
 * @module
 */

/** Magic number of an IDX file of unsigned bytes with three dimensions (images). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of an IDX file of unsigned bytes with one dimension (labels). */
export const IDX_LABELS_MAGIC = 0x00000801;

/** Parsed IDX file. */
export interface IdxArray {
  /** Magic number read from the header, e.g. {@link IDX_IMAGES_MAGIC}. */
  magic: number;
  /** Dimension sizes, outermost first. */
  dims: number[];
  /** Payload, `product(dims)` bytes. */
  data: Uint8Array;
}

/**
 * Parses IDX bytes (gzip-compressed input is detected by its magic bytes and
 * inflated first).
 *
 * @param bytes File content.
 * @param name File name used in error messages.
 * @param expectedMagic If given, the magic number the file must have.
 * @returns The header and payload; `data` is a view into the (inflated) bytes.
 * @throws {Error} On a bad magic number, a header or payload of the wrong
 *   length, or corrupt gzip data; the message names the file and the problem.
 * @example
 * ```ts
 * const labels = await parseIdx(await Deno.readFile("train-labels-idx1-ubyte"), "labels", IDX_LABELS_MAGIC);
 * ```
 */
export async function parseIdx(
  bytes: Uint8Array,
  name: string,
  expectedMagic?: number,
): Promise<IdxArray> {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = await gunzip(bytes, name);
  }
  if (bytes.length < 4) throw new Error(`${name}: truncated IDX file (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = (magic >>> 8) & 0xff;
  const ndims = magic & 0xff;
  if ((magic >>> 16) !== 0 || type !== 0x08 || ndims < 1) {
    throw new Error(
      `${name}: bad IDX magic number 0x${hex(magic)} (expected unsigned-byte data, 0x000008nn)`,
    );
  }
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    throw new Error(
      `${name}: IDX magic number 0x${hex(magic)} has ${ndims} dimensions, expected 0x${
        hex(expectedMagic)
      }`,
    );
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new Error(`${name}: truncated IDX header (${bytes.length} of ${headerBytes} bytes)`);
  }
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  const payload = bytes.length - headerBytes;
  if (payload < size) {
    throw new Error(
      `${name}: truncated IDX data (${payload} bytes, dimensions ${dims.join("x")} need ${size})`,
    );
  }
  if (payload > size) {
    throw new Error(
      `${name}: ${payload - size} bytes after the IDX data (dimensions ${dims.join("x")})`,
    );
  }
  return { magic, dims, data: bytes.subarray(headerBytes) };
}

/**
 * Reads and parses an IDX file (raw or `.gz`).
 *
 * @param path File path.
 * @param expectedMagic If given, the magic number the file must have.
 * @returns The header and payload.
 * @throws {Error} If the file cannot be read or is not a valid IDX file.
 * @example
 * ```ts
 * const images = await readIdx("data/train-images-idx3-ubyte.gz", IDX_IMAGES_MAGIC);
 * ```
 */
export async function readIdx(path: string, expectedMagic?: number): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read IDX file (${e instanceof Error ? e.message : e})`);
  }
  return await parseIdx(bytes, path, expectedMagic);
}

async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    );
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(`${name}: corrupt gzip data (${e instanceof Error ? e.message : e})`);
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}
