/**
 * Ed25519 signatures of protocol v3 over canonical byte encodings:
 *
 * - a client signs its contribution: context (the Paillier key fingerprint),
 *   round, the base model it trained from (its round and SHA-256), the
 *   announced set with weights, its id and weight, and the SHA-256 digest of
 *   its ciphertext bytes;
 * - the owner signs every sealed model: context, round and the digest of
 *   the sealed payload.
 *
 * Each kind starts with its own domain string (`flhe-contribution-v3`,
 * `flhe-model-v2`), so a signature of one kind is never valid as the other;
 * every field is length-prefixed or fixed-width and the set is in canonical
 * order, so no two different tuples encode to the same bytes, and the order
 * in which the server lists the set does not matter.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { sha256Hex } from "../util/hex.ts";
import { CanonicalWriter } from "./_canonical.ts";
import { checkContext, checkInteger, show } from "./_checks.ts";
import { fromHex, HEX32_PATTERN } from "./_hex.ts";
import { canonicalSet, type SetMember } from "./announced_set.ts";
import type { ClientSecretKeys } from "./keys.ts";

const CONTRIBUTION_DOMAIN = "flhe-contribution-v3";
const MODEL_DOMAIN = "flhe-model-v2";

/**
 * Bytes of an Ed25519 signature.
 *
 * @example Usage
 * ```ts
 * import { SIGNATURE_BYTES } from "./signatures.ts";
 * SIGNATURE_BYTES; // 64
 * ```
 */
export const SIGNATURE_BYTES = 64;

/**
 * What a client signs with its upload.
 *
 * @example Usage
 * ```ts
 * import type { Contribution } from "./signatures.ts";
 * const c: Contribution = {
 *   context: "ab".repeat(32), round: 1, baseRound: 0, base: "cd".repeat(32),
 *   set: [{ id: "client-1", weight: 600 }, { id: "client-2", weight: 400 }],
 *   id: "client-1", weight: 600, digest: "00".repeat(32),
 * };
 * ```
 */
export interface Contribution {
  /** The Paillier public key fingerprint (or other federation context). */
  readonly context: string;
  /** Round number. */
  readonly round: number;
  /** The round of the base model the update was trained from (0: the initial model). */
  readonly baseRound: number;
  /** SHA-256 of the base model's float32 bytes, 64 lower-case hex digits. */
  readonly base: string;
  /** The announced set the client masked for; order does not matter. */
  readonly set: readonly SetMember[];
  /** The signing client's id; must be in `set`. */
  readonly id: string;
  /** The signing client's weight; must equal its weight in `set`. */
  readonly weight: number;
  /** SHA-256 of the client's ciphertext bytes, 64 lower-case hex digits. */
  readonly digest: string;
}

/**
 * What the owner signs with a sealed model.
 *
 * @example Usage
 * ```ts
 * import type { ModelRelease } from "./signatures.ts";
 * const m: ModelRelease = { context: "ab".repeat(32), round: 1, digest: "00".repeat(32) };
 * ```
 */
export interface ModelRelease {
  /** The Paillier public key fingerprint (or other federation context). */
  readonly context: string;
  /** The round the model is the result of. */
  readonly round: number;
  /** SHA-256 of the sealed payload, 64 lower-case hex digits. */
  readonly digest: string;
}

function checkDigest(where: string, digest: unknown): asserts digest is string {
  if (typeof digest !== "string" || !HEX32_PATTERN.test(digest)) {
    throw new FlheError("protocol", `${where}: digest is not 64 lower-case hex digits`);
  }
}

function contributionBytes(c: Contribution): Uint8Array<ArrayBuffer> {
  const where = "contribution";
  checkContext(where, c.context);
  checkInteger(where, "round", c.round, 0);
  checkInteger(where, "baseRound", c.baseRound, 0);
  if (typeof c.base !== "string" || !HEX32_PATTERN.test(c.base)) {
    throw new FlheError("protocol", `${where}: base is not 64 lower-case hex digits`);
  }
  const set = canonicalSet(where, c.set);
  const own = set.find((m) => m.id === c.id);
  if (own === undefined) {
    throw new FlheError("protocol", `${where}: signer ${show(c.id)} is not in the announced set`);
  }
  if (own.weight !== c.weight) {
    throw new FlheError(
      "protocol",
      `${where}: weight of ${c.id} is ${c.weight} but ${own.weight} in the announced set`,
    );
  }
  checkDigest(where, c.digest);
  const w = new CanonicalWriter().string(CONTRIBUTION_DOMAIN).string(c.context)
    .uint(c.round).uint(c.baseRound).bytes(fromHex(c.base)).uint(set.length);
  for (const m of set) w.string(m.id).uint(m.weight);
  return w.string(c.id).uint(c.weight).bytes(fromHex(c.digest)).finish();
}

function modelBytes(m: ModelRelease): Uint8Array<ArrayBuffer> {
  const where = "model release";
  checkContext(where, m.context);
  checkInteger(where, "round", m.round, 0);
  checkDigest(where, m.digest);
  return new CanonicalWriter().string(MODEL_DOMAIN).string(m.context).uint(m.round)
    .bytes(fromHex(m.digest)).finish();
}

async function importVerifyKey(verifyKey: string): Promise<CryptoKey> {
  if (typeof verifyKey !== "string" || !HEX32_PATTERN.test(verifyKey)) {
    throw new FlheError("input", "verify key is not 64 lower-case hex digits");
  }
  try {
    return await crypto.subtle.importKey("raw", fromHex(verifyKey), { name: "Ed25519" }, false, [
      "verify",
    ]);
  } catch (e) {
    throw new FlheError("input", "verify key is not an Ed25519 public key", { cause: e });
  }
}

