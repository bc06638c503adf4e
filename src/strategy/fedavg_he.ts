/**
 * FedAvgHE: the server's strategy when updates are Paillier ciphertexts.
 * Every ciphertext is checked on arrival (`0 < c < n^2`, `gcd(c, n) = 1`,
 * count), every contribution's signature against the announced set. The
 * accepted vectors are not multiplied here (protocol v3): they go on, one
 * after the other, to whoever decrypts (the owner, or every client in
 * shared-key mode), which multiplies exactly what the members signed.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { sha256Hex } from "../util/hex.ts";
import { checkCiphertexts, type PublicKey } from "../he/mod.ts";
import { createFedAvgCore, type FedAvgOptions } from "./fedavg.ts";
import type { Strategy } from "./strategy.ts";
import type { SetMember } from "./rounds.ts";

/** What a client signs for one contribution. */
export interface SignedContribution {
  readonly round: number;
  readonly baseRound: number;
  /** SHA-256 (hex) of the base model, as the member states it. */
  readonly base: string;
  readonly set: readonly SetMember[];
  readonly id: string;
  readonly weight: number;
  /** SHA-256 (hex) of the ciphertexts. */
  readonly digest: string;
}

/** Checks a contribution's signature with the signer's public key. */
export type ContributionVerifier = (
  contribution: SignedContribution,
  signatureHex: string,
) => Promise<boolean>;

/**
 * Creates the FedAvgHE strategy.
 *
 * @param options Client counts, caps and training settings.
 * @param publicKey The federation's public key.
 * @param count Ciphertexts per update.
 * @param verify Checks a contribution's signature.
 * @returns The strategy.
 *
 * @example Usage
 * ```ts
 * import { createFedAvgHE } from "./fedavg_he.ts";
 * declare const options: import("./fedavg.ts").FedAvgOptions;
 * declare const key: import("../he/mod.ts").PublicKey;
 * createFedAvgHE(options, key, 980, () => Promise.resolve(true));
 * ```
 */
export function createFedAvgHE(
  options: FedAvgOptions,
  publicKey: PublicKey,
  count: number,
  verify: ContributionVerifier,
): Strategy {
  return createFedAvgCore(options, {
    name: "FedAvgHE",
    count,
    async check(clientId, update, announcement) {
      // Parsed here so the sender hears what was wrong; the bigints are not
      // kept: the pool parses its own slices in parallel.
      checkCiphertexts(publicKey, update.payload, count, `update of round ${update.round}`);
      const digest = await sha256Hex(update.payload);
      const signed: SignedContribution = {
        round: announcement.round,
        baseRound: announcement.baseRound,
        base: update.base,
        set: announcement.set,
        id: clientId,
        weight: update.weight,
        digest,
      };
      if (!(await verify(signed, update.signature))) {
        throw new FlheError(
          "protocol",
          `${clientId}: the update's signature does not verify for round ${update.round} and the announced set`,
        );
      }
      return {
        payload: update.payload,
        contribution: { id: clientId, digest, signature: update.signature },
      };
    },
    // Not multiplied here: whoever decrypts multiplies exactly what the members signed.
    combine: (payloads) => Promise.resolve(concatenate(payloads)),
  });
}

function concatenate(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
