/**
 * Pairwise masks inside Paillier plaintexts (Bonawitz et al., "Practical
 * Secure Aggregation", CCS 2017, applied under HE).
 *
 * Every pair of clients `k, j` shares a key `s_kj` from X25519. For a base
 * model `B` (the global model the update was trained from, by its SHA-256)
 * and announced set `U`, client `k` adds to its i-th packed plaintext
 *
 * ```
 * M_k[i] = sum over j in U, j != k, of sign(k, j) * PRF(s_kj, context, B, U, i)  mod n
 * ```
 *
 * with `sign = +1` if `k` comes before `j` ({@linkcode compareClientIds}),
 * else `-1`. Each pair's terms appear once with each sign, so the masks of
 * all members of `U` sum to 0 mod `n`, while one client's masked plaintext,
 * or the sum of any proper subset of `U`, is uniform mod `n` to anyone who
 * lacks a pair key across the subset's border.
 *
 * PRF: HKDF-SHA256 from the pair key, with the SHA-256 of the base model's
 * digest and the whole sorted set with weights, and the pair's ids as `info`
 * (length-prefixed, under the domain `flhe-mask-v3`), gives an AES-256-CTR
 * key; its keystream is cut into values of `width + 16` bytes, rounded up to
 * a multiple of 4, each read as a big-endian integer and reduced mod `n`.
 * The at least 128 extra bits make the bias of that reduction below
 * `2^-128`.
 *
 * Never mask two different vectors with the same context, base and set: the
 * difference of the two masked vectors would be the difference of the
 * plaintexts. The masks do not depend on the round number on purpose: a
 * round that failed may be run again from the same base only with the same
 * set, where every member that already uploaded repeats its ciphertexts
 * byte for byte (its contribution ledger) and the others mask afresh with
 * the very same masks, so the sum is the one it would have been.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { CanonicalWriter } from "./_canonical.ts";
import { checkContext, checkInteger } from "./_checks.ts";
import { writeBigint } from "../util/bigint_bytes.ts";
import { checkModulus } from "./_fixed.ts";
import { fromHex, HEX32_PATTERN } from "./_hex.ts";
import { canonicalSet, compareClientIds, type SetMember } from "./announced_set.ts";
import { type ClientPublicKeys, type ClientSecretKeys, exportClientPublicKeys } from "./keys.ts";

const MASK_DOMAIN = "flhe-mask-v3";
/** Values masked per AES-CTR call: bounds memory for long vectors. A multiple of 4. */
const CHUNK_VALUES = 1024;
/** Keystreams computed concurrently. */
const PEER_BATCH = 8;
/** Largest vector accepted (values). */
const MAX_COUNT = 1 << 24;
/** Widest value accepted (bytes): 64 Kibit, far above any Paillier modulus in use. */
const TWO_32 = 4294967296;
const HEX_CODES = new TextEncoder().encode("0123456789abcdef");
const latin1 = new TextDecoder("latin1");

/**
 * Options of {@linkcode maskVector}.
 *
 * @example Usage
 * ```ts
 * import type { MaskOptions } from "./masks.ts";
 * const options: MaskOptions = {
 *   selfId: "client-1",
 *   pairKeys: new Map(),
 *   set: [{ id: "client-1", weight: 600 }, { id: "client-2", weight: 400 }],
 *   base: "cd".repeat(32),
 *   context: "ab".repeat(32),
 *   count: 980,
 *   modulus: (1n << 2047n) + 1n,
 *   width: 256,
 * };
 * ```
 */
export interface MaskOptions {
  /** The masking client's id. */
  readonly selfId: string;
  /** Pair keys from {@linkcode pairSecrets}, by peer id. */
  readonly pairKeys: ReadonlyMap<string, CryptoKey>;
  /** The announced set, including `selfId`; order does not matter. */
  readonly set: readonly SetMember[];
  /** SHA-256 (64 lower-case hex digits) of the base model the update was trained from. */
  readonly base: string;
  /** What else the masks are bound to, e.g. the Paillier key fingerprint. */
  readonly context: string;
  /** Number of values (packed plaintexts). */
  readonly count: number;
  /** The modulus of the values (Paillier `n`). */
  readonly modulus: bigint;
  /** Bytes per value, fixed-width big-endian; `modulus` must fit. */
  readonly width: number;
}

/**
 * Derives this client's pair key with every peer by X25519 key agreement.
 * The shared secret goes straight into a non-extractable HKDF key: its bits
 * are never visible to the program.
 *
 * @param own This client's keys.
 * @param peers The public keys of the federation's clients; an entry with
 *   this client's own id is skipped if its keys are this client's.
 * @returns Pair keys by peer id (HKDF base keys, usable for `deriveKey`).
 * @throws {FlheError} `input` if a peer is listed twice or its agreement key
 *   is malformed or of low order; `auth` if the entry with this client's id
 *   holds other keys than its own.
 *
 * @example Usage
 * ```ts
 * import { exportClientPublicKeys, generateClientKeys, pairSecrets } from "./mod.ts";
 * const a = await generateClientKeys("client-1");
 * const b = await generateClientKeys("client-2");
 * const peers = [await exportClientPublicKeys(a), await exportClientPublicKeys(b)];
 * const pairKeys = await pairSecrets(a, peers); // Map { "client-2" => CryptoKey }
 * ```
 */
