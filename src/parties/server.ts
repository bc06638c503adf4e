/**
 * `flhe serve`: the aggregation server. Holds the public key only. It is a
 * factory of small steps: admit clients ({@linkcode createClientRegistry}),
 * run each round ({@linkcode runRound}) with an injected strategy and
 * finisher, keep a checkpoint, tell everyone when the federation is done.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { type Logger, rateLimitedWarn } from "../util/log.ts";
import { listen, type Listener } from "../net/mod.ts";
import type { Finisher, Recovered, Strategy } from "../strategy/mod.ts";
import {
  emptyRoundRecord,
  IGNORE_EVENTS,
  type RoundRecord,
  type ServerObserver,
} from "../rounds/mod.ts";
import type { CheckpointStore, ServerState } from "./server_store.ts";
import {
  type ClientRegistry,
  type ConnectedClient,
  createClientRegistry,
} from "./server_clients.ts";
import { runRound } from "./server_round.ts";
import { trySend } from "./collect.ts";
import type { ServerCredentials } from "../federation/mod.ts";

/** What a server is made of. */
export interface ServerParts {
  /** The round logic and state. */
  readonly strategy: Strategy;
  /** How an aggregate becomes a model. */
  readonly finisher: Finisher;
  /** Where closed rounds are kept. */
  readonly store: CheckpointStore;
  /** Progress lines. */
  readonly log: Logger;
  /** Clients' token hashes. */
  readonly credentials: ServerCredentials;
  /** The federation's public key fingerprint. */
  readonly fingerprint: string;
  /** Rounds in all. */
  readonly rounds: number;
  /** Fewest clients a round needs: with fewer left in the federation, it ends. */
  readonly minClients: number;
  /** How long to wait for each client's answer in a round. */
  readonly roundTimeoutMs: number;
  /** How long a finished server stays to tell reconnecting clients "done". */
  readonly lingerMs: number;
  /** Largest update frame a client may send. */
  readonly maxUpdateBytes: number;
  /** Told what happens, e.g. for a dashboard (default: nothing). */
  readonly observe?: ServerObserver;
}

/** Where a server listens. */
export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
  /** TLS certificate and key (PEM) to serve `wss://`. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** A server: listen, run the rounds, close. */
export interface Server {
  /**
   * Starts listening.
   *
   * @param address Where.
   * @returns The bound port.
   */
  listen(address: ListenAddress): Promise<number>;
  /**
   * Runs the rounds not yet closed, then tells the clients "done".
   *
   * @returns The history.
   */
  run(): Promise<RoundRecord[]>;
  /** Stops listening and releases the finisher. */
  close(): Promise<void>;
}

/**
 * Takes in what the finisher decided while this server's checkpoint lagged
 * behind: its last model, and the rounds it closed, so that no round number
 * is used twice and clients are not asked to train from an older model.
 */
function adopt(state: ServerState, recovered: Recovered, log: Logger): ServerState {
  const { model } = recovered;
  const lastModel = state.models.at(-1)?.round ?? 0;
  if (recovered.decidedRounds <= state.closedRounds && (!model || model.round <= lastModel)) {
    return state;
  }
  const history = [...state.history];
  const models = [...state.models];
  for (let round = state.closedRounds + 1; round <= recovered.decidedRounds; round++) {
    const found = model?.round === round;
    history.push(
      emptyRoundRecord(round, found ? undefined : "closed by the owner while the server was away"),
    );
    if (found) {
      models.push({
        type: "model",
        round,
        baseRound: 0,
        kind: model.kind,
        set: [],
        contributions: [],
        totalWeight: 1,
        contributors: 0,
        evaluate: false,
        signature: model.signature,
        payload: model.payload,
      });
      log.info(`recovered the sealed model of round ${round} from the owner`);
    }
  }
  return { closedRounds: Math.max(state.closedRounds, recovered.decidedRounds), history, models };
}

