/**
 * The command table of the CLI: each command's options, help text, and the
 * conversion of its raw option strings into the typed options of a party.
 * `main.ts` parses the command line against this table and dispatches.
 *
 * @module
 */

import type { ParseArgsConfig } from "node:util";
import { FlheError } from "../util/error.ts";
import { checkPrivateFile } from "../util/fs.ts";
import {
  describePartition,
  loadDataset,
  PARTITION_SCHEMES,
  type PartitionScheme,
} from "../data/mod.ts";
import { createLogger } from "../util/log.ts";
import { DEFAULT_LEARNING_RATES, OPTIMIZERS, SCHEDULES } from "../nn/mod.ts";
import { KEY_BITS_ALLOWED } from "../he/mod.ts";
import {
  type FederationConfig,
  KEY_MODES,
  type KeyMode,
  loadBundle,
  STRATEGIES,
} from "../federation/bundle.ts";
import { initFederation } from "../parties/owner_init.ts";
import { runServer } from "../parties/server.ts";
import { runOwnerService } from "../parties/owner_service.ts";
import { runClient } from "../parties/client.ts";
import { runDemo } from "../parties/demo.ts";

/** Raw option values as `parseArgs` returns them. */
export type OptionValues = Record<string, string | boolean | undefined>;

/** One CLI command. */
export interface Command {
  /** One or two words, e.g. `owner init`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Full help text. */
  readonly usage: string;
  /** `parseArgs` option declarations. */
  readonly options: NonNullable<ParseArgsConfig["options"]>;
  /**
   * Runs the command.
   *
   * @param values Parsed options.
   * @returns Exit code.
   */
  run(values: OptionValues): Promise<number>;
}

/**
 * Reads a numeric option.
 *
 * @param values Parsed options.
 * @param name Option name without dashes.
 * @param fallback Default.
 * @param min Smallest allowed.
 * @param max Largest allowed.
 * @param integer Whether it must be an integer.
 * @returns The number.
 * @throws {FlheError} `usage`, naming the option.
 *
 * @example Usage
 * ```ts
 * import { numberOption } from "./commands.ts";
 * numberOption({ clients: "3" }, "clients", 2, 1, 100); // 3
 * ```
 */
export function numberOption(
  values: OptionValues,
  name: string,
  fallback: number,
  min: number,
  max: number,
  integer = true,
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (
    typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(v) ||
    (integer && !Number.isInteger(v))
  ) {
    throw new FlheError(
      "usage",
      `--${name}: '${raw}' is not ${integer ? "an integer" : "a number"}`,
    );
  }
  if (v < min || v > max) {
    throw new FlheError("usage", `--${name}: ${v} is outside [${min}, ${max}]`);
  }
  return v;
}

/**
 * Reads an optional integer option.
 *
 * @param values Parsed options.
 * @param name Option name without dashes.
 * @param min Smallest allowed.
 * @param max Largest allowed.
 * @returns The number, or `undefined` when the option is absent.
 * @throws {FlheError} `usage`, naming the option.
 *
 * @example Usage
 * ```ts
 * import { optionalNumber } from "./commands.ts";
 * optionalNumber({}, "workers", 1, 256); // undefined
 * ```
 */
export function optionalNumber(
  values: OptionValues,
  name: string,
  min: number,
  max: number,
): number | undefined {
  return values[name] === undefined ? undefined : numberOption(values, name, min, min, max);
}

/**
 * Reads an option that must be one of `choices`.
 *
 * @param values Parsed options.
 * @param name Option name without dashes.
 * @param choices Allowed values.
 * @param fallback Default.
 * @returns The choice.
 * @throws {FlheError} `usage`, naming the option and the choices.
 *
 * @example Usage
 * ```ts
 * import { choiceOption } from "./commands.ts";
 * choiceOption({ mode: "owner" }, "mode", ["owner", "shared-key"], "owner"); // "owner"
 * ```
 */
export function choiceOption<T extends string>(
  values: OptionValues,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== "string" || !(choices as readonly string[]).includes(raw)) {
    throw new FlheError("usage", `--${name}: '${raw}' is not one of ${choices.join(", ")}`);
  }
  return raw as T;
}

