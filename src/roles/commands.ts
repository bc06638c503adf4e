/**
 * The command table of the CLI: each command's options, help text, and the
 * conversion of its raw option strings into the typed options of a party.
 * `main.ts` parses the command line against this table and dispatches.
 *
 * @module
 */

import type { ParseArgsConfig } from "node:util";
import { FlheError } from "../error.ts";
import {
  describePartition,
  loadDataset,
  PARTITION_SCHEMES,
  type PartitionScheme,
} from "../data/mod.ts";
import { createLogger } from "../log.ts";
import { KEY_MODES, type KeyMode } from "./federation.ts";
import { initFederation } from "./owner_init.ts";

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
    partition: s,
    alpha: s,
    "shards-per-client": s,
    seed: s,
    epochs: s,
    "batch-size": s,
    lr: s,
    momentum: s,
    "server-url": s,
    "owner-url": s,
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
  --rounds R                training rounds (default: 3)
  --mode MODE               owner: only the owner holds the secret key and
                            decrypts each round's aggregate (default);
                            shared-key: every client holds the secret key
  --key-bits BITS           2048 (default) or 3072
  --encoding ENC            packed (default) or per-weight (slow, faithful)
  --quant-bits B            quantization bits of packed updates (default: 16)
  --clip R                  clip update values to [-R, R] (default: 0.5)
  --max-total-weight W      largest sum of client weights (default: 65536)
  --randomness KIND         djn (default, fast) or classic (r^n)
  --partition SCHEME        dirichlet (default), iid or shards
  --alpha A                 Dirichlet concentration (default: 0.5)
  --shards-per-client N     shards per client (default: 2)
  --seed N                  seed of the initial model and partition (default: 1)
  --epochs E                local epochs per round (default: 1)
  --batch-size N            local batch size (default: 32)
  --lr RATE                 local learning rate (default: 0.05)
  --momentum M              local SGD momentum (default: 0)
  --server-url URL          where clients reach the server (default: ws://127.0.0.1:8765)
  --owner-url URL           where the server reaches the owner (default: ws://127.0.0.1:8766)
  --force                   replace an existing folder
  -h, --help                show this help
`,
  async run(v) {
    const log = createLogger("owner");
    const clients = numberOption(v, "clients", 2, 1, 1000);
    const dir = stringOption(v, "dir", "federation");
    const serverUrl = stringOption(v, "server-url", "ws://127.0.0.1:8765");
    const ownerUrl = stringOption(v, "owner-url", "ws://127.0.0.1:8766");
    for (const [name, url] of [["server-url", serverUrl], ["owner-url", ownerUrl]]) {
      if (!/^wss?:\/\/\S+$/.test(url!)) {
        throw new FlheError("usage", `--${name}: '${url}' is not a ws:// or wss:// URL`);
      }
    }
    const mode: KeyMode = choiceOption(v, "mode", KEY_MODES, "owner");
    const { config, bundles } = await initFederation({
      dir,
      clients,
      minClients: numberOption(v, "min-clients", clients, 1, clients),
      rounds: numberOption(v, "rounds", 3, 1, 100_000),
      mode,
      keyBits: Number(choiceOption(v, "key-bits", ["2048", "3072"], "2048")),
      encoding: choiceOption(v, "encoding", ["packed", "per-weight"], "packed"),
      quantBits: numberOption(v, "quant-bits", 16, 2, 24),
      clipRange: numberOption(v, "clip", 0.5, 1e-6, 1e6, false),
      maxTotalWeight: numberOption(v, "max-total-weight", 65_536, 1, 2 ** 24),
      randomness: choiceOption(v, "randomness", ["djn", "classic"], "djn"),
      partition: choiceOption<PartitionScheme>(v, "partition", PARTITION_SCHEMES, "dirichlet"),
      alpha: numberOption(v, "alpha", 0.5, 1e-6, 1e6, false),
      shardsPerClient: numberOption(v, "shards-per-client", 2, 1, 1000),
      seed: numberOption(v, "seed", 1, 0, 2 ** 32 - 1),
      epochs: numberOption(v, "epochs", 1, 1, 1000),
      batchSize: numberOption(v, "batch-size", 32, 1, 65_536),
      learningRate: numberOption(v, "lr", 0.05, 1e-9, 100, false),
      momentum: numberOption(v, "momentum", 0, 0, 0.999999, false),
      serverUrl,
      ownerUrl,
      force: v.force === true,
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

/** Every command, in the order `flhe --help` lists them. */
export const commands: readonly Command[] = [ownerInit, data];
