/**
 * `flhe owner serve`: the decryption service, the only holder of the secret
 * key in owner mode. For each round it checks the request against its
 * policy ({@linkcode checkDecryptRequest}), decrypts the aggregate once,
 * applies the mean to the global model, and returns the model sealed under
 * the group key and signed with its own key, for the server to relay unread.
 * It keeps serving its last sealed model to a restarted server until the
 * server says the federation is done.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { writeFileAtomic } from "../util/fs.ts";
import { sha256Hex } from "../util/hex.ts";
import { type Logger, rateLimitedWarn } from "../util/log.ts";
import { createPool, decodeMean } from "../he/mod.ts";
import { applyUpdate } from "../nn/mod.ts";
import { type Channel, type DecryptMessage, listen } from "../net/mod.ts";
import {
  type Bundle,
  clientWeightCap,
  federationCodec,
  maxSetFrameBytes,
  type OwnerCredentials,
  updateCount,
} from "../federation/mod.ts";
import { receiveHello, refusePeer, tokenMatches } from "./peer_auth.ts";
import { checkDecryptRequest } from "./owner_policy.ts";
import { trySend } from "./collect.ts";
import {
  loadOwnerState,
  modelRoundPath,
  type OwnerParts,
  type OwnerState,
  saveOwnerState,
  seal,
} from "./owner_state.ts";
import { lockStateDir } from "../util/state_lock.ts";
import { modelDigest } from "./model_digest.ts";
import { createLinger, type Linger } from "./owner_linger.ts";

/** Options of {@linkcode runOwnerService}. */
export interface OwnerServiceOptions {
  /** The owner's bundle. */
  readonly bundle: Bundle;
  /** Address to bind. */
  readonly hostname: string;
  /** Port (0: any). */
  readonly port: number;
  /** Decryption workers (default: one per core). */
  readonly workers?: number;
  /** TLS certificate and key (PEM). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Progress lines. */
  readonly log: Logger;
  /** Called once listening. */
  readonly onListen?: (port: number) => void;
  /** Called with each round's new global model (e.g. the owner's validation, `--eval`). */
  readonly onModel?: (round: number, model: Float32Array) => void;
  /**
   * How long an owner that decided every round waits without a server
   * before it exits (default 30 s): the server that would say done may be gone.
   */
  readonly lingerMs?: number;
}

function checkOwnerBundle(bundle: Bundle): OwnerCredentials {
  const { credentials, secretKey, groupKey, initialModel, ownerSigningKey, config } = bundle;
  if (
    credentials.role !== "owner" || !secretKey || !groupKey || !initialModel || !ownerSigningKey
  ) {
    throw new FlheError(
      "input",
      `${bundle.dir}: not an owner bundle (needs credentials.json with role owner, secret.json, group.key, signing.json, model.f32)`,
    );
  }
  if (config.mode !== "owner") {
    throw new FlheError(
      "usage",
      `${bundle.dir}: federation is in ${config.mode} mode; the owner service is for owner mode`,
    );
  }
  return credentials;
}

/** Decides one request; the state is burned for the round before any decryption. */
async function decide(
  parts: OwnerParts,
  state: OwnerState,
  m: DecryptMessage,
): Promise<{ payload: Uint8Array; signature: string }> {
  const { config } = parts.bundle;
  const digest = await requestDigest(m);
  const resumed = m.round === state.round && state.pending === digest;
  if (m.round === state.round && !resumed) {
    if (state.answer) return state.answer;
    throw new FlheError(
      "protocol",
      `round ${m.round} was refused before and is not decrypted again`,
    );
  }
  if (!resumed && (m.round < state.round || m.round > config.rounds)) {
    throw new FlheError(
      "protocol",
      `round ${m.round} refused: the owner is at round ${state.round} of ${config.rounds}`,
    );
  }
  if (m.baseRound !== state.modelRound) {
    throw new FlheError(
      "protocol",
      `round ${m.round} refused: it trains from the model of round ${m.baseRound}, but the owner's latest model is of round ${state.modelRound}`,
    );
  }
  // Burned before any check: whatever happens next, this round is not
  // decrypted for another request.
  state.round = m.round;
  state.answer = undefined;
  state.pending = digest;
  await saveOwnerState(parts, state);
  try {
    return await decryptAndSeal(parts, state, m);
  } catch (e) {
    state.pending = undefined;
    await saveOwnerState(parts, state);
    throw e;
  }
}

/** The identity of a request: round, base, set, signatures and ciphertexts. */
async function requestDigest(m: DecryptMessage): Promise<string> {
  const head = JSON.stringify([m.round, m.baseRound, m.set, m.contributions, m.count]);
  return await sha256Hex(new TextEncoder().encode(head + (await sha256Hex(m.payload))));
}

