/**
 * `flhe client`: a data owner. Computes its own share of the data set from
 * the federation's partition (it never holds the others' data), then serves
 * the server's requests in named steps: train and say ready, mask and upload
 * for the announced set ({@linkcode createContributor}), take the round's
 * model ({@linkcode takeModel}), evaluate and report.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { retry } from "../util/backoff.ts";
import type { Logger } from "../util/log.ts";
import { createPool, type PaillierPool } from "../he/mod.ts";
import { type Channel, connect, type Message, type ReportMessage } from "../net/mod.ts";
import { pairSecrets } from "../secagg/mod.ts";
import {
  type Bundle,
  clientWeightCap,
  federationCodec,
  maxSetFrameBytes,
  networkScaling,
  updateCount,
} from "../federation/mod.ts";
import type { OwnFiles } from "./trainer_protocol.ts";
import { type ClientCrypto, type Contributor, createContributor } from "./client_round.ts";
import { takeModel } from "./client_model.ts";
import { createTrainer, type Trainer } from "./trainer.ts";
import { createClientStateStore, type HeldModel } from "./client_state.ts";
import { type ContributionLedger, openLedger } from "./client_ledger.ts";
import { openPrivacyBudget, type PrivacyBudget } from "./client_privacy.ts";
import { lockStateDir } from "../util/state_lock.ts";
import { trySend } from "./collect.ts";

/** Options of {@linkcode runClient}. */
export interface ClientOptions {
  /** The client's bundle. */
  readonly bundle: Bundle;
  /** An IDX data set folder (default: the MNIST that ships with flhe). */
  readonly dataDir?: string;
  /** The data owner's own files, instead of its share of the federation's partition. */
  readonly files?: OwnFiles;
  /** Use only the first N examples of the share (for quick runs). */
  readonly trainLimit?: number;
  /** A stricter privacy budget than the federation's (epsilon; DP federations only). */
  readonly dpEpsilon?: number;
  /** A fixed seed for this client's shuffles (default: a fresh random seed each round). */
  readonly trainSeed?: number;
  /** Evaluate on only the first N test images. */
  readonly testLimit?: number;
  /** Paillier workers (default: one per core). */
  readonly workers?: number;
  /** Give up after this long without reaching the server (default: 10 minutes). */
  readonly connectTimeoutMs?: number;
  /** Server address override (default: the federation's). */
  readonly serverUrl?: string;
  /** CA certificates (PEM) to verify a `wss://` server (default: runtime roots). */
  readonly caCerts?: readonly string[];
  /** Progress lines. */
  readonly log: Logger;
}

/** What one client saw of one round. */
export interface ClientRound {
  readonly round: number;
  readonly testLoss: number;
  readonly testAccuracy: number;
  /** Test mean absolute error (regression; NaN for classifiers). */
  readonly testMae: number;
}

/** The parts a running client is made of. */
interface ClientParts {
  readonly bundle: Bundle;
  readonly id: string;
  readonly trainer: Trainer;
  readonly contributor: Contributor;
  readonly pool?: PaillierPool;
  /** The privacy budget (DP federations). */
  readonly privacy?: PrivacyBudget;
  readonly serverUrl: string;
  readonly log: Logger;
}

function checkClientBundle(bundle: Bundle): { id: string; shard: number; token: string } {
  const { config, credentials } = bundle;
  const fail = (file: string, why: string) => {
    throw new FlheError("input", `${bundle.dir}/${file}: ${why}`);
  };
  if (credentials.role !== "client" || !bundle.initialModel) {
    throw new FlheError(
      "input",
      `${bundle.dir}: not a client bundle (needs credentials.json with role client and model.f32)`,
    );
  }
  const he = config.strategy === "fedavg-he";
  if (he && config.mode === "owner" && !bundle.groupKey) {
    fail("group.key", "missing; owner mode needs it");
  }
  if (he && config.mode === "shared-key" && !bundle.secretKey) {
    fail("secret.json", "missing; shared-key mode needs the secret key");
  }
  if (he && !bundle.clientKeys) fail("secagg.json", "missing; masks and signatures need it");
  if (config.mode === "owner" && bundle.secretKey) {
    throw new FlheError(
      "auth",
      `${bundle.dir}/secret.json: a client must not hold the secret key in owner mode; remove it`,
    );
  }
  return credentials;
}

/** Starts the training worker on this client's share of the data set. */
function startTrainer(options: ClientOptions, shard: number): Promise<Trainer> {
  const { config, initialModel } = options.bundle;
  return createTrainer(
    {
      model: {
        def: options.bundle.model,
        scaling: networkScaling(config.model),
        classNames: config.model.classNames,
      },
      files: options.files,
      dataDir: options.dataDir,
      scheme: config.data.partition,
      clients: config.clients,
      seed: config.data.seed,
      alpha: config.data.alpha,
      shardsPerClient: config.data.shardsPerClient,
      shard,
      trainLimit: options.trainLimit,
      testLimit: options.testLimit,
    },
    initialModel!,
    (m) => options.log.warn(m),
  );
}