export async function pairSecrets(
  own: ClientSecretKeys,
  peers: readonly ClientPublicKeys[],
): Promise<Map<string, CryptoKey>> {
  const self = await exportClientPublicKeys(own);
  const seen = new Set<string>();
  const others: ClientPublicKeys[] = [];
  for (const peer of peers) {
    if (seen.has(peer.id)) {
      throw new FlheError("input", `pair secrets: ${peer.id} is listed twice`);
    }
    seen.add(peer.id);
    if (peer.id === own.id) {
      if (peer.agreementKey !== self.agreementKey || peer.verifyKey !== self.verifyKey) {
        throw new FlheError(
          "auth",
          `pair secrets: the keys listed for ${own.id} are not this client's keys`,
        );
      }
      continue;
    }
    if (!HEX32_PATTERN.test(peer.agreementKey)) {
      throw new FlheError(
        "input",
        `pair secrets: agreement key of ${peer.id} is not 64 hex digits`,
      );
    }
    others.push(peer);
  }
  const entries = await Promise.all(others.map(async (peer): Promise<[string, CryptoKey]> => {
    try {
      const publicKey = await crypto.subtle.importKey(
        "raw",
        fromHex(peer.agreementKey),
        { name: "X25519" },
        false,
        [],
      );
      const key = await crypto.subtle.deriveKey(
        { name: "X25519", public: publicKey },
        own.agreement.privateKey,
        "HKDF",
        false,
        ["deriveKey"],
      );
      return [peer.id, key];
    } catch (e) {
      // Web Crypto refuses a low-order point (all-zero shared secret).
      throw new FlheError(
        "input",
        `pair secrets: agreement key of ${peer.id} is not a usable X25519 key`,
        { cause: e },
      );
    }
  }));
  return new Map(entries);
}

/**
 * SHA-256 of everything the masks are bound to. Each pair key's
 * HKDF info then holds this digest and the pair's ids: the same binding as
 * the whole set, without hashing the set once per peer.
 */
async function roundDigest(
  context: string,
  base: string,
  set: readonly SetMember[],
): Promise<Uint8Array> {
  const w = new CanonicalWriter().string(MASK_DOMAIN).string(context).bytes(fromHex(base));
  w.uint(set.length);
  for (const m of set) w.string(m.id).uint(m.weight);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", w.finish()));
}

/**
 * Computes this client's mask for one round: `count` values mod `modulus`,
 * which cancel in the sum over all members of the announced set.
 *
 * @param options What the mask is for; see {@linkcode MaskOptions}.
 * @returns `count * width` bytes: fixed-width big-endian values below
 *   `modulus`.
 * @throws {FlheError} `protocol` if the set has fewer than 2 members, lacks
 *   `selfId`, lists an id twice or has a member without a pair key, or if the
 *   base or context is malformed; `usage` or `range` if `count`,
 *   `width` or `modulus` is unusable.
 *
 * @example Usage
 * ```ts
 * import { exportClientPublicKeys, generateClientKeys, maskVector, pairSecrets } from "./mod.ts";
 * const a = await generateClientKeys("client-1");
 * const b = await generateClientKeys("client-2");
 * const set = [{ id: "client-1", weight: 3 }, { id: "client-2", weight: 5 }];
 * const mask = await maskVector({
 *   selfId: "client-1",
 *   pairKeys: await pairSecrets(a, [await exportClientPublicKeys(b)]),
 *   set, base: "cd".repeat(32), context: "ab".repeat(32),
 *   count: 4, modulus: 1000003n, width: 3,
 * }); // 12 bytes
 * ```
 */
export async function maskVector(options: MaskOptions): Promise<Uint8Array> {
  const { count, width } = options;
  const set = checkMaskOptions(options);
  const streamKeys = await peerStreams(options, set);
  // Each value's keystream is read as `limbs` 32-bit big-endian words, and
  // the signed sum over peers is kept per word in a float64 (exact: at most
  // MAX_SET_SIZE * 2^32 < 2^53). Carries and one BigInt conversion and
  // reduction per value come at the end: far cheaper than a BigInt per value
  // and peer.
  const limbs = Math.ceil((width + 16) / 4);
  const out = new Uint8Array(count * width);
  const acc = new Float64Array(Math.min(count, CHUNK_VALUES) * limbs);
  for (let first = 0; first < count; first += CHUNK_VALUES) {
    const n = Math.min(CHUNK_VALUES, count - first);
    await sumKeystreams(streamKeys, acc, first, n, limbs);
    reduceChunk(acc, n, limbs, options.modulus, out, first, width);
  }
  return out;
}

