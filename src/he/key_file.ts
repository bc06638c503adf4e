/**
 * Key files, JSON:
 *
 * ```json
 * public.json:  { "format": "flhe-paillier-public", "version": 1, "keyBits": 2048,
 *                 "n": "<hex>", "hs": "<hex>", "fingerprint": "<sha-256 hex>" }
 * secret.json:  { "format": "flhe-paillier-secret", "version": 1, "keyBits": 2048,
 *                 "n": "<hex>", "hs": "<hex>", "p": "<hex>", "q": "<hex>",
 *                 "fingerprint": "<sha-256 hex>" }
 * ```
 *
 * The secret key file is written with mode 0600, and loading refuses one
 * that group or others can read.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { checkPrivateFile, JsonFields, readJsonFile, writeFileAtomic } from "../util/fs.ts";
import { fingerprint, type KeyPair, PublicKey, SecretKey } from "./keys.ts";

function hex(x: bigint): string {
  return x.toString(16);
}

/**
 * Writes a public key file.
 *
 * @param path Target path.
 * @param key The public key.
 *
 * @example Usage
 * ```ts
 * import { generateKeyPair, savePublicKey } from "./mod.ts";
 * await savePublicKey("/tmp/public.json", (await generateKeyPair(512)).publicKey);
 * ```
 */
export async function savePublicKey(path: string, key: PublicKey): Promise<void> {
  const body = {
    format: "flhe-paillier-public",
    version: 1,
    keyBits: key.keyBits,
    n: hex(key.n),
    hs: hex(key.hs),
    fingerprint: await fingerprint(key),
  };
  await writeFileAtomic(path, JSON.stringify(body, null, 2) + "\n", 0o644);
}

/**
 * Writes a secret key file with mode 0600.
 *
 * @param path Target path.
 * @param key The secret key.
 *
 * @example Usage
 * ```ts
 * import { generateKeyPair, saveSecretKey } from "./mod.ts";
 * await saveSecretKey("/tmp/secret.json", (await generateKeyPair(512)).secretKey);
 * ```
 */
export async function saveSecretKey(path: string, key: SecretKey): Promise<void> {
  const pk = key.publicKey;
  const body = {
    format: "flhe-paillier-secret",
    version: 1,
    keyBits: pk.keyBits,
    n: hex(pk.n),
    hs: hex(pk.hs),
    p: hex(key.p),
    q: hex(key.q),
    fingerprint: await fingerprint(pk),
  };
  await writeFileAtomic(path, JSON.stringify(body, null, 2) + "\n", 0o600);
}

async function parsePublic(path: string, fields: JsonFields): Promise<PublicKey> {
  fields.number("version", 1, 1);
  const keyBits = fields.number("keyBits", 64, 16_384);
  let key: PublicKey;
  try {
    key = new PublicKey(fields.hex("n"), fields.hex("hs"));
  } catch (e) {
    throw new FlheError("input", `${path}: ${(e as Error).message}`, { cause: e });
  }
  if (key.keyBits !== keyBits) {
    throw new FlheError(
      "input",
      `${path}: field "keyBits" is ${keyBits} but n has ${key.keyBits} bits`,
    );
  }
  const expected = fields.string("fingerprint");
  if (await fingerprint(key) !== expected) {
    throw new FlheError("input", `${path}: field "fingerprint" does not match n and hs`);
  }
  return key;
}

/**
 * Loads a public key file (a secret key file also holds the public key).
 *
 * @param path The file.
 * @returns The public key.
 * @throws {FlheError} `input` naming the file and field if anything is wrong.
 *
 * @example Usage
 * ```ts
 * import { loadPublicKey } from "./mod.ts";
 * const key = await loadPublicKey("/tmp/public.json");
 * ```
 */
export async function loadPublicKey(path: string): Promise<PublicKey> {
  const fields = new JsonFields(path, await readJsonFile(path));
  fields.oneOf("format", ["flhe-paillier-public", "flhe-paillier-secret"]);
  return await parsePublic(path, fields);
}

/**
 * Loads a secret key file, refusing one that group or others can read.
 *
 * @param path The file.
 * @returns The key pair.
 * @throws {FlheError} `auth` if the file mode is too open; `input` naming the
 *   file and field if anything else is wrong.
 *
 * @example Usage
 * ```ts
 * import { loadSecretKey } from "./mod.ts";
 * const { secretKey } = await loadSecretKey("/tmp/secret.json");
 * ```
 */
export async function loadSecretKey(path: string): Promise<KeyPair> {
  await checkPrivateFile(path);
  const fields = new JsonFields(path, await readJsonFile(path));
  fields.oneOf("format", ["flhe-paillier-secret"]);
  const publicKey = await parsePublic(path, fields);
  try {
    return { publicKey, secretKey: new SecretKey(fields.hex("p"), fields.hex("q"), publicKey) };
  } catch (e) {
    if (e instanceof FlheError) throw new FlheError("input", `${path}: ${e.message}`, { cause: e });
    throw e;
  }
}
