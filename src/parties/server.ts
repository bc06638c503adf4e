/**
 * `flhe serve`: the aggregation server. Holds the public key only; runs the
 * rounds of a {@linkcode Strategy}; in owner mode has each round's encrypted
 * aggregate decrypted by the owner service and relays the sealed model it
 * cannot read.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeFileAtomic } from "../util/fs.ts";
import { createPool, type PaillierPool, plaintextCount } from "../he/mod.ts";
import {
  type Channel,
  connect,
  listen,
  type Listener,
  type Message,
  type ModelMessage,
  refuse as refuseChannel,
} from "../net/mod.ts";
import type { ReportMessage, UpdateMessage } from "../net/mod.ts";
import type { Logger } from "../util/log.ts";
import { tokenMatches } from "./auth.ts";
import { type Bundle, federationCodec } from "../federation/bundle.ts";
import {
  type Aggregate,
  createFedAvg,
  createFedAvgHE,
  type Failure,
  type FitResult,
  type Strategy,
} from "../strategy/fedavg.ts";

/** Options of {@linkcode runServer}. */
export interface ServerOptions {
  /** The server's bundle (public key, credentials). */
  readonly bundle: Bundle;
  /** Address to bind. */
  readonly hostname: string;
  /** Port to bind (0: any). */
  readonly port: number;
  /** Where to write the round history (JSON). */
  readonly historyPath: string;
  /** Folder for the checkpoint. */
  readonly stateDir: string;
  /** How long to wait for a client's update or report. */
  readonly roundTimeoutMs: number;
  /** Fewest clients per round (default: the federation's). */
  readonly minClients?: number;
  /** Workers that multiply ciphertexts (default: one per core). */
  readonly workers?: number;
  /** Fewest connected clients before a round starts (default: `minClients`). */
  readonly minAvailable?: number;
  /** TLS certificate and key (PEM) to serve `wss://`. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** CA certificates (PEM) to verify a `wss://` owner service (default: runtime roots). */
  readonly ownerCaCerts?: readonly string[];
  /** Progress lines. */
  readonly log: Logger;
  /** Called once listening. */
  readonly onListen?: (port: number) => void;
}

/** One row of the history file. */
export interface RoundRecord {
  /** The round, from 1. */
  readonly round: number;
  /** Clients whose updates are in the aggregate. */
  readonly participants: readonly string[];
  /** Selected clients without a usable update, and why. */
  readonly failures: readonly Failure[];
  /** Sum of the participants' weights (training examples). */
  readonly totalWeight: number;
  /** Bytes the server received from clients during the round. */
  readonly bytesIn: number;
  /** Bytes the server sent to clients during the round. */
  readonly bytesOut: number;
  /** Upload bytes per participant (mean). */
  readonly uploadBytesPerClient: number;
  /** Seconds per phase; train and encrypt are the slowest client's. */
  readonly seconds: {
    readonly train: number;
    readonly encrypt: number;
    readonly upload: number;
    readonly aggregate: number;
    readonly decrypt: number;
    readonly evaluate: number;
    readonly round: number;
  };
  /** Clients' test loss and accuracy, weighted by test examples. */
  readonly loss: number;
  readonly accuracy: number;
}

interface ConnectedClient {
  readonly id: string;
  readonly channel: Channel;
  modelRound: number;
}

interface StoredModel {
  readonly message: ModelMessage;
}

const seconds = (fromMs: number) => (performance.now() - fromMs) / 1000;

/**
 * Runs the server until all rounds are done.
 *
 * @param options Bundle, address, files, timeouts.
 * @returns The history, one record per completed round.
 * @throws {FlheError} If the bundle is not a server bundle or the port is taken.
 *
 * @example Usage
 * ```ts
 * import { runServer } from "./server.ts";
 * import { loadBundle } from "../federation/bundle.ts";
 * import { createLogger } from "../util/log.ts";
 * const bundle = await loadBundle("federation/server");
 * await runServer({ bundle, hostname: "127.0.0.1", port: 8765, historyPath: "history.json",
 *   stateDir: "federation/server/state", roundTimeoutMs: 600_000, log: createLogger("server") });
 * ```
 */