async function decryptAndSeal(
  parts: OwnerParts,
  state: OwnerState,
  m: DecryptMessage,
): Promise<{ payload: Uint8Array; signature: string }> {
  const { config } = parts.bundle;
  const { updates, totalWeight } = await checkDecryptRequest(
    parts.policy,
    m,
    await modelDigest(state.model),
  );
  // The owner's own product of what the members signed: never the server's.
  const product = await parts.pool.aggregate(updates);
  const plaintexts = await parts.pool.decrypt(product);
  let mean: Float32Array;
  try {
    mean = decodeMean(
      plaintexts,
      config.parameterCount,
      totalWeight,
      parts.bundle.publicKey.n,
      federationCodec(config),
    );
  } catch {
    // Which slot overflowed is secret-derived: say only that it failed.
    throw new FlheError("protocol", `round ${m.round} refused: the aggregate does not decode`);
  }
  const next = applyUpdate(state.model, mean);
  const answer = await seal(parts, m.round, next);
  await writeFileAtomic(
    modelRoundPath(parts.stateDir, m.round),
    new Uint8Array(next.buffer),
    0o600,
  );
  state.model = next;
  state.modelRound = m.round;
  parts.onModel?.(m.round, next);
  state.answer = answer;
  state.pending = undefined;
  await saveOwnerState(parts, state);
  return answer;
}

/** Sends a restarted server the last model sealed (sealed again if a later round was refused). */
async function answerRecover(
  parts: OwnerParts,
  state: OwnerState,
  channel: Channel,
): Promise<void> {
  if (state.modelRound === 0) {
    trySend(channel, {
      type: "error",
      code: "unavailable",
      message: "no round has been sealed yet",
    });
    return;
  }
  const answer = state.round === state.modelRound && state.answer
    ? state.answer
    : await seal(parts, state.modelRound, state.model);
  trySend(channel, { type: "sealed", round: state.modelRound, decryptSeconds: 0, ...answer });
  parts.log.info(`a restarted server recovered the model of round ${state.modelRound}`);
}

/**
 * Runs the owner's answers one at a time, whichever server connection asks:
 * a server that died mid-decryption and came back waits for that decryption
 * to end and gets its answer, never a second decryption.
 */
type Serial = <T>(work: () => Promise<T>) => Promise<T>;

function createSerial(): Serial {
  let tail: Promise<unknown> = Promise.resolve();
  return (work) => {
    const next = tail.then(work, work);
    tail = next.catch(() => {});
    return next;
  };
}

/** Answers one decrypt request: from the cache, or by deciding it. */
async function answerDecrypt(
  parts: OwnerParts,
  state: OwnerState,
  channel: Channel,
  m: DecryptMessage,
): Promise<void> {
  const { log } = parts;
  if (m.round === state.round && state.answer) {
    log.info(
      `round ${m.round} asked again: sending the model already sealed (no second decryption)`,
    );
    trySend(channel, { type: "sealed", round: m.round, decryptSeconds: 0, ...state.answer });
    return;
  }
  const start = performance.now();
  log.info(`round ${m.round}: checking and decrypting the updates of ${m.set.length} clients`);
  try {
    const answer = await decide(parts, state, m);
    const decryptSeconds = (performance.now() - start) / 1000;
    trySend(channel, { type: "sealed", round: m.round, decryptSeconds, ...answer });
    log.info(
      `round ${m.round}: sealed the model of ${m.set.length} clients in ${
        decryptSeconds.toFixed(2)
      } s`,
    );
  } catch (e) {
    const message = e instanceof FlheError ? e.message : `round ${m.round} refused`;
    log.warn(message);
    trySend(channel, { type: "error", code: "protocol", message });
  }
}

/** Serves one authenticated server connection until it closes or says done. */
async function serveServer(
  parts: OwnerParts,
  state: OwnerState,
  channel: Channel,
  serial: Serial,
): Promise<"done" | "closed"> {
  for (;;) {
    let m;
    try {
      m = await channel.receive();
    } catch {
      parts.log.info("server disconnected");
      return "closed";
    }
    if (m.type === "done") return "done";
    if (m.type === "recover") {
      await serial(() => answerRecover(parts, state, channel));
    } else if (m.type === "decrypt") {
      const request = m;
      await serial(() => answerDecrypt(parts, state, channel, request));
    } else {
      trySend(channel, {
        type: "error",
        code: "protocol",
        message: `unexpected ${m.type} message`,
      });
    }
  }
}

