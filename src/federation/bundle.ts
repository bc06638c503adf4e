/**
 * The federation folder that `flhe owner init` creates, and the typed,
 * checked view of a party's bundle that every other command loads.
 *
 * ```
 * federation/
 *   owner/     federation.json public.json secret.json group.key credentials.json model.f32
 *   server/    federation.json public.json credentials.json
 *   client-1/  federation.json public.json group.key credentials.json model.f32 [secret.json]
 *   client-2/  ...
 * ```
 *
 * `secret.json` is in a client's bundle only in `shared-key` mode; `group.key`
 * (the AES-GCM key that seals the global model for clients) only in `owner`
 * mode. Files holding secrets have mode 0600.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { checkPrivateFile, JsonFields, readJsonFile } from "../util/fs.ts";
import { fromHex, sha256Hex } from "../util/hex.ts";
import {
  fingerprint,
  loadPublicKey,
  loadSecretKey,
  type PublicKey,
  type SecretKey,
} from "../he/mod.ts";
import {
  type ClientSecretKeys,
  loadClientSecretKeys,
  loadOwnerSigningKey,
  type OwnerSigningKey,
} from "../secagg/mod.ts";
import { parsePeers, type Peers } from "./peers.ts";
import { type FederationConfig, parseFederationConfig } from "./federation_config.ts";
import { type Credentials, parseCredentials } from "./credentials.ts";

import { loadBundleModel } from "./model_config.ts";
import type { ModelDef } from "../nn/mod.ts";

/** A loaded, checked bundle. */
export interface Bundle {
  /** The bundle folder. */
  readonly dir: string;
  /** The federation configuration. */
  readonly config: FederationConfig;
  /** The public key (fingerprint checked against the configuration). */
  readonly publicKey: PublicKey;
  /** The secret key, where this party holds it. */
  readonly secretKey?: SecretKey;
  /** The AES-GCM group key, where this party holds it. */
  readonly groupKey?: CryptoKey;
  /** This party's credentials. */
  readonly credentials: Credentials;
  /** The initial model, where this party holds it. */
  readonly initialModel?: Float32Array;
  /** The model's layers, from the bundle's checked `model.json`. */
  readonly model: ModelDef;
  /** Every client's public keys and the owner's verify key. */
  readonly peers: Peers;
  /** A client's own X25519/Ed25519 keys (`secagg.json`). */
  readonly clientKeys?: ClientSecretKeys;
  /** The owner's model signing key (`signing.json`). */
  readonly ownerSigningKey?: OwnerSigningKey;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads and checks a bundle folder: configuration, public key and its
 * fingerprint, credentials, and whatever secret files the party holds (each
 * must be mode 0600).
 *
 * @param dir The bundle folder.
 * @returns The bundle.
 * @throws {FlheError} `input` or `auth`, naming the file and field.
 *
 * @example Usage
 * ```ts
 * import { loadBundle } from "./bundle.ts";
 * const bundle = await loadBundle("federation/client-1");
 * ```
 */
export async function loadBundle(dir: string): Promise<Bundle> {
  if (!(await exists(dir))) {
    throw new FlheError(
      "input",
      `${dir}: bundle folder not found (create one with 'flhe owner init')`,
    );
  }
  const configPath = `${dir}/federation.json`;
  const config = parseFederationConfig(configPath, await readJsonFile(configPath));
  const publicPath = `${dir}/public.json`;
  const publicKey = await loadPublicKey(publicPath);
  if (await fingerprint(publicKey) !== config.fingerprint) {
    throw new FlheError(
      "auth",
      `${publicPath}: public key fingerprint does not match field "fingerprint" of ${configPath}`,
    );
  }
  // The key-size policy was checked on the configuration: the key must be what it says.
  if (publicKey.keyBits !== config.keyBits) {
    throw new FlheError(
      "auth",
      `${publicPath}: a ${publicKey.keyBits}-bit key, but field "keyBits" of ${configPath} says ${config.keyBits}`,
    );
  }
  const credPath = `${dir}/credentials.json`;
  await checkPrivateFile(credPath);
  const credentials = parseCredentials(credPath, await readJsonFile(credPath));
  let secretKey: SecretKey | undefined;
  const secretPath = `${dir}/secret.json`;
  if (await exists(secretPath)) {
    const pair = await loadSecretKey(secretPath);
    if (await fingerprint(pair.publicKey) !== config.fingerprint) {
      throw new FlheError("auth", `${secretPath}: secret key does not belong to ${publicPath}`);
    }
    secretKey = pair.secretKey;
  }
  let groupKey: CryptoKey | undefined;
  const groupPath = `${dir}/group.key`;
  if (await exists(groupPath)) {
    await checkPrivateFile(groupPath);
    const f = new JsonFields(groupPath, await readJsonFile(groupPath));
    const raw = fromHex(f.string("key", /^[0-9a-f]{64}$/), groupPath);
    groupKey = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  }
  let initialModel: Float32Array | undefined;
  const modelPath = `${dir}/model.f32`;
  if (await exists(modelPath)) {
    const bytes = await Deno.readFile(modelPath);
    if (bytes.length !== config.parameterCount * 4) {
      throw new FlheError(
        "input",
        `${modelPath}: ${bytes.length} bytes, expected ${
          config.parameterCount * 4
        } (parameterCount x 4)`,
      );
    }
    if (await sha256Hex(bytes) !== config.modelSha256) {
      throw new FlheError(
        "input",
        `${modelPath}: sha256 does not match field "modelSha256" of ${configPath}`,
      );
    }
    initialModel = new Float32Array(bytes.buffer, bytes.byteOffset, config.parameterCount);
  }
  const model = await loadBundleModel(dir, config.model, config.parameterCount);
  const peersPath = `${dir}/peers.json`;
  const peers = parsePeers(peersPath, await readJsonFile(peersPath), config.clients);
  const clientKeys = await loadIfPresent(`${dir}/secagg.json`, loadClientSecretKeys);
  if (clientKeys && (credentials.role !== "client" || clientKeys.id !== credentials.id)) {
    throw new FlheError("auth", `${dir}/secagg.json: keys of ${clientKeys.id}, not of this party`);
  }
  const ownerSigningKey = await loadIfPresent(`${dir}/signing.json`, loadOwnerSigningKey);
  if (ownerSigningKey && ownerSigningKey.verifyKey !== peers.ownerVerifyKey) {
    throw new FlheError(
      "auth",
      `${dir}/signing.json: does not match field "ownerVerifyKey" of ${peersPath}`,
    );
  }
  return {
    dir,
    config,
    publicKey,
    secretKey,
    groupKey,
    credentials,
    initialModel,
    model,
    peers,
    clientKeys,
    ownerSigningKey,
  };
}

async function loadIfPresent<T>(
  path: string,
  load: (path: string) => Promise<T>,
): Promise<T | undefined> {
  return (await exists(path)) ? await load(path) : undefined;
}