/**
 * Reads a string option.
 *
 * @param values Parsed options.
 * @param name Option name without dashes.
 * @param fallback Default.
 * @returns The value.
 *
 * @example Usage
 * ```ts
 * import { stringOption } from "./commands.ts";
 * stringOption({}, "dir", "federation"); // "federation"
 * ```
 */
export function stringOption(values: OptionValues, name: string, fallback: string): string {
  const raw = values[name];
  return typeof raw === "string" ? raw : fallback;
}

/**
 * Reads the local-training options shared by `owner init` and `demo`.
 *
 * @param values Parsed options.
 * @returns The training configuration.
 * @throws {FlheError} `usage`, naming the option.
 *
 * @example Usage
 * ```ts
 * import { trainingOptions } from "./commands.ts";
 * trainingOptions({ optimizer: "sgd" }).learningRate; // 0.05
 * ```
 */
export function trainingOptions(values: OptionValues): FederationConfig["training"] {
  // Heavy-ball momentum with a cosine decay inside each round reached 97% by
  // round 3 on two Dirichlet(0.5) splits without the dips that constant-step
  // SGD showed (bench/fedavg_sim.ts); Adam, best for central training, lagged.
  const optimizer = choiceOption(values, "optimizer", OPTIMIZERS, "momentum");
  const heavyBall = optimizer === "momentum" || optimizer === "nesterov";
  return {
    epochs: numberOption(values, "epochs", 1, 1, 1000),
    batchSize: numberOption(values, "batch-size", 32, 1, 65_536),
    optimizer,
    learningRate: numberOption(values, "lr", DEFAULT_LEARNING_RATES[optimizer], 1e-9, 100, false),
    momentum: numberOption(values, "momentum", heavyBall ? 0.9 : 0, 0, 0.999999, false),
    schedule: choiceOption(values, "schedule", SCHEDULES, "cosine"),
  };
}

const TRAINING_HELP = `  --epochs E                local epochs per round (default: 1)
  --batch-size N            local batch size (default: 32)
  --optimizer RULE          momentum (default), nesterov, sgd or adam
  --lr RATE                 peak learning rate (default: 0.02 for momentum
                            and nesterov, 0.05 for sgd, 0.002 for adam)
  --momentum M              momentum of momentum/nesterov (default: 0.9)
  --schedule NAME           cosine (default: decay to ~0 within the round)
                            or constant`;

const s = { type: "string" } as const;
const b = { type: "boolean" } as const;

