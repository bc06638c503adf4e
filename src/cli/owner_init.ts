/**
 * `flhe owner init`: creates a federation folder.
 *
 * @module
 */

import { createLogger, type Logger } from "../util/log.ts";
import { type FederationConfig, STRATEGIES } from "../federation/mod.ts";
import * as rules from "../federation/rules.ts";
import {
  DEFAULT_MAX_CLIENT_WEIGHT,
  DEFAULT_QUANT_BITS,
  initFederation,
  MIN_DEFAULT_MAX_TOTAL_WEIGHT,
  WEIGHT_UNITS_PER_CLIENT,
} from "../parties/owner_init.ts";
import { readClientPublicKeys } from "../parties/client_keygen.ts";
import { MODEL_OPTIONS, modelRequest, REFERENCE_OPTIONS } from "./model_options.ts";
import { chooseModel } from "../parties/model_choice.ts";
import { FlheError } from "../util/error.ts";
import { isLoopbackUrl } from "../util/url.ts";
import { type Command, defineCommand } from "./command.ts";
import { DP_OPTIONS, dpConfig } from "./dp_options.ts";
import { checkRange, derived, type Option, runtime, sameAs } from "./options.ts";
import { choice, flag, int, number, path, string } from "./option_kinds.ts";
import {
  ALPHA,
  KEY_BITS,
  KEY_KIND,
  MODE,
  PARTITION,
  roundsFor,
  roundsOption,
  seedOption,
  SHARDS_PER_CLIENT,
  TRAINING_OPTIONS,
  trainingConfig,
} from "./shared_options.ts";

/** Port of the server in the default `--server-url`. */
export const DEFAULT_SERVER_PORT = 8765;

/** Port of the owner service in the default `--owner-url`. */
export const DEFAULT_OWNER_PORT = 8766;

const clients = int({
  placeholder: "K",
  help: "number of data owners",
  range: rules.CLIENTS,
  default: 2,
});

const tls = flag(
  "use wss://: create a private CA (ca.pem in every bundle; its private key is discarded) " +
    "and certificates for the server and the owner service (BUNDLE/tls/cert.pem and key.pem) " +
    "naming the URL's host, 127.0.0.1, ::1 and localhost; ws:// URLs become wss://",
);

function urlOption(help: string, port: number): Option<string> {
  return string({
    placeholder: "URL",
    help,
    pattern: rules.WS_URL,
    patternText: "a ws:// or wss:// URL",
    default: derived(tls, (on) => `${on ? "wss" : "ws"}://127.0.0.1:${port}`),
  });
}

const options = {
  dir: path({ placeholder: "DIR", help: "folder to create", default: "federation" }),
  ...MODEL_OPTIONS,
  ...REFERENCE_OPTIONS,
  clients,
  "min-clients": int({
    placeholder: "M",
    help: `fewest clients a round needs (at least ${rules.MIN_PRIVATE_CLIENTS} in owner mode ` +
      "or with fedavg-he)",
    range: rules.integers(1, rules.CLIENTS.max),
    default: sameAs(clients),
  }),
  rounds: roundsOption(rules.ROUNDS),
  mode: MODE,
  "key-bits": KEY_BITS,
  "key-kind": KEY_KIND,
  encoding: choice({
    placeholder: "ENC",
    help: "update encoding",
    choices: rules.ENCODINGS,
    notes: { "per-weight": "one ciphertext per weight: slow, faithful" },
    default: "packed",
  }),
  "quant-bits": int({
    placeholder: "B",
    help: "quantization bits of packed updates",
    range: rules.QUANT_BITS,
    default: DEFAULT_QUANT_BITS,
  }),
  clip: number({
    placeholder: "R",
    help: "clip update values to [-R, R]",
    range: rules.CLIP_RANGE,
    default: 1,
  }),
  "max-total-weight": int({
    placeholder: "W",
    help: "packing headroom: each round's declared weights are scaled to sum to at most W " +
      "(slots get log2(W) bits above the quantization bits)",
    range: rules.MAX_TOTAL_WEIGHT,
    default: runtime(
      `${WEIGHT_UNITS_PER_CLIENT} per client rounded up to a power of two, ` +
        `at least ${MIN_DEFAULT_MAX_TOTAL_WEIGHT}`,
    ),
  }),
  "max-client-weight": int({
    placeholder: "N",
    help: "largest weight (training examples) one client may declare",
    range: rules.MAX_CLIENT_WEIGHT,
    default: DEFAULT_MAX_CLIENT_WEIGHT,
  }),
  randomness: choice({
    placeholder: "KIND",
    help: "encryption randomness",
    choices: rules.RANDOMNESS_KINDS,
    notes: { "djn": "fast", "classic": "r^n" },
    default: "djn",
  }),
  strategy: choice({
    placeholder: "NAME",
    help: "how the server aggregates",
    choices: STRATEGIES,
    notes: {
      "fedavg-he": "on Paillier ciphertexts",
      "fedavg": "plaintext: the server sees every update; for comparison only",
    },
    default: "fedavg-he",
  }),
  partition: PARTITION,
  alpha: ALPHA,
  "shards-per-client": SHARDS_PER_CLIENT,
  seed: seedOption("seed of the initial model and the partition"),
  ...TRAINING_OPTIONS,
  ...DP_OPTIONS,
  "server-url": urlOption("where clients reach the server", DEFAULT_SERVER_PORT),
  "owner-url": urlOption("where the server reaches the owner service", DEFAULT_OWNER_PORT),
  tls,
  insecure: flag(
    "allow ws:// URLs to hosts other than loopback (tokens and sealed models then travel in clear)",
  ),
  "client-keys": string({
    placeholder: "FILES",
    help: "comma-separated public key files the clients made with 'flhe client keygen' " +
      "(then nobody else ever holds their private keys)",
    default: runtime("the owner generates every client's keys"),
  }),
  force: flag("replace an existing folder"),
} as const;

