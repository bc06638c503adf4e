/**
 * A client's part of a round, in two steps (protocol v3). On "fit": train
 * from the held model with the federation's settings and a seed of the
 * client's own, and say "ready" with the client's weight. On "announce":
 * check the announced set, encode the update with the packing weight the
 * set gives this client, mask it for exactly that set and base model,
 * encrypt, record it in the contribution ledger (on disk) and only then
 * upload it signed. From a base model it already contributed from, a
 * client answers only the very same set, with the very same ciphertexts.
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
import type { Trainer, TrainSettings } from "./trainer.ts";
import type { ContributionLedger, LedgerEntry } from "./client_ledger.ts";
import { modelDigest } from "./model_digest.ts";
import type { PrivacyBudget } from "./client_privacy.ts";

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
  /** This client's number (mixed into a fixed training seed). */
  readonly shard: number;
  /**
   * A fixed seed for this client's shuffles (reproducible runs); absent: a
   * fresh random seed each round. Either way the client's, never the server's.
   */
  readonly trainSeed?: number;
  readonly config: FederationConfig;
  readonly peers: Peers;
  /** Largest weight any client may declare. */
  readonly weightCap: number;
  /** Values (or ciphertexts) per update. */
  readonly count: number;
  /** Trains in a worker, on this client's share. */
  readonly trainer: Trainer;
  readonly crypto?: ClientCrypto;
  /** What this client contributed from each base model, across restarts. */
  readonly ledger: ContributionLedger;
  /** The privacy budget, charged before each round's training (DP federations). */
  readonly privacy?: PrivacyBudget;
  readonly log: Logger;
}

/** The model a client trains from. */
export interface BaseModel {
  /** Its round (0: the initial model). */
  readonly round: number;
  readonly weights: Float32Array;
}

/** The steps of a client's round. */
export interface Contributor {
  /**
   * Trains for a round (or repeats the answer already given for it).
   *
   * @param m The fit request.
   * @param held The model the client holds.
   * @returns The ready message to send.
   * @throws {FlheError} `protocol` if the request cannot be honoured.
   */
  fit(m: FitMessage, held: BaseModel): Promise<ReadyMessage>;
  /**
   * Masks, encrypts, records and signs the update for an announced set.
   *
   * @param a The announcement.
   * @returns The update to send.
   * @throws {FlheError} `protocol` naming what is wrong with the announcement.
   */
  announce(a: AnnounceMessage): Promise<UpdateMessage>;
  /** The set this client signed for a round, if any. */
  signedSet(round: number): readonly SetMember[] | undefined;
}

interface RoundWork {
  readonly round: number;
  readonly baseRound: number;
  /** SHA-256 of the base model. */
  readonly base: string;
  readonly ready: ReadyMessage;
  /** The update, `w_k - w_t` (absent when the base was contributed from before). */
  readonly update?: Float32Array;
  /** The answer given to this round's announcement. */
  answer?: {
    readonly setKey: string;
    readonly set: readonly SetMember[];
    readonly update: UpdateMessage;
  };
}

const setKey = (set: readonly SetMember[]) =>
  [...set].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    .map((m) => `${m.id}:${m.weight}`).join(",");

const setNames = (set: readonly SetMember[]) => set.map((m) => m.id).join(", ");

/**
 * Creates the contributor.
 *
 * @param ctx Identity, data, model, crypto, ledger.
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
  const weight = Math.min(ctx.trainer.trainCount, ctx.weightCap);
  return {
    async fit(m, held) {
      if (work?.round === m.round && work.baseRound === m.baseRound) return work.ready;
      if (work && m.round <= work.round) {
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
      const base = await modelDigest(held.weights);
      const earlier = await ctx.ledger.get(base);
      if (earlier) {
        ctx.log.info(
          `round ${m.round}: already contributed from the model of round ${held.round}; ready for the same set only (${
            setNames(earlier.set)
          })`,
        );
        const ready = readyMessage(m.round, earlier.weight, 0, earlier.set);
        work = { round: m.round, baseRound: held.round, base, ready };
        return ready;
      }
      // Charged on disk before training: a restart never gives budget back.
      await ctx.privacy?.charge(m.round);
      const trained = await train(ctx, m, held.weights);
      const ready = readyMessage(m.round, weight, trained.seconds, []);
      work = { round: m.round, baseRound: held.round, base, ready, update: trained.update };
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
      checkSet(ctx, a, work.ready.weight);
      const key = setKey(a.set);
      if (work.answer) {
        if (work.answer.setKey === key) return work.answer.update;
        throw new FlheError("protocol", `a second set for round ${a.round} is refused`);
      }
      const entry = await ctx.ledger.get(work.base) ?? await contribute(ctx, work, a);
      if (setKey(entry.set) !== key) {
        throw new FlheError(
          "protocol",
          `already contributed from the model of round ${work.baseRound} to the set ${
            setNames(entry.set)
          }; another set from the same model is refused`,
        );
      }
      const update = await signed(ctx, a, entry);
      work.answer = { setKey: key, set: a.set, update };
      return update;
    },
    signedSet(round) {
      return work?.round === round ? work.answer?.set : undefined;
    },
  };
}

function readyMessage(
  round: number,
  weight: number,
  trainSeconds: number,
  contributed: readonly SetMember[],
): ReadyMessage {
  return { type: "ready", round, weight, trainSeconds, contributed };
}

/**
 * This round's shuffle seed: from the client's own CSPRNG, or from its fixed
 * `trainSeed` (the same derivation as the federation's seed once gave, so a
 * demo with the same seed reproduces its accuracy). The server never chooses it.
 */
