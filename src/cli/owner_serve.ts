/**
 * `flhe owner serve`: the owner's decryption service.
 *
 * @module
 */

import { createLogger, type Logger } from "../util/log.ts";
import { type Bundle, loadBundle } from "../federation/mod.ts";
import { FlheError } from "../util/error.ts";
import { createOwnerEvaluator, type OwnerEvaluator } from "../parties/owner_eval.ts";
import { dataSource, FILE_READING_OPTIONS } from "./data_options.ts";
import { runOwnerService } from "../parties/owner_service.ts";
import { type Command, defineCommand } from "./command.ts";
import { number, path } from "./option_kinds.ts";
import * as rules from "../federation/rules.ts";
import { bindAddress, readTls } from "./tls_files.ts";
import {
  hostOption,
  MAX_WAIT_SECONDS,
  portOption,
  TLS_CERT,
  TLS_KEY,
  workersOption,
} from "./shared_options.ts";

/** `flhe owner serve`. */
export const ownerServe: Command = defineCommand({
  name: "owner serve",
  summary: "run the owner's decryption service (holds the secret key)",
  description: `
Runs the model owner's decryption service (owner mode): the only holder of
the secret key. The server forwards each round's encrypted aggregate; the
owner decrypts it once per round, only if at least the minimum number of
clients contributed, and returns the new global model sealed with AES-GCM
under the group key that only the owner and the clients hold. Exits when the
server says the federation is done, leaving the final model in BUNDLE/state/;
an owner that has decided every round and has no server for --linger seconds
exits too.

With --eval PATH the owner evaluates each round's model on a validation set
only it holds (checked against the model before the service starts).`,
  options: {
    bundle: path({ placeholder: "DIR", help: "the owner's bundle", default: "federation/owner" }),
    host: hostOption("ownerUrl", "address to bind"),
    port: portOption("ownerUrl"),
    workers: workersOption("decryption workers"),
    linger: number({
      placeholder: "SECONDS",
      help: "once every round is decided, exit after this long without a server " +
        "(a restarted server recovers the last model from the owner within it)",
      range: rules.reals(0, MAX_WAIT_SECONDS),
      default: 30,
    }),
    "tls-cert": TLS_CERT,
    "tls-key": TLS_KEY,
    eval: path({
      placeholder: "PATH",
      help: "the owner's own validation set (read like a client's --data): each round's model " +
        "is evaluated on it, logged and appended to BUNDLE/state/eval.jsonl",
    }),
    ...FILE_READING_OPTIONS,
  },
  async run(v) {
    const bundle = await loadBundle(v.bundle);
    const log = createLogger("owner");
    if (v.eval === undefined) {
      const stray = (["label", "labels", "features"] as const).find((k) => v[k] !== undefined);
      if (stray) throw new FlheError("usage", `--${stray}: reads the --eval file; give one`);
    }
    const evaluator = v.eval === undefined
      ? undefined
      : await createOwnerEvaluator(bundle, dataSource(v.eval, v), log);
    try {
      await serve(bundle, v, log, evaluator);
    } finally {
      await evaluator?.close();
    }
    return 0;
  },
});

/** Runs the decryption service, handing each round's model to the evaluator. */
async function serve(
  bundle: Bundle,
  v: {
    host?: string;
    port?: number;
    workers?: number;
    linger: number;
    "tls-cert"?: string;
    "tls-key"?: string;
  },
  log: Logger,
  evaluator?: OwnerEvaluator,
): Promise<void> {
  await runOwnerService({
    onModel: evaluator && ((round, model) => evaluator.evaluate(round, model)),
    bundle,
    ...bindAddress({ host: v.host, port: v.port }, bundle.config.ownerUrl),
    workers: v.workers,
    lingerMs: v.linger * 1000,
    tls: await readTls({ cert: v["tls-cert"], key: v["tls-key"] }, bundle.dir),
    log,
  });
}
