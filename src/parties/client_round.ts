/**
 * A client's part of a round, in two steps. On "fit": train from the held
 * model and say "ready" with the client's weight. On "announce": check the
 * announced set, encode the update with the packing weight the set gives this
 * client, mask it with respect
 * to exactly that set, encrypt, sign and upload. Every answer is remembered
 * for the round, so a repeated request (a restarted server) gets the very
 * same bytes, and no two different sets are ever masked for one attempt.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { sha256Hex, toHex } from "../util/hex.ts";
import type { Logger } from "../util/log.ts";
import { type CodecParams, encodeUpdate, type PaillierPool, type PublicKey } from "../he/mod.ts";
import type {
  AnnounceMessage,
  FitMessage,
  ReadyMessage,
  SetMember,
  UpdateMessage,
} from "../net/mod.ts";
import { addMask, type ClientSecretKeys, maskVector, signContribution } from "../secagg/mod.ts";
import { type FederationConfig, packingWeights, peerKeys, type Peers } from "../federation/mod.ts";
import type { Trainer } from "./trainer.ts";

/** The HE parts of a client (absent in plaintext runs). */
export interface ClientCrypto {
  readonly publicKey: PublicKey;
  readonly codec: CodecParams;
  readonly pool: PaillierPool;
  /** This client's keys. */
  readonly keys: ClientSecretKeys;
  /** Pair keys with every other client, by id. */
  readonly pairKeys: ReadonlyMap<string, CryptoKey>;
}

/** What a contributor needs. */
export interface ContributorContext {
  readonly id: string;
  readonly shard: number;
  readonly config: FederationConfig;
  readonly peers: Peers;
  /** Largest weight any client may declare. */
  readonly weightCap: number;
  /** Values (or ciphertexts) per update. */
  readonly count: number;
  /** Trains in a worker, on this client's share. */
  readonly trainer: Trainer;
  readonly crypto?: ClientCrypto;
  /** The last round this client uploaded for, in any earlier run. */
  readonly contributedRound: number;
  /** Records a round as contributed to, before its upload leaves. */
  readonly recordContribution: (round: number) => Promise<void>;
  readonly log: Logger;
}

/** The steps of a client's round. */
export interface Contributor {
  /**
   * Trains for a round (or repeats the answer already given for it).
   *
   * @param m The fit request.
   * @param held The round and weights of the model the client holds.
   * @returns The ready message to send.
   * @throws {FlheError} `protocol` if the request cannot be honoured.
   */
  fit(m: FitMessage, held: { round: number; weights: Float32Array }): Promise<ReadyMessage>;
  /**
   * Masks, encrypts and signs the update for an announced set.
   *
   * @param a The announcement.
   * @returns The update to send.
   * @throws {FlheError} `protocol` naming what is wrong with the announcement.
   */
  announce(a: AnnounceMessage): Promise<UpdateMessage>;
  /** The set this client last signed for a round, if any. */
  signedSet(round: number): readonly SetMember[] | undefined;
}

interface RoundWork {
  readonly round: number;
  readonly ready: ReadyMessage;
  /** The update, `w_k - w_t`. */
  readonly update: Float32Array;
  /** Answers by attempt: the set's key and the update sent. */
  readonly answers: Map<
    number,
    { readonly setKey: string; readonly update: UpdateMessage; readonly set: readonly SetMember[] }
  >;
}

const setKey = (set: readonly SetMember[]) => set.map((m) => `${m.id}:${m.weight}`).join(",");

/**
 * Creates the contributor.
 *
 * @param ctx Identity, data, model, crypto.
 * @returns The steps.
 *
 * @example Usage
 * ```ts
 * import { createContributor } from "./client_round.ts";
 * declare const ctx: import("./client_round.ts").ContributorContext;
 * const contributor = createContributor(ctx);
 * ```
 */
