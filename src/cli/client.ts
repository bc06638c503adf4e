/**
 * `flhe client`: a data owner.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { createLogger } from "../util/log.ts";
import { loadBundle } from "../federation/mod.ts";
import * as rules from "../federation/rules.ts";
import { runClient } from "../parties/client.ts";
import { type Command, defineCommand } from "./command.ts";
import { runtime } from "./options.ts";
import { flag, int, number, path, string } from "./option_kinds.ts";
import { isLoopbackUrl } from "../util/url.ts";
import { readCa } from "./tls_files.ts";
import { OWN_DATA_OPTIONS, ownFiles } from "./data_options.ts";
import { MAX_WAIT_SECONDS, TEST_LIMIT, TRAIN_LIMIT, workersOption } from "./shared_options.ts";

/** `flhe client`. */
export const client: Command = defineCommand({
  name: "client",
  summary: "run a data owner: train on its own data, send encrypted updates",
  synopsis: "(--shard I | --bundle DIR) [options]",
  description: `
Runs data owner I: trains the federation's model on its own examples each
round (--data FILE: a CSV/TSV/JSON table, a .npy or an IDX file; without it,
its share of the federation's partition of MNIST), encrypts its update in a
worker pool (randomizers precomputed while it trains), sends it to the
server, applies the new global model and reports its test metrics.

The examples are read and checked before the client connects: their shape
against the model's input, labels against its classes, every table cell for
a number. A bad file stops the client with one line naming the file, line
and column; nothing is sent. Input scaling is the federation's (set by the
model owner), never the client's.`,
  options: {
    shard: int({
      placeholder: "I",
      help: "client number; the bundle is FEDERATION/client-I",
      range: rules.integers(1, rules.CLIENTS.max),
    }),
    federation: path({
      placeholder: "DIR",
      help: "federation folder for --shard",
      default: "federation",
    }),
    bundle: path({ placeholder: "DIR", help: "the client's bundle folder, instead of --shard" }),
    ...OWN_DATA_OPTIONS,
    server: string({
      placeholder: "URL",
      help: "server address",
      pattern: rules.WS_URL,
      patternText: "a ws:// or wss:// URL",
      default: runtime("serverUrl of the bundle"),
    }),
    ca: path({
      placeholder: "FILE",
      help: "trust this CA (PEM) for a wss:// server",
      default: runtime("BUNDLE/ca.pem if the URL is wss://"),
    }),
    workers: workersOption(
      "encryption workers",
      "one per core but the one training takes (at least 1)",
    ),
    "train-limit": TRAIN_LIMIT,
    "test-limit": TEST_LIMIT,
    "dp-epsilon": number({
      placeholder: "E",
      help: "this client's own privacy budget, stricter than the federation's: it adds the " +
        "noise that fits every round into E, and never trains past E (DP federations only)",
      range: rules.reals(0.01, 100),
      default: runtime("the federation's"),
    }),
    "train-seed": int({
      placeholder: "N",
      help: "fix this client's shuffle seed, for reproducible runs; the server never sets it",
      range: rules.SEED,
      default: runtime("a fresh random seed each round"),
    }),
    insecure: flag("allow a ws:// --server on a host other than loopback (tokens travel in clear)"),
    "connect-timeout": number({
      placeholder: "SECONDS",
      help: "give up if the server stays unreachable this long",
      range: rules.reals(1, MAX_WAIT_SECONDS),
      default: 600,
    }),
  },
  async run(v) {
    const dir = v.bundle ??
      (v.shard === undefined ? undefined : `${v.federation}/client-${v.shard}`);
    if (dir === undefined) throw new FlheError("usage", "give --shard I or --bundle DIR");
    const bundle = await loadBundle(dir);
    const id = bundle.credentials.role === "client" ? bundle.credentials.id : "client";
    if (v.server?.startsWith("ws://") && !isLoopbackUrl(v.server) && !v.insecure) {
      throw new FlheError(
        "usage",
        `--server: '${v.server}' leaves this machine unencrypted; use wss:// or pass --insecure`,
      );
    }
    const files = await ownFiles(v);
    await runClient({
      bundle,
      files,
      dataDir: files ? undefined : v.data,
      serverUrl: v.server,
      caCerts: await readCa(v.ca, bundle.dir, v.server ?? bundle.config.serverUrl),
      workers: v.workers,
      trainLimit: v["train-limit"],
      testLimit: v["test-limit"],
      trainSeed: v["train-seed"],
      dpEpsilon: v["dp-epsilon"],
      connectTimeoutMs: v["connect-timeout"] * 1000,
      log: createLogger(id),
    });
    return 0;
  },
});
