/**
 * `flhe owner init`: creates a federation folder with keys, configuration,
 * the seeded initial model and one bundle per party holding only what that
 * party may hold.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeFileAtomic } from "../util/fs.ts";
import {
  type Encoding,
  fingerprint,
  generateKeyPair,
  type KeyKind,
  type Randomness,
  savePublicKey,
  saveSecretKey,
} from "../he/mod.ts";
import { sha256Hex, toHex } from "../util/hex.ts";
import { initialNetworkWeights } from "../nn/mod.ts";
import { chooseModel, type FederationModel } from "./model_choice.ts";
import type { PartitionScheme } from "../data/mod.ts";
import type { Logger } from "../util/log.ts";
import { createCertificateAuthority, issueCertificate } from "../net/tls.ts";
import {
  type ClientPublicKeys,
  type ClientSecretKeys,
  exportClientPublicKeys,
  generateClientKeys,
  generateOwnerSigningKey,
  type OwnerSigningKey,
  saveClientSecretKeys,
  saveOwnerSigningKey,
} from "../secagg/mod.ts";
import { type Peers, peersJson } from "../federation/peers.ts";
import {
  type DpConfig,
  federationCodec,
  type FederationConfig,
  federationJson,
  type KeyMode,
  type StrategyName,
  writeSecretJson,
} from "../federation/mod.ts";
import { MODEL_FILE } from "../federation/model_config.ts";

/** Options of {@linkcode initFederation}; every field has a default but `dir`. */
export interface InitOptions {
  /** Folder to create. */
  readonly dir: string;
  /** Aggregation strategy (default `fedavg-he`). */
  readonly strategy?: StrategyName;
  /** Number of client bundles. */
  readonly clients: number;
  /** Fewest clients per round (default: all). */
  readonly minClients?: number;
  /** Rounds. */
  readonly rounds: number;
  /** Key custody. */
  readonly mode: KeyMode;
  /** Paillier key size. */
  readonly keyBits: number;
  /** Paillier key structure (default `standard`). */
  readonly keyKind?: KeyKind;
  /** Update encoding. */
  readonly encoding: Encoding;
  /** Quantization bits. */
  readonly quantBits: number;
  /** Clip range of update values. */
  readonly clipRange: number;
  /** Packing headroom (default: {@linkcode defaultMaxTotalWeight} of `clients`). */
  readonly maxTotalWeight?: number;
  /** The largest weight (training examples) one client may declare. */
  readonly maxClientWeight?: number;
  /** Encryption randomness. */
  readonly randomness: Randomness;
  /** Data partition. */
  readonly partition: PartitionScheme;
  /** Dirichlet alpha. */
  readonly alpha: number;
  /** Shards per client. */
  readonly shardsPerClient: number;
  /** Seed of the model initialisation and the partition. */
  readonly seed: number;
  /** Local training of each round. */
  readonly training: FederationConfig["training"];
  /** Differential privacy (DP-SGD on every client); absent: off. */
  readonly dp?: DpConfig;
  /** Server address clients connect to. */
  readonly serverUrl: string;
  /** Owner service address the server connects to. */
  readonly ownerUrl: string;
  /** Replace an existing federation folder. */
  readonly force: boolean;
  /** The model (default: the `lenet5` built-in for MNIST). */
  readonly model?: FederationModel;
  /**
   * Public keys that the clients made themselves (`flhe client keygen`), in
   * client order; without them the owner generates every client's keys.
   */
  readonly clientPublicKeys?: readonly ClientPublicKeys[];
  /**
   * Create a private CA (`ca.pem` in every bundle) and TLS certificates for
   * the server and the owner service (`tls/cert.pem`, `tls/key.pem`); both
   * URLs must then be `wss://`. The CA's private key is discarded.
   */
  readonly tls?: boolean;
}

/** What {@linkcode initFederation} created. */
export interface InitResult {
  /** The configuration written. */
  readonly config: FederationConfig;
  /** Bundle folders by party name. */
  readonly bundles: Readonly<Record<string, string>>;
}

/** The default cap on a client's declared weight: all of MNIST's training set. */
export const DEFAULT_MAX_CLIENT_WEIGHT = 60_000;

