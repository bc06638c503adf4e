/**
 * The owner's decryption policy, the guard of the one secret key: a round is
 * decrypted at most once, rounds strictly increase, never past the
 * federation's last; only the product, computed by the owner itself, of
 * ciphertexts that exactly the announced set of at least `minClients`
 * distinct clients signed for this round and the owner's current model, each
 * within its weight cap. Any failure burns the round and is answered without
 * anything secret-derived (no slot index, no value).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { PublicKey } from "../he/mod.ts";
import type { DecryptMessage } from "../net/mod.ts";
import { verifiedUpdates } from "./signed_updates.ts";
import { type FederationConfig, packingTotal, peerKeys, type Peers } from "../federation/mod.ts";

/** What the policy checks a request against. */
export interface PolicyContext {
  readonly config: FederationConfig;
  readonly peers: Peers;
  readonly publicKey: PublicKey;
  /** Ciphertexts per aggregate. */
  readonly count: number;
  /** Largest weight one client may contribute with. */
  readonly weightCap: number;
}

/** A request that passed the policy: what the owner multiplies and divides by. */
export interface CheckedRequest {
  /** The members' ciphertexts, one vector each, in set order. */
  readonly updates: readonly Uint8Array[];
  /** The total packing weight of the set (the divisor of the mean). */
  readonly totalWeight: number;
}

/**
 * Checks a decryption request before anything is decrypted: the set, and
 * each member's signature over the digest of its own ciphertexts (hashed
 * here, never taken from the server) for this round, the owner's current
 * model and the set. The owner then multiplies exactly these vectors.
 *
 * @param ctx The federation, its keys and caps.
 * @param m The request.
 * @param base SHA-256 (hex) of the owner's current model, which the members must have trained from.
 * @returns The members' ciphertext vectors and the set's total packing weight.
 * @throws {FlheError} `protocol` naming the public fact that is wrong.
 *
 * @example Usage
 * ```ts
 * import { checkDecryptRequest } from "./owner_policy.ts";
 * declare const ctx: import("./owner_policy.ts").PolicyContext;
 * declare const m: import("../net/mod.ts").DecryptMessage;
 * const { updates, totalWeight } = await checkDecryptRequest(ctx, m, "00".repeat(32));
 * ```
 */
export async function checkDecryptRequest(
  ctx: PolicyContext,
  m: DecryptMessage,
  base: string,
): Promise<CheckedRequest> {
  checkSet(ctx, m);
  if (m.count !== ctx.count) throw refusal(m, `count ${m.count}, expected ${ctx.count}`);
  const updates = await verifiedUpdates(
    ctx,
    m,
    ctx.count,
    base,
    (why) => refusal(m, why),
    "ciphertexts",
  );
  return { updates, totalWeight: packingTotal(m.set, ctx.config.encoding.maxTotalWeight) };
}

/** The set's own checks: distinct known members, enough of them, capped weights, one signature each. */
function checkSet(ctx: PolicyContext, m: DecryptMessage): void {
  const ids = m.set.map((s) => s.id);
  if (new Set(ids).size !== ids.length) throw refusal(m, "the set lists a client twice");
  const stranger = ids.find((id) => !peerKeys(ctx.peers, id));
  if (stranger !== undefined) throw refusal(m, `${stranger} is not a client of this federation`);
  if (ids.length < ctx.config.minClients) {
    throw refusal(m, `${ids.length} contributors, fewer than minClients ${ctx.config.minClients}`);
  }
  const heavy = m.set.find((s) => s.weight > ctx.weightCap);
  if (heavy) {
    throw refusal(m, `${heavy.id} has weight ${heavy.weight}, above the cap ${ctx.weightCap}`);
  }
  const signers = m.contributions.map((c) => c.id);
  if (signers.length !== ids.length || signers.some((id, i) => id !== ids[i])) {
    throw refusal(m, "the signers are not exactly the announced set, in its order");
  }
}

function refusal(m: DecryptMessage, why: string): FlheError {
  return new FlheError("protocol", `round ${m.round} refused: ${why}`);
}
