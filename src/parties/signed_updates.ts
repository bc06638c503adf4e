/**
 * The members' updates of a round as whoever decrypts receives them (the
 * owner in owner mode, every client in shared-key mode): one vector per
 * member, one after the other in set order, each checked (range, `gcd`)
 * and tied to its member's signature over its own SHA-256, this round, the
 * base model and the set. Only vectors that pass are ever multiplied.
 *
 * @module
 */

import { fromHex, sha256Hex } from "../util/hex.ts";
import type { FlheError } from "../util/error.ts";
import { checkCiphertexts, type PublicKey } from "../he/mod.ts";
import type { Contribution, SetMember } from "../net/mod.ts";
import { verifyContribution } from "../secagg/mod.ts";
import { type FederationConfig, peerKeys, type Peers } from "../federation/mod.ts";

/** What the updates are checked against. */
export interface SignedUpdatesContext {
  readonly config: FederationConfig;
  readonly peers: Peers;
  readonly publicKey: PublicKey;
}

/** The signed updates of a round, as a decrypt request or a model of updates carries them. */
export interface SignedUpdates {
  readonly round: number;
  readonly baseRound: number;
  readonly set: readonly SetMember[];
  readonly contributions: readonly Contribution[];
  readonly payload: Uint8Array;
}

/**
 * Splits, checks and verifies the members' updates.
 *
 * @param ctx The federation, its keys and the members' verify keys.
 * @param m The updates (set, signatures in set order, concatenated vectors).
 * @param count Ciphertexts per update.
 * @param base SHA-256 (hex) of the model the members must have trained from.
 * @param refuse Makes the caller's error from a reason (e.g. `round 3 refused: ...`).
 * @param noun What a member's vector is called in the reason ("update", "ciphertexts").
 * @returns One copy of each member's vector, in set order.
 * @throws {FlheError} What `refuse` makes, for a wrong length or a signature that does not verify;
 *   `protocol` from the ciphertext checks.
 *
 * @example Usage
 * ```ts
 * import { verifiedUpdates } from "./signed_updates.ts";
 * import { FlheError } from "../util/error.ts";
 * declare const ctx: import("./signed_updates.ts").SignedUpdatesContext;
 * declare const m: import("./signed_updates.ts").SignedUpdates;
 * const updates = await verifiedUpdates(ctx, m, 486, "00".repeat(32), (why) =>
 *   new FlheError("protocol", why), "update");
 * ```
 */
export async function verifiedUpdates(
  ctx: SignedUpdatesContext,
  m: SignedUpdates,
  count: number,
  base: string,
  refuse: (why: string) => FlheError,
  noun: string,
): Promise<Uint8Array[]> {
  const bytes = count * ctx.publicKey.ciphertextBytes;
  if (m.payload.length !== bytes * m.set.length) {
    throw refuse(
      `${m.payload.length} bytes of ciphertexts, expected ${m.set.length} updates of ${bytes}`,
    );
  }
  const updates: Uint8Array[] = [];
  for (const [i, member] of m.set.entries()) {
    const update = m.payload.subarray(i * bytes, (i + 1) * bytes);
    checkCiphertexts(ctx.publicKey, update, count, `update of ${member.id} in round ${m.round}`);
    const ok = await verifyContribution(peerKeys(ctx.peers, member.id)!.verifyKey, {
      context: ctx.config.fingerprint,
      round: m.round,
      baseRound: m.baseRound,
      base,
      set: m.set,
      id: member.id,
      weight: member.weight,
      digest: await sha256Hex(update),
    }, fromHex(m.contributions[i]!.signature, "signature"));
    if (!ok) {
      throw refuse(
        `the signature of ${member.id} does not verify for its ${noun}, this round, set and base model`,
      );
    }
    updates.push(update.slice());
  }
  return updates;
}