const ownerInit: Command = {
  name: "owner init",
  summary: "create a federation: keys, config, initial model, one bundle per party",
  options: {
    dir: s,
    clients: s,
    "min-clients": s,
    rounds: s,
    mode: s,
    "key-bits": s,
    encoding: s,
    "quant-bits": s,
    clip: s,
    "max-total-weight": s,
    randomness: s,
    strategy: s,
    partition: s,
    alpha: s,
    "shards-per-client": s,
    seed: s,
    epochs: s,
    "batch-size": s,
    optimizer: s,
    lr: s,
    momentum: s,
    schedule: s,
    "server-url": s,
    "owner-url": s,
    tls: b,
    force: b,
  },
  usage: `Usage: flhe owner init [options]

Creates a federation folder: a Paillier key pair, federation.json, the seeded
initial LeNet weights, and one bundle folder per party (owner, server,
client-1..K) holding what that party may hold and nothing more. Copy each
bundle to the machine of its party.

Options:
  --dir DIR                 folder to create (default: federation)
  --clients K               number of data owners (default: 2)
  --min-clients M           fewest clients a round needs (default: K)
  --rounds R                training rounds (default: 5)
  --mode MODE               owner: only the owner holds the secret key and
                            decrypts each round's aggregate (default);
                            shared-key: every client holds the secret key
  --key-bits BITS           2048 (default) or 3072
  --encoding ENC            packed (default) or per-weight (slow, faithful)
  --quant-bits B            quantization bits of packed updates (default: 16)
  --clip R                  clip update values to [-R, R] (default: 1)
  --max-total-weight W      largest sum of client weights (default: 65536)
  --randomness KIND         djn (default, fast) or classic (r^n)
  --strategy NAME           fedavg-he (default) or fedavg (plaintext: the
                            server sees every update; for comparison only)
  --partition SCHEME        dirichlet (default), iid or shards
  --alpha A                 Dirichlet concentration (default: 0.5)
  --shards-per-client N     shards per client (default: 2)
  --seed N                  seed of the initial model and partition (default: 1)
${TRAINING_HELP}
  --server-url URL          where clients reach the server (default: ws://127.0.0.1:8765,
                            wss://127.0.0.1:8765 with --tls)
  --owner-url URL           where the server reaches the owner (default: ws://127.0.0.1:8766,
                            wss://127.0.0.1:8766 with --tls)
  --tls                     use wss://: create a private CA (ca.pem in every
                            bundle; its private key is discarded) and
                            certificates for the server and the owner service
                            (BUNDLE/tls/cert.pem and key.pem) naming the URL's
                            host, 127.0.0.1, ::1 and localhost; ws:// URLs
                            become wss://
  --force                   replace an existing folder
  -h, --help                show this help
`,
  async run(v) {
    const log = createLogger("owner");
    // Fewer than two clients would let the owner decrypt one client's update.
    const clients = numberOption(v, "clients", 2, 2, 1000);
    const dir = stringOption(v, "dir", "federation");
    const tls = v.tls === true;
    const urls = ([["server-url", 8765], ["owner-url", 8766]] as const).map(([name, port]) => {
      const url = stringOption(v, name, `${tls ? "wss" : "ws"}://127.0.0.1:${port}`);
      if (!/^wss?:\/\/\S+$/.test(url)) {
        throw new FlheError("usage", `--${name}: '${url}' is not a ws:// or wss:// URL`);
      }
      if (!tls || url.startsWith("wss://")) return url;
      log.info(`--${name}: using wss:// instead of ws:// (--tls)`);
      return url.replace(/^ws:/, "wss:");
    });
    const [serverUrl, ownerUrl] = urls as [string, string];
    const mode: KeyMode = choiceOption(v, "mode", KEY_MODES, "owner");
    const { config, bundles } = await initFederation({
      dir,
      clients,
      minClients: numberOption(v, "min-clients", clients, 1, clients),
      rounds: numberOption(v, "rounds", 5, 1, 100_000),
      mode,
      keyBits: Number(choiceOption(v, "key-bits", KEY_BITS_ALLOWED.map(String), "2048")),
      encoding: choiceOption(v, "encoding", ["packed", "per-weight"], "packed"),
      quantBits: numberOption(v, "quant-bits", 16, 2, 24),
      clipRange: numberOption(v, "clip", 1, 1e-6, 1e6, false),
      maxTotalWeight: numberOption(v, "max-total-weight", 65_536, 1, 2 ** 24),
      randomness: choiceOption(v, "randomness", ["djn", "classic"], "djn"),
      strategy: choiceOption(v, "strategy", STRATEGIES, "fedavg-he"),
      partition: choiceOption<PartitionScheme>(v, "partition", PARTITION_SCHEMES, "dirichlet"),
      alpha: numberOption(v, "alpha", 0.5, 1e-6, 1e6, false),
      shardsPerClient: numberOption(v, "shards-per-client", 2, 1, 1000),
      seed: numberOption(v, "seed", 1, 0, 2 ** 32 - 1),
      training: trainingOptions(v),
      serverUrl,
      ownerUrl,
      force: v.force === true,
      tls,
    }, log);
    log.info(`federation created in ${dir} (${config.mode} mode, ${config.keyBits}-bit key)`);
    log.info(`public key fingerprint ${config.fingerprint}`);
    const lines = [
      ...(config.mode === "owner" ? [`owner:    flhe owner serve --bundle ${bundles.owner}`] : []),
      `server:   flhe serve --bundle ${bundles.server}`,
      ...Array.from(
        { length: config.clients },
        (_, i) => `client ${i + 1}: flhe client --bundle ${bundles[`client-${i + 1}`]}`,
      ),
    ];
    log.info("next, copy each bundle to its party's machine and run:");
    for (const line of lines) log.info(`  ${line}`);
    return 0;
  },
};

