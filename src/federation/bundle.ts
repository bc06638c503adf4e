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
import { checkPrivateFile, JsonFields, readJsonFile, writeFileAtomic } from "../util/fs.ts";
import { fromHex, sha256Hex } from "../util/hex.ts";
import {
  type CodecParams,
  codecParams,
  type Encoding,
  fingerprint,
  loadPublicKey,
  loadSecretKey,
  type PublicKey,
  type Randomness,
  type SecretKey,
} from "../he/mod.ts";
import {
  type ClientSecretKeys,
  loadClientSecretKeys,
  loadOwnerSigningKey,
  type OwnerSigningKey,
} from "../secagg/mod.ts";
import { parsePeers, type Peers } from "./peers.ts";
import { type Credentials, parseCredentials } from "./credentials.ts";

export type {
  ClientCredentials,
  Credentials,
  OwnerCredentials,
  ServerCredentials,
} from "./credentials.ts";
import { PARTITION_SCHEMES, type PartitionScheme } from "../data/mod.ts";
import {
  type ModelDef,
  type OptimizerName,
  OPTIMIZERS,
  type ScheduleName,
  SCHEDULES,
} from "../nn/mod.ts";
import { loadBundleModel, type ModelConfig, parseModelConfig } from "./model_config.ts";
import * as rules from "./rules.ts";

/** Who holds the secret key. */
export type KeyMode = "owner" | "shared-key";

/** The modes, for option checking. */
export const KEY_MODES: readonly KeyMode[] = ["owner", "shared-key"];

/**
 * How the server aggregates: `fedavg-he` (Paillier, the point of flhe) or
 * `fedavg` (plaintext, the server sees updates: only for comparison runs).
 */
export type StrategyName = "fedavg-he" | "fedavg";

/** The strategies, for option checking. */
export const STRATEGIES: readonly StrategyName[] = ["fedavg-he", "fedavg"];

/** The federation's configuration, the same in every bundle. */
export interface FederationConfig {
  /** Aggregation strategy. */
  readonly strategy: StrategyName;
  /** The model: its topology's digest, task, input shape, scaling. */
  readonly model: ModelConfig;
  /** Number of model parameters. */
  readonly parameterCount: number;
  /** Rounds to run. */
  readonly rounds: number;
  /** Clients created (one bundle each). */
  readonly clients: number;
  /** Fewest clients a round needs. */
  readonly minClients: number;
  /** Key custody. */
  readonly mode: KeyMode;
  /** Paillier key size. */
  readonly keyBits: number;
  /** SHA-256 fingerprint of the public key. */
  readonly fingerprint: string;
  /** Encoding of updates. */
  readonly encoding: {
    readonly encoding: Encoding;
    readonly quantBits: number;
    readonly clipRange: number;
    /** Packing headroom: the largest sum of the packed (scaled) weights of a round. */
    readonly maxTotalWeight: number;
    /** The largest weight (training examples) one client may declare. */
    readonly maxClientWeight: number;
    readonly fracBits: number;
    readonly randomness: Randomness;
  };
  /** Local training. */
  readonly training: {
    readonly epochs: number;
    readonly batchSize: number;
    readonly optimizer: OptimizerName;
    readonly learningRate: number;
    readonly momentum: number;
    readonly schedule: ScheduleName;
  };
  /** How the data set is split among clients. */
  readonly data: {
    readonly partition: PartitionScheme;
    readonly alpha: number;
    readonly shardsPerClient: number;
    readonly seed: number;
  };
  /** Where clients and the owner reach the server. */
  readonly serverUrl: string;
  /** Where the server reaches the owner service (owner mode). */
  readonly ownerUrl: string;
  /** SHA-256 of the initial model file. */
  readonly modelSha256: string;
}

/**
 * Codec parameters of a federation.
 *
 * @param config The federation.
 * @returns The codec parameters every party uses.
 *
 * @example Usage
 * ```ts
 * import { federationCodec, type FederationConfig } from "./bundle.ts";
 * declare const config: FederationConfig;
 * federationCodec(config).slotsPerPlaintext;
 * ```
 */
export function federationCodec(config: FederationConfig): CodecParams {
  return codecParams({ keyBits: config.keyBits, ...config.encoding });
}

/**
 * Parses `federation.json`.
 *
 * @param path The file (names it in errors).
 * @param value Its parsed JSON.
 * @returns The checked configuration.
 * @throws {FlheError} `input` naming the file and field.
 *
 * @example Usage
 * ```ts
 * import { parseFederationConfig } from "./bundle.ts";
 * import { readJsonFile } from "../util/fs.ts";
 * const config = parseFederationConfig("federation.json", await readJsonFile("federation.json"));
 * ```
 */
