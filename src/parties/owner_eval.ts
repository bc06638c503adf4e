/**
 * The model owner's own validation set (`flhe owner serve --eval PATH`):
 * each round's global model, which the owner decrypts anyway, is evaluated
 * on data only the owner holds, in a training worker so that the decryption
 * service keeps answering; each result is logged and appended to
 * `BUNDLE/state/eval.jsonl`.
 *
 * @module
 */

import type { Bundle } from "../federation/mod.ts";
import { networkScaling } from "../federation/mod.ts";
import type { DataSource } from "../data/mod.ts";
import type { Logger } from "../util/log.ts";
import { createTrainer } from "./trainer.ts";

/** Evaluates each round's model; `close` waits for the last evaluation. */
export interface OwnerEvaluator {
  /** Examples in the validation set. */
  readonly count: number;
  /** Queues the model of a round for evaluation. */
  evaluate(round: number, weights: Float32Array): void;
  /** Waits for queued evaluations and stops the worker. */
  close(): Promise<void>;
}

/**
 * Loads and checks the validation set (before the service listens) and
 * returns the evaluator.
 *
 * @param bundle The owner's bundle (model, scaling, class names).
 * @param source The validation file.
 * @param log Where each round's metrics go.
 * @returns The evaluator.
 * @throws {FlheError} `input` naming the file, as a client's data check.
 *
 * @example Usage
 * ```ts
 * import { createOwnerEvaluator } from "./owner_eval.ts";
 * import { loadBundle } from "../federation/mod.ts";
 * import { createLogger } from "../util/log.ts";
 * const e = await createOwnerEvaluator(await loadBundle("federation/owner"),
 *   { path: "val.csv", label: "y" }, createLogger("owner"));
 * ```
 */
export async function createOwnerEvaluator(
  bundle: Bundle,
  source: DataSource,
  log: Logger,
): Promise<OwnerEvaluator> {
  const { config } = bundle;
  const trainer = await createTrainer(
    {
      model: {
        def: bundle.model,
        scaling: networkScaling(config.model),
        classNames: config.model.classNames,
      },
      files: { train: source, test: source, testFraction: 0 },
      scheme: config.data.partition,
      clients: config.clients,
      seed: config.data.seed,
      alpha: config.data.alpha,
      shardsPerClient: config.data.shardsPerClient,
      shard: 1,
    },
    bundle.initialModel!,
    (m) => log.warn(m),
  );
  const path = `${bundle.dir}/state/eval.jsonl`;
  const regression = config.model.task === "regression";
  let queue = Promise.resolve();
  log.info(`validation set: ${trainer.testCount} examples from ${source.path}`);
  return {
    count: trainer.testCount,
    evaluate(round, weights) {
      const copy = Float32Array.from(weights);
      queue = queue.then(async () => {
        const ev = await trainer.evaluate(copy);
        const metrics = regression
          ? { mse: ev.loss, mae: ev.mae }
          : { accuracy: ev.accuracy, loss: ev.loss };
        log.info(
          `round ${round}: owner validation ` + (regression
            ? `MSE ${ev.loss.toPrecision(4)}, MAE ${ev.mae.toPrecision(4)}`
            : `accuracy ${(ev.accuracy * 100).toFixed(2)}% (loss ${ev.loss.toFixed(4)})`) +
            ` on ${ev.samples} examples`,
        );
        await Deno.mkdir(`${bundle.dir}/state`, { recursive: true, mode: 0o700 });
        await Deno.writeTextFile(
          path,
          JSON.stringify({ round, examples: ev.samples, ...metrics }) + "\n",
          { append: true, mode: 0o600 },
        );
      }).catch((e) => log.warn(`round ${round}: validation failed (${(e as Error).message})`));
    },
    async close() {
      await queue;
      trainer.close();
    },
  };
}
