/**
 * The Paillier engine: keys of two kinds (standard and subgroup, see
 * `KEY_KINDS`) and key files, encryption with DJN or classic
 * randomness, CRT decryption, homomorphic operations, the packing and
 * per-weight codecs, ciphertext checks and a worker pool. It knows nothing
 * of models, data or the network.
 *
 * @example Encrypt a vector, add it to itself, decrypt the mean
 * ```ts
 * import { codecParams, createPool, dequantizeMean, generateKeyPair, pack, quantize, unpack } from "./mod.ts";
 * const { publicKey, secretKey } = await generateKeyPair(512);
 * const params = codecParams({ keyBits: publicKey.keyBits });
 * const pool = await createPool({ publicKey, secretKey });
 * try {
 *   const values = new Float32Array([0.1, -0.2]);
 *   const cts = await pool.encrypt(pack(quantize(values, params).levels, 1, params));
 *   const mean = dequantizeMean(unpack(await pool.decrypt(cts), 2, params), 1, params);
 * } finally {
 *   pool.close();
 * }
 * ```
 *
 * @module
 */

export * from "./bytes.ts";
export * from "./codec.ts";
export * from "./keys.ts";
export * from "./key_file.ts";
export * from "./modular.ts";
export * from "./paillier.ts";
export * from "./pool.ts";
export * from "./aggregate.ts";
