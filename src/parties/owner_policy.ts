/**
 * The owner's decryption policy, the guard of the one secret key: a round is
 * decrypted at most once, rounds strictly increase, never past the
 * federation's last; only an aggregate whose contributions are signed by
 * exactly the announced set of at least `minClients` distinct clients, each
 * within its weight cap. Any failure burns the round and is answered without
 * anything secret-derived (no slot index, no value).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { fromHex } from "../util/hex.ts";
import { checkCiphertexts, type PublicKey } from "../he/mod.ts";
import type { DecryptMessage } from "../net/mod.ts";
import { verifyContribution } from "../secagg/mod.ts";
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

/**
 * Checks a decryption request before anything is decrypted.
 *
 * @param ctx The federation, its keys and caps.
 * @param m The request.
 * @returns The total packing weight of the announced set (the divisor of the mean).
 * @throws {FlheError} `protocol` naming the public fact that is wrong.
 *
 * @example Usage
 * ```ts
 * import { checkDecryptRequest } from "./owner_policy.ts";
 * declare const ctx: import("./owner_policy.ts").PolicyContext;
 * declare const m: import("../net/mod.ts").DecryptMessage;
 * const totalWeight = await checkDecryptRequest(ctx, m);
 * ```
 */
export async function checkDecryptRequest(
  ctx: PolicyContext,
  m: DecryptMessage,
): Promise<number> {
  const { config } = ctx;
  const ids = m.set.map((s) => s.id);
  if (new Set(ids).size !== ids.length) throw refusal(m, "the set lists a client twice");
  const stranger = ids.find((id) => !peerKeys(ctx.peers, id));
  if (stranger !== undefined) throw refusal(m, `${stranger} is not a client of this federation`);
  if (ids.length < config.minClients) {
    throw refusal(m, `${ids.length} contributors, fewer than minClients ${config.minClients}`);
  }
  const heavy = m.set.find((s) => s.weight > ctx.weightCap);
  if (heavy) {
    throw refusal(m, `${heavy.id} has weight ${heavy.weight}, above the cap ${ctx.weightCap}`);
  }
  const signers = m.contributions.map((c) => c.id);
  if (signers.length !== ids.length || ids.some((id) => !signers.includes(id))) {
    throw refusal(m, "the signers are not exactly the announced set");
  }
  for (const c of m.contributions) {
    const member = m.set.find((s) => s.id === c.id)!;
    const ok = await verifyContribution(peerKeys(ctx.peers, c.id)!.verifyKey, {
      context: config.fingerprint,
      round: m.round,
      attempt: m.attempt,
      set: m.set,
      id: c.id,
      weight: member.weight,
      digest: c.digest,
    }, fromHex(c.signature, "signature"));
    if (!ok) throw refusal(m, `the signature of ${c.id} does not verify`);
  }
  if (m.count !== ctx.count) throw refusal(m, `count ${m.count}, expected ${ctx.count}`);
  checkCiphertexts(ctx.publicKey, m.payload, ctx.count, `aggregate of round ${m.round}`);
  return packingTotal(m.set, config.encoding.maxTotalWeight);
}

function refusal(m: DecryptMessage, why: string): FlheError {
  return new FlheError("protocol", `round ${m.round} refused: ${why}`);
}
