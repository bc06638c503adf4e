/**
 * Long-term keys of protocol v2: each client has an X25519 key pair (pairwise
 * mask secrets) and an Ed25519 key pair (signed contributions); the owner has
 * an Ed25519 key pair (signed models). Public keys travel as 64 hex digits
 * (the raw 32 bytes). Key files, JSON:
 *
 * ```json
 * client:  { "format": "flhe-client-keys", "version": 1, "id": "client-1",
 *            "agreementKey": "<64 hex>", "verifyKey": "<64 hex>",
 *            "agreementPrivate": "<PKCS#8 hex>", "signingPrivate": "<PKCS#8 hex>" }
 * owner:   { "format": "flhe-owner-signing-key", "version": 1,
 *            "verifyKey": "<64 hex>", "signingPrivate": "<PKCS#8 hex>" }
 * ```
 *
 * Both are written with mode 0600; loading refuses a file that group or
 * others can read, and one whose public part does not belong to its private
 * part.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { checkPrivateFile, JsonFields, readJsonFile, writeFileAtomic } from "../util/fs.ts";
import { fromHex, HEX32_PATTERN, toHex } from "./_hex.ts";
import { CLIENT_ID_PATTERN } from "./announced_set.ts";

const CLIENT_FORMAT = "flhe-client-keys";
const OWNER_FORMAT = "flhe-owner-signing-key";
// An Ed25519 or X25519 PKCS#8 key is 48 bytes; leave room for the optional
// embedded public key of the v2 (OneAsymmetricKey) form.
const PKCS8_PATTERN = /^[0-9a-f]{64,256}$/;

/**
 * A client's public keys, as the owner's federation config lists them.
 *
 * @example Usage
 * ```ts
 * import type { ClientPublicKeys } from "./keys.ts";
 * const keys: ClientPublicKeys = { id: "client-1", agreementKey: "00".repeat(32), verifyKey: "00".repeat(32) };
 * ```
 */
export interface ClientPublicKeys {
  /** Client id, matching {@linkcode CLIENT_ID_PATTERN}. */
  readonly id: string;
  /** X25519 public key, raw 32 bytes as 64 lower-case hex digits. */
  readonly agreementKey: string;
  /** Ed25519 public key, raw 32 bytes as 64 lower-case hex digits. */
  readonly verifyKey: string;
}

/**
 * A client's key pairs. Keys made by {@linkcode generateClientKeys} are
 * extractable (so that they can be saved once); keys loaded from a file are
 * not.
 *
 * @example Usage
 * ```ts
 * import { type ClientSecretKeys, generateClientKeys } from "./keys.ts";
 * const keys: ClientSecretKeys = await generateClientKeys("client-1");
 * ```
 */
export interface ClientSecretKeys {
  /** Client id, matching {@linkcode CLIENT_ID_PATTERN}. */
  readonly id: string;
  /** X25519 key pair for the pairwise mask secrets. */
  readonly agreement: CryptoKeyPair;
  /** Ed25519 key pair for signing contributions. */
  readonly signing: CryptoKeyPair;
}

/**
 * The owner's Ed25519 key pair, which signs every sealed model.
 *
 * @example Usage
 * ```ts
 * import { generateOwnerSigningKey, type OwnerSigningKey } from "./keys.ts";
 * const key: OwnerSigningKey = await generateOwnerSigningKey();
 * key.verifyKey.length; // 64
 * ```
 */
export interface OwnerSigningKey {
  /** The key pair; its private key signs models. */
  readonly signing: CryptoKeyPair;
  /** The public key, raw 32 bytes as 64 lower-case hex digits. */
  readonly verifyKey: string;
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== "string" || !CLIENT_ID_PATTERN.test(id)) {
    throw new FlheError("usage", `client keys: id does not match ${CLIENT_ID_PATTERN}`);
  }
}

async function rawHex(publicKey: CryptoKey): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.exportKey("raw", publicKey)));
}

