/**
 * Sealing the global model for the clients (owner mode): AES-GCM under the
 * group key from `owner init`, with the round and key fingerprint as
 * additional data, so the server that relays it can neither read it nor
 * replay one round's model as another's.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";

function additionalData(round: number, fingerprint: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`flhe-model|${fingerprint}|${round}`);
}

/**
 * Seals model weights.
 *
 * @param key The AES-GCM group key.
 * @param round The round the model belongs to.
 * @param fingerprint The federation's public key fingerprint.
 * @param weights The model.
 * @returns A 12-byte IV followed by the ciphertext and tag.
 *
 * @example Usage
 * ```ts
 * import { sealModel } from "./seal.ts";
 * const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt"]);
 * await sealModel(key, 1, "ab".repeat(32), new Float32Array(4));
 * ```
 */
export async function sealModel(
  key: CryptoKey,
  round: number,
  fingerprint: string,
  weights: Float32Array,
): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new Uint8Array(weights.byteLength);
  plain.set(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: additionalData(round, fingerprint) },
    key,
    plain,
  );
  const out = new Uint8Array(12 + sealed.byteLength);
  out.set(iv);
  out.set(new Uint8Array(sealed), 12);
  return out;
}

/**
 * Opens a sealed model.
 *
 * @param key The AES-GCM group key.
 * @param round The round the model must belong to.
 * @param fingerprint The federation's public key fingerprint.
 * @param sealed IV, ciphertext and tag.
 * @param parameterCount Expected number of weights.
 * @returns The model.
 * @throws {FlheError} `auth` if the seal does not verify; `protocol` on a wrong size.
 *
 * @example Usage
 * ```ts
 * import { openModel, sealModel } from "./seal.ts";
 * const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
 * const fp = "ab".repeat(32);
 * await openModel(key, 1, fp, await sealModel(key, 1, fp, new Float32Array(4)), 4);
 * ```
 */
export async function openModel(
  key: CryptoKey,
  round: number,
  fingerprint: string,
  sealed: Uint8Array,
  parameterCount: number,
): Promise<Float32Array> {
  if (sealed.length !== 12 + parameterCount * 4 + 16) {
    throw new FlheError(
      "protocol",
      `sealed model: ${sealed.length} bytes, expected ${12 + parameterCount * 4 + 16}`,
    );
  }
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: sealed.slice(0, 12),
        additionalData: additionalData(round, fingerprint),
      },
      key,
      sealed.slice(12),
    );
  } catch {
    throw new FlheError(
      "auth",
      `sealed model of round ${round} does not verify under the group key`,
    );
  }
  return new Float32Array(plain);
}