/** The argument checks of {@linkcode maskVector}; returns the canonical set. */
function checkMaskOptions(options: MaskOptions): readonly SetMember[] {
  const { selfId, base, context, count, modulus, width } = options;
  const where = "mask";
  checkModulus(where, modulus, width);
  checkInteger(where, "count", count, 0, "usage");
  if (count > MAX_COUNT) {
    throw new FlheError("usage", `${where}: count is ${count}, more than ${MAX_COUNT}`);
  }
  if (typeof base !== "string" || !HEX32_PATTERN.test(base)) {
    throw new FlheError("protocol", `${where}: base is not 64 lower-case hex digits`);
  }
  checkContext(where, context);
  const set = canonicalSet(where, options.set);
  if (set.length < 2) {
    throw new FlheError(
      "protocol",
      `${where}: the announced set has ${set.length} member(s); masks need at least 2`,
    );
  }
  if (!set.some((m) => m.id === selfId)) {
    throw new FlheError("protocol", `${where}: the announced set does not include ${selfId}`);
  }
  return set;
}

/** One AES-CTR key per peer of the set, bound to the base and set, with the sign of its mask. */
async function peerStreams(
  options: MaskOptions,
  set: readonly SetMember[],
): Promise<{ readonly key: CryptoKey; readonly sign: 1 | -1 }[]> {
  const { selfId, pairKeys } = options;
  const digest = await roundDigest(options.context, options.base, set);
  const peers = set.filter((m) => m.id !== selfId).map((m) => {
    const key = pairKeys.get(m.id);
    if (key === undefined) {
      throw new FlheError("protocol", `mask: set member ${m.id} has no pair key`);
    }
    const before = compareClientIds(selfId, m.id) < 0;
    return { key, before, low: before ? selfId : m.id, high: before ? m.id : selfId };
  });
  return await Promise.all(peers.map(async (p) => ({
    sign: p.before ? 1 as const : -1 as const,
    key: await crypto.subtle.deriveKey(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: new Uint8Array(0),
        info: new CanonicalWriter().string(MASK_DOMAIN).bytes(digest).string(p.low)
          .string(p.high).finish(),
      },
      p.key,
      { name: "AES-CTR", length: 256 },
      false,
      ["encrypt"],
    ),
  })));
}

/** Adds (or subtracts) every peer's keystream for values `first..first+n` into `acc`. */
async function sumKeystreams(
  peers: readonly { readonly key: CryptoKey; readonly sign: 1 | -1 }[],
  acc: Float64Array,
  first: number,
  n: number,
  limbs: number,
): Promise<void> {
  const stride = limbs * 4;
  const words = n * limbs;
  // The chunk starts at keystream byte first * stride, a multiple of 16
  // because CHUNK_VALUES is a multiple of 4: a whole AES block number.
  const counter = new Uint8Array(16);
  new DataView(counter.buffer).setBigUint64(8, BigInt((first * stride) / 16));
  const zeros = new Uint8Array(n * stride);
  acc.fill(0, 0, words);
  // A few keystreams at a time: concurrency for Web Crypto's threads,
  // bounded memory for large sets.
  for (let batch = 0; batch < peers.length; batch += PEER_BATCH) {
    const group = peers.slice(batch, batch + PEER_BATCH);
    const streams = await Promise.all(
      group.map((p) =>
        crypto.subtle.encrypt({ name: "AES-CTR", counter, length: 64 }, p.key, zeros)
      ),
    );
    streams.forEach((stream, s) => {
      const view = new DataView(stream);
      if (group[s]!.sign === 1) {
        for (let k = 0; k < words; k++) acc[k]! += view.getUint32(4 * k);
      } else {
        for (let k = 0; k < words; k++) acc[k]! -= view.getUint32(4 * k);
      }
    });
  }
}

/** Turns the summed words of `n` values into fixed-width values mod `modulus` in `out`. */
function reduceChunk(
  acc: Float64Array,
  n: number,
  limbs: number,
  modulus: bigint,
  out: Uint8Array,
  first: number,
  width: number,
): void {
  const hexChars = new Uint8Array(n * limbs * 8);
  const carries = new Float64Array(n);
  // Normalise each value's words to [0, 2^32) from the least significant
  // up, leaving a small signed carry above the top word.
  for (let v = 0; v < n; v++) {
    let carry = 0;
    const base = v * limbs;
    for (let k = base + limbs - 1; k >= base; k--) {
      const x = acc[k]! + carry;
      carry = Math.floor(x / TWO_32);
      const word = x - carry * TWO_32;
      let c = k * 8 + 7;
      for (let d = 0; d < 8; d++) hexChars[c--] = HEX_CODES[(word >>> (4 * d)) & 15]!;
    }
    carries[v] = carry;
  }
  const hex = latin1.decode(hexChars);
  const digits = limbs * 8;
  const shift = BigInt(32 * limbs);
  for (let v = 0; v < n; v++) {
    let value = BigInt("0x" + hex.substring(v * digits, (v + 1) * digits));
    if (carries[v] !== 0) value += BigInt(carries[v]!) << shift;
    value %= modulus;
    if (value < 0n) value += modulus;
    writeBigint(value, width, out, (first + v) * width);
  }
}