async function pkcs8Hex(privateKey: CryptoKey, what: string): Promise<string> {
  if (!privateKey.extractable) {
    throw new FlheError(
      "usage",
      `${what}: the private key is not extractable (keys loaded from a file are not saved again)`,
    );
  }
  return toHex(new Uint8Array(await crypto.subtle.exportKey("pkcs8", privateKey)));
}

async function importPrivate(
  path: string,
  fields: JsonFields,
  field: string,
  name: "X25519" | "Ed25519",
): Promise<CryptoKey> {
  const hex = fields.string(field, PKCS8_PATTERN);
  try {
    return await crypto.subtle.importKey(
      "pkcs8",
      fromHex(hex),
      { name },
      false,
      name === "X25519" ? ["deriveKey", "deriveBits"] : ["sign"],
    );
  } catch (e) {
    throw new FlheError("input", `${path}: field "${field}" is not an ${name} PKCS#8 key`, {
      cause: e,
    });
  }
}

async function importPublic(
  path: string,
  field: string,
  hex: string,
  name: "X25519" | "Ed25519",
): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey(
      "raw",
      fromHex(hex),
      { name },
      true,
      name === "X25519" ? [] : ["verify"],
    );
  } catch (e) {
    throw new FlheError("input", `${path}: field "${field}" is not an ${name} public key`, {
      cause: e,
    });
  }
}

// Web Crypto imports a private key without checking it against a public key
// given beside it (a JWK with a foreign "x" is accepted as is), so the match
// is checked by use: a signature must verify, and both sides of an X25519
// exchange with a fresh key must agree.
async function signingMatches(pair: CryptoKeyPair): Promise<boolean> {
  const probe = crypto.getRandomValues(new Uint8Array(32));
  const sig = await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, probe);
  return await crypto.subtle.verify({ name: "Ed25519" }, pair.publicKey, sig, probe);
}

async function agreementMatches(pair: CryptoKeyPair): Promise<boolean> {
  const probe = await crypto.subtle.generateKey({ name: "X25519" }, false, [
    "deriveBits",
  ]) as CryptoKeyPair;
  try {
    const ours = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "X25519", public: probe.publicKey },
        pair.privateKey,
        256,
      ),
    );
    const theirs = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "X25519", public: pair.publicKey },
        probe.privateKey,
        256,
      ),
    );
    let diff = 0;
    for (let i = 0; i < 32; i++) diff |= ours[i]! ^ theirs[i]!;
    ours.fill(0);
    theirs.fill(0);
    return diff === 0;
  } catch {
    // A low-order public key: it cannot belong to any private key.
    return false;
  }
}

/**
 * Generates a client's X25519 and Ed25519 key pairs.
 *
 * @param id The client id, matching {@linkcode CLIENT_ID_PATTERN}.
 * @returns Extractable key pairs, so that they can be saved with
 *   {@linkcode saveClientSecretKeys}.
 * @throws {FlheError} `usage` if the id is malformed.
 *
 * @example Usage
 * ```ts
 * import { generateClientKeys } from "./keys.ts";
 * const keys = await generateClientKeys("client-1");
 * ```
 */
export async function generateClientKeys(id: string): Promise<ClientSecretKeys> {
  checkId(id);
  const agreement = await crypto.subtle.generateKey({ name: "X25519" }, true, [
    "deriveKey",
    "deriveBits",
  ]) as CryptoKeyPair;
  const signing = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return Object.freeze({ id, agreement, signing });
}

/**
 * The public half of a client's keys, for the federation config.
 *
 * @param keys The client's keys.
 * @returns Its id and both public keys as hex.
 *
 * @example Usage
 * ```ts
 * import { exportClientPublicKeys, generateClientKeys } from "./keys.ts";
 * const pub = await exportClientPublicKeys(await generateClientKeys("client-1"));
 * pub.agreementKey.length; // 64
 * ```
 */
