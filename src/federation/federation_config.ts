/**
 * `federation.json`: the federation's configuration, the same in every
 * party's bundle, checked against the rules of the command line when read.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { JsonFields } from "../util/fs.ts";
import { type CodecParams, codecParams, type Encoding, type Randomness } from "../he/mod.ts";
import { PARTITION_SCHEMES, type PartitionScheme } from "../data/mod.ts";
import { type OptimizerName, OPTIMIZERS, type ScheduleName, SCHEDULES } from "../nn/mod.ts";
import * as rules from "./rules.ts";
import { type ModelConfig, parseModelConfig } from "./model_config.ts";
import { type DpConfig, parseDpConfig } from "./dp_config.ts";

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
  /** Differential privacy (DP-SGD on every client); absent: off. */
  readonly dp?: DpConfig;
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
 * import { federationCodec, type FederationConfig } from "./federation_config.ts";
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
 * import { parseFederationConfig } from "./federation_config.ts";
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
    ...dpField(path, (value as { dp?: unknown }).dp),
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

/** The `dp` field, only where DP is on (an old federation has none). */
function dpField(path: string, value: unknown): { dp?: DpConfig } {
  const dp = parseDpConfig(path, value);
  return dp ? { dp } : {};
}

/**
 * Serializes a configuration as `federation.json` content.
 *
 * @param config The configuration.
 * @returns JSON text.
 *
 * @example Usage
 * ```ts
 * import { federationJson, type FederationConfig } from "./federation_config.ts";
 * declare const config: FederationConfig;
 * await Deno.writeTextFile("federation.json", federationJson(config));
 * ```
 */
export function federationJson(config: FederationConfig): string {
  return JSON.stringify({ format: "flhe-federation", version: 1, ...config }, null, 2) + "\n";
}
