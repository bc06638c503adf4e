/**
 * `flhe owner serve`: the decryption service, the only holder of the secret
 * key in owner mode. It decrypts each round's aggregate once, and only when
 * at least the minimum number of clients contributed, applies the mean
 * update to the global model, and returns the model sealed under the group
 * key for the server to relay unread. Never an individual update: the
 * server only has aggregates to send.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { JsonFields, writeFileAtomic } from "../util/fs.ts";
import { createPool, decodeMean, parseCiphertexts, plaintextCount } from "../he/mod.ts";
import { type Channel, type DecryptMessage, listen, refuse as refuseChannel } from "../net/mod.ts";
import type { Logger } from "../util/log.ts";
import { tokenMatches } from "./auth.ts";
import { type Bundle, federationCodec } from "../federation/bundle.ts";
import { sealModel } from "../secagg/seal.ts";

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
}

/**
 * Runs the owner service until the last round's model is sealed.
 *
 * @param options Bundle, address, workers.
 * @returns The path of the final model file.
 * @throws {FlheError} If the bundle lacks the secret key, group key or model.
 *
 * @example Usage
 * ```ts
 * import { runOwnerService } from "./owner_service.ts";
 * import { loadBundle } from "../federation/bundle.ts";
 * import { createLogger } from "../util/log.ts";
 * await runOwnerService({ bundle: await loadBundle("federation/owner"), hostname: "127.0.0.1",
 *   port: 8766, log: createLogger("owner") });
 * ```
 */
