/**
 * Options that several commands share: local training (`owner init`,
 * `demo`), the data partition (`owner init`, `demo`, `data`) and key custody.
 * Each is declared once here and spread into the commands' tables.
 *
 * @module
 */

import { type FederationConfig, KEY_MODES, type KeyMode } from "../federation/mod.ts";
import { KEY_KIND_NAMES, KEY_KINDS, type KeyKind } from "../he/mod.ts";
import * as rules from "../federation/rules.ts";
import { PARTITION_SCHEMES, type PartitionScheme } from "../data/mod.ts";
import { DEFAULT_LEARNING_RATES, type OptimizerName, OPTIMIZERS, SCHEDULES } from "../nn/mod.ts";
import { derived, type Option, type OptionValues, runtime } from "./options.ts";
import { choice, int, number, path, string } from "./option_kinds.ts";

/** Longest wait a party accepts for a peer, in seconds (a day). */
export const MAX_WAIT_SECONDS = 86_400;

/** Momentum of the heavy-ball update rules (`momentum`, `nesterov`) unless `--momentum`. */
export const HEAVY_BALL_MOMENTUM = 0.9;

function isHeavyBall(optimizer: OptimizerName): boolean {
  return optimizer === "momentum" || optimizer === "nesterov";
}

// Heavy-ball momentum with a cosine decay inside each round reached 97% by
// round 3 on two Dirichlet(0.5) splits without the dips that constant-step
// SGD showed (bench/fedavg_sim.ts); Adam, best for central training, lagged.
const optimizer = choice({
  placeholder: "RULE",
  help: "local update rule",
  choices: OPTIMIZERS,
  default: "momentum",
});

/**
 * The defaults that change when the federation trains with differential
 * privacy (`--dp-epsilon` or `--noise-multiplier`) and the option is not given.
 *
 * DP-SGD wants large batches (the noise is added once per batch, so its share
 * of the update shrinks as the batch grows), a larger constant step, bounded
 * activations, and more passes over the data than plain training. On MNIST with
 * two Dirichlet(0.5) clients at epsilon 3 the demo reached 96.4% with this
 * recipe and 84.9% with the plain defaults (README, "What the model reveals").
 */
export const DP_RECIPE = {
  /** The built-in used instead of `lenet5`. */
  model: "lenet5-tanh",
  rounds: 10,
  batchSize: 512,
  /** Peak learning rate of the heavy-ball rules (`momentum`, `nesterov`). */
  heavyBallLearningRate: 0.3,
  schedule: "constant",
} as const;

/** Rounds of a federation without DP unless `--rounds`. */
export const DEFAULT_ROUNDS = 5;

/** Local training options of `owner init` and `demo`. */
export const TRAINING_OPTIONS = {
  epochs: int({
    placeholder: "E",
    help: "local epochs per round",
    range: rules.EPOCHS,
    default: 1,
  }),
  "batch-size": int({
    placeholder: "N",
    help: "local batch size (with DP, the expected size of a Poisson-sampled batch)",
    range: rules.BATCH_SIZE,
    default: runtime(`32, or ${DP_RECIPE.batchSize} with DP`),
  }),
  optimizer,
  lr: number({
    placeholder: "RATE",
    help: "peak learning rate",
    range: rules.LEARNING_RATE,
    default: runtime(
      `${DEFAULT_LEARNING_RATES.momentum} for momentum/nesterov (${DP_RECIPE.heavyBallLearningRate} ` +
        `with DP), ${DEFAULT_LEARNING_RATES.sgd} for sgd, ${DEFAULT_LEARNING_RATES.adam} for adam`,
    ),
  }),
  momentum: number({
    placeholder: "M",
    help: "momentum of the heavy-ball rules",
    range: rules.MOMENTUM,
    default: derived(optimizer, (o) => (isHeavyBall(o) ? HEAVY_BALL_MOMENTUM : 0)),
  }),
  schedule: choice({
    placeholder: "NAME",
    help: "learning-rate schedule within each round",
    choices: SCHEDULES,
    notes: { "cosine": "decay to ~0 within the round" },
    default: runtime(`cosine, or ${DP_RECIPE.schedule} with DP`),
  }),
} as const;