/** Packing headroom per client of the default (see {@linkcode defaultMaxTotalWeight}). */
export const WEIGHT_UNITS_PER_CLIENT = 32;

/** The smallest default packing headroom (see {@linkcode defaultMaxTotalWeight}). */
export const MIN_DEFAULT_MAX_TOTAL_WEIGHT = 64;

/**
 * The default packing headroom of a federation of `clients`: 32 units per
 * client, rounded up to a power of two (64 for 2 clients, 256 for 5 to 8,
 * 2,048 for 50). A round's declared weights are scaled to integers summing to
 * at most this, so each client's share is resolved to about 1/32 of an equal
 * share, and slots need only `log2` of it above the quantization bits: with
 * 10-bit levels, 16-bit slots and 486 ciphertexts per LeNet update at 2048
 * bits for 2 clients, 18-bit slots and 547 for 5 to 8. Fewer ciphertexts are
 * less randomizer and decryption work every round; weights resolved finer
 * than 1/32 of a share do not change the mean measurably.
 *
 * @param clients The number of clients of the federation.
 * @returns A power of two, at least 64.
 *
 * @example Usage
 * ```ts
 * import { defaultMaxTotalWeight } from "./owner_init.ts";
 * defaultMaxTotalWeight(2); // 64
 * defaultMaxTotalWeight(50); // 2048
 * ```
 */
export function defaultMaxTotalWeight(clients: number): number {
  const units = 2 ** Math.ceil(Math.log2(WEIGHT_UNITS_PER_CLIENT * clients));
  return Math.max(MIN_DEFAULT_MAX_TOTAL_WEIGHT, units);
}

/**
 * The default quantization bits: the fewest that kept the demo's accuracy
 * with plaintext FedAvg's with a margin (README, Benchmarks: 8 bits came
 * within 0.09 pp in one run, 10 within 0.01 pp).
 */
export const DEFAULT_QUANT_BITS = 10;

function randomToken(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}

async function checkTarget(options: InitOptions): Promise<boolean> {
  let existing = false;
  try {
    await Deno.stat(options.dir);
    existing = true;
  } catch {
    // Does not exist: fine.
  }
  if (existing && !options.force) {
    throw new FlheError("exists", `${options.dir}: already exists; pass --force to replace it`);
  }
  if (options.tls) {
    for (
      const [name, url] of [["--server-url", options.serverUrl], ["--owner-url", options.ownerUrl]]
    ) {
      if (!url!.startsWith("wss://")) {
        throw new FlheError("usage", `${name}: '${url}' must be a wss:// URL with --tls`);
      }
    }
  }
  if (options.maxTotalWeight !== undefined && options.maxTotalWeight <= options.clients) {
    // packingWeights gives every member at least 1 within W: a full round would not fit.
    throw new FlheError(
      "usage",
      `--max-total-weight ${options.maxTotalWeight} must exceed --clients ${options.clients}`,
    );
  }
  const minClients = options.minClients ?? options.clients;
  if (minClients > options.clients) {
    throw new FlheError(
      "usage",
      `--min-clients ${minClients} exceeds --clients ${options.clients}`,
    );
  }
  // With one contributor the sum is the update: masks cannot hide it.
  if (minClients < 2) {
    throw new FlheError("usage", `--min-clients ${minClients}: a round needs at least 2 clients`);
  }
  const given = options.clientPublicKeys;
  if (
    given && (given.length !== options.clients || given.some((k, i) => k.id !== `client-${i + 1}`))
  ) {
    throw new FlheError(
      "usage",
      `--client-keys: need the public keys of client-1 to client-${options.clients}, in order`,
    );
  }
  return existing;
}