export async function runOwnerService(options: OwnerServiceOptions): Promise<string> {
  const { bundle, log } = options;
  const { config, publicKey, secretKey, groupKey, credentials, initialModel } = bundle;
  if (credentials.role !== "owner" || !secretKey || !groupKey || !initialModel) {
    throw new FlheError(
      "input",
      `${bundle.dir}: not an owner bundle (needs credentials.json with role owner, secret.json, group.key, model.f32)`,
    );
  }
  if (config.mode !== "owner") {
    throw new FlheError(
      "usage",
      `${bundle.dir}: federation is in ${config.mode} mode; the owner service is for owner mode`,
    );
  }
  const codec = federationCodec(config);
  const count = plaintextCount(codec, config.parameterCount);
  const stateDir = `${bundle.dir}/state`;
  // The decrypted models are the owner's alone.
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  let model = Float32Array.from(initialModel);
  let lastRound = 0;
  let lastSealed: Uint8Array | undefined;
  const statePath = `${stateDir}/owner.json`;
  const stateText = await Deno.readTextFile(statePath).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new FlheError("input", `${statePath}: cannot read (${(e as Error).message})`);
  });
  if (stateText !== undefined) {
    // Written after the model file of its round: a crash in between leaves the
    // previous round named here, whose model is complete.
    let round: number;
    try {
      round = new JsonFields(statePath, JSON.parse(stateText)).number("round", 1, 1_000_000);
    } catch (e) {
      throw new FlheError(
        "input",
        `${statePath}: ${(e as Error).message}; move it away to start afresh`,
      );
    }
    const modelPath = `${stateDir}/model-round-${round}.f32`;
    const bytes = await Deno.readFile(modelPath).catch(() => new Uint8Array(0));
    if (bytes.length !== config.parameterCount * 4) {
      throw new FlheError(
        "input",
        `${modelPath}: missing or ${bytes.length} bytes, expected ${config.parameterCount * 4}`,
      );
    }
    model = new Float32Array(bytes.buffer, 0, config.parameterCount);
    lastRound = round;
    lastSealed = await sealModel(groupKey, lastRound, config.fingerprint, model);
    log.info(`resuming at round ${lastRound} from ${stateDir}`);
  }

  const pool = await createPool({ publicKey, secretKey, workers: options.workers });
  const finished = Promise.withResolvers<string>();
  let serverConnected = false;

  const handle = async (m: DecryptMessage): Promise<Uint8Array> => {
    if (m.round === lastRound && lastSealed) {
      log.info(
        `round ${m.round} asked again: sending the model already sealed (no second decryption)`,
      );
      return lastSealed;
    }
    if (m.round !== lastRound + 1) {
      throw new FlheError(
        "protocol",
        `decrypt request for round ${m.round}, but the owner is at round ${lastRound}`,
      );
    }
    // The owner cannot see inside the aggregate: it can only check that the
    // server names distinct clients of this federation.
    const known = (id: string) => /^client-\d+$/.test(id) && Number(id.slice(7)) <= config.clients;
    const stranger = m.contributors.find((id) => !known(id));
    if (stranger !== undefined) {
      throw new FlheError(
        "protocol",
        `decrypt request names ${stranger}, not a client of this federation`,
      );
    }
    const unique = new Set(m.contributors);
    if (unique.size !== m.contributors.length) {
      throw new FlheError("protocol", `decrypt request lists a contributor twice`);
    }
    if (unique.size < config.minClients) {
      throw new FlheError(
        "protocol",
        `round ${m.round} aggregate has ${unique.size} contributors, fewer than minClients ${config.minClients}: refusing to decrypt`,
      );
    }
    if (m.count !== count) {
      throw new FlheError("protocol", `decrypt count ${m.count}, expected ${count}`);
    }
    if (m.totalWeight > codec.maxTotalWeight) {
      throw new FlheError(
        "protocol",
        `totalWeight ${m.totalWeight} exceeds maxTotalWeight ${codec.maxTotalWeight}`,
      );
    }
    parseCiphertexts(publicKey, m.payload, count, `aggregate of round ${m.round}`);
    const plaintexts = await pool.decrypt(m.payload.slice());
    const mean = decodeMean(plaintexts, config.parameterCount, m.totalWeight, publicKey.n, codec);
    const next = new Float32Array(model.length);
    for (let i = 0; i < next.length; i++) next[i] = model[i]! + mean[i]!;
    const sealed = await sealModel(groupKey, m.round, config.fingerprint, next);
    await writeFileAtomic(
      `${stateDir}/model-round-${m.round}.f32`,
      new Uint8Array(next.buffer),
      0o600,
    );
    await writeFileAtomic(statePath, JSON.stringify({ round: m.round }) + "\n", 0o600);
    model = next;
    lastRound = m.round;
    lastSealed = sealed;
    return sealed;
  };

  const onChannel = async (channel: Channel) => {
    const refuse = (code: FlheError["code"], message: string) => {
      log.warn(`refused ${channel.peer}: ${message}`);
      refuseChannel(channel, code, message);
    };
    let hello;
    try {
      hello = await channel.receive(10_000);
    } catch {
      return channel.close("no hello");
    }
    if (hello.type !== "hello" || hello.role !== "server") {
      return refuse("protocol", "expected a server hello");
    }
    if (!(await tokenMatches(hello.token, credentials.serverTokenSha256))) {
      return refuse("auth", "wrong server token");
    }
    if (hello.fingerprint !== config.fingerprint) {
      return refuse("auth", "public key fingerprint differs");
    }
    if (serverConnected) return refuse("auth", "a server is already connected");
    serverConnected = true;
    channel.send({
      type: "welcome",
      id: "server",
      completedRounds: lastRound,
      rounds: config.rounds,
    });
    log.info(`server connected from ${channel.peer}`);
    try {
      for (;;) {
        const m = await channel.receive();
        if (m.type !== "decrypt") {
          channel.send({
            type: "error",
            code: "protocol",
            message: `unexpected ${m.type} message`,
          });
          continue;
        }
        const start = performance.now();
        try {
          const sealed = await handle(m);
          const decryptSeconds = (performance.now() - start) / 1000;
          channel.send({ type: "sealed", round: m.round, decryptSeconds, payload: sealed });
          log.info(
            `round ${m.round}: decrypted the aggregate of ${m.contributors.length} clients in ${
              decryptSeconds.toFixed(2)
            } s`,
          );
          if (m.round === config.rounds) {
            finished.resolve(`${stateDir}/model-round-${m.round}.f32`);
          }
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          log.warn(`round ${m.round}: ${message}`);
          channel.send({
            type: "error",
            code: e instanceof FlheError ? e.code : "protocol",
            message,
          });
        }
      }
    } catch {
      log.info("server disconnected");
    } finally {
      serverConnected = false;
    }
  };

  const listener = await listen({
    hostname: options.hostname,
    port: options.port,
    maxFrameBytes: count * publicKey.ciphertextBytes + 70_000,
    cert: options.tls?.cert,
    key: options.tls?.key,
    onChannel: (ch) => void onChannel(ch),
    onInvalid: (peer, e) => log.warn(`rejected a frame from ${peer}: ${e.message}`),
  });
  log.info(
    `decryption service on ${options.tls ? "wss" : "ws"}://${listener.hostname}:${listener.port} ` +
      `(key ${config.fingerprint.slice(0, 16)}..., ${pool.workers} workers)`,
  );
  options.onListen?.(listener.port);
  if (lastRound >= config.rounds) finished.resolve(`${stateDir}/model-round-${lastRound}.f32`);
  try {
    const path = await finished.promise;
    log.info(`final model of round ${config.rounds} written to ${path}`);
    await new Promise((r) => setTimeout(r, 200));
    return path;
  } finally {
    pool.close();
    await listener.close();
  }
}
