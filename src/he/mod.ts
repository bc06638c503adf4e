/**
 * The Paillier engine: keys of two kinds (standard and subgroup, see
 * `KEY_KINDS`) and key files, encryption with DJN or classic
 * randomness, CRT decryption, homomorphic operations, the packing and
 * per-weight codecs, ciphertext checks and a worker pool. It knows nothing
 * of models, data or the network.
 *
 * This module is the public surface of `src/he`; helpers that its files
 * share among themselves are not exported here.
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
 *   const sum = await pool.aggregate([cts, cts]);
 *   const mean = dequantizeMean(unpack(await pool.decrypt(sum), 2, params), 2, params);
 * } finally {
 *   pool.close();
 * }
 * ```
 *
 * @module
 */

export { readBigint, writeBigint } from "../util/bigint_bytes.ts";
export {
  type CodecOptions,
  type CodecParams,
  codecParams,
  type Encoding,
  plaintextCount,
} from "./codec_params.ts";
export {
  cryptoUniform,
  dequantizeMean,
  quantize,
  type Quantized,
  type UniformRandom,
} from "./quantize.ts";
export { pack, unpack } from "./pack.ts";
export { decodePerWeight, encodePerWeight } from "./per_weight.ts";
export { decodeMean, encodeUpdate } from "./codec.ts";
export {
  fingerprint,
  KEY_BITS_ALLOWED,
  KEY_KIND_NAMES,
  KEY_KINDS,
  type KeyKind,
  type KeyPair,
  PublicKey,
  SecretKey,
  subgroupExponentBits,
  type SubgroupPrimes,
} from "./keys.ts";
export { generateKeyPair, type KeyOptions } from "./key_gen.ts";
export { subgroupBase } from "./subgroup_key_gen.ts";
export { loadPublicKey, loadSecretKey, savePublicKey, saveSecretKey } from "./key_file.ts";
export {
  bitLength,
  createFixedBaseTable,
  type FixedBaseTable,
  gcd,
  modInv,
  modPow,
  randomBelow,
} from "./modular.ts";
export {
  addCiphertexts,
  checkCiphertext,
  createRandomizerSource,
  decrypt,
  encrypt,
  type RandomizerSource,
  type Randomness,
  tableWindowBits,
} from "./paillier.ts";
export { createPool, type PaillierPool, type PoolOptions } from "./pool.ts";
export { checkCiphertexts } from "./aggregate.ts";
