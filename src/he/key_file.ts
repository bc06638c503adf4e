/**
 * Key files, JSON:
 *
 * ```json
 * public.json:  { "format": "flhe-paillier-public", "version": 1, "kind": "standard",
 *                 "keyBits": 2048, "n": "<hex>", "hs": "<hex>",
 *                 "fingerprint": "<sha-256 hex>" }
 * secret.json:  { "format": "flhe-paillier-secret", "version": 1, "kind": "standard",
 *                 "keyBits": 2048, "n": "<hex>", "hs": "<hex>", "p": "<hex>", "q": "<hex>",
 *                 "fingerprint": "<sha-256 hex>" }
 * ```
 *
 * `kind` is `standard` or `subgroup` (see `KEY_KINDS`); a file without it is
 * `standard` (files written before key kinds existed). The secret file of a
 * subgroup key also holds the small primes `"p0"` and `"q0"` (`2 p0 | p - 1`,
 * `2 q0 | q - 1`) from which its short decryption exponents come. The
 * fingerprint covers the kind (see `fingerprint`).
 *
 * The secret key file is written with mode 0600, and loading refuses one
 * that group or others can read.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { checkPrivateFile, JsonFields, readJsonFile, writeFileAtomic } from "../util/fs.ts";
import {
  fingerprint,
  KEY_KIND_NAMES,
  type KeyKind,
  type KeyPair,
  PublicKey,
  SecretKey,
} from "./keys.ts";

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
    kind: key.kind,
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
    kind: pk.kind,
    keyBits: pk.keyBits,
    n: hex(pk.n),
    hs: hex(pk.hs),
    p: hex(key.p),
    q: hex(key.q),
    ...(key.p0 !== undefined && key.q0 !== undefined ? { p0: hex(key.p0), q0: hex(key.q0) } : {}),
    fingerprint: await fingerprint(pk),
  };
  await writeFileAtomic(path, JSON.stringify(body, null, 2) + "\n", 0o600);
}

/** The key kind of a parsed key file: `standard` when the field is absent. */
function parseKind(raw: unknown, fields: JsonFields): KeyKind {
  const present = (raw as Record<string, unknown>)["kind"] !== undefined;
  return present ? fields.oneOf("kind", KEY_KIND_NAMES) : "standard";
}

async function parsePublic(path: string, raw: unknown, fields: JsonFields): Promise<PublicKey> {
  fields.number("version", 1, 1);
  const kind = parseKind(raw, fields);
  const keyBits = fields.number("keyBits", 64, 16_384);
  let key: PublicKey;
  try {
    key = new PublicKey(fields.hex("n"), fields.hex("hs"), kind);
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
    throw new FlheError("input", `${path}: field "fingerprint" does not match kind, n and hs`);
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
  const raw = await readJsonFile(path);
  const fields = new JsonFields(path, raw);
  fields.oneOf("format", ["flhe-paillier-public", "flhe-paillier-secret"]);
  return await parsePublic(path, raw, fields);
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
  const raw = await readJsonFile(path);
  const fields = new JsonFields(path, raw);
  fields.oneOf("format", ["flhe-paillier-secret"]);
  const publicKey = await parsePublic(path, raw, fields);
  const subgroup = publicKey.kind === "subgroup"
    ? { p0: fields.hex("p0"), q0: fields.hex("q0") }
    : undefined;
  try {
    return {
      publicKey,
      secretKey: new SecretKey(fields.hex("p"), fields.hex("q"), publicKey, subgroup),
    };
  } catch (e) {
    if (e instanceof FlheError) throw new FlheError("input", `${path}: ${e.message}`, { cause: e });
    throw e;
  }
}