export function parseFederationConfig(path: string, value: unknown): FederationConfig {
  // The ranges and choices are those of the command line (rules.ts).
  const f = new JsonFields(path, value);
  const num = (fields: JsonFields, name: string, range: rules.Range): number =>
    fields.number(name, range.min, range.max, range.integer);
  const fail = (field: string, why: string): never => {
    throw new FlheError("input", `${path}: field "${field}" ${why}`);
  };
  f.oneOf("format", ["flhe-federation"]);
  f.number("version", 1, 1);
  const testing = rules.testFederationsAllowed();
  const keyBits = num(f, "keyBits", testing ? rules.TEST_KEY_BITS : rules.integers(1, 16_384));
  if (!testing && !rules.KEY_BITS_ALLOWED.includes(keyBits)) {
    fail("keyBits", `is ${keyBits}, not one of ${rules.KEY_BITS_ALLOWED.join(", ")}`);
  }
  const clients = num(f, "clients", rules.CLIENTS);
  const strategy = f.oneOf("strategy", STRATEGIES);
  const mode = f.oneOf("mode", KEY_MODES);
  const floor = rules.minClientsFloor(mode, strategy);
  const minClients = f.number("minClients", 1, clients);
  if (minClients < floor) {
    fail("minClients", `is ${minClients}, below ${floor} (${mode} mode, ${strategy})`);
  }
  const enc = f.object("encoding");
  const training = f.object("training");
  const data = f.object("data");
  const config: FederationConfig = {
    strategy,
    model: parseModelConfig(path, (value as { model?: unknown }).model),
    parameterCount: f.number("parameterCount", 1, 1e9),
    rounds: num(f, "rounds", rules.ROUNDS),
    clients,
    minClients,
    mode,
    keyBits,
    fingerprint: f.string("fingerprint", /^[0-9a-f]{64}$/),
    encoding: {
      encoding: enc.oneOf("encoding", rules.ENCODINGS),
      quantBits: num(enc, "quantBits", rules.QUANT_BITS),
      clipRange: num(enc, "clipRange", rules.CLIP_RANGE),
      maxTotalWeight: num(enc, "maxTotalWeight", rules.MAX_TOTAL_WEIGHT),
      maxClientWeight: num(enc, "maxClientWeight", rules.MAX_CLIENT_WEIGHT),
      fracBits: num(enc, "fracBits", rules.FRAC_BITS),
      randomness: enc.oneOf("randomness", rules.RANDOMNESS_KINDS),
    },
    training: {
      epochs: num(training, "epochs", rules.EPOCHS),
      batchSize: num(training, "batchSize", rules.BATCH_SIZE),
      optimizer: training.oneOf("optimizer", OPTIMIZERS),
      learningRate: num(training, "learningRate", rules.LEARNING_RATE),
      momentum: num(training, "momentum", rules.MOMENTUM),
      schedule: training.oneOf("schedule", SCHEDULES),
    },
    data: {
      partition: data.oneOf("partition", PARTITION_SCHEMES),
      alpha: num(data, "alpha", rules.ALPHA),
      shardsPerClient: num(data, "shardsPerClient", rules.SHARDS_PER_CLIENT),
      seed: num(data, "seed", rules.SEED),
    },
    serverUrl: f.string("serverUrl", rules.WS_URL),
    ownerUrl: f.string("ownerUrl", rules.WS_URL),
    modelSha256: f.string("modelSha256", /^[0-9a-f]{64}$/),
  };
  try {
    federationCodec(config);
  } catch (e) {
    throw new FlheError("input", `${path}: encoding: ${(e as Error).message}`, { cause: e });
  }
  return config;
}

/**
 * Serializes a configuration as `federation.json` content.
 *
 * @param config The configuration.
 * @returns JSON text.
 *
 * @example Usage
 * ```ts
 * import { federationJson, type FederationConfig } from "./bundle.ts";
 * declare const config: FederationConfig;
 * await Deno.writeTextFile("federation.json", federationJson(config));
 * ```
 */
export function federationJson(config: FederationConfig): string {
  return JSON.stringify({ format: "flhe-federation", version: 1, ...config }, null, 2) + "\n";
}

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

/**
 * Writes a JSON file holding a secret, mode 0600.
 *
 * @param path Target path.
 * @param value The JSON value.
 *
 * @example Usage
 * ```ts
 * import { writeSecretJson } from "./bundle.ts";
 * await writeSecretJson("/tmp/credentials.json", { role: "owner", serverTokenSha256: "00" });
 * ```
 */
export async function writeSecretJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n", 0o600);
}
