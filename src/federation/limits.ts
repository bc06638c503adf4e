/**
 * Sizes and caps that follow from a federation's configuration, computed in
 * one place for every party.
 *
 * @module
 */

import { plaintextCount, type PublicKey } from "../he/mod.ts";
import { FlheError } from "../util/error.ts";
import { federationCodec, type FederationConfig } from "./federation_config.ts";

/** Room for a frame's header beside its payload (the header is at most 64 KiB). */
const HEADER_ROOM_BYTES = 70_000;

/**
 * The largest weight (training examples) one client may declare, fixed in
 * `federation.json` at init and checked by the server, every client and the
 * owner, so that no client outweighs its declared share.
 *
 * @param config The federation.
 * @returns The cap.
 *
 * @example Usage
 * ```ts
 * import { clientWeightCap } from "./limits.ts";
 * declare const config: import("./federation_config.ts").FederationConfig;
 * clientWeightCap(config); // 60000 by default
 * ```
 */
export function clientWeightCap(config: FederationConfig): number {
  return config.encoding.maxClientWeight;
}

/**
 * The integer weights each member packs its update with: the declared
 * weights of the announced set scaled so that their total stays within the
 * packing headroom `maxTotalWeight` (`floor((W - |set|) * w / sum) + ...`,
 * at least 1 each). Every party derives them from the signed set alone, so
 * all agree; small packed weights keep the slots narrow.
 *
 * @param set The announced set with declared weights.
 * @param maxTotalWeight The packing headroom `W`.
 * @returns The packing weight of each member, in set order; their sum is at most `W`.
 * @throws {FlheError} `protocol` if the set has `W` or more members.
 *
 * @example Usage
 * ```ts
 * import { packingWeights } from "./limits.ts";
 * packingWeights([{ id: "client-1", weight: 30_000 }, { id: "client-2", weight: 10_000 }], 256);
 * // [190, 63]
 * ```
 */
export function packingWeights(
  set: readonly { readonly weight: number }[],
  maxTotalWeight: number,
): number[] {
  if (set.length >= maxTotalWeight) {
    throw new FlheError(
      "protocol",
      `a set of ${set.length} clients does not fit maxTotalWeight ${maxTotalWeight}`,
    );
  }
  const total = set.reduce((s, m) => s + m.weight, 0);
  // Scaled into W - |set| so that raising each to at least 1 keeps the sum <= W.
  const room = maxTotalWeight - set.length;
  return set.map((m) => Math.max(1, Math.floor((room * m.weight) / total)));
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
 * declare const config: import("./federation_config.ts").FederationConfig;
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
 * declare const config: import("./federation_config.ts").FederationConfig;
 * declare const key: import("../he/mod.ts").PublicKey;
 * maxFrameBytes(config, key);
 * ```
 */
export function maxFrameBytes(config: FederationConfig, publicKey: PublicKey): number {
  const width = config.strategy === "fedavg" ? 4 : publicKey.ciphertextBytes;
  return updateCount(config) * width + HEADER_ROOM_BYTES;
}

/**
 * The largest frame that carries every member's update at once: the
 * owner's decrypt request, and the model of updates a shared-key client
 * multiplies itself (protocol v3 sends the signed updates, never a product).
 *
 * @param config The federation.
 * @param publicKey Its public key.
 * @returns Bytes.
 *
 * @example Usage
 * ```ts
 * import { maxSetFrameBytes } from "./limits.ts";
 * declare const config: import("./bundle.ts").FederationConfig;
 * declare const key: import("../he/mod.ts").PublicKey;
 * maxSetFrameBytes(config, key);
 * ```
 */
export function maxSetFrameBytes(config: FederationConfig, publicKey: PublicKey): number {
  const width = config.strategy === "fedavg" ? 4 : publicKey.ciphertextBytes;
  return config.clients * updateCount(config) * width + HEADER_ROOM_BYTES;
}

/**
 * The sum of a set's packing weights: the divisor of the round's mean, which
 * every party derives from the signed set alone.
 *
 * @param set The announced set with declared weights.
 * @param maxTotalWeight The packing headroom `W`.
 * @returns The total, at most `W`.
 * @throws {FlheError} `protocol` as {@linkcode packingWeights}.
 *
 * @example Usage
 * ```ts
 * import { packingTotal } from "./limits.ts";
 * packingTotal([{ id: "client-1", weight: 30_000 }, { id: "client-2", weight: 10_000 }], 256); // 253
 * ```
 */
export function packingTotal(
  set: readonly { readonly weight: number }[],
  maxTotalWeight: number,
): number {
  return packingWeights(set, maxTotalWeight).reduce((sum, w) => sum + w, 0);
}
