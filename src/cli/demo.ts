/**
 * `flhe demo`: every party on this machine.
 *
 * @module
 */

import { DP_OPTIONS, dpConfig } from "./dp_options.ts";
import { createLogger } from "../util/log.ts";
import * as rules from "../federation/rules.ts";
import { runDemo } from "../parties/demo.ts";
import { FlheError } from "../util/error.ts";
import { MODEL_OPTIONS, modelRequest } from "./model_options.ts";
import { dataSource, FILE_READING_OPTIONS, OWN_DATA_OPTIONS } from "./data_options.ts";
import { type Command, defineCommand } from "./command.ts";
import { flag, int, path } from "./option_kinds.ts";
import {
  ALPHA,
  DP_RECIPE,
  KEY_BITS,
  KEY_KIND,
  MODE,
  PARTITION,
  roundsFor,
  roundsOption,
  seedOption,
  TEST_LIMIT,
  TRAIN_LIMIT,
  TRAINING_OPTIONS,
  trainingConfig,
} from "./shared_options.ts";

/** Most clients the demo starts as processes on one machine. */
export const DEMO_MAX_CLIENTS = 64;

/** `flhe demo`. */
export const demo: Command = defineCommand({
  name: "demo",
  summary: "run owner, server and clients on this machine, on MNIST or a file of your own",
  description: `
Creates a federation in a temporary folder and starts the owner service, the
server and the clients as separate processes on loopback, on the MNIST that
ships with flhe (or on --data FILE, split among the clients by --partition: by
label for classification; a table's shares are CSV files, as data owners would
hold them). Prints each party's lines with its name and a table per round.

The server's dashboard (a live page of the rounds, on loopback) is printed as
"[demo] dashboard: URL" as soon as the server listens. At the end the demo
writes report.html (the same table and charts in one file that opens without
a server) and a copy of history.json into the --report folder; it replaces
only files an earlier demo wrote there.`,
  options: {
    clients: int({
      placeholder: "K",
      help: "data owners",
      range: rules.integers(rules.CLIENTS.min, DEMO_MAX_CLIENTS),
      default: 2,
    }),
    rounds: roundsOption(rules.integers(1, 1000)),
    mode: MODE,
    "key-bits": KEY_BITS,
    "key-kind": KEY_KIND,
    partition: PARTITION,
    alpha: ALPHA,
    seed: seedOption("seed of the model, the partition and the shuffles"),
    plaintext: flag("same pipeline and seeds without encryption"),
    ...MODEL_OPTIONS,
    data: path({
      placeholder: "FILE",
      help: "split this file among the clients instead of MNIST (a .csv/.tsv/.json table " +
        "with --label, or .npy/IDX with --labels); --test-fraction of it is the common test set",
    }),
    ...FILE_READING_OPTIONS,
    "test-fraction": OWN_DATA_OPTIONS["test-fraction"],
    ...TRAINING_OPTIONS,
    ...DP_OPTIONS,
    "train-limit": TRAIN_LIMIT,
    "test-limit": TEST_LIMIT,
    summary: path({
      placeholder: "FILE",
      help: "write a JSON summary (accuracy, seconds, bytes per round)",
    }),
    keep: flag("keep the federation folder"),
    "dashboard-port": int({
      placeholder: "N",
      help: "port of the server's dashboard (0: any free port)",
      range: rules.integers(0, 65_535),
      default: 0,
    }),
    "no-dashboard": flag("do not serve the dashboard"),
    report: path({
      placeholder: "DIR",
      help: "folder for report.html and a copy of history.json",
      default: "flhe-demo",
    }),
    "no-report": flag("write no report"),
  },
  async run(v) {
    if (v.data === undefined) {
      const stray = (["label", "labels", "features"] as const).find((k) => v[k] !== undefined);
      if (stray) throw new FlheError("usage", `--${stray}: reads the --data file; give one`);
    }
    const dp = dpConfig(v);
    const custom = (v.model ?? (dp ? DP_RECIPE.model : "lenet5")) !== "lenet5" ||
      v.data !== undefined || v.task !== undefined ||
      v.classes !== undefined || v["input-shape"] !== undefined || v.scale !== undefined;
    const summary = await runDemo({
      model: custom ? modelRequest(v, dp !== undefined) : undefined,
      data: v.data === undefined
        ? undefined
        : { source: dataSource(v.data, v), testFraction: v["test-fraction"] },
      clients: v.clients,
      rounds: roundsFor(v.rounds, dp !== undefined),
      mode: v.mode,
      keyBits: v["key-bits"],
      keyKind: v["key-kind"],
      partition: v.partition,
      alpha: v.alpha,
      seed: v.seed,
      plaintext: v.plaintext,
      training: trainingConfig(v, dp !== undefined),
      dp,
      trainLimit: v["train-limit"],
      testLimit: v["test-limit"],
      summaryPath: v.summary,
      keep: v.keep,
      dashboardPort: v["no-dashboard"] ? undefined : v["dashboard-port"],
      reportDir: v["no-report"] ? undefined : v.report,
      log: createLogger("demo"),
    });
    return Number.isFinite(summary.final_accuracy) || Number.isFinite(summary.final_loss) ? 0 : 1;
  },
});