/**
 * `--rounds R` of `owner init` and `demo`.
 *
 * @param range The rounds allowed.
 * @returns The option; absent, {@linkcode roundsFor} gives the default.
 *
 * @example Usage
 * ```ts
 * import { roundsOption } from "./shared_options.ts";
 * import { integers } from "../federation/rules.ts";
 * roundsOption(integers(1, 1000));
 * ```
 */
export function roundsOption(range: rules.Range): Option<number | undefined> {
  return int({
    placeholder: "R",
    help: "training rounds",
    range,
    default: runtime(`${DEFAULT_ROUNDS}, or ${DP_RECIPE.rounds} with DP`),
  });
}

/**
 * The rounds of a federation: `--rounds`, or the default with or without DP.
 *
 * @param given `--rounds`, if given.
 * @param dp Whether the federation trains with differential privacy.
 * @returns The rounds.
 *
 * @example Usage
 * ```ts
 * import { roundsFor } from "./shared_options.ts";
 * roundsFor(undefined, true); // 10
 * ```
 */
export function roundsFor(given: number | undefined, dp: boolean): number {
  return given ?? (dp ? DP_RECIPE.rounds : DEFAULT_ROUNDS);
}

/**
 * The training configuration from parsed training options: what is not
 * given takes the plain defaults, or {@linkcode DP_RECIPE}'s with DP.
 *
 * @param values Values of a table that includes {@linkcode TRAINING_OPTIONS}.
 * @param dp Whether the federation trains with differential privacy.
 * @returns The `training` part of a federation configuration.
 *
 * @example Usage
 * ```ts
 * import { trainingConfig } from "./shared_options.ts";
 * trainingConfig({
 *   epochs: 1, "batch-size": undefined, optimizer: "momentum", lr: undefined, momentum: 0.9,
 *   schedule: undefined,
 * }, true).learningRate; // 0.3
 * ```
 */
export function trainingConfig(
  values: OptionValues<typeof TRAINING_OPTIONS>,
  dp: boolean,
): FederationConfig["training"] {
  const o = values.optimizer;
  const heavyBallRate = dp ? DP_RECIPE.heavyBallLearningRate : DEFAULT_LEARNING_RATES[o];
  return {
    epochs: values.epochs,
    batchSize: values["batch-size"] ?? (dp ? DP_RECIPE.batchSize : 32),
    optimizer: o,
    learningRate: values.lr ?? (isHeavyBall(o) ? heavyBallRate : DEFAULT_LEARNING_RATES[o]),
    momentum: values.momentum,
    schedule: values.schedule ?? (dp ? DP_RECIPE.schedule : "cosine"),
  };
}

/** `--partition SCHEME`. */
export const PARTITION: Option<PartitionScheme> = choice({
  placeholder: "SCHEME",
  help: "how the data set is split among clients",
  choices: PARTITION_SCHEMES,
  default: "dirichlet",
});

/** `--alpha A`. */
export const ALPHA: Option<number> = number({
  placeholder: "A",
  help: "Dirichlet concentration (smaller: less alike shares)",
  range: rules.ALPHA,
  default: 0.5,
});

/** `--shards-per-client N`. */
export const SHARDS_PER_CLIENT: Option<number> = int({
  placeholder: "N",
  help: "shards per client of the shards partition",
  range: rules.SHARDS_PER_CLIENT,
  default: 2,
});

/**
 * `--seed N`, with the command's own description of what it seeds.
 *
 * @param help What the seed determines.
 * @returns The option.
 *
 * @example Usage
 * ```ts
 * import { seedOption } from "./shared_options.ts";
 * seedOption("partition seed");
 * ```
 */
