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
import { JsonFields, writeFileAtomic } from "../util/fs.ts";
import { sha256Hex, toHex } from "../util/hex.ts";
import { type Logger, rateLimitedWarn } from "../util/log.ts";
import { createPool, decodeMean, type PaillierPool } from "../he/mod.ts";
import { applyUpdate } from "../nn/mod.ts";
import { type Channel, type DecryptMessage, listen } from "../net/mod.ts";
import { sealModel, signModel } from "../secagg/mod.ts";
import {
  type Bundle,
  clientWeightCap,
  federationCodec,
  maxFrameBytes,
  type OwnerCredentials,
  updateCount,
} from "../federation/mod.ts";
import { receiveHello, refusePeer, tokenMatches } from "./peer_auth.ts";
import { checkDecryptRequest, type PolicyContext } from "./owner_policy.ts";
import { trySend } from "./collect.ts";

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
}

/** The owner's decisions so far. */
interface OwnerState {
  /** The last round decided (decrypted or burned; 0: none). */
  round: number;
  /** The model after the last decrypted round. */
  model: Float32Array;
  /** The round of `model`. */
  modelRound: number;
  /** The answer for `round`, if it was decrypted. */
  answer?: { readonly payload: Uint8Array; readonly signature: string };
  /**
   * Digest of the request for `round` while it is being decrypted: if the
   * owner dies meanwhile, only this very request may be decrypted again
   * (the same ciphertexts give the same plaintext; nothing new is learned).
   */
  pending?: string;
}

interface OwnerParts {
  readonly bundle: Bundle;
  readonly policy: PolicyContext;
  readonly pool: PaillierPool;
  readonly stateDir: string;
  readonly log: Logger;
  readonly onModel?: (round: number, model: Float32Array) => void;
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

async function loadOwnerState(parts: OwnerParts): Promise<OwnerState> {
  const { bundle, stateDir } = parts;
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const statePath = `${stateDir}/owner.json`;
  const text = await Deno.readTextFile(statePath).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new FlheError("input", `${statePath}: cannot read (${(e as Error).message})`);
  });
  const initial = Float32Array.from(bundle.initialModel!);
  if (text === undefined) return { round: 0, model: initial, modelRound: 0 };
  let round: number;
  let modelRound: number;
  let pending: string | undefined;
  try {
    const f = new JsonFields(statePath, JSON.parse(text));
    round = f.number("round", 0, 1_000_000);
    modelRound = f.number("modelRound", 0, round);
    pending = f.optionalString("pending", /^[0-9a-f]{64}$/);
  } catch (e) {
    throw new FlheError(
      "input",
      `${statePath}: ${(e as Error).message}; move it away to start afresh`,
    );
  }
  if (modelRound === 0) return { round, model: initial, modelRound, pending };
  const modelPath = `${stateDir}/model-round-${modelRound}.f32`;
  const bytes = await Deno.readFile(modelPath).catch(() => new Uint8Array(0));
  if (bytes.length !== bundle.config.parameterCount * 4) {
    throw new FlheError(
      "input",
      `${modelPath}: missing or ${bytes.length} bytes, expected ${
        bundle.config.parameterCount * 4
      }`,
    );
  }
  const model = new Float32Array(bytes.buffer, 0, bundle.config.parameterCount);
  const state: OwnerState = { round, model, modelRound, pending };
  if (modelRound === round) state.answer = await seal(parts, round, model);
  parts.log.info(`resuming at round ${round} (model of round ${modelRound}) from ${stateDir}`);
  return state;
}

async function saveOwnerState(parts: OwnerParts, state: OwnerState): Promise<void> {
  await writeFileAtomic(
    `${parts.stateDir}/owner.json`,
    JSON.stringify({ round: state.round, modelRound: state.modelRound, pending: state.pending }) +
      "\n",
    0o600,
  );
}