export function createContributor(ctx: ContributorContext): Contributor {
  let work: RoundWork | undefined;
  let contributed = ctx.contributedRound;
  const weight = Math.min(ctx.trainer.trainCount, ctx.weightCap);
  return {
    async fit(m, held) {
      if (work?.round === m.round) return work.ready;
      if (work && m.round < work.round) {
        throw new FlheError(
          "protocol",
          `fit for round ${m.round}, but round ${work.round} is past`,
        );
      }
      if (m.baseRound !== held.round) {
        throw new FlheError(
          "protocol",
          `fit asks to train from the model of round ${m.baseRound}, but this client holds round ${held.round}`,
        );
      }
      const { update, ready } = await train(ctx, m, held.weights, weight);
      work = { round: m.round, ready, update, answers: new Map() };
      return ready;
    },
    async announce(a) {
      if (!work || work.round !== a.round) {
        throw new FlheError(
          "protocol",
          `announcement for round ${a.round}, but this client trained for ${
            work?.round ?? "no round"
          }`,
        );
      }
      checkSet(ctx, a, weight);
      const key = setKey(a.set);
      const previous = work.answers.get(a.attempt);
      if (previous) {
        if (previous.setKey === key) return previous.update;
        throw new FlheError(
          "protocol",
          `a different set for attempt ${a.attempt} of round ${a.round}`,
        );
      }
      checkAttempt(ctx, work, a);
      if (contributed < a.round) {
        await ctx.recordContribution(a.round);
        contributed = a.round;
      }
      const update = await maskAndSeal(ctx, work, a);
      work.answers.set(a.attempt, { setKey: key, update, set: a.set });
      return update;
    },
    signedSet(round) {
      if (work?.round !== round) return undefined;
      const attempts = [...work.answers.keys()].sort();
      const last = attempts.at(-1);
      return last === undefined ? undefined : work.answers.get(last)!.set;
    },
  };
}

async function train(
  ctx: ContributorContext,
  m: FitMessage,
  base: Float32Array,
  weight: number,
): Promise<{ update: Float32Array; ready: ReadyMessage }> {
  // Randomizers do not depend on the update: normally stocked while this
  // client waited; else the workers make them while it trains.
  const precomputed = ctx.crypto?.pool.precompute(ctx.count);
  // Awaited after training; a pool closed meanwhile must not be an unhandled rejection first.
  precomputed?.catch(() => {});
  ctx.log.info(`round ${m.round}: training on ${ctx.trainer.trainCount} examples`);
  let lastQuarter = 0;
  const { type: _, round: __, baseRound: ___, ...settings } = m;
  const result = await ctx.trainer.train(
    base,
    { ...settings, seed: m.seed ^ ctx.shard },
    (done, total) => {
      const quarter = Math.floor((4 * done) / total);
      if (quarter > lastQuarter && quarter < 4) {
        lastQuarter = quarter;
        ctx.log.info(`round ${m.round}: training ${quarter * 25}%`);
      }
    },
  );
  const weights = result.weights;
  const update = new Float32Array(weights.length);
  for (let i = 0; i < update.length; i++) update[i] = weights[i]! - base[i]!;
  await precomputed;
  restock(ctx, m.round);
  ctx.log.info(
    `round ${m.round}: trained in ${result.seconds.toFixed(1)} s (loss ${result.loss.toFixed(4)})`,
  );
  return {
    update,
    ready: {
      type: "ready",
      round: m.round,
      weight,
      trainLoss: result.loss,
      trainAccuracy: result.accuracy,
      trainSeconds: result.seconds,
    },
  };
}

/**
 * Stocks the next round's randomizers on top of this round's from the moment
 * training ends: the wait for the other clients and for the model is idle
 * time, and the pool's top-up steps let this round's encryption go first. A
 * re-announced attempt takes the randomizers stocked for the next round,
 * and the next training's top-up makes them again. Not after the last round, where nothing
 * would use them while the owner (on the same machine, perhaps) decrypts;
 * not where this client decrypts the aggregate itself (shared-key mode),
 * which would compete with it.
 */
function restock(ctx: ContributorContext, round: number): void {
  if (!ctx.crypto || ctx.config.mode !== "owner" || round >= ctx.config.rounds) return;
  ctx.crypto.pool.precompute(2 * ctx.count).catch(() => {});
}

