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
  toHex,
} from "../he/mod.ts";
import { PARTITION_SCHEMES, type PartitionScheme } from "../data/mod.ts";
import { type OptimizerName, OPTIMIZERS, type ScheduleName, SCHEDULES } from "../nn/mod.ts";

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
  /** Model architecture. */
  readonly model: "lenet";
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
    readonly maxTotalWeight: number;
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
  const f = new JsonFields(path, value);
  f.oneOf("format", ["flhe-federation"]);
  f.number("version", 1, 1);
  const clients = f.number("clients", 1, 10_000);
  const enc = f.object("encoding");
  const training = f.object("training");
  const data = f.object("data");
  const config: FederationConfig = {
    strategy: f.oneOf("strategy", STRATEGIES),
    model: f.oneOf("model", ["lenet"]),
    parameterCount: f.number("parameterCount", 1, 1e9),
    rounds: f.number("rounds", 1, 100_000),
    clients,
    minClients: f.number("minClients", 1, clients),
    mode: f.oneOf("mode", KEY_MODES),
    keyBits: f.number("keyBits", 128, 16_384),
    fingerprint: f.string("fingerprint", /^[0-9a-f]{64}$/),
    encoding: {
      encoding: enc.oneOf("encoding", ["packed", "per-weight"]),
      quantBits: enc.number("quantBits", 2, 24),
      clipRange: enc.number("clipRange", 1e-9, 1e6, false),
      maxTotalWeight: enc.number("maxTotalWeight", 1, 2 ** 24),
      fracBits: enc.number("fracBits", 0, 64),
      randomness: enc.oneOf("randomness", ["djn", "classic"]),
    },
    training: {
      epochs: training.number("epochs", 1, 1000),
      batchSize: training.number("batchSize", 1, 65_536),
      optimizer: training.oneOf("optimizer", OPTIMIZERS),
      learningRate: training.number("learningRate", 1e-9, 100, false),
      momentum: training.number("momentum", 0, 0.999999, false),
      schedule: training.oneOf("schedule", SCHEDULES),
    },
    data: {
      partition: data.oneOf("partition", PARTITION_SCHEMES),
      alpha: data.number("alpha", 1e-6, 1e6, false),
      shardsPerClient: data.number("shardsPerClient", 1, 1000),
      seed: data.number("seed", 0, 2 ** 32 - 1),
    },
    serverUrl: f.string("serverUrl", /^wss?:\/\/\S+$/),
    ownerUrl: f.string("ownerUrl", /^wss?:\/\/\S+$/),
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

/** Credentials of a client: who it is and the token it presents. */
export interface ClientCredentials {
  readonly role: "client";
  /** Client id, `client-I`. */
  readonly id: string;
  /** Its shard index, 1-based. */
  readonly shard: number;
  /** Bearer token (secret). */
  readonly token: string;
}

/** Credentials of the server: its token towards the owner and the clients' token hashes. */
export interface ServerCredentials {
  readonly role: "server";
  /** Token the server presents to the owner service (secret). */
  readonly token: string;
  /** SHA-256 of each client's token. */
  readonly clients: readonly { readonly id: string; readonly tokenSha256: string }[];
}

/** Credentials of the owner: the hash of the server's token. */
export interface OwnerCredentials {
  readonly role: "owner";
  /** SHA-256 of the server's token. */
  readonly serverTokenSha256: string;
}

/** Any party's credentials. */
export type Credentials = ClientCredentials | ServerCredentials | OwnerCredentials;

function parseCredentials(path: string, value: unknown): Credentials {
  const f = new JsonFields(path, value);
  const role = f.oneOf("role", ["client", "server", "owner"]);
  const hex64 = /^[0-9a-f]{64}$/;
  if (role === "client") {
    return {
      role,
      id: f.string("id", /^client-\d+$/),
      shard: f.number("shard", 1, 10_000),
      token: f.string("token", hex64),
    };
  }
  if (role === "owner") return { role, serverTokenSha256: f.string("serverTokenSha256", hex64) };
  const list = (value as { clients?: unknown }).clients;
  if (!Array.isArray(list)) {
    throw new FlheError("input", `${path}: field "clients" is missing or not an array`);
  }
  return {
    role,
    token: f.string("token", hex64),
    clients: list.map((entry, i) => {
      const c = new JsonFields(path, entry, `clients[${i}].`);
      return { id: c.string("id", /^client-\d+$/), tokenSha256: c.string("tokenSha256", hex64) };
    }),
  };
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
 * Hex SHA-256 of bytes.
 *
 * @param bytes The data.
 * @returns 64 hex digits.
 *
 * @example Usage
 * ```ts
 * import { sha256Hex } from "./bundle.ts";
 * await sha256Hex(new TextEncoder().encode("abc"));
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // Copy: digest() needs a view of a plain (not shared) ArrayBuffer.
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes))));
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
  const credPath = `${dir}/credentials.json`;
  await checkPrivateFile(credPath);
  const credentials = parseCredentials(credPath, await readJsonFile(credPath));
  let secretKey: SecretKey | undefined;
  const secretPath = `${dir}/secret.json`;
  if (await exists(secretPath)) {
    const pair = await loadSecretKey(secretPath);
    if (pair.publicKey.n !== publicKey.n) {
      throw new FlheError("auth", `${secretPath}: secret key does not belong to ${publicPath}`);
    }
    secretKey = pair.secretKey;
  }
  let groupKey: CryptoKey | undefined;
  const groupPath = `${dir}/group.key`;
  if (await exists(groupPath)) {
    await checkPrivateFile(groupPath);
    const f = new JsonFields(groupPath, await readJsonFile(groupPath));
    const raw = Uint8Array.from(
      f.string("key", /^[0-9a-f]{64}$/).match(/../g)!,
      (h) => parseInt(h, 16),
    );
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
  return { dir, config, publicKey, secretKey, groupKey, credentials, initialModel };
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