async function seal(
  parts: OwnerParts,
  round: number,
  model: Float32Array,
): Promise<{ payload: Uint8Array; signature: string }> {
  const { config, groupKey, ownerSigningKey } = parts.bundle;
  const payload = await sealModel(groupKey!, round, config.fingerprint, model);
  const signature = await signModel(ownerSigningKey!.signing.privateKey, {
    context: config.fingerprint,
    round,
    digest: await sha256Hex(payload),
  });
  return { payload, signature: toHex(signature) };
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

/** The identity of a request: round, attempt, set, signatures and ciphertexts. */
async function requestDigest(m: DecryptMessage): Promise<string> {
  const head = JSON.stringify([m.round, m.attempt, m.set, m.contributions, m.count]);
  return await sha256Hex(new TextEncoder().encode(head + (await sha256Hex(m.payload))));
}

async function decryptAndSeal(
  parts: OwnerParts,
  state: OwnerState,
  m: DecryptMessage,
): Promise<{ payload: Uint8Array; signature: string }> {
  const { config } = parts.bundle;
  const totalWeight = await checkDecryptRequest(parts.policy, m);
  const plaintexts = await parts.pool.decrypt(m.payload.slice());
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
    `${parts.stateDir}/model-round-${m.round}.f32`,
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

/** Serves one authenticated server connection until it closes or says done. */
async function serveServer(
  parts: OwnerParts,
  state: OwnerState,
  channel: Channel,
): Promise<"done" | "closed"> {
  const { log } = parts;
  for (;;) {
    let m;
    try {
      m = await channel.receive();
    } catch {
      log.info("server disconnected");
      return "closed";
    }
    if (m.type === "done") return "done";
    if (m.type === "recover") {
      await answerRecover(parts, state, channel);
      continue;
    }
    if (m.type !== "decrypt") {
      trySend(channel, {
        type: "error",
        code: "protocol",
        message: `unexpected ${m.type} message`,
      });
      continue;
    }
    if (m.round === state.round && state.answer) {
      log.info(
        `round ${m.round} asked again: sending the model already sealed (no second decryption)`,
      );
      trySend(channel, { type: "sealed", round: m.round, decryptSeconds: 0, ...state.answer });
      continue;
    }
    const start = performance.now();
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
  const pool = await createPool({
    publicKey,
    secretKey: bundle.secretKey,
    workers: options.workers,
  });
  const parts: OwnerParts = {
    bundle,
    pool,
    log,
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
  const finished = Promise.withResolvers<void>();
  const warnInvalid = rateLimitedWarn(log, 20);
  let serverConnected = false;
  try {
    const state = await loadOwnerState(parts);
    const onChannel = async (channel: Channel) => {
      const hello = await receiveHello(channel, "server", log);
      if (!hello) return;
      if (
        !(await tokenMatches(
          hello.token,
          credentials.serverTokenSha256,
        ))
      ) {
        return refusePeer(channel, log, "auth", "wrong server token");
      }
      if (hello.fingerprint !== config.fingerprint) {
        return refusePeer(channel, log, "auth", "public key fingerprint differs");
      }
      if (serverConnected) {
        return refusePeer(channel, log, "unavailable", "a server is already connected");
      }
      serverConnected = true;
      channel.authenticate({
        maxMessageBytes: 70_000,
        byType: { decrypt: maxFrameBytes(config, publicKey) },
      });
      trySend(channel, {
        type: "welcome",
        id: "server",
        completedRounds: state.round,
        rounds: config.rounds,
      });
      log.info(`server connected from ${channel.peer}`);
      try {
        if (await serveServer(parts, state, channel) === "done") finished.resolve();
      } finally {
        serverConnected = false;
      }
    };
    const listener = await listen({
      hostname: options.hostname,
      port: options.port,
      maxFrameBytes: maxFrameBytes(config, publicKey),
      cert: options.tls?.cert,
      key: options.tls?.key,
      onChannel: (ch) => void onChannel(ch),
      onWarning: (m) => log.warn(m),
      onInvalid: (peer, e) => warnInvalid(`rejected a frame from ${peer}: ${e.message}`),
    });
    log.info(
      `decryption service on ${
        options.tls ? "wss" : "ws"
      }://${listener.hostname}:${listener.port} ` +
        `(key ${config.fingerprint.slice(0, 16)}..., ${pool.workers} workers)`,
    );
    options.onListen?.(listener.port);
    try {
      await finished.promise;
    } finally {
      await listener.close();
    }
    const path = state.modelRound > 0
      ? `${parts.stateDir}/model-round-${state.modelRound}.f32`
      : `${bundle.dir}/model.f32`;
    log.info(`federation done; the model of round ${state.modelRound} is in ${path}`);
    return path;
  } finally {
    pool.close();
  }
}
