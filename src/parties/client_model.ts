/**
 * How a client takes a round's model: only the kind its mode allows. Owner
 * mode: a model sealed under the group key and signed by the owner, any
 * round newer than the one held. Shared-key mode: the encrypted sum, which
 * the client decrypts and applies to the model it was computed from.
 * Plaintext runs: the float sum. Anything else is refused, nothing applied.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { fromHex, sha256Hex } from "../util/hex.ts";
import {
  checkCiphertexts,
  type CodecParams,
  decodeMean,
  type PaillierPool,
  type PublicKey,
} from "../he/mod.ts";
import { applyUpdate } from "../nn/mod.ts";
import type { ModelMessage, SetMember } from "../net/mod.ts";
import { openModel, verifyModel } from "../secagg/mod.ts";
import { type FederationConfig, packingTotal, type Peers, updateCount } from "../federation/mod.ts";
import type { HeldModel } from "./client_state.ts";

/** What a client needs to take models. */
export interface ModelContext {
  readonly config: FederationConfig;
  readonly peers: Peers;
  /** The AES-GCM group key (owner mode). */
  readonly groupKey?: CryptoKey;
  /** Decrypts aggregates (shared-key mode). */
  readonly pool?: PaillierPool;
  readonly publicKey: PublicKey;
  readonly codec: CodecParams;
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
    : "aggregate";
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
  checkTotalWeight(ctx, m);
  const mean = m.kind === "aggregate" ? await decryptMean(ctx, m) : plainMean(ctx, m);
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

function checkTotalWeight(ctx: ModelContext, m: ModelMessage): void {
  if (m.totalWeight > ctx.config.encoding.maxTotalWeight) {
    throw new FlheError(
      "protocol",
      `model total weight ${m.totalWeight} exceeds maxTotalWeight ${ctx.config.encoding.maxTotalWeight}`,
    );
  }
  const signed = ctx.signedSet(m.round);
  const total = signed &&
    packingTotal(signed, ctx.config.encoding.maxTotalWeight);
  if (total !== undefined && total !== m.totalWeight) {
    throw new FlheError(
      "protocol",
      `model total weight ${m.totalWeight} differs from the ${total} of the set this client signed`,
    );
  }
}

async function decryptMean(ctx: ModelContext, m: ModelMessage): Promise<Float32Array> {
  if (!ctx.pool) {
    throw new FlheError("protocol", "an encrypted sum, but this client cannot decrypt");
  }
  // Checked like the server checks updates: the server is not trusted.
  checkCiphertexts(
    ctx.publicKey,
    m.payload,
    updateCount(ctx.config),
    `aggregate of round ${m.round}`,
  );
  const plaintexts = await ctx.pool.decrypt(m.payload.slice());
  return decodeMean(
    plaintexts,
    ctx.config.parameterCount,
    m.totalWeight,
    ctx.publicKey.n,
    ctx.codec,
  );
}

function plainMean(ctx: ModelContext, m: ModelMessage): Float32Array {
  if (m.payload.length !== ctx.config.parameterCount * 4) {
    throw new FlheError("protocol", `plain model of ${m.payload.length} bytes`);
  }
  return new Float32Array(m.payload.slice().buffer).map((v) => v / m.totalWeight);
}