/** Asks the finisher what happened while the server was away and keeps it. */
async function recover(
  parts: ServerParts,
  state: ServerState,
  observe: ServerObserver,
): Promise<ServerState> {
  const recovered = await parts.finisher.recover?.();
  const adopted = recovered ? adopt(state, recovered, parts.log) : state;
  if (adopted === state) return state;
  await parts.store.save(adopted);
  for (const record of adopted.history.slice(state.history.length)) {
    observe({ type: "round", record });
  }
  return adopted;
}

/** Sends a (re)connected client the models it lacks, and "done" if all rounds are. */
function catchUp(state: ServerState, rounds: number, client: ConnectedClient): void {
  const latest = state.models.at(-1);
  if (latest && client.modelRound < latest.round) {
    // A sealed model is the whole model; sums must be applied in order.
    const toSend = latest.kind === "sealed"
      ? [latest]
      : state.models.filter((m) => m.round > client.modelRound);
    for (const m of toSend) trySend(client.channel, { ...m, evaluate: false });
  }
  if (state.closedRounds >= rounds) trySend(client.channel, { type: "done", rounds });
}

/** Whether too few clients are left (the others left for good) for any further round; says so. */
function tooFewLeft(parts: ServerParts, clients: ClientRegistry, round: number): boolean {
  if (clients.remaining() >= parts.minClients) return false;
  const why = [...clients.departed()].map(([id, reason]) => `${id}: ${reason}`).join("; ");
  parts.log.warn(
    `the federation ends before round ${round}: ${clients.remaining()} clients remain, fewer than minClients ${parts.minClients} (${why})`,
  );
  return true;
}

/** Welcomes an admitted client and sends it what it lacks. */
function welcome(state: ServerState, rounds: number, client: ConnectedClient): void {
  trySend(client.channel, {
    type: "welcome",
    id: client.id,
    completedRounds: state.closedRounds,
    rounds,
  });
  catchUp(state, rounds, client);
}

/**
 * Stays up to `lingerMs` for the clients of the federation not yet told
 * "done" (and not gone for good): one killed during the last round and
 * restarted gets the final model and the word instead of a closed port.
 */