const data: Command = {
  name: "data",
  summary: "show how a partition splits the data set among clients",
  options: { partition: s, clients: s, alpha: s, "shards-per-client": s, seed: s, data: s },
  usage: `Usage: flhe data [options]

Prints each client's share size and label histogram, to show how non-IID a
partition is. Uses the MNIST training set that ships with flhe unless --data.

Options:
  --partition SCHEME        dirichlet (default), iid or shards
  --clients K               number of clients (default: 2)
  --alpha A                 Dirichlet concentration (default: 0.5)
  --shards-per-client N     shards per client (default: 2)
  --seed N                  partition seed (default: 1)
  --data DIR                an IDX data set of MNIST's shape (e.g. Fashion-MNIST)
  -h, --help                show this help
`,
  async run(v) {
    const dir = typeof v.data === "string" ? v.data : undefined;
    const { train } = await loadDataset(dir);
    const table = describePartition(train.labels, {
      scheme: choiceOption<PartitionScheme>(v, "partition", PARTITION_SCHEMES, "dirichlet"),
      clients: numberOption(v, "clients", 2, 1, 10_000),
      alpha: numberOption(v, "alpha", 0.5, 1e-6, 1e6, false),
      shardsPerClient: numberOption(v, "shards-per-client", 2, 1, 1000),
      seed: numberOption(v, "seed", 1, 0, 2 ** 32 - 1),
    });
    await Deno.stdout.write(new TextEncoder().encode(table));
    return 0;
  },
};

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new FlheError("input", `${path}: cannot read (${(e as Error).message})`);
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** --tls-cert/--tls-key, else the bundle's tls/cert.pem and tls/key.pem if both exist. */
async function readTls(
  v: OptionValues,
  bundleDir: string,
): Promise<{ cert: string; key: string } | undefined> {
  let certPath = v["tls-cert"];
  let keyPath = v["tls-key"];
  if (certPath === undefined && keyPath === undefined) {
    certPath = `${bundleDir}/tls/cert.pem`;
    keyPath = `${bundleDir}/tls/key.pem`;
    if (!(await isFile(certPath)) || !(await isFile(keyPath))) return undefined;
  }
  if (typeof certPath !== "string" || typeof keyPath !== "string") {
    throw new FlheError("usage", "--tls-cert and --tls-key go together");
  }
  await checkPrivateFile(keyPath);
  return { cert: await readText(certPath), key: await readText(keyPath) };
}

/**
 * The CA certificates to verify a wss:// peer: --ca FILE, else the bundle's
 * ca.pem when `url` is wss:// and the bundle has one, else none (the
 * runtime's default roots).
 */
async function readCa(
  v: OptionValues,
  bundleDir: string,
  url: string,
): Promise<string[] | undefined> {
  let path = v.ca;
  if (typeof path !== "string") {
    path = `${bundleDir}/ca.pem`;
    if (!url.startsWith("wss://") || !(await isFile(path))) return undefined;
  }
  const pem = await readText(path);
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new FlheError("input", `${path}: not a PEM certificate (no BEGIN CERTIFICATE line)`);
  }
  return [pem];
}

/** --host/--port, defaulting to the host and port of the party's URL. */
function bindAddress(v: OptionValues, url: string): { hostname: string; port: number } {
  const u = new URL(url);
  const port = u.port ? Number(u.port) : u.protocol === "wss:" ? 443 : 80;
  return {
    hostname: stringOption(v, "host", u.hostname.replace(/^\[|\]$/g, "")),
    port: numberOption(v, "port", port, 0, 65_535),
  };
}