export async function exportClientPublicKeys(keys: ClientSecretKeys): Promise<ClientPublicKeys> {
  return Object.freeze({
    id: keys.id,
    agreementKey: await rawHex(keys.agreement.publicKey),
    verifyKey: await rawHex(keys.signing.publicKey),
  });
}

/**
 * Writes a client's key file with mode 0600.
 *
 * @param path Target path.
 * @param keys Keys from {@linkcode generateClientKeys}.
 * @throws {FlheError} `usage` if the private keys are not extractable
 *   (loaded from a file).
 *
 * @example Usage
 * ```ts
 * import { generateClientKeys, saveClientSecretKeys } from "./keys.ts";
 * await saveClientSecretKeys("/tmp/client-1.keys.json", await generateClientKeys("client-1"));
 * ```
 */
export async function saveClientSecretKeys(path: string, keys: ClientSecretKeys): Promise<void> {
  const pub = await exportClientPublicKeys(keys);
  const body = {
    format: CLIENT_FORMAT,
    version: 1,
    id: keys.id,
    agreementKey: pub.agreementKey,
    verifyKey: pub.verifyKey,
    agreementPrivate: await pkcs8Hex(keys.agreement.privateKey, `${keys.id} keys`),
    signingPrivate: await pkcs8Hex(keys.signing.privateKey, `${keys.id} keys`),
  };
  await writeFileAtomic(path, JSON.stringify(body, null, 2) + "\n", 0o600);
}

/**
 * Reads a client's key file.
 *
 * @param path The file written by {@linkcode saveClientSecretKeys}.
 * @returns The keys; the private keys are not extractable.
 * @throws {FlheError} `auth` if group or others can read the file, or if a
 *   public key does not belong to its private key; `input` naming the file
 *   and field if it is missing or malformed.
 *
 * @example Usage
 * ```ts
 * import { generateClientKeys, loadClientSecretKeys, saveClientSecretKeys } from "./keys.ts";
 * await saveClientSecretKeys("/tmp/client-1.keys.json", await generateClientKeys("client-1"));
 * const keys = await loadClientSecretKeys("/tmp/client-1.keys.json");
 * ```
 */
export async function loadClientSecretKeys(path: string): Promise<ClientSecretKeys> {
  await checkPrivateFile(path);
  const fields = new JsonFields(path, await readJsonFile(path));
  fields.oneOf("format", [CLIENT_FORMAT]);
  fields.number("version", 1, 1);
  const id = fields.string("id", CLIENT_ID_PATTERN);
  const agreement: CryptoKeyPair = {
    privateKey: await importPrivate(path, fields, "agreementPrivate", "X25519"),
    publicKey: await importPublic(
      path,
      "agreementKey",
      fields.string("agreementKey", HEX32_PATTERN),
      "X25519",
    ),
  };
  const signing: CryptoKeyPair = {
    privateKey: await importPrivate(path, fields, "signingPrivate", "Ed25519"),
    publicKey: await importPublic(
      path,
      "verifyKey",
      fields.string("verifyKey", HEX32_PATTERN),
      "Ed25519",
    ),
  };
  if (!await agreementMatches(agreement)) {
    throw new FlheError(
      "auth",
      `${path}: field "agreementKey" does not belong to the private key in "agreementPrivate"`,
    );
  }
  if (!await signingMatches(signing)) {
    throw new FlheError(
      "auth",
      `${path}: field "verifyKey" does not belong to the private key in "signingPrivate"`,
    );
  }
  return Object.freeze({
    id,
    agreement: Object.freeze(agreement),
    signing: Object.freeze(signing),
  });
}