/** The owner's parts: its decryption pool and what its policy checks. */
async function ownerParts(options: OwnerServiceOptions): Promise<OwnerParts> {
  const { bundle } = options;
  const { config, publicKey } = bundle;
  return {
    bundle,
    pool: await createPool({ publicKey, secretKey: bundle.secretKey, workers: options.workers }),
    log: options.log,
    stateDir: `${bundle.dir}/state`,
    onModel: options.onModel,
    policy: {
      config,
      peers: bundle.peers,
      publicKey,
      count: updateCount(config),
      weightCap: clientWeightCap(config),
    },
  };
}

/**
 * Runs the owner service until the server says the federation is done.
 *
 * @param options Bundle, address, workers.
 * @returns The path of the last model file (the initial model if no round was decrypted).
 * @throws {FlheError} If the bundle lacks the secret key, group key, signing key or model.
 *
 * @example Usage
 * ```ts
 * import { runOwnerService } from "./owner_service.ts";
 * import { loadBundle } from "../federation/mod.ts";
 * import { createLogger } from "../util/log.ts";
 * await runOwnerService({ bundle: await loadBundle("federation/owner"), hostname: "127.0.0.1",
 *   port: 8766, log: createLogger("owner") });
 * ```
 */
export async function runOwnerService(options: OwnerServiceOptions): Promise<string> {
  const { bundle, log } = options;
  const credentials = checkOwnerBundle(bundle);
  const { config, publicKey } = bundle;
  // The record of what was decrypted is only as good as its single writer.
  const lock = await lockStateDir(`${bundle.dir}/state`, "owner");
  const parts = await ownerParts(options).catch((e) => {
    lock.release();
    throw e;
  });
  try {
    const state = await loadOwnerState(parts);
    const finished = Promise.withResolvers<void>();
    const linger = createLinger({
      state,
      rounds: config.rounds,
      lingerMs: options.lingerMs ?? 30_000,
      log,
      end: finished.resolve,
    });
    const admit = createServerDoor(parts, state, credentials, linger, finished.resolve);
    const warnInvalid = rateLimitedWarn(log, 20);
    const listener = await listen({
      hostname: options.hostname,
      port: options.port,
      maxFrameBytes: maxSetFrameBytes(config, publicKey),
      cert: options.tls?.cert,
      key: options.tls?.key,
      onChannel: (ch) => void admit(ch),
      onWarning: (m) => log.warn(m),
      onInvalid: (peer, e) => warnInvalid(`rejected a frame from ${peer}: ${e.message}`),
    });
    log.info(
      `decryption service on ${
        options.tls ? "wss" : "ws"
      }://${listener.hostname}:${listener.port} ` +
        `(key ${config.fingerprint.slice(0, 16)}..., ${parts.pool.workers} workers)`,
    );
    options.onListen?.(listener.port);
    linger.arm();
    try {
      await finished.promise;
    } finally {
      linger.disarm();
      await listener.close();
    }
    const path = state.modelRound > 0
      ? modelRoundPath(parts.stateDir, state.modelRound)
      : `${bundle.dir}/model.f32`;
    log.info(`federation done; the model of round ${state.modelRound} is in ${path}`);
    return path;
  } finally {
    parts.pool.close();
    lock.release();
  }
}

/**
 * Admits one server connection at a time: hello, token and key checked, then
 * served until it closes (the linger starts again) or says done (`end`).
 */
function createServerDoor(
  parts: OwnerParts,
  state: OwnerState,
  credentials: OwnerCredentials,
  linger: Linger,
  end: () => void,
): (channel: Channel) => Promise<void> {
  const { log, bundle: { config, publicKey } } = parts;
  const serial = createSerial();
  let current: Channel | undefined;
  return async (channel) => {
    const hello = await receiveHello(channel, "server", log);
    if (!hello) return;
    if (!(await tokenMatches(hello.token, credentials.serverTokenSha256))) {
      return refusePeer(channel, log, "auth", "wrong server token");
    }
    if (hello.fingerprint !== config.fingerprint) {
      return refusePeer(channel, log, "auth", "public key fingerprint differs");
    }
    if (current && !current.isClosed) {
      // Only a server with the token gets here: a new one is a restart, and the
      // old connection may be half-open. Its answer in flight goes to the new one.
      log.info("a new server connection replaces the previous one");
      current.close("replaced by a new server connection");
    }
    current = channel;
    linger.disarm();
    channel.authenticate({
      maxMessageBytes: 70_000,
      byType: { decrypt: maxSetFrameBytes(config, publicKey) },
    });
    trySend(channel, {
      type: "welcome",
      id: "server",
      completedRounds: state.round,
      rounds: config.rounds,
    });
    log.info(`server connected from ${channel.peer}`);
    let ended: "done" | "closed" = "closed";
    try {
      ended = await serveServer(parts, state, channel, serial);
    } finally {
      if (current === channel) current = undefined;
      if (!current && ended === "closed") linger.arm();
    }
    if (ended === "done") end();
  };
}
