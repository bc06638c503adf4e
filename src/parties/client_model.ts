/**
 * How a client takes a round's model: only the kind its mode allows. Owner
 * mode: a model sealed under the group key and signed by the owner, any
 * round newer than the one held. Shared-key mode: every member's signed
 * ciphertexts, which the client checks against the signatures, multiplies
 * and decrypts itself (each round at most once), and applies to the model
 * they were trained from. Plaintext runs: the float sum. Anything else is
 * refused, nothing applied.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { fromHex, sha256Hex } from "../util/hex.ts";
import { type CodecParams, decodeMean, type PaillierPool, type PublicKey } from "../he/mod.ts";
import { applyUpdate } from "../nn/mod.ts";
import type { ModelMessage, SetMember } from "../net/mod.ts";
import { openModel, verifyModel } from "../secagg/mod.ts";
import {
  type FederationConfig,
  packingTotal,
  peerKeys,
  type Peers,
  updateCount,
} from "../federation/mod.ts";
import type { HeldModel } from "./client_state.ts";
import type { ContributionLedger } from "./client_ledger.ts";
import { modelDigest } from "./model_digest.ts";
import { verifiedUpdates } from "./signed_updates.ts";

/** What a client needs to take models. */
export interface ModelContext {
  readonly config: FederationConfig;
  readonly peers: Peers;
  /** The AES-GCM group key (owner mode). */
  readonly groupKey?: CryptoKey;
  /** Multiplies and decrypts the members' updates (shared-key mode). */
  readonly pool?: PaillierPool;
  readonly publicKey: PublicKey;
  readonly codec: CodecParams;
  /** Largest weight any client may declare. */
  readonly weightCap: number;
  /** Where this client records each round it decrypts. */
  readonly ledger: ContributionLedger;
  /** The set this client signed for a round, if it contributed. */
  readonly signedSet: (round: number) => readonly SetMember[] | undefined;
}

/**
 * The model a message gives, or `undefined` if the client already holds
 * that round or a newer one (a restarted server repeats rounds).
 *
 * @param ctx Mode, keys and the client's signed sets.
 * @param m The model message.
 * @param held The model the client holds.
 * @returns The new model, or `undefined`.
 * @throws {FlheError} `protocol` or `auth` naming why the model is refused.
 *
 * @example Usage
 * ```ts
 * import { takeModel } from "./client_model.ts";
 * declare const ctx: import("./client_model.ts").ModelContext;
 * declare const m: import("../net/mod.ts").ModelMessage;
 * const next = await takeModel(ctx, m, { round: 0, weights: new Float32Array(4) });
 * ```
 */
export async function takeModel(
  ctx: ModelContext,
  m: ModelMessage,
  held: HeldModel,
): Promise<HeldModel | undefined> {
  const { config } = ctx;
  const expected = config.strategy === "fedavg"
    ? "plain"
    : config.mode === "owner"
    ? "sealed"
    : "updates";
  if (m.kind !== expected) {
    throw new FlheError(
      "protocol",
      `refused a ${m.kind} model: a ${config.mode} ${config.strategy} client accepts only ${expected} models`,
    );
  }
  if (m.round <= held.round) return undefined;
  if (m.kind === "sealed") return { round: m.round, weights: await openSealed(ctx, m) };
  if (m.baseRound !== held.round) {
    throw new FlheError(
      "protocol",
      `model of round ${m.round} applies to round ${m.baseRound}, but this client holds round ${held.round}`,
    );
  }
  const mean = m.kind === "updates" ? await decryptMean(ctx, m, held) : plainMean(ctx, m);
  return { round: m.round, weights: applyUpdate(held.weights, mean) };
}

async function openSealed(ctx: ModelContext, m: ModelMessage): Promise<Float32Array> {
  const { config } = ctx;
  const signed = /^[0-9a-f]{128}$/.test(m.signature) &&
    await verifyModel(
      ctx.peers.ownerVerifyKey,
      { context: config.fingerprint, round: m.round, digest: await sha256Hex(m.payload) },
      fromHex(m.signature, "signature"),
    );
  if (!signed) {
    throw new FlheError("auth", `model of round ${m.round} is not signed by the owner; refused`);
  }
  return await openModel(
    ctx.groupKey!,
    m.round,
    config.fingerprint,
    m.payload,
    config.parameterCount,
  );
}

/** The set of a model of updates: well formed, and the one this client signed, if it did. */
function checkModelSet(ctx: ModelContext, m: ModelMessage): void {
  const refuse = (why: string) => new FlheError("protocol", `model of round ${m.round}: ${why}`);
  const ids = m.set.map((s) => s.id);
  if (new Set(ids).size !== ids.length) throw refuse("the set lists a client twice");
  if (ids.length < ctx.config.minClients) {
    throw refuse(`${ids.length} members, fewer than minClients ${ctx.config.minClients}`);
  }
  const stranger = ids.find((id) => !peerKeys(ctx.peers, id));
  if (stranger) throw refuse(`${stranger} is not a client of this federation`);
  const heavy = m.set.find((s) => s.weight > ctx.weightCap);
  if (heavy) throw refuse(`${heavy.id} has weight ${heavy.weight}, above the cap ${ctx.weightCap}`);
  if (
    m.contributions.length !== ids.length || m.contributions.some((c, i) => c.id !== ids[i])
  ) {
    throw refuse("the signatures are not one per member, in set order");
  }
  const mine = ctx.signedSet(m.round);
  const key = (set: readonly SetMember[]) => set.map((s) => `${s.id}:${s.weight}`).sort().join(",");
  if (mine && key(mine) !== key(m.set)) throw refuse("not the set this client signed");
}

/**
 * Checks every member's signature over its own slice of the payload (for
 * this round, the model this client holds and the set), multiplies the
 * slices and decrypts the product: the server can make a client apply only
 * a sum the members signed, and each round is decrypted at most once.
 */
async function decryptMean(
  ctx: ModelContext,
  m: ModelMessage,
  held: HeldModel,
): Promise<Float32Array> {
  if (!ctx.pool) {
    throw new FlheError("protocol", "updates to multiply, but this client cannot decrypt");
  }
  if (m.round <= ctx.ledger.decryptedRound) {
    throw new FlheError(
      "protocol",
      `model of round ${m.round} refused: this client decrypted round ${ctx.ledger.decryptedRound} already`,
    );
  }
  checkModelSet(ctx, m);
  const slices = await verifiedUpdates(
    ctx,
    m,
    updateCount(ctx.config),
    await modelDigest(held.weights),
    (why) => new FlheError("protocol", `model of round ${m.round}: ${why}`),
    "update",
  );
  // Burned before decrypting: whatever happens next, no second decryption of this round.
  await ctx.ledger.recordDecryption(m.round);
  const product = await ctx.pool.aggregate(slices);
  const plaintexts = await ctx.pool.decrypt(product);
  try {
    return decodeMean(
      plaintexts,
      ctx.config.parameterCount,
      packingTotal(m.set, ctx.config.encoding.maxTotalWeight),
      ctx.publicKey.n,
      ctx.codec,
    );
  } catch {
    // Which slot failed is secret-derived: say only that it failed.
    throw new FlheError("protocol", `model of round ${m.round} refused: the sum does not decode`);
  }
}

function plainMean(ctx: ModelContext, m: ModelMessage): Float32Array {
  if (m.payload.length !== ctx.config.parameterCount * 4) {
    throw new FlheError("protocol", `plain model of ${m.payload.length} bytes`);
  }
  return new Float32Array(m.payload.slice().buffer).map((v) => v / m.totalWeight);
}