async function verify(
  verifyKey: string,
  bytes: Uint8Array<ArrayBuffer>,
  signature: Uint8Array,
): Promise<boolean> {
  const key = await importVerifyKey(verifyKey);
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false;
  return await crypto.subtle.verify({ name: "Ed25519" }, key, signature.slice(), bytes);
}

/**
 * SHA-256 of bytes as hex: the digest of a client's ciphertexts in a
 * {@linkcode Contribution}, and of a sealed payload in a
 * {@linkcode ModelRelease}.
 *
 * @param bytes The bytes, exactly as sent.
 * @returns 64 lower-case hex digits.
 *
 * @example Usage
 * ```ts
 * import { contributionDigest } from "./signatures.ts";
 * await contributionDigest(new Uint8Array(0));
 * // "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
 * ```
 */
export async function contributionDigest(bytes: Uint8Array): Promise<string> {
  return await sha256Hex(bytes);
}

/**
 * Signs a contribution with the client's Ed25519 key.
 *
 * @param secret The client's keys; their id must be the contribution's.
 * @param c The contribution.
 * @returns A 64-byte signature.
 * @throws {FlheError} `usage` if the keys belong to another client;
 *   `protocol` naming the field if the contribution is malformed (set, id not
 *   in the set, a weight different from the set's, digest, round, ...).
 *
 * @example Usage
 * ```ts
 * import { contributionDigest, generateClientKeys, signContribution } from "./mod.ts";
 * const keys = await generateClientKeys("client-1");
 * const signature = await signContribution(keys, {
 *   context: "ab".repeat(32), round: 1, baseRound: 0, base: "cd".repeat(32),
 *   set: [{ id: "client-1", weight: 600 }, { id: "client-2", weight: 400 }],
 *   id: "client-1", weight: 600, digest: await contributionDigest(new Uint8Array(8)),
 * });
 * ```
 */
export async function signContribution(
  secret: ClientSecretKeys,
  c: Contribution,
): Promise<Uint8Array> {
  if (secret.id !== c.id) {
    throw new FlheError("usage", `sign: the contribution is ${c.id}'s, the keys ${secret.id}'s`);
  }
  const bytes = contributionBytes(c);
  return new Uint8Array(
    await crypto.subtle.sign({ name: "Ed25519" }, secret.signing.privateKey, bytes),
  );
}

/**
 * Checks a client's signature of a contribution.
 *
 * @param verifyKey The client's Ed25519 public key, 64 hex digits.
 * @param c The contribution as received.
 * @param signature The signature as received.
 * @returns `true` only if `signature` is a valid signature of exactly `c`
 *   under `verifyKey`; `false` for any other signature, including one of the
 *   wrong length.
 * @throws {FlheError} `input` if `verifyKey` is malformed; `protocol` naming
 *   the field if `c` is malformed (it could not have been signed).
 *
 * @example Usage
 * ```ts
 * import { exportClientPublicKeys, generateClientKeys, signContribution, verifyContribution } from "./mod.ts";
 * const keys = await generateClientKeys("client-1");
 * const c = {
 *   context: "ab".repeat(32), round: 1, baseRound: 0, base: "cd".repeat(32),
 *   set: [{ id: "client-1", weight: 600 }, { id: "client-2", weight: 400 }],
 *   id: "client-1", weight: 600, digest: "00".repeat(32),
 * };
 * const { verifyKey } = await exportClientPublicKeys(keys);
 * await verifyContribution(verifyKey, c, await signContribution(keys, c)); // true
 * ```
 */
export async function verifyContribution(
  verifyKey: string,
  c: Contribution,
  signature: Uint8Array,
): Promise<boolean> {
  return await verify(verifyKey, contributionBytes(c), signature);
}

/**
 * Signs a model release with the owner's Ed25519 key.
 *
 * @param ownerPrivateKey The owner's private signing key.
 * @param m The release.
 * @returns A 64-byte signature.
 * @throws {FlheError} `protocol` naming the field if `m` is malformed.
 *
 * @example Usage
 * ```ts
 * import { contributionDigest, generateOwnerSigningKey, signModel } from "./mod.ts";
 * const owner = await generateOwnerSigningKey();
 * const digest = await contributionDigest(new Uint8Array(40));
 * const signature = await signModel(owner.signing.privateKey, { context: "ab".repeat(32), round: 1, digest });
 * ```
 */
export async function signModel(ownerPrivateKey: CryptoKey, m: ModelRelease): Promise<Uint8Array> {
  const bytes = modelBytes(m);
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, ownerPrivateKey, bytes));
}

/**
 * Checks the owner's signature of a model release.
 *
 * @param verifyKey The owner's Ed25519 public key, 64 hex digits.
 * @param m The release as received.
 * @param signature The signature as received.
 * @returns `true` only if `signature` is a valid signature of exactly `m`
 *   under `verifyKey`.
 * @throws {FlheError} `input` if `verifyKey` is malformed; `protocol` naming
 *   the field if `m` is malformed.
 *
 * @example Usage
 * ```ts
 * import { generateOwnerSigningKey, signModel, verifyModel } from "./mod.ts";
 * const owner = await generateOwnerSigningKey();
 * const m = { context: "ab".repeat(32), round: 1, digest: "00".repeat(32) };
 * await verifyModel(owner.verifyKey, m, await signModel(owner.signing.privateKey, m)); // true
 * ```
 */
export async function verifyModel(
  verifyKey: string,
  m: ModelRelease,
  signature: Uint8Array,
): Promise<boolean> {
  return await verify(verifyKey, modelBytes(m), signature);
}
