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
  type Randomness,
  savePublicKey,
  saveSecretKey,
  toHex,
} from "../he/mod.ts";
import { initialWeights, LENET_PARAM_COUNT } from "../nn/mod.ts";
import type { PartitionScheme } from "../data/mod.ts";
import type { Logger } from "../util/log.ts";
import { createCertificateAuthority, issueCertificate } from "../net/tls.ts";
import {
  federationCodec,
  type FederationConfig,
  federationJson,
  type KeyMode,
  sha256Hex,
  type StrategyName,
  writeSecretJson,
} from "../federation/bundle.ts";

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
  /** Update encoding. */
  readonly encoding: Encoding;
  /** Quantization bits. */
  readonly quantBits: number;
  /** Clip range of update values. */
  readonly clipRange: number;
  /** Declared maximum total weight. */
  readonly maxTotalWeight: number;
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
  /** Server address clients connect to. */
  readonly serverUrl: string;
  /** Owner service address the server connects to. */
  readonly ownerUrl: string;
  /** Replace an existing federation folder. */
  readonly force: boolean;
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

function randomToken(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
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
 *   `range` if the encoding parameters are inconsistent.
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
  let existing = false;
  try {
    await Deno.stat(dir);
    existing = true;
  } catch {
    // Does not exist: fine.
  }
  if (existing && !options.force) {
    throw new FlheError("exists", `${dir}: already exists; pass --force to replace it`);
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
  const minClients = options.minClients ?? options.clients;
  if (minClients > options.clients) {
    throw new FlheError(
      "usage",
      `--min-clients ${minClients} exceeds --clients ${options.clients}`,
    );
  }
  const model = initialWeights(options.seed);
  const modelBytes = new Uint8Array(model.buffer, model.byteOffset, model.byteLength);
  const partial: Omit<FederationConfig, "fingerprint"> = {
    strategy: options.strategy ?? "fedavg-he",
    model: "lenet",
    parameterCount: LENET_PARAM_COUNT,
    rounds: options.rounds,
    clients: options.clients,
    minClients,
    mode: options.mode,
    keyBits: options.keyBits,
    encoding: {
      encoding: options.encoding,
      quantBits: options.quantBits,
      clipRange: options.clipRange,
      maxTotalWeight: options.maxTotalWeight,
      fracBits: 32,
      randomness: options.randomness,
    },
    training: options.training,
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

  log.info(`generating a ${options.keyBits}-bit Paillier key pair ...`);
  const { publicKey, secretKey } = await generateKeyPair(options.keyBits);
  const config: FederationConfig = { ...partial, fingerprint: await fingerprint(publicKey) };

  // Build everything in a sibling folder, then swap it in.
  const staging = `${dir}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.mkdir(staging, { recursive: true });
  try {
    const serverToken = randomToken();
    const clientTokens = Array.from({ length: options.clients }, randomToken);
    const groupKey = toHex(crypto.getRandomValues(new Uint8Array(32)));
    const bundles: Record<string, string> = {};
    // The CA signs the two certificates below; its key is then dropped.
    const ca = options.tls
      ? await createCertificateAuthority(
        `flhe federation CA ${config.fingerprint.slice(0, 16)}`,
      )
      : undefined;
    const common = async (party: string): Promise<string> => {
      const path = `${staging}/${party}`;
      await Deno.mkdir(path, { mode: 0o700 });
      await writeFileAtomic(`${path}/federation.json`, federationJson(config));
      await savePublicKey(`${path}/public.json`, publicKey);
      if (ca) await writeFileAtomic(`${path}/ca.pem`, ca.certPem);
      bundles[party] = `${dir}/${party}`;
      return path;
    };
    const certify = async (path: string, party: string, url: string) => {
      if (!ca) return;
      const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
      const pair = await issueCertificate(ca, `flhe ${party}`, [
        host,
        "127.0.0.1",
        "::1",
        "localhost",
      ]);
      await Deno.mkdir(`${path}/tls`, { mode: 0o700 });
      await writeFileAtomic(`${path}/tls/cert.pem`, pair.certPem);
      await writeFileAtomic(`${path}/tls/key.pem`, pair.keyPem, 0o600);
    };

    const owner = await common("owner");
    await saveSecretKey(`${owner}/secret.json`, secretKey);
    await writeSecretJson(`${owner}/group.key`, { key: groupKey });
    await writeSecretJson(`${owner}/credentials.json`, {
      role: "owner",
      serverTokenSha256: await sha256Hex(new TextEncoder().encode(serverToken)),
    });
    await writeFileAtomic(`${owner}/model.f32`, modelBytes);
    if (options.mode === "owner") await certify(owner, "owner", options.ownerUrl);

    const server = await common("server");
    await writeSecretJson(`${server}/credentials.json`, {
      role: "server",
      token: serverToken,
      clients: await Promise.all(clientTokens.map(async (t, i) => ({
        id: `client-${i + 1}`,
        tokenSha256: await sha256Hex(new TextEncoder().encode(t)),
      }))),
    });
    await certify(server, "server", options.serverUrl);

    for (let i = 0; i < options.clients; i++) {
      const client = await common(`client-${i + 1}`);
      await writeSecretJson(`${client}/credentials.json`, {
        role: "client",
        id: `client-${i + 1}`,
        shard: i + 1,
        token: clientTokens[i],
      });
      await writeFileAtomic(`${client}/model.f32`, modelBytes);
      if (options.mode === "shared-key") await saveSecretKey(`${client}/secret.json`, secretKey);
      else await writeSecretJson(`${client}/group.key`, { key: groupKey });
    }

    if (existing) await Deno.remove(dir, { recursive: true });
    await Deno.rename(staging, dir);
    return { config, bundles };
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw e;
  }
}