/** The checks every client makes before masking for a set. */
function checkSet(ctx: ContributorContext, a: AnnounceMessage, weight: number): void {
  const ids = new Set(a.set.map((m) => m.id));
  if (ids.size !== a.set.length) {
    throw new FlheError("protocol", "the announced set lists a client twice");
  }
  if (a.set.length < ctx.config.minClients) {
    throw new FlheError(
      "protocol",
      `the announced set has ${a.set.length} clients, fewer than minClients ${ctx.config.minClients}`,
    );
  }
  const stranger = a.set.find((m) => !peerKeys(ctx.peers, m.id));
  if (stranger) {
    throw new FlheError("protocol", `the announced set names ${stranger.id}, not a client`);
  }
  const self = a.set.find((m) => m.id === ctx.id);
  if (!self) throw new FlheError("protocol", `the announced set does not include ${ctx.id}`);
  if (self.weight !== weight) {
    throw new FlheError(
      "protocol",
      `the announced set gives ${ctx.id} weight ${self.weight}, not ${weight}`,
    );
  }
  const heavy = a.set.find((m) => m.weight > ctx.weightCap);
  if (heavy) {
    throw new FlheError(
      "protocol",
      `the announced set gives ${heavy.id} weight ${heavy.weight}, above the cap ${ctx.weightCap}`,
    );
  }
}

function checkAttempt(ctx: ContributorContext, work: RoundWork, a: AnnounceMessage): void {
  if (a.attempt === 1) {
    if (work.answers.has(2)) {
      throw new FlheError("protocol", `attempt 1 after attempt 2 of round ${a.round}`);
    }
    return;
  }
  // Two sums over nested sets reveal the difference: only the owner, who
  // decrypts a round once, makes a re-announcement safe.
  if (ctx.config.mode !== "owner") {
    throw new FlheError("protocol", "a re-announced set is refused in shared-key mode");
  }
  const first = work.answers.get(1);
  if (
    !first || a.set.length >= first.set.length ||
    a.set.some((m) => !first.set.some((f) => f.id === m.id && f.weight === m.weight))
  ) {
    throw new FlheError("protocol", "a re-announced set must be a smaller part of the first one");
  }
}

/**
 * The update packed with this client's packing weight for the set: Paillier
 * plaintexts (clipped, quantized, offset, weighted) or weighted float32.
 */
function encode(ctx: ContributorContext, work: RoundWork, a: AnnounceMessage): Uint8Array {
  const packing = packingWeights(a.set, ctx.config.encoding.maxTotalWeight);
  const weight = packing[a.set.findIndex((m) => m.id === ctx.id)]!;
  if (!ctx.crypto) return new Uint8Array(work.update.map((v) => v * weight).buffer);
  const { publicKey, codec } = ctx.crypto;
  const { plaintexts, clipped } = encodeUpdate(work.update, weight, publicKey.n, codec);
  if (clipped > 0) {
    ctx.log.warn(`round ${a.round}: ${clipped} update values clipped to +-${codec.clipRange}`);
  }
  return plaintexts;
}

async function maskAndSeal(
  ctx: ContributorContext,
  work: RoundWork,
  a: AnnounceMessage,
): Promise<UpdateMessage> {
  const start = performance.now();
  const encoded = encode(ctx, work, a);
  if (!ctx.crypto) {
    return {
      type: "update",
      round: a.round,
      attempt: a.attempt,
      count: ctx.count,
      weight: work.ready.weight,
      encryptSeconds: 0,
      signature: "",
      payload: encoded,
    };
  }
  const { publicKey, pool, keys, pairKeys } = ctx.crypto;
  const mask = await maskVector({
    selfId: ctx.id,
    pairKeys,
    set: a.set,
    round: a.round,
    attempt: a.attempt,
    context: ctx.config.fingerprint,
    count: ctx.count,
    modulus: publicKey.n,
    width: publicKey.plaintextBytes,
  });
  const masked = addMask(encoded, mask, publicKey.n, publicKey.plaintextBytes);
  const payload = await pool.encrypt(masked);
  const signature = await signContribution(keys, {
    context: ctx.config.fingerprint,
    round: a.round,
    attempt: a.attempt,
    set: a.set,
    id: ctx.id,
    weight: work.ready.weight,
    digest: await sha256Hex(payload),
  });
  const encryptSeconds = (performance.now() - start) / 1000;
  ctx.log.info(
    `round ${a.round}: masked for ${a.set.length} clients, encrypted and signed in ${
      encryptSeconds.toFixed(2)
    } s, sending ${(payload.length / 1024).toFixed(0)} KiB`,
  );
  return {
    type: "update",
    round: a.round,
    attempt: a.attempt,
    count: ctx.count,
    weight: work.ready.weight,
    encryptSeconds,
    signature: toHex(signature),
    payload,
  };
}