const serve: Command = {
  name: "serve",
  summary: "run the aggregation server (public key only)",
  options: {
    bundle: s,
    host: s,
    port: s,
    history: s,
    "round-timeout": s,
    "min-clients": s,
    "min-available": s,
    "tls-cert": s,
    "tls-key": s,
    ca: s,
  },
  usage: `Usage: flhe serve [options]

Runs the aggregation server with FedAvgHE: waits for the clients, runs the
rounds, multiplies the clients' ciphertexts (which adds their updates) and
returns the encrypted aggregate. It holds the public key only and never sees
a plaintext weight. In owner mode it has the owner service decrypt each
round's aggregate and relays the sealed model, which it cannot read.

Options:
  --bundle DIR              the server's bundle (default: federation/server)
  --host ADDR               address to bind (default: the host of serverUrl;
                            0.0.0.0 to accept clients from other machines)
  --port N                  port (default: the port of serverUrl)
  --history FILE            round history (default: BUNDLE/history.json)
  --round-timeout SECONDS   wait this long for an update or report (default: 600)
  --min-clients M           fewest clients per round (default: the federation's)
  --min-available N         fewest connected clients before a round starts
                            (default: --min-clients)
  --tls-cert FILE           serve wss:// with this certificate chain (PEM)
                            (default: BUNDLE/tls/cert.pem if it exists)
  --tls-key FILE            and this private key (PEM) (default: BUNDLE/tls/key.pem)
  --ca FILE                 trust this CA (PEM) for a wss:// owner service
                            (default: BUNDLE/ca.pem if the owner URL is wss://)
  -h, --help                show this help
`,
  async run(v) {
    const log = createLogger("server");
    const bundle = await loadBundle(stringOption(v, "bundle", "federation/server"));
    await runServer({
      bundle,
      ...bindAddress(v, bundle.config.serverUrl),
      historyPath: stringOption(v, "history", `${bundle.dir}/history.json`),
      stateDir: `${bundle.dir}/state`,
      roundTimeoutMs: numberOption(v, "round-timeout", 600, 1, 86_400, false) * 1000,
      minClients: optionalNumber(v, "min-clients", 1, bundle.config.clients),
      minAvailable: optionalNumber(v, "min-available", 1, bundle.config.clients),
      tls: await readTls(v, bundle.dir),
      ownerCaCerts: await readCa(v, bundle.dir, bundle.config.ownerUrl),
      log,
    });
    return 0;
  },
};

const ownerServe: Command = {
  name: "owner serve",
  summary: "run the owner's decryption service (holds the secret key)",
  options: { bundle: s, host: s, port: s, workers: s, "tls-cert": s, "tls-key": s },
  usage: `Usage: flhe owner serve [options]

Runs the model owner's decryption service (owner mode): the only holder of
the secret key. The server forwards each round's encrypted aggregate; the
owner decrypts it once per round, only if at least the minimum number of
clients contributed, and returns the new global model sealed with AES-GCM
under the group key that only the owner and the clients hold. Exits after the
last round, leaving the final model in BUNDLE/state/.

Options:
  --bundle DIR              the owner's bundle (default: federation/owner)
  --host ADDR               address to bind (default: the host of ownerUrl)
  --port N                  port (default: the port of ownerUrl)
  --workers N               decryption workers (default: one per core)
  --tls-cert FILE           serve wss:// with this certificate chain (PEM)
                            (default: BUNDLE/tls/cert.pem if it exists)
  --tls-key FILE            and this private key (PEM) (default: BUNDLE/tls/key.pem)
  -h, --help                show this help
`,
  async run(v) {
    const log = createLogger("owner");
    const bundle = await loadBundle(stringOption(v, "bundle", "federation/owner"));
    await runOwnerService({
      bundle,
      ...bindAddress(v, bundle.config.ownerUrl),
      workers: optionalNumber(v, "workers", 1, 256),
      tls: await readTls(v, bundle.dir),
      log,
    });
    return 0;
  },
};