function ownSeed(ctx: ContributorContext, round: number): number {
  if (ctx.trainSeed === undefined) return crypto.getRandomValues(new Uint32Array(1))[0]!;
  return (((ctx.trainSeed * 1_000_003 + round) >>> 0) ^ ctx.shard) >>> 0;
}

async function train(
  ctx: ContributorContext,
  m: FitMessage,
  base: Float32Array,
): Promise<{ update: Float32Array; seconds: number }> {
  // Randomizers do not depend on the update: normally stocked while this
  // client waited; else the workers make them while it trains.
  const precomputed = ctx.crypto?.pool.precompute(ctx.count);
  // Awaited after training; a pool closed meanwhile must not be an unhandled rejection first.
  precomputed?.catch(() => {});
  ctx.log.info(`round ${m.round}: training on ${ctx.trainer.trainCount} examples`);
  let lastQuarter = 0;
  const result = await ctx.trainer.train(
    base,
    { ...ctx.config.training, seed: ownSeed(ctx, m.round), ...dpSettings(ctx) },
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
  // The loss stays here: nothing about the client's data travels in clear.
  ctx.log.info(
    `round ${m.round}: trained in ${result.seconds.toFixed(1)} s (loss ${result.loss.toFixed(4)})`,
  );
  return { update, seconds: result.seconds };
}

/** DP-SGD's settings for the trainer, in a DP federation. */
function dpSettings(ctx: ContributorContext): Pick<TrainSettings, "dp"> {
  if (!ctx.privacy) return {};
  const { clipNorm, noiseMultiplier, sampleRate } = ctx.privacy.plan;
  return { dp: { clipNorm, noiseMultiplier, sampleRate } };
}

/**
 * Stocks the next round's randomizers on top of this round's from the moment
 * training ends: the wait for the other clients and for the model is idle
 * time, and the pool's top-up steps let this round's encryption go first.
 * Not after the last round, where nothing would use them while the owner (on
 * the same machine, perhaps) decrypts; not where this client decrypts the
 * updates' product itself (shared-key mode), which would compete with it.
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

/**
 * The update packed with this client's packing weight for the set: Paillier
 * plaintexts (clipped, quantized, offset, weighted) or weighted float32.
 */
function encode(ctx: ContributorContext, update: Float32Array, a: AnnounceMessage): Uint8Array {
  const packing = packingWeights(a.set, ctx.config.encoding.maxTotalWeight);
  const weight = packing[a.set.findIndex((m) => m.id === ctx.id)]!;
  if (!ctx.crypto) return new Uint8Array(update.map((v) => v * weight).buffer);
  const { publicKey, codec } = ctx.crypto;
  const { plaintexts, clipped } = encodeUpdate(update, weight, publicKey.n, codec);
  if (clipped > 0) {
    ctx.log.warn(`round ${a.round}: ${clipped} update values clipped to +-${codec.clipRange}`);
  }
  return plaintexts;
}

/**
 * Masks and encrypts the update for the set and records it in the ledger:
 * the one contribution this client ever makes from this base model.
 */
async function contribute(
  ctx: ContributorContext,
  work: RoundWork,
  a: AnnounceMessage,
): Promise<LedgerEntry> {
  if (!work.update) {
    throw new FlheError("protocol", `round ${a.round}: no update trained for this base model`);
  }
  const start = performance.now();
  const encoded = encode(ctx, work.update, a);
  let payload = encoded;
  if (ctx.crypto) {
    const { publicKey, pool, pairKeys } = ctx.crypto;
    const mask = await maskVector({
      selfId: ctx.id,
      pairKeys,
      set: a.set,
      base: work.base,
      context: ctx.config.fingerprint,
      count: ctx.count,
      modulus: publicKey.n,
      width: publicKey.plaintextBytes,
    });
    const masked = addMask(encoded, mask, publicKey.n, publicKey.plaintextBytes);
    payload = await pool.encrypt(masked);
  }
  const entry: LedgerEntry = {
    baseRound: work.baseRound,
    base: work.base,
    set: a.set,
    weight: work.ready.weight,
    count: ctx.count,
    encryptSeconds: (performance.now() - start) / 1000,
    payload,
  };
  // On disk before anything leaves: after a crash this very upload is repeated.
  await ctx.ledger.record(entry);
  if (ctx.crypto) {
    ctx.log.info(
      `round ${a.round}: masked for ${a.set.length} clients and encrypted in ${
        entry.encryptSeconds.toFixed(2)
      } s, sending ${(payload.length / 1024).toFixed(0)} KiB`,
    );
  }
  return entry;
}

/** The upload of a recorded contribution, signed for this round (Ed25519 is deterministic). */
async function signed(
  ctx: ContributorContext,
  a: AnnounceMessage,
  entry: LedgerEntry,
): Promise<UpdateMessage> {
  const signature = ctx.crypto
    ? toHex(
      await signContribution(ctx.crypto.keys, {
        context: ctx.config.fingerprint,
        round: a.round,
        baseRound: entry.baseRound,
        base: entry.base,
        set: entry.set,
        id: ctx.id,
        weight: entry.weight,
        digest: await sha256Hex(entry.payload),
      }),
    )
    : "";
  return {
    type: "update",
    round: a.round,
    base: entry.base,
    count: entry.count,
    weight: entry.weight,
    encryptSeconds: entry.encryptSeconds,
    signature,
    payload: entry.payload,
  };
}