/**
 * Checks a client's public keys from a JSON value, e.g. an entry of the
 * federation config or the output of `flhe client keygen`.
 *
 * @param path Names the source in error messages.
 * @param value The parsed JSON object `{ id, agreementKey, verifyKey }`.
 * @returns The keys.
 * @throws {FlheError} `input` naming the source and field if one is
 *   missing or malformed.
 *
 * @example Usage
 * ```ts
 * import { parseClientPublicKeys } from "./keys.ts";
 * const keys = parseClientPublicKeys("federation.json", {
 *   id: "client-1",
 *   agreementKey: "11".repeat(32),
 *   verifyKey: "22".repeat(32),
 * });
 * ```
 */
export function parseClientPublicKeys(path: string, value: unknown): ClientPublicKeys {
  const fields = new JsonFields(path, value);
  return Object.freeze({
    id: fields.string("id", CLIENT_ID_PATTERN),
    agreementKey: fields.string("agreementKey", HEX32_PATTERN),
    verifyKey: fields.string("verifyKey", HEX32_PATTERN),
  });
}

/**
 * Generates the owner's Ed25519 signing key.
 *
 * @returns An extractable key pair (so that it can be saved) and its
 *   verify key as hex.
 *
 * @example Usage
 * ```ts
 * import { generateOwnerSigningKey } from "./keys.ts";
 * const { verifyKey } = await generateOwnerSigningKey();
 * ```
 */
export async function generateOwnerSigningKey(): Promise<OwnerSigningKey> {
  const signing = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return Object.freeze({ signing, verifyKey: await rawHex(signing.publicKey) });
}

/**
 * Writes the owner's signing key file with mode 0600.
 *
 * @param path Target path.
 * @param key Key from {@linkcode generateOwnerSigningKey}.
 * @throws {FlheError} `usage` if the private key is not extractable.
 *
 * @example Usage
 * ```ts
 * import { generateOwnerSigningKey, saveOwnerSigningKey } from "./keys.ts";
 * await saveOwnerSigningKey("/tmp/owner-signing.json", await generateOwnerSigningKey());
 * ```
 */
export async function saveOwnerSigningKey(path: string, key: OwnerSigningKey): Promise<void> {
  const body = {
    format: OWNER_FORMAT,
    version: 1,
    verifyKey: await rawHex(key.signing.publicKey),
    signingPrivate: await pkcs8Hex(key.signing.privateKey, "owner signing key"),
  };
  await writeFileAtomic(path, JSON.stringify(body, null, 2) + "\n", 0o600);
}

/**
 * Reads the owner's signing key file.
 *
 * @param path The file written by {@linkcode saveOwnerSigningKey}.
 * @returns The key; the private key is not extractable.
 * @throws {FlheError} `auth` if group or others can read the file, or if
 *   the verify key does not belong to the private key; `input` naming the
 *   file and field if it is missing or malformed.
 *
 * @example Usage
 * ```ts
 * import { generateOwnerSigningKey, loadOwnerSigningKey, saveOwnerSigningKey } from "./keys.ts";
 * await saveOwnerSigningKey("/tmp/owner-signing.json", await generateOwnerSigningKey());
 * const key = await loadOwnerSigningKey("/tmp/owner-signing.json");
 * ```
 */
export async function loadOwnerSigningKey(path: string): Promise<OwnerSigningKey> {
  await checkPrivateFile(path);
  const fields = new JsonFields(path, await readJsonFile(path));
  fields.oneOf("format", [OWNER_FORMAT]);
  fields.number("version", 1, 1);
  const verifyKey = fields.string("verifyKey", HEX32_PATTERN);
  const signing: CryptoKeyPair = {
    privateKey: await importPrivate(path, fields, "signingPrivate", "Ed25519"),
    publicKey: await importPublic(path, "verifyKey", verifyKey, "Ed25519"),
  };
  if (!await signingMatches(signing)) {
    throw new FlheError(
      "auth",
      `${path}: field "verifyKey" does not belong to the private key in "signingPrivate"`,
    );
  }
  return Object.freeze({ signing: Object.freeze(signing), verifyKey });
}
