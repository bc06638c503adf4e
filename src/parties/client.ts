/**
 * `flhe client`: a data owner. Computes its own share of the data set from
 * the federation's partition (it never holds the others' data), trains
 * LeNet on it when the server asks, encrypts its update in the worker pool
 * (randomizers precomputed while it trains), and applies each round's new
 * global model: unsealed with the group key in owner mode, decrypted itself
 * in shared-key mode.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeFileAtomic } from "../util/fs.ts";
import { clientShare, type Dataset, head, loadDataset, subset } from "../data/mod.ts";
import {
  createPool,
  decodeMean,
  encodeUpdate,
  type PaillierPool,
  plaintextCount,
} from "../he/mod.ts";
import {
  createLeNet,
  evaluate,
  getWeights,
  initBackend,
  setWeights,
  trainLocal,
} from "../nn/mod.ts";
import { type Channel, connect, type FitMessage, type ModelMessage } from "../net/mod.ts";
import type { Logger } from "../util/log.ts";
import { type Bundle, federationCodec } from "../federation/bundle.ts";
import { openModel } from "../secagg/seal.ts";

/** Options of {@linkcode runClient}. */
export interface ClientOptions {
  /** The client's bundle. */
  readonly bundle: Bundle;
  /** An IDX data set folder (default: the MNIST that ships with flhe). */
  readonly dataDir?: string;
  /** Use only the first N examples of the share (for quick runs). */
  readonly trainLimit?: number;
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
  readonly trainLoss: number;
  readonly trainSeconds: number;
  readonly encryptSeconds: number;
  readonly uploadBytes: number;
  readonly testLoss: number;
  readonly testAccuracy: number;
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
 * import { loadBundle } from "../federation/bundle.ts";
 * import { createLogger } from "../util/log.ts";
 * await runClient({ bundle: await loadBundle("federation/client-1"), log: createLogger("client-1") });
 * ```
 */
export async function runClient(options: ClientOptions): Promise<ClientRound[]> {
  const { bundle, log } = options;
  const { config, publicKey, credentials, initialModel } = bundle;
  if (credentials.role !== "client" || !initialModel) {
    throw new FlheError(
      "input",
      `${bundle.dir}: not a client bundle (needs credentials.json with role client and model.f32)`,
    );
  }
  const he = config.strategy === "fedavg-he";
  if (he && config.mode === "owner" && !bundle.groupKey) {
    throw new FlheError(
      "input",
      `${bundle.dir}/group.key: missing; owner mode needs it to open the model`,
    );
  }
  if (he && config.mode === "shared-key" && !bundle.secretKey) {
    throw new FlheError(
      "input",
      `${bundle.dir}/secret.json: missing; shared-key mode needs the secret key`,
    );
  }
  if (config.mode === "owner" && bundle.secretKey) {
    throw new FlheError(
      "auth",
      `${bundle.dir}/secret.json: a client must not hold the secret key in owner mode; remove it`,
    );
  }
  const codec = federationCodec(config);
  const count = he ? plaintextCount(codec, config.parameterCount) : config.parameterCount;

  const { train: fullTrain, test: fullTest } = await loadDataset(options.dataDir);
  let train: Dataset = subset(
    fullTrain,
    clientShare(fullTrain.labels, {
      scheme: config.data.partition,
      clients: config.clients,
      seed: config.data.seed,
      alpha: config.data.alpha,
      shardsPerClient: config.data.shardsPerClient,
    }, credentials.shard - 1),
  );
  if (options.trainLimit !== undefined) {
    train = head(train, Math.min(options.trainLimit, train.count));
  }
  const test = options.testLimit !== undefined
    ? head(fullTest, Math.min(options.testLimit, fullTest.count))
    : fullTest;
  if (train.count > codec.maxTotalWeight) {
    throw new FlheError(
      "range",
      `share of ${train.count} examples exceeds maxTotalWeight ${codec.maxTotalWeight}`,
    );
  }
  const backend = await initBackend({ onWarn: (m) => log.warn(m) });
  log.info(
    `${credentials.id}: ${train.count} training examples (shard ${credentials.shard}), backend ${backend}`,
  );

  // The global model is what the federation protects from the server: keep
  // it private to this party.
  const stateDir = `${bundle.dir}/state`;
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  // One file holds the round and its model, so a crash can never pair a
  // model with the wrong round (which would apply an update twice).
  const statePath = `${stateDir}/client-state.bin`;
  let global: Float32Array = Float32Array.from(initialModel);
  let modelRound = 0;
  const saved = await Deno.readFile(statePath).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new FlheError("input", `${statePath}: cannot read (${(e as Error).message})`);
  });
  if (saved) {
    if (saved.length !== 4 + config.parameterCount * 4) {
      throw new FlheError(
        "input",
        `${statePath}: ${saved.length} bytes, expected ${
          4 + config.parameterCount * 4
        }; move it away to start afresh`,
      );
    }
    modelRound = new DataView(saved.buffer).getUint32(0);
    global = new Float32Array(saved.buffer.slice(4));
    log.info(`resuming with the global model of round ${modelRound}`);
  }
  const saveState = async () => {
    const bytes = new Uint8Array(4 + global.byteLength);
    new DataView(bytes.buffer).setUint32(0, modelRound);
    bytes.set(new Uint8Array(global.buffer, global.byteOffset, global.byteLength), 4);
    await writeFileAtomic(statePath, bytes, 0o600);
    // The model alone, for the user; never read back.
    await writeFileAtomic(`${stateDir}/model.f32`, bytes.subarray(4), 0o600);
  };
  const model = createLeNet(global);
  const pool: PaillierPool | undefined = he
    ? await createPool({
      publicKey,
      secretKey: config.mode === "shared-key" ? bundle.secretKey : undefined,
      workers: options.workers,
      randomness: config.encoding.randomness,
    })
    : undefined;
  const rounds: ClientRound[] = [];
  const pending = new Map<number, Omit<ClientRound, "testLoss" | "testAccuracy">>();
  const url = options.serverUrl ?? config.serverUrl;
  const maxFrameBytes = count * (he ? publicKey.ciphertextBytes : 4) + 70_000;

  const fit = async (channel: Channel, m: FitMessage) => {
    setWeights(model, global);
    // Randomizers do not depend on the update: the workers make them while we train.
    const precomputed = pool?.precompute(count);
    log.info(`round ${m.round}: training on ${train.count} examples`);
    let lastQuarter = 0;
    const result = trainLocal(model, train, {
      epochs: m.epochs,
      batchSize: m.batchSize,
      optimizer: m.optimizer,
      learningRate: m.learningRate,
      momentum: m.momentum,
      schedule: m.schedule,
      seed: m.seed ^ credentials.shard,
      onProgress: (done, total) => {
        const quarter = Math.floor((4 * done) / total);
        if (quarter > lastQuarter && quarter < 4) {
          lastQuarter = quarter;
          log.info(`round ${m.round}: training ${quarter * 25}%`);
        }
      },
    });
    const weights = getWeights(model);
    const update = new Float32Array(weights.length);
    for (let i = 0; i < update.length; i++) update[i] = weights[i]! - global[i]!;
    const encStart = performance.now();
    let payload: Uint8Array;
    if (pool) {
      await precomputed;
      const { plaintexts, clipped } = encodeUpdate(update, train.count, publicKey.n, codec);
      if (clipped > 0) {
        log.warn(`round ${m.round}: ${clipped} update values clipped to +-${codec.clipRange}`);
      }
      payload = await pool.encrypt(plaintexts);
    } else {
      const weighted = update.map((v) => v * train.count);
      payload = new Uint8Array(weighted.buffer);
    }
    const encryptSeconds = (performance.now() - encStart) / 1000;
    channel.send({
      type: "update",
      round: m.round,
      count,
      weight: train.count,
      trainLoss: result.loss,
      trainAccuracy: result.accuracy,
      trainSeconds: result.seconds,
      encryptSeconds,
      payload,
    });
    pending.set(m.round, {
      round: m.round,
      trainLoss: result.loss,
      trainSeconds: result.seconds,
      encryptSeconds,
      uploadBytes: payload.length,
    });
    log.info(
      `round ${m.round}: trained in ${result.seconds.toFixed(1)} s (loss ${
        result.loss.toFixed(4)
      }), ` +
        `${pool ? "encrypted" : "encoded"} in ${encryptSeconds.toFixed(2)} s, sent ${
          (payload.length / 1024).toFixed(0)
        } KiB`,
    );
  };

  const applyModel = async (channel: Channel, m: ModelMessage) => {
    const start = performance.now();
    // A server restarted from a checkpoint older than this client redoes a
    // round it already applied: keep the model (never apply a round twice)
    // but still report when asked, or the server waits out its timeout.
    const held = m.round <= modelRound;
    if (held) {
      if (m.evaluate) log.info(`round ${m.round}: model already held (round ${modelRound})`);
    } else if (m.kind === "sealed") {
      global = await openModel(
        bundle.groupKey!,
        m.round,
        config.fingerprint,
        m.payload,
        config.parameterCount,
      );
    } else {
      if (m.round !== modelRound + 1) {
        throw new FlheError(
          "protocol",
          `model of round ${m.round} cannot follow round ${modelRound}, which this client holds`,
        );
      }
      let mean: Float32Array;
      if (m.kind === "aggregate") {
        if (!pool) {
          throw new FlheError(
            "protocol",
            "received an encrypted aggregate in a plaintext federation",
          );
        }
        mean = decodeMean(
          await pool.decrypt(m.payload.slice()),
          config.parameterCount,
          m.totalWeight,
          publicKey.n,
          codec,
        );
      } else {
        if (m.payload.length !== config.parameterCount * 4) {
          throw new FlheError("protocol", `plain model of ${m.payload.length} bytes`);
        }
        const sum = new Float32Array(m.payload.slice().buffer);
        mean = sum.map((v) => v / m.totalWeight);
      }
      const next = new Float32Array(global.length);
      for (let i = 0; i < next.length; i++) next[i] = global[i]! + mean[i]!;
      global = next;
    }
    const decryptSeconds = (performance.now() - start) / 1000;
    if (!held) {
      modelRound = m.round;
      await saveState();
    }
    if (!m.evaluate) return;
    setWeights(model, global);
    const ev = evaluate(model, test);
    channel.send({
      type: "report",
      round: m.round,
      loss: ev.loss,
      accuracy: ev.accuracy,
      examples: ev.samples,
      decryptSeconds,
    });
    const fitted = pending.get(m.round);
    if (fitted) {
      rounds.push({ ...fitted, testLoss: ev.loss, testAccuracy: ev.accuracy });
      pending.delete(m.round);
    }
    log.info(
      `round ${m.round}: global model test accuracy ${(ev.accuracy * 100).toFixed(2)}% (loss ${
        ev.loss.toFixed(4)
      })`,
    );
  };

  const connectTimeoutMs = options.connectTimeoutMs ?? 600_000;
  let deadline = performance.now() + connectTimeoutMs;
  try {
    for (let attempt = 1;; attempt++) {
      let channel: Channel;
      try {
        channel = await connect(
          url,
          { peer: "server", maxFrameBytes, caCerts: options.caCerts },
          10_000,
        );
      } catch (e) {
        // A rejected certificate does not heal by retrying.
        if (e instanceof FlheError && e.code === "auth") throw e;
        if (performance.now() > deadline) {
          throw new FlheError(
            "unavailable",
            `server at ${url} unreachable: ${(e as Error).message}`,
          );
        }
        const delayMs = Math.min(5_000, 200 * 2 ** Math.min(attempt, 5));
        log.info(
          `server at ${url} not reachable yet; retry ${attempt} in ${
            (delayMs / 1000).toFixed(1)
          } s`,
        );
        await new Promise((r) => setTimeout(r, delayMs));
        continue;
      }
      attempt = 0;
      deadline = performance.now() + connectTimeoutMs;
      channel.send({
        type: "hello",
        role: "client",
        id: credentials.id,
        token: credentials.token,
        fingerprint: config.fingerprint,
        modelRound,
      });
      try {
        for (;;) {
          const m = await channel.receive();
          if (m.type === "welcome") {
            log.info(
              `connected to ${url} as ${m.id}; ${m.completedRounds}/${m.rounds} rounds done`,
            );
          } else if (m.type === "fit") {
            await fit(channel, m);
          } else if (m.type === "model") {
            await applyModel(channel, m);
          } else if (m.type === "done") {
            log.info(`federation done after ${m.rounds} rounds`);
            channel.close("done");
            return rounds;
          } else if (m.type === "error") {
            if (m.code === "auth") {
              throw new FlheError("auth", `server refused ${credentials.id}: ${m.message}`);
            }
            // E.g. the server still holds this client's previous connection.
            if (m.code === "unavailable") {
              throw new FlheError("unavailable", `server: ${m.message}`);
            }
            log.warn(`server: ${m.message}`);
          } else {
            log.warn(`ignored an unexpected ${m.type} message`);
          }
        }
      } catch (e) {
        if (!(e instanceof FlheError) || e.code !== "unavailable") throw e;
        channel.close();
        // The timeout counts from the loss, not from the start of the session.
        deadline = performance.now() + connectTimeoutMs;
        log.warn(`lost the server (${e.message}); reconnecting`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    pool?.close();
  }
}