async function clientCrypto(
  bundle: Bundle,
  workers?: number,
): Promise<ClientCrypto | undefined> {
  const { config, publicKey, clientKeys } = bundle;
  if (config.strategy !== "fedavg-he" || !clientKeys) return undefined;
  const pool = await createPool({
    publicKey,
    secretKey: config.mode === "shared-key" ? bundle.secretKey : undefined,
    // Training has a core of its own: the Paillier work gets the others.
    workers: workers ?? Math.max(1, navigator.hardwareConcurrency - 1),
    randomness: config.encoding.randomness,
  });
  // Stocked while the client connects and waits for its first round.
  pool.precompute(updateCount(config)).catch(() => {});
  return {
    publicKey,
    codec: federationCodec(config),
    pool,
    keys: clientKeys,
    pairKeys: await pairSecrets(clientKeys, bundle.peers.clients),
  };
}

/**
 * Runs the client until the server says the federation is done.
 *
 * @param options Bundle, data, workers.
 * @returns One record per round the client evaluated.
 * @throws {FlheError} If the bundle is not a client bundle, the server refuses
 *   it, or the server stays unreachable.
 *
 * @example Usage
 * ```ts
 * import { runClient } from "./client.ts";
 * import { loadBundle } from "../federation/mod.ts";
 * import { createLogger } from "../util/log.ts";
 * await runClient({ bundle: await loadBundle("federation/client-1"), log: createLogger("client-1") });
 * ```
 */
export async function runClient(options: ClientOptions): Promise<ClientRound[]> {
  const { bundle, log } = options;
  const { id, shard, token } = checkClientBundle(bundle);
  const lock = await lockStateDir(`${bundle.dir}/state`, id);
  let trainer: Awaited<ReturnType<typeof startTrainer>> | undefined;
  let crypto: ClientCrypto | undefined;
  try {
    const store = createClientStateStore(`${bundle.dir}/state`, bundle.initialModel!);
    let held = await store.load();
    const ledger = await openLedger(`${bundle.dir}/state`);
    trainer = await startTrainer(options, shard);
    log.info(
      `${id}: ${trainer.trainCount} training and ${trainer.testCount} test examples (${trainer.source}), ` +
        `model ${bundle.config.model.name} (${bundle.config.parameterCount} parameters), backend ${trainer.backend}`,
    );
    if (held.round > 0) log.info(`resuming with the global model of round ${held.round}`);
    const privacy = await openPrivacyBudget(
      `${bundle.dir}/state`,
      bundle.config,
      trainer.trainCount,
      { epsilon: options.dpEpsilon },
      log,
      held.round,
    );
    crypto = await clientCrypto(bundle, options.workers);
    const contributor = createContributor({
      id,
      shard,
      trainSeed: options.trainSeed,
      config: bundle.config,
      peers: bundle.peers,
      weightCap: clientWeightCap(bundle.config),
      count: updateCount(bundle.config),
      trainer,
      crypto,
      ledger,
      privacy,
      log,
    });
    const parts: ClientParts = {
      bundle,
      id,
      trainer,
      contributor,
      pool: crypto?.pool,
      privacy,
      serverUrl: options.serverUrl ?? bundle.config.serverUrl,
      log,
    };
    const rounds: ClientRound[] = [];
    const session = createSession(parts, ledger, () => held, async (next) => {
      held = next;
      await store.save(next);
    }, rounds);
    if (held.round >= bundle.config.rounds) {
      // The last round's model exists only once the federation is over: a client
      // killed before it read "done" finds no server to tell it again.
      log.info(
        `federation done after ${bundle.config.rounds} rounds (this client holds the last model)`,
      );
      return rounds;
    }
    await connectAndServe(options, { id, token }, () => held.round, session);
    return rounds;
  } finally {
    crypto?.pool.close();
    trainer?.close();
    lock.release();
  }
}

type Handle = (channel: Channel, m: Message) => Promise<"done" | void>;