export function seedOption(help: string): Option<number> {
  return int({ placeholder: "N", help, range: rules.SEED, default: 1 });
}

/** `--mode MODE`. */
export const MODE: Option<KeyMode> = choice({
  placeholder: "MODE",
  help: "who holds the secret key",
  choices: KEY_MODES,
  notes: {
    "owner": "only the owner, which decrypts each round's aggregate",
    "shared-key": "every client",
  },
  default: "owner",
});

/** `--key-bits BITS`. */
export const KEY_BITS: Option<number> = choice({
  placeholder: "BITS",
  help: "Paillier key size",
  choices: rules.KEY_BITS_ALLOWED,
  default: 2048,
});

/** `--key-kind KIND`. */
export const KEY_KIND: Option<KeyKind> = choice({
  placeholder: "KIND",
  help: "Paillier key structure",
  choices: KEY_KIND_NAMES,
  notes: KEY_KINDS,
  default: "standard",
});

/** `--data DIR`. */
export const DATA_DIR: Option<string | undefined> = path({
  placeholder: "DIR",
  help: "an IDX data set of MNIST's shape (e.g. Fashion-MNIST)",
  default: runtime("the MNIST that ships with flhe"),
});

/**
 * `--workers N` of a party that runs a Paillier worker pool.
 *
 * @param help What the workers do.
 * @param fallback How the default is described in `--help`.
 * @returns The option.
 *
 * @example Usage
 * ```ts
 * import { workersOption } from "./shared_options.ts";
 * workersOption("encryption workers");
 * ```
 */
export function workersOption(
  help: string,
  fallback = "one per core",
): Option<number | undefined> {
  return int({
    placeholder: "N",
    help,
    range: rules.integers(1, 256),
    default: runtime(fallback),
  });
}

/**
 * `--host ADDR` of a listening party.
 *
 * @param urlField The federation's URL of the party (`serverUrl`, `ownerUrl`).
 * @param help What to bind, and any advice.
 * @returns The option.
 *
 * @example Usage
 * ```ts
 * import { hostOption } from "./shared_options.ts";
 * hostOption("ownerUrl", "address to bind");
 * ```
 */
export function hostOption(urlField: string, help: string): Option<string | undefined> {
  return string({ placeholder: "ADDR", help, default: runtime(`the host of ${urlField}`) });
}

/**
 * `--port N` of a listening party.
 *
 * @param urlField The federation's URL of the party (`serverUrl`, `ownerUrl`).
 * @returns The option.
 *
 * @example Usage
 * ```ts
 * import { portOption } from "./shared_options.ts";
 * portOption("serverUrl");
 * ```
 */
export function portOption(urlField: string): Option<number | undefined> {
  return int({
    placeholder: "N",
    help: "port to listen on (0: any free port)",
    range: rules.integers(0, 65_535),
    default: runtime(`the port of ${urlField}`),
  });
}

/** `--tls-cert FILE` of a listening party. */
export const TLS_CERT: Option<string | undefined> = path({
  placeholder: "FILE",
  help: "serve wss:// with this certificate chain (PEM)",
  default: runtime("BUNDLE/tls/cert.pem if it exists"),
});

/** `--tls-key FILE` of a listening party. */
export const TLS_KEY: Option<string | undefined> = path({
  placeholder: "FILE",
  help: "the private key (PEM) of --tls-cert",
  default: runtime("BUNDLE/tls/key.pem with BUNDLE/tls/cert.pem"),
});

/** `--train-limit N`. */
export const TRAIN_LIMIT: Option<number | undefined> = int({
  placeholder: "N",
  help: "train on only the first N examples of each share (quick runs)",
  range: rules.integers(1, 1e9),
});

/** `--test-limit N`. */
export const TEST_LIMIT: Option<number | undefined> = int({
  placeholder: "N",
  help: "evaluate on only the first N test images (quick runs)",
  range: rules.integers(1, 1e9),
});