export async function runServer(options: ServerOptions): Promise<RoundRecord[]> {
  const { bundle, log } = options;
  const { config, publicKey, credentials } = bundle;
  if (credentials.role !== "server") {
    throw new FlheError(
      "input",
      `${bundle.dir}: not a server bundle (credentials role is ${credentials.role})`,
    );
  }
  if (bundle.secretKey) {
    throw new FlheError(
      "auth",
      `${bundle.dir}: a server bundle must not hold secret.json; remove it`,
    );
  }
  const codec = federationCodec(config);
  const minClients = options.minClients ?? config.minClients;
  if (
    config.mode === "owner" && config.strategy === "fedavg-he" && minClients < config.minClients
  ) {
    throw new FlheError(
      "usage",
      `--min-clients ${minClients} is below the federation's minClients ${config.minClients}, ` +
        `which the owner enforces before it decrypts`,
    );
  }
  const minAvailable = Math.max(minClients, options.minAvailable ?? minClients);
  const strategyOptions = { minFitClients: minClients, minAvailableClients: minAvailable };
  const count = config.strategy === "fedavg"
    ? config.parameterCount
    : plaintextCount(codec, config.parameterCount);
  const updateBytes = config.strategy === "fedavg" ? count * 4 : count * publicKey.ciphertextBytes;
  const maxFrameBytes = updateBytes + 70_000;

  const clients = new Map<string, ConnectedClient>();
  const history: RoundRecord[] = [];
  const models: StoredModel[] = [];
  await Deno.mkdir(options.stateDir, { recursive: true });
  const resumed = await loadCheckpoint(options.stateDir, history, models);
  if (resumed > 0) {
    log.info(`resuming after round ${resumed} from checkpoint in ${options.stateDir}`);
  }

  const sendCatchUp = (client: ConnectedClient) => {
    const latest = models.at(-1);
    if (!latest || client.modelRound >= latest.message.round) return;
    // A sealed model is the whole model; sums must be applied in order.
    const toSend = latest.message.kind === "sealed"
      ? [latest]
      : models.filter((m) => m.message.round > client.modelRound);
    for (const m of toSend) client.channel.send({ ...m.message, evaluate: false });
  };

  const onChannel = async (channel: Channel) => {
    let hello: Message;
    try {
      hello = await channel.receive(10_000);
    } catch {
      channel.close("no hello");
      return;
    }
    const refuse = (code: FlheError["code"], message: string) => {
      log.warn(`refused ${channel.peer}: ${message}`);
      refuseChannel(channel, code, message);
    };
    if (hello.type !== "hello" || hello.role !== "client") {
      return refuse("protocol", `expected a client hello, got a ${hello.type} message`);
    }
    const entry = credentials.clients.find((c) => c.id === hello.id);
    if (!entry || !(await tokenMatches(hello.token, entry.tokenSha256))) {
      return refuse("auth", `unknown client id or wrong token for ${hello.id}`);
    }
    if (hello.fingerprint !== config.fingerprint) {
      return refuse(
        "auth",
        `${hello.id}: public key fingerprint ${
          hello.fingerprint.slice(0, 16)
        }... differs from the federation's`,
      );
    }
    if (clients.has(hello.id)) {
      // Retryable: the holder may be this client's own connection that has
      // not been seen to close yet.
      return refuse("unavailable", `${hello.id}: token already in use by a connected client`);
    }
    const client: ConnectedClient = { id: hello.id, channel, modelRound: hello.modelRound };
    clients.set(hello.id, client);
    channel.closed.then(() => {
      if (clients.get(hello.id) === client) {
        clients.delete(hello.id);
        log.info(`${hello.id} disconnected`);
      }
    });
    channel.send({
      type: "welcome",
      id: hello.id,
      completedRounds: models.length,
      rounds: config.rounds,
    });
    sendCatchUp(client);
    log.info(`${hello.id} connected from ${channel.peer} (${clients.size} connected)`);
  };

  const listener: Listener = await listen({
    hostname: options.hostname,
    port: options.port,
    maxFrameBytes,
    cert: options.tls?.cert,
    key: options.tls?.key,
    onChannel: (ch) => void onChannel(ch),
    onInvalid: (peer, e) => log.warn(`rejected a frame from ${peer}: ${e.message}`),
  });
  const scheme = options.tls ? "wss" : "ws";
  log.info(
    `listening on ${scheme}://${listener.hostname}:${listener.port} (${config.strategy}, ${config.mode} mode, ` +
      `${config.keyBits}-bit key ${config.fingerprint.slice(0, 16)}...)`,
  );
  options.onListen?.(listener.port);

  const owner = config.strategy === "fedavg-he" && config.mode === "owner"
    ? createOwnerLink(bundle, log, maxFrameBytes, options.ownerCaCerts)
    : undefined;

  let pool: PaillierPool | undefined;
  try {
    // The server holds no secret: its pool only multiplies ciphertexts.
    pool = config.strategy === "fedavg"
      ? undefined
      : await createPool({ publicKey, workers: options.workers });
    const strategy: Strategy = pool
      ? createFedAvgHE(config, publicKey, codec, pool, strategyOptions)
      : createFedAvg(config, strategyOptions);
    for (let round = models.length + 1; round <= config.rounds;) {
      const instructions = await waitForClients(strategy, round, clients, minAvailable, log);
      const roundStart = performance.now();
      const selected = instructions.clients.map((id) => clients.get(id)!).filter(Boolean);
      const bytesBefore = sumBytes(clients);
      log.info(
        `round ${round}/${config.rounds}: training on ${selected.map((c) => c.id).join(", ")}`,
      );
      const fitSent = performance.now();
      for (const c of selected) trySend(c.channel, instructions.fit);

      const results: FitResult[] = [];
      const failures: Failure[] = [];
      let acceptedWeight = 0;
      let slowest = { train: 0, encrypt: 0, upload: 0 };
      await Promise.all(selected.map(async (c) => {
        const outcome = await collect(c.channel, options.roundTimeoutMs, (m) => {
          if (m.type !== "update") {
            return `unexpected ${m.type} message; expected the update of round ${round}`;
          }
          if (m.round !== round) return `update for round ${m.round}, but round ${round} is open`;
          return null;
        });
        if (typeof outcome === "string") {
          failures.push({ clientId: c.id, reason: outcome });
          log.warn(`round ${round}: no update from ${c.id}: ${outcome}`);
          return;
        }
        const update = outcome as UpdateMessage;
        try {
          const parsed = strategy.checkUpdate(update, acceptedWeight);
          acceptedWeight += update.weight;
          results.push({ clientId: c.id, update, parsed });
          const elapsed = seconds(fitSent);
          slowest = {
            train: Math.max(slowest.train, update.trainSeconds),
            encrypt: Math.max(slowest.encrypt, update.encryptSeconds),
            upload: Math.max(
              slowest.upload,
              Math.max(0, elapsed - update.trainSeconds - update.encryptSeconds),
            ),
          };
          log.info(`round ${round}: accepted update from ${c.id} (weight ${update.weight})`);
        } catch (e) {
          const reason = e instanceof FlheError ? e.message : String(e);
          trySend(c.channel, { type: "error", code: "protocol", message: reason });
          failures.push({ clientId: c.id, reason });
          log.warn(`round ${round}: rejected update from ${c.id}: ${reason}`);
        }
      }));

      const aggStart = performance.now();
      const aggregate = await strategy.aggregateFit(round, results, failures);
      const aggregateSeconds = seconds(aggStart);
      if (!aggregate) {
        log.warn(
          `round ${round}: only ${results.length} usable updates, fewer than the minimum ${minClients}; ` +
            `retrying the round`,
        );
        continue;
      }
      let decryptSeconds = 0;
      let modelMessage: ModelMessage;
      if (owner) {
        const sealed = await owner.decrypt(round, aggregate, count);
        decryptSeconds = sealed.decryptSeconds;
        modelMessage = {
          type: "model",
          round,
          kind: "sealed",
          totalWeight: aggregate.totalWeight,
          contributors: aggregate.contributors.length,
          evaluate: false,
          payload: sealed.payload,
        };
      } else {
        modelMessage = {
          type: "model",
          round,
          kind: aggregate.kind,
          totalWeight: aggregate.totalWeight,
          contributors: aggregate.contributors.length,
          evaluate: false,
          payload: aggregate.payload,
        };
      }
      models.push({ message: modelMessage });
      const evalStart = performance.now();
      for (const c of clients.values()) {
        trySend(c.channel, { ...modelMessage, evaluate: selected.includes(c) });
        c.modelRound = round;
      }
      const reports: ReportMessage[] = [];
      await Promise.all(selected.map(async (c) => {
        const outcome = await collect(c.channel, options.roundTimeoutMs, (m) => {
          if (m.type !== "report") {
            return `unexpected ${m.type} message; expected the report of round ${round}`;
          }
          if (m.round !== round) {
            return `report for round ${m.round}, but round ${round} is being evaluated`;
          }
          return null;
        });
        if (typeof outcome === "string") {
          log.warn(`round ${round}: no report from ${c.id}: ${outcome}`);
        } else reports.push(outcome as ReportMessage);
      }));
      const clientDecrypt = Math.max(0, ...reports.map((r) => r.decryptSeconds));
      const evaluation = strategy.aggregateEvaluate(reports);
      const bytes = sumBytes(clients);
      const record: RoundRecord = {
        round,
        participants: aggregate.contributors,
        failures,
        totalWeight: aggregate.totalWeight,
        bytesIn: bytes.in - bytesBefore.in,
        bytesOut: bytes.out - bytesBefore.out,
        uploadBytesPerClient: Math.round(
          results.reduce((s, r) => s + r.update.payload.length, 0) / Math.max(1, results.length),
        ),
        seconds: {
          train: round3(slowest.train),
          encrypt: round3(slowest.encrypt),
          upload: round3(slowest.upload),
          aggregate: round3(aggregateSeconds),
          decrypt: round3(decryptSeconds + clientDecrypt),
          evaluate: round3(seconds(evalStart)),
          round: round3(seconds(roundStart)),
        },
        loss: evaluation.loss,
        accuracy: evaluation.accuracy,
      };
      history.push(record);
      await saveCheckpoint(options.stateDir, history, models);
      await writeFileAtomic(options.historyPath, JSON.stringify(history, null, 2) + "\n");
      log.info(
        `round ${round} done in ${record.seconds.round.toFixed(1)} s: accuracy ${
          (record.accuracy * 100).toFixed(2)
        }%, ` +
          `loss ${record.loss.toFixed(4)}, ${aggregate.contributors.length} clients`,
      );
      round++;
    }
    for (const c of clients.values()) trySend(c.channel, { type: "done", rounds: config.rounds });
    log.info(`all ${config.rounds} rounds done; history in ${options.historyPath}`);
    // Let the done frames leave before the sockets close.
    await new Promise((r) => setTimeout(r, 200));
    return history;
  } finally {
    pool?.close();
    owner?.close();
    await listener.close();
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function trySend(channel: Channel, message: Message): void {
  try {
    channel.send(message);
  } catch {
    // The channel is closed; the round loop notices the missing answer.
  }
}

function sumBytes(clients: Map<string, ConnectedClient>): { in: number; out: number } {
  let inBytes = 0;
  let outBytes = 0;
  for (const c of clients.values()) {
    inBytes += c.channel.bytesIn;
    outBytes += c.channel.bytesOut;
  }
  return { in: inBytes, out: outBytes };
}

/**
 * Receives until a message passes `accept` (returns null) or time runs out;
 * answers every other message with an error frame naming why it was refused.
 */
async function collect(
  channel: Channel,
  timeoutMs: number,
  accept: (m: Message) => string | null,
): Promise<Message | string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return `no answer within ${timeoutMs} ms`;
    let m: Message;
    try {
      m = await channel.receive(left);
    } catch (e) {
      return (e as Error).message;
    }
    if (m.type === "error") return `client reported: ${m.message}`;
    const refusal = accept(m);
    if (refusal === null) return m;
    trySend(channel, { type: "error", code: "protocol", message: refusal });
  }
}