async function lingerForLateClients(
  parts: ServerParts,
  clients: ClientRegistry,
  toldDone: ReadonlySet<string>,
): Promise<void> {
  const late = () =>
    parts.credentials.clients.map((c) => c.id).filter((id) =>
      !toldDone.has(id) && !clients.departed().has(id)
    );
  if (parts.lingerMs <= 0 || late().length === 0) return;
  parts.log.info(
    `waiting up to ${parts.lingerMs / 1000} s to tell ${late().join(", ")} the federation is done`,
  );
  const until = Date.now() + parts.lingerMs;
  while (late().length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Tells every client "done", waits for the late ones; throws if no round produced a model. */
async function endFederation(
  parts: ServerParts,
  clients: ClientRegistry,
  state: ServerState,
  toldDone: Set<string>,
): Promise<RoundRecord[]> {
  clients.broadcast({ type: "done", rounds: parts.rounds });
  for (const id of clients.ids()) toldDone.add(id);
  const failed = state.history.filter((r) => r.failed).length;
  parts.log.info(`all ${parts.rounds} rounds done${failed ? ` (${failed} failed)` : ""}`);
  // Ended early (too few clients left), a late client would not be told "done".
  if (state.closedRounds >= parts.rounds) await lingerForLateClients(parts, clients, toldDone);
  // Let the done frames leave before the sockets close.
  await new Promise((r) => setTimeout(r, 200));
  if (failed === parts.rounds) {
    throw new FlheError(
      "unavailable",
      `no round produced a model; the last failed with: ${state.history.at(-1)?.failed}`,
    );
  }
  return [...state.history];
}

function logRound(log: Logger, r: RoundRecord): void {
  const metrics = r.mae === undefined
    ? `accuracy ${(r.accuracy * 100).toFixed(2)}%, loss ${r.loss.toFixed(4)}`
    : `test MSE ${r.loss.toPrecision(4)}, MAE ${r.mae.toPrecision(4)}`;
  log.info(
    `round ${r.round} done in ${
      r.seconds.round.toFixed(1)
    } s: ${metrics}, ${r.participants.length} clients`,
  );
}

/**
 * Creates a server from its parts.
 *
 * @param parts Strategy, finisher, store, credentials, timeouts.
 * @returns The server.
 *
 * @example Usage
 * ```ts
 * import { createServer } from "./server.ts";
 * declare const parts: import("./server.ts").ServerParts;
 * const server = createServer(parts);
 * await server.listen({ hostname: "127.0.0.1", port: 0 });
 * try {
 *   await server.run();
 * } finally {
 *   await server.close();
 * }
 * ```
 */
export function createServer(parts: ServerParts): Server {
  const { log } = parts;
  const observe = parts.observe ?? IGNORE_EVENTS;
  const warnInvalid = rateLimitedWarn(log, 20);
  let state: ServerState = { closedRounds: 0, history: [], models: [] };
  let listener: Listener | undefined;
  // Admitted while the server recovers: welcomed, in order, once it has.
  const awaitingWelcome: ConnectedClient[] = [];
  let recoveryDone = false;
  const toldDone = new Set<string>();
  const greet = (client: ConnectedClient) => {
    welcome(state, parts.rounds, client);
    if (state.closedRounds >= parts.rounds) toldDone.add(client.id);
  };
  const loaded = parts.store.load().then((s) => {
    state = s;
    if (s.closedRounds > 0) log.info(`resuming after round ${s.closedRounds} from the checkpoint`);
  });
  const clients: ClientRegistry = createClientRegistry({
    credentials: parts.credentials,
    fingerprint: parts.fingerprint,
    maxUpdateBytes: parts.maxUpdateBytes,
    log,
    observe,
    // A client admitted while the server recovers is welcomed and caught up
    // only after: from the state recovery ends with, never from the one before.
    // Rounds start only after recovery: until then nothing else is sent.
    onAdmit: (client) => {
      if (recoveryDone) greet(client);
      else awaitingWelcome.push(client);
    },
  });
  return {
    async listen(address) {
      await loaded;
      listener = await listen({
        hostname: address.hostname,
        port: address.port,
        maxFrameBytes: parts.maxUpdateBytes,
        cert: address.tls?.cert,
        key: address.tls?.key,
        onChannel: (ch) => void clients.admit(ch),
        onWarning: (m) => log.warn(m),
        // Clients train in a worker: their main thread answers pings at any time.
        onInvalid: (peer, e) => warnInvalid(`rejected a frame from ${peer}: ${e.message}`),
      });
      log.info(
        `listening on ${
          address.tls ? "wss" : "ws"
        }://${listener.hostname}:${listener.port} (${parts.strategy.name}, ` +
          `key ${parts.fingerprint.slice(0, 16)}...)`,
      );
      return listener.port;
    },
    async run() {
      await loaded;
      state = await recover(parts, state, observe);
      recoveryDone = true;
      // Synchronously, before the first round can send a fit: a client's
      // first message is its welcome.
      for (const client of awaitingWelcome.splice(0)) greet(client);
      if (state.closedRounds >= parts.rounds) {
        log.info(
          `all ${parts.rounds} rounds were already done (remove the state folder to start afresh)`,
        );
        await lingerForLateClients(parts, clients, toldDone);
        return [...state.history];
      }
      for (let round = state.closedRounds + 1; round <= parts.rounds; round++) {
        if (tooFewLeft(parts, clients, round)) break;
        const baseRound = state.models.at(-1)?.round ?? 0;
        const closed = await runRound({ ...parts, clients, observe }, round, baseRound);
        state = {
          closedRounds: round,
          history: [...state.history, closed.record],
          models: closed.model ? [...state.models, closed.model] : state.models,
        };
        await parts.store.save(state);
        // Only now: a party killed after this line finds the round checkpointed.
        if (!closed.record.failed) logRound(log, closed.record);
        observe({ type: "round", record: closed.record });
      }
      return await endFederation(parts, clients, state, toldDone);
    },
    async close() {
      await parts.finisher.close();
      await listener?.close();
    },
  };
}