/**
 * With `--tls`, a `ws://` URL becomes `wss://` (saying so); without it, a
 * `ws://` URL must stay on loopback unless `--insecure`.
 */
function secureUrl(
  name: string,
  url: string,
  v: { readonly tls: boolean; readonly insecure: boolean },
  log: Logger,
): string {
  if (!v.tls && url.startsWith("ws://") && !v.insecure && !isLoopbackUrl(url)) {
    throw new FlheError(
      "usage",
      `--${name}: '${url}' leaves this machine unencrypted; use --tls (wss://) or pass --insecure`,
    );
  }
  if (!v.tls || url.startsWith("wss://")) return url;
  log.info(`--${name}: using wss:// instead of ws:// (--tls)`);
  return url.replace(/^ws:/, "wss:");
}

/**
 * Says what the model will reveal: the DP settings, or, with two clients and
 * no DP, that each client can read the other's update from the models.
 */
function dpLine(config: FederationConfig, log: Logger): void {
  const dp = config.dp;
  if (dp) {
    const what = dp.epsilon !== undefined
      ? `epsilon ${dp.epsilon} over ${config.rounds} rounds`
      : `noise multiplier ${dp.noiseMultiplier}`;
    log.info(
      `differential privacy per record: DP-SGD, ${what}, delta ${dp.delta}, clip ${dp.clipNorm}`,
    );
  } else if (config.clients === 2) {
    log.warn(
      "2 clients and no differential privacy: each client can compute the other's update exactly from the models it receives (see --dp-epsilon)",
    );
  }
}

/** `flhe owner init`. */
export const ownerInit: Command = defineCommand({
  name: "owner init",
  summary: "create a federation: keys, config, initial model, one bundle per party",
  description: `
Creates a federation folder: a Paillier key pair, federation.json, the model
(model.json in every bundle, its SHA-256 in federation.json), its initial
weights (from the model file's weights, else seeded), and one bundle folder
per party (owner, server, client-1..K) holding what that party may hold and
nothing more. Copy each bundle to the machine of its party.

The model is a built-in (--model lenet5, lenet5-tanh, mlp:H1,H2, logreg, cnn32) or a
TensorFlow.js Layers model.json (tensorflowjs_converter's output from Keras,
or what tf.LayersModel.save writes), refused here with one line naming the
layer if flhe cannot train it. The task follows its output layer: softmax
(classes), one sigmoid unit (binary), one linear unit (regression).
--reference FILE (a sample of the data, as clients hold it) gives the input
shape and the classes, and with --scale standard each feature's mean and std.`,
  options,
  async run(v) {
    const log = createLogger("owner");
    const floor = rules.minClientsFloor(v.mode, v.strategy);
    checkRange("min-clients", v["min-clients"], rules.integers(floor, v.clients));
    const dp = dpConfig(v);
    const model = await chooseModel(modelRequest(v, dp !== undefined));
    const { config, bundles } = await initFederation({
      dir: v.dir,
      model,
      clients: v.clients,
      minClients: v["min-clients"],
      rounds: roundsFor(v.rounds, dp !== undefined),
      mode: v.mode,
      keyBits: v["key-bits"],
      keyKind: v["key-kind"],
      encoding: v.encoding,
      quantBits: v["quant-bits"],
      clipRange: v.clip,
      maxTotalWeight: v["max-total-weight"],
      maxClientWeight: v["max-client-weight"],
      randomness: v.randomness,
      strategy: v.strategy,
      partition: v.partition,
      alpha: v.alpha,
      shardsPerClient: v["shards-per-client"],
      seed: v.seed,
      training: trainingConfig(v, dp !== undefined),
      dp,
      serverUrl: secureUrl("server-url", v["server-url"], v, log),
      ownerUrl: secureUrl("owner-url", v["owner-url"], v, log),
      clientPublicKeys: v["client-keys"] === undefined
        ? undefined
        : await readClientPublicKeys(v["client-keys"].split(",").filter((p) => p !== "")),
      force: v.force,
      tls: v.tls,
    }, log);
    log.info(`federation created in ${v.dir} (${config.mode} mode, ${config.keyBits}-bit key)`);
    log.info(`public key fingerprint ${config.fingerprint}`);
    dpLine(config, log);
    log.info(
      `model ${model.config.name}: ${model.config.task}, input ${
        model.config.inputShape.join("x")
      }, ${model.parameterCount} parameters${
        model.initialWeights ? ", weights from the file" : ""
      }`,
    );
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
});