async function waitForClients(
  strategy: Strategy,
  round: number,
  clients: Map<string, ConnectedClient>,
  minClients: number,
  log: Logger,
) {
  let lastLog = 0;
  for (;;) {
    const instructions = strategy.configureFit(round, [...clients.keys()]);
    if (instructions) return instructions;
    if (performance.now() - lastLog > 10_000) {
      log.info(`round ${round}: waiting for clients (${clients.size}/${minClients} connected)`);
      lastLog = performance.now();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface OwnerLink {
  decrypt(
    round: number,
    aggregate: Aggregate,
    count: number,
  ): Promise<{ payload: Uint8Array; decryptSeconds: number }>;
  close(): void;
}

/** The server's connection to the owner service, re-established as needed. */
function createOwnerLink(
  bundle: Bundle,
  log: Logger,
  maxFrameBytes: number,
  caCerts?: readonly string[],
): OwnerLink {
  const { config, credentials } = bundle;
  let channel: Channel | undefined;
  const open = async (): Promise<Channel> => {
    if (channel && !channel.isClosed) return channel;
    for (let attempt = 1;; attempt++) {
      try {
        const ch = await connect(
          config.ownerUrl,
          { peer: "owner", maxFrameBytes, caCerts },
          10_000,
        );
        ch.send({
          type: "hello",
          role: "server",
          id: "server",
          token: (credentials as { token: string }).token,
          fingerprint: config.fingerprint,
          modelRound: 0,
        });
        const answer = await ch.receive(10_000);
        if (answer.type === "error") {
          throw new FlheError("auth", `owner refused the server: ${answer.message}`);
        }
        if (answer.type !== "welcome") {
          throw new FlheError("protocol", `owner answered hello with ${answer.type}`);
        }
        channel = ch;
        log.info(`connected to the owner service at ${config.ownerUrl}`);
        return ch;
      } catch (e) {
        if (e instanceof FlheError && e.code === "auth") throw e;
        const delayMs = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
        log.warn(
          `owner service at ${config.ownerUrl} unreachable (${
            (e as Error).message
          }); retry ${attempt} in ${(delayMs / 1000).toFixed(1)} s`,
        );
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  };
  return {
    async decrypt(round, aggregate, count) {
      for (;;) {
        const ch = await open();
        try {
          ch.send({
            type: "decrypt",
            round,
            totalWeight: aggregate.totalWeight,
            contributors: aggregate.contributors,
            count,
            payload: aggregate.payload,
          });
          // Decrypting a 2048-bit LeNet aggregate takes seconds; ten minutes
          // means the owner is stuck, and a fresh connection asks again (the
          // owner answers a repeated round from its cache).
          for (;;) {
            const answer = await ch.receive(600_000);
            if (answer.type === "sealed" && answer.round === round) {
              return { payload: answer.payload, decryptSeconds: answer.decryptSeconds };
            }
            if (answer.type === "error") {
              throw new FlheError("protocol", `owner refused round ${round}: ${answer.message}`);
            }
            // A late answer to an earlier request: keep waiting for this round's.
            log.warn(`owner answered ${answer.type} for another round; waiting for round ${round}`);
          }
        } catch (e) {
          if (e instanceof FlheError && e.code === "protocol") throw e;
          ch.close("no answer");
          log.warn(
            `lost the owner service during round ${round} (${(e as Error).message}); reconnecting`,
          );
        }
      }
    },
    close() {
      channel?.close("server done");
    },
  };
}

async function saveCheckpoint(
  dir: string,
  history: readonly RoundRecord[],
  models: readonly StoredModel[],
) {
  const latest = models.at(-1)!;
  const m = latest.message;
  await writeFileAtomic(`${dir}/round-${m.round}.model`, m.payload);
  await writeFileAtomic(
    `${dir}/checkpoint.json`,
    JSON.stringify({
      format: "flhe-server-checkpoint",
      version: 1,
      completedRounds: m.round,
      models: models.map(({ message }) => ({
        round: message.round,
        kind: message.kind,
        totalWeight: message.totalWeight,
        contributors: message.contributors,
      })),
      history,
    }) + "\n",
  );
}

async function loadCheckpoint(
  dir: string,
  history: RoundRecord[],
  models: StoredModel[],
): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/checkpoint.json`);
  } catch {
    return 0;
  }
  try {
    const body = JSON.parse(text) as {
      models: {
        round: number;
        kind: ModelMessage["kind"];
        totalWeight: number;
        contributors: number;
      }[];
      history: RoundRecord[];
    };
    for (const m of body.models) {
      const payload = await Deno.readFile(`${dir}/round-${m.round}.model`);
      models.push({ message: { type: "model", ...m, evaluate: false, payload } });
    }
    history.push(...body.history);
    return models.length;
  } catch (e) {
    throw new FlheError(
      "input",
      `${dir}/checkpoint.json: unreadable checkpoint (${
        (e as Error).message
      }); move it away to start afresh`,
    );
  }
}