async function configWithoutKey(
  options: InitOptions,
  model: FederationModel,
  modelBytes: Uint8Array,
): Promise<Omit<FederationConfig, "fingerprint">> {
  const topologySha256 = await sha256Hex(new TextEncoder().encode(model.topologyJson));
  const partial: Omit<FederationConfig, "fingerprint"> = {
    strategy: options.strategy ?? "fedavg-he",
    model: { ...model.config, topologySha256 },
    parameterCount: model.parameterCount,
    rounds: options.rounds,
    clients: options.clients,
    minClients: options.minClients ?? options.clients,
    mode: options.mode,
    keyBits: options.keyBits,
    encoding: {
      encoding: options.encoding,
      quantBits: options.quantBits,
      clipRange: options.clipRange,
      maxTotalWeight: options.maxTotalWeight ?? defaultMaxTotalWeight(options.clients),
      maxClientWeight: options.maxClientWeight ?? DEFAULT_MAX_CLIENT_WEIGHT,
      fracBits: 32,
      randomness: options.randomness,
    },
    training: options.training,
    ...(options.dp ? { dp: options.dp } : {}),
    data: {
      partition: options.partition,
      alpha: options.alpha,
      shardsPerClient: options.shardsPerClient,
      seed: options.seed,
    },
    serverUrl: options.serverUrl,
    ownerUrl: options.ownerUrl,
    modelSha256: await sha256Hex(modelBytes),
  };
  // Check the encoding before spending seconds on key generation.
  federationCodec({ ...partial, fingerprint: "" });
  return partial;
}

/** Every client's keys: generated here, or only the public halves given. */
async function clientKeys(
  options: InitOptions,
): Promise<{ secrets?: ClientSecretKeys[]; publics: ClientPublicKeys[] }> {
  if (options.clientPublicKeys) return { publics: [...options.clientPublicKeys] };
  const secrets = await Promise.all(
    Array.from({ length: options.clients }, (_, i) => generateClientKeys(`client-${i + 1}`)),
  );
  return { secrets, publics: await Promise.all(secrets.map(exportClientPublicKeys)) };
}

/** What the bundles are written from. */
interface Material {
  readonly options: InitOptions;
  readonly staging: string;
  readonly config: FederationConfig;
  readonly keyPair: Awaited<ReturnType<typeof generateKeyPair>>;
  readonly modelBytes: Uint8Array;
  readonly topologyJson: string;
  readonly peers: Peers;
  readonly ownerKey: OwnerSigningKey;
  readonly clientSecrets?: ClientSecretKeys[];
  readonly serverToken: string;
  readonly clientTokens: readonly string[];
  readonly groupKey: string;
  readonly ca?: Awaited<ReturnType<typeof createCertificateAuthority>>;
}

async function commonFiles(m: Material, party: string): Promise<string> {
  const path = `${m.staging}/${party}`;
  await Deno.mkdir(path, { mode: 0o700 });
  await writeFileAtomic(`${path}/federation.json`, federationJson(m.config));
  await savePublicKey(`${path}/public.json`, m.keyPair.publicKey);
  await writeFileAtomic(`${path}/peers.json`, peersJson(m.peers));
  await writeFileAtomic(`${path}/${MODEL_FILE}`, m.topologyJson);
  if (m.ca) await writeFileAtomic(`${path}/ca.pem`, m.ca.certPem);
  return path;
}

async function certify(m: Material, path: string, party: string, url: string): Promise<void> {
  if (!m.ca) return;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  const pair = await issueCertificate(m.ca, `flhe ${party}`, [
    host,
    "127.0.0.1",
    "::1",
    "localhost",
  ]);
  await Deno.mkdir(`${path}/tls`, { mode: 0o700 });
  await writeFileAtomic(`${path}/tls/cert.pem`, pair.certPem);
  await writeFileAtomic(`${path}/tls/key.pem`, pair.keyPem, 0o600);
}

async function writeOwner(m: Material): Promise<void> {
  const owner = await commonFiles(m, "owner");
  await saveSecretKey(`${owner}/secret.json`, m.keyPair.secretKey);
  await saveOwnerSigningKey(`${owner}/signing.json`, m.ownerKey);
  await writeSecretJson(`${owner}/group.key`, { key: m.groupKey });
  await writeSecretJson(`${owner}/credentials.json`, {
    role: "owner",
    serverTokenSha256: await sha256Hex(new TextEncoder().encode(m.serverToken)),
  });
  await writeFileAtomic(`${owner}/model.f32`, m.modelBytes);
  if (m.options.mode === "owner") await certify(m, owner, "owner", m.options.ownerUrl);
}