/** The handler of one message, with the client's state. */
function createSession(
  parts: ClientParts,
  ledger: ContributionLedger,
  held: () => HeldModel,
  hold: (next: HeldModel) => Promise<void>,
  rounds: ClientRound[],
): Handle {
  const { bundle, log, contributor } = parts;
  const url = parts.serverUrl;
  const modelContext = {
    config: bundle.config,
    peers: bundle.peers,
    groupKey: bundle.groupKey,
    pool: bundle.config.mode === "shared-key" ? parts.pool : undefined,
    publicKey: bundle.publicKey,
    codec: federationCodec(bundle.config),
    weightCap: clientWeightCap(bundle.config),
    ledger,
    signedSet: contributor.signedSet,
  };
  const steps: Partial<Record<Message["type"], Handle>> = {
    welcome: (_, m) => {
      if (m.type === "welcome") {
        log.info(`connected to ${url} as ${m.id}; ${m.completedRounds}/${m.rounds} rounds done`);
      }
      return Promise.resolve();
    },
    fit: async (ch, m) => {
      if (m.type !== "fit") return;
      try {
        ch.send(await contributor.fit(m, held()));
      } catch (e) {
        if (!(e instanceof FlheError) || e.code !== "budget") throw e;
        // Never trains past its budget: says so, leaves for good, exits cleanly.
        log.warn(`leaving the federation: ${e.message}`);
        trySend(ch, { type: "leave", reason: `privacy budget spent: ${e.message}` });
        await new Promise((r) => setTimeout(r, 200));
        ch.close("left");
        return "done";
      }
    },
    announce: async (ch, m) => {
      if (m.type === "announce") ch.send(await contributor.announce(m));
    },
    model: async (ch, m) => {
      if (m.type !== "model") return;
      const start = performance.now();
      const next = await takeModel(modelContext, m, held());
      if (next) await hold(next);
      else if (m.evaluate) log.info(`round ${m.round}: model already held (round ${held().round})`);
      if (!m.evaluate) return;
      const decryptSeconds = (performance.now() - start) / 1000;
      const ev = await parts.trainer.evaluate(held().weights);
      const epsilon = parts.privacy ? parts.privacy.spent() : -1;
      ch.send(reportMessage(m.round, ev, decryptSeconds, epsilon));
      rounds.push({
        round: m.round,
        testLoss: ev.loss,
        testAccuracy: ev.accuracy,
        testMae: ev.mae,
      });
      log.info(`round ${m.round}: global model ${testMetrics(ev)}`);
    },
    done: (ch, m) => {
      if (m.type === "done") log.info(`federation done after ${m.rounds} rounds`);
      ch.close("done");
      return Promise.resolve("done");
    },
    error: (_, m) => {
      if (m.type !== "error") return Promise.resolve();
      if (m.code === "auth") {
        throw new FlheError("auth", `server refused ${parts.id}: ${m.message}`);
      }
      log.warn(`server: ${m.message}`);
      return Promise.resolve();
    },
  };
  return async (ch, m) => {
    const step = steps[m.type];
    if (!step) {
      trySend(ch, { type: "error", code: "protocol", message: `unexpected ${m.type} message` });
      return;
    }
    try {
      return await step(ch, m);
    } catch (e) {
      if (
        !(e instanceof FlheError) || (e.code !== "protocol" && e.code !== "auth") ||
        m.type === "error"
      ) throw e;
      // Refused: say why, apply nothing, go on with the next request.
      log.warn(`refused the server's ${m.type}: ${e.message}`);
      trySend(ch, { type: "error", code: e.code, message: e.message });
    }
  };
}

/** The report of a round's model: its test metrics as the wire carries them. */
function reportMessage(
  round: number,
  ev: { loss: number; accuracy: number; mae: number; samples: number },
  decryptSeconds: number,
  epsilon: number,
): ReportMessage {
  return {
    type: "report",
    round,
    loss: ev.loss,
    accuracy: ev.accuracy,
    examples: ev.samples,
    decryptSeconds,
    epsilon,
    // A classifier has no MAE; a regression's is capped at what a report may say.
    mae: Number.isNaN(ev.mae) ? -1 : Math.min(ev.mae, 1e9),
  };
}

/** The test metrics of a round's model as the client logs them. */
function testMetrics(ev: { loss: number; accuracy: number; mae: number }): string {
  return Number.isNaN(ev.mae)
    ? `test accuracy ${(ev.accuracy * 100).toFixed(2)}% (loss ${ev.loss.toFixed(4)})`
    : `test MSE ${ev.loss.toPrecision(4)}, MAE ${ev.mae.toPrecision(4)}`;
}

/** Connects (again after a loss) and hands every message to `handle` until done. */
async function connectAndServe(
  options: ClientOptions,
  identity: { readonly id: string; readonly token: string },
  modelRound: () => number,
  handle: Handle,
): Promise<void> {
  const { bundle, log } = options;
  const url = options.serverUrl ?? bundle.config.serverUrl;
  const connectTimeoutMs = options.connectTimeoutMs ?? 600_000;
  const frameBytes = maxSetFrameBytes(bundle.config, bundle.publicKey);
  for (;;) {
    const channel = await retry(
      () =>
        connect(
          url,
          { peer: "server", maxFrameBytes: frameBytes, caCerts: options.caCerts },
          10_000,
        ),
      {
        initialDelayMs: 200,
        maxDelayMs: 5_000,
        deadlineMs: connectTimeoutMs,
        // A rejected certificate does not heal by retrying.
        isFatal: (e) => e instanceof FlheError && e.code === "auth",
        onRetry: (_, n, delayMs) =>
          log.info(
            `server at ${url} not reachable yet; retry ${n} in ${(delayMs / 1000).toFixed(1)} s`,
          ),
      },
    ).catch((e) => {
      if (e instanceof FlheError && e.code === "auth") throw e;
      throw new FlheError("unavailable", `server at ${url} unreachable: ${(e as Error).message}`);
    });
    channel.send({
      type: "hello",
      role: "client",
      id: identity.id,
      token: identity.token,
      fingerprint: bundle.config.fingerprint,
      modelRound: modelRound(),
    });
    try {
      for (;;) {
        if (await handle(channel, await channel.receive()) === "done") return;
      }
    } catch (e) {
      if (!(e instanceof FlheError) || e.code !== "unavailable") throw e;
      channel.close();
      log.warn(`lost the server (${e.message}); reconnecting`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