const client: Command = {
  name: "client",
  summary: "run a data owner: train on its shard, send encrypted updates",
  options: {
    bundle: s,
    shard: s,
    federation: s,
    data: s,
    server: s,
    workers: s,
    "train-limit": s,
    "test-limit": s,
    "connect-timeout": s,
    ca: s,
  },
  usage: `Usage: flhe client (--shard I | --bundle DIR) [options]

Runs data owner I: computes its own share of the data set from the
federation's partition, trains LeNet on it each round, encrypts its update in
a worker pool (randomizers precomputed while it trains), sends it to the
server, applies the new global model and reports its test accuracy.

Options:
  --shard I                 client number; the bundle is FEDERATION/client-I
  --federation DIR          federation folder for --shard (default: federation)
  --bundle DIR              the client's bundle folder, instead of --shard
  --data DIR                an IDX data set of MNIST's shape (default: the
                            MNIST that ships with flhe)
  --server URL              server address (default: serverUrl of the bundle)
  --ca FILE                 trust this CA (PEM) for a wss:// server
                            (default: BUNDLE/ca.pem if the URL is wss://)
  --workers N               encryption workers (default: one per core)
  --train-limit N           train on only the first N examples of the share
  --test-limit N            evaluate on only the first N test images
  --connect-timeout SECONDS give up if the server stays unreachable (default: 600)
  -h, --help                show this help
`,
  async run(v) {
    let dir: string;
    if (typeof v.bundle === "string") dir = v.bundle;
    else if (typeof v.shard === "string") {
      dir = `${stringOption(v, "federation", "federation")}/client-${
        numberOption(v, "shard", 1, 1, 100_000)
      }`;
    } else throw new FlheError("usage", "give --shard I or --bundle DIR");
    const bundle = await loadBundle(dir);
    const id = bundle.credentials.role === "client" ? bundle.credentials.id : "client";
    const serverUrl = typeof v.server === "string" ? v.server : bundle.config.serverUrl;
    await runClient({
      bundle,
      dataDir: typeof v.data === "string" ? v.data : undefined,
      serverUrl: typeof v.server === "string" ? v.server : undefined,
      caCerts: await readCa(v, bundle.dir, serverUrl),
      workers: optionalNumber(v, "workers", 1, 256),
      trainLimit: optionalNumber(v, "train-limit", 1, 1e9),
      testLimit: optionalNumber(v, "test-limit", 1, 1e9),
      connectTimeoutMs: numberOption(v, "connect-timeout", 600, 1, 86_400, false) * 1000,
      log: createLogger(id),
    });
    return 0;
  },
};

const demo: Command = {
  name: "demo",
  summary: "run owner, server and clients on this machine, on MNIST",
  options: {
    clients: s,
    rounds: s,
    mode: s,
    "key-bits": s,
    partition: s,
    alpha: s,
    seed: s,
    plaintext: b,
    epochs: s,
    "batch-size": s,
    optimizer: s,
    lr: s,
    momentum: s,
    schedule: s,
    "train-limit": s,
    "test-limit": s,
    summary: s,
    keep: b,
  },
  usage: `Usage: flhe demo [options]

Creates a federation in a temporary folder and starts the owner service, the
server and the clients as separate processes on loopback, on the MNIST that
ships with flhe. Prints each party's lines with its name and a table per round.

Options:
  --clients K               data owners (default: 2)
  --rounds R                rounds (default: 5)
  --mode MODE               owner (default) or shared-key
  --key-bits BITS           2048 (default) or 3072
  --partition SCHEME        dirichlet (default), iid or shards
  --alpha A                 Dirichlet concentration (default: 0.5)
  --seed N                  seed of model, partition and shuffles (default: 1)
  --plaintext               same pipeline and seeds without encryption
${TRAINING_HELP}
  --train-limit N           train each client on only N examples (quick look)
  --test-limit N            evaluate on only N test images (quick look)
  --summary FILE            write a JSON summary (accuracy, seconds, bytes per round)
  --keep                    keep the federation folder
  -h, --help                show this help
`,
  async run(v) {
    const summary = await runDemo({
      clients: numberOption(v, "clients", 2, 2, 64),
      rounds: numberOption(v, "rounds", 5, 1, 1000),
      mode: choiceOption(v, "mode", KEY_MODES, "owner"),
      keyBits: Number(choiceOption(v, "key-bits", KEY_BITS_ALLOWED.map(String), "2048")),
      partition: choiceOption<PartitionScheme>(v, "partition", PARTITION_SCHEMES, "dirichlet"),
      alpha: numberOption(v, "alpha", 0.5, 1e-6, 1e6, false),
      seed: numberOption(v, "seed", 1, 0, 2 ** 32 - 1),
      plaintext: v.plaintext === true,
      training: trainingOptions(v),
      trainLimit: optionalNumber(v, "train-limit", 1, 1e9),
      testLimit: optionalNumber(v, "test-limit", 1, 1e9),
      summaryPath: typeof v.summary === "string" ? v.summary : undefined,
      keep: v.keep === true,
      log: createLogger("demo"),
    });
    return Number.isFinite(summary.final_accuracy) ? 0 : 1;
  },
};

/** Every command, in the order `flhe --help` lists them. */
export const commands: readonly Command[] = [ownerInit, ownerServe, serve, client, demo, data];