async function writeServer(m: Material): Promise<void> {
  const server = await commonFiles(m, "server");
  await writeSecretJson(`${server}/credentials.json`, {
    role: "server",
    token: m.serverToken,
    clients: await Promise.all(m.clientTokens.map(async (t, i) => ({
      id: `client-${i + 1}`,
      tokenSha256: await sha256Hex(new TextEncoder().encode(t)),
    }))),
  });
  await certify(m, server, "server", m.options.serverUrl);
}

async function writeClient(m: Material, i: number): Promise<void> {
  const id = `client-${i + 1}`;
  const client = await commonFiles(m, id);
  await writeSecretJson(`${client}/credentials.json`, {
    role: "client",
    id,
    shard: i + 1,
    token: m.clientTokens[i],
  });
  await writeFileAtomic(`${client}/model.f32`, m.modelBytes);
  const own = m.clientSecrets?.[i];
  if (own) await saveClientSecretKeys(`${client}/secagg.json`, own);
  if (m.options.mode === "shared-key") {
    await saveSecretKey(`${client}/secret.json`, m.keyPair.secretKey);
  } else await writeSecretJson(`${client}/group.key`, { key: m.groupKey });
}

/**
 * Creates the federation folder. Refuses to touch an existing one unless
 * `force`; with `force` the old folder is replaced only after the new one is
 * complete.
 *
 * @param options What to create.
 * @param log Progress lines.
 * @returns The configuration and bundle paths.
 * @throws {FlheError} `exists` if the folder exists and `force` is not set;
 *   `usage` for inconsistent options; `range` if the encoding parameters are inconsistent.
 *
 * @example Usage
 * ```ts
 * import { initFederation } from "./owner_init.ts";
 * import { createLogger } from "../util/log.ts";
 * declare const options: import("./owner_init.ts").InitOptions;
 * await initFederation(options, createLogger("owner"));
 * ```
 */
export async function initFederation(options: InitOptions, log: Logger): Promise<InitResult> {
  const { dir } = options;
  const existing = await checkTarget(options);
  const chosen = options.model ?? await chooseModel({ spec: "lenet5" });
  const model = chosen.initialWeights ?? initialNetworkWeights(chosen.def, options.seed);
  const modelBytes = new Uint8Array(model.buffer, model.byteOffset, model.byteLength);
  const partial = await configWithoutKey(options, chosen, modelBytes);
  log.info(
    `generating a ${options.keyBits}-bit ${options.keyKind ?? "standard"} Paillier key pair ...`,
  );
  const keyPair = await generateKeyPair(options.keyBits, { kind: options.keyKind ?? "standard" });
  const config: FederationConfig = {
    ...partial,
    fingerprint: await fingerprint(keyPair.publicKey),
  };
  const ownerKey = await generateOwnerSigningKey();
  const { secrets, publics } = await clientKeys(options);
  // Build everything in a sibling folder, then swap it in.
  const staging = `${dir}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.mkdir(staging, { recursive: true });
  try {
    const m: Material = {
      options,
      staging,
      config,
      keyPair,
      modelBytes,
      topologyJson: chosen.topologyJson,
      peers: { ownerVerifyKey: ownerKey.verifyKey, clients: publics },
      ownerKey,
      clientSecrets: secrets,
      serverToken: randomToken(),
      clientTokens: Array.from({ length: options.clients }, randomToken),
      groupKey: randomToken(),
      // The CA signs the two certificates; its key is then dropped.
      ca: options.tls
        ? await createCertificateAuthority(`flhe federation CA ${config.fingerprint.slice(0, 16)}`)
        : undefined,
    };
    await writeOwner(m);
    await writeServer(m);
    for (let i = 0; i < options.clients; i++) await writeClient(m, i);
    if (existing) await Deno.remove(dir, { recursive: true });
    await Deno.rename(staging, dir);
    const bundles: Record<string, string> = { owner: `${dir}/owner`, server: `${dir}/server` };
    for (let i = 1; i <= options.clients; i++) bundles[`client-${i}`] = `${dir}/client-${i}`;
    return { config, bundles };
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw e;
  }
}
