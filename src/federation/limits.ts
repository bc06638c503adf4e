/**
 * Sizes and caps that follow from a federation's configuration, computed in
 * one place for every party.
 *
 * @module
 */

import { plaintextCount, type PublicKey } from "../he/mod.ts";
import { federationCodec, type FederationConfig } from "./bundle.ts";

/** Room for a frame's header beside its payload (the header is at most 64 KiB). */
const HEADER_ROOM_BYTES = 70_000;

/**
 * The largest weight one client may contribute with: its share of the
 * federation's maximum total weight, so that no client outweighs its share
 * and no round's total can overflow the packing.
 *
 * @param config The federation.
 * @returns The cap.
 *
 * @example Usage
 * ```ts
 * import { clientWeightCap } from "./limits.ts";
 * declare const config: import("./bundle.ts").FederationConfig;
 * clientWeightCap(config); // 32768 for 2 clients and maxTotalWeight 65536
 * ```
 */
export function clientWeightCap(config: FederationConfig): number {
  return Math.max(1, Math.floor(config.encoding.maxTotalWeight / config.clients));
}

/**
 * Values per update: ciphertexts (HE) or float32 values (plaintext FedAvg).
 *
 * @param config The federation.
 * @returns The count.
 *
 * @example Usage
 * ```ts
 * import { updateCount } from "./limits.ts";
 * declare const config: import("./bundle.ts").FederationConfig;
 * updateCount(config);
 * ```
 */
export function updateCount(config: FederationConfig): number {
  return config.strategy === "fedavg"
    ? config.parameterCount
    : plaintextCount(federationCodec(config), config.parameterCount);
}

/**
 * The largest frame a party accepts from an authenticated peer: one update
 * (or aggregate) and its header.
 *
 * @param config The federation.
 * @param publicKey Its public key.
 * @returns Bytes.
 *
 * @example Usage
 * ```ts
 * import { maxFrameBytes } from "./limits.ts";
 * declare const config: import("./bundle.ts").FederationConfig;
 * declare const key: import("../he/mod.ts").PublicKey;
 * maxFrameBytes(config, key);
 * ```
 */
export function maxFrameBytes(config: FederationConfig, publicKey: PublicKey): number {
  const width = config.strategy === "fedavg" ? 4 : publicKey.ciphertextBytes;
  return updateCount(config) * width + HEADER_ROOM_BYTES;
}
