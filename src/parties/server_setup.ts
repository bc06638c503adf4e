/**
 * Assembles `flhe serve` from the server's bundle: the strategy of the
 * federation (FedAvgHE checking signatures against `peers.json`, or
 * plaintext FedAvg), the finisher of its mode (owner service, shared-key,
 * plain), the checkpoint store, then listens and runs.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { fromHex } from "../util/hex.ts";
import type { Logger } from "../util/log.ts";
import { verifyContribution } from "../secagg/mod.ts";
import {
  type Bundle,
  clientWeightCap,
  maxFrameBytes,
  peerKeys,
  type ServerCredentials,
  updateCount,
} from "../federation/mod.ts";
import {
  type ContributionVerifier,
  createFedAvg,
  createFedAvgHE,
  createPlainFinisher,
  createSharedKeyFinisher,
  type FedAvgOptions,
  type Finisher,
  type Strategy,
} from "../strategy/mod.ts";
import { createServer } from "./server.ts";
import { createCheckpointStore } from "./server_store.ts";
import { createOwnerFinisher } from "./owner_link.ts";
import {
  parseHistory,
  type RoundRecord,
  type ServerEvent,
  type ServerObserver,
} from "../rounds/mod.ts";
import { type Dashboard, federationInfo, startDashboard } from "../dashboard/mod.ts";

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
  /** How long to wait for a client's answer in a round. */
  readonly roundTimeoutMs: number;
  /** Fewest clients per round (default: the federation's). */
  readonly minClients?: number;
  /** Fewest connected clients before a round starts (default: `minClients`). */
  readonly minAvailable?: number;
  /** How long a finished server stays to tell reconnecting clients "done" (default 30 s). */
  readonly lingerMs?: number;
  /** TLS certificate and key (PEM) to serve `wss://`. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** CA certificates (PEM) to verify a `wss://` owner service (default: runtime roots). */
  readonly ownerCaCerts?: readonly string[];
  /** Progress lines. */
  readonly log: Logger;
  /** Called once listening. */
  readonly onListen?: (port: number) => void;
  /** Told what happens, e.g. for a dashboard. */
  readonly observe?: ServerObserver;
  /** Serve the dashboard here (default: none); over https with `tls`. */
  readonly dashboard?: { readonly hostname: string; readonly port: number };
}

function checkServerBundle(bundle: Bundle, minClients: number): ServerCredentials {
  const { config, credentials } = bundle;
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
  if (minClients < config.minClients) {
    throw new FlheError(
      "usage",
      `--min-clients ${minClients} is below the federation's minClients ${config.minClients}, ` +
        `which the clients and the owner enforce`,
    );
  }
  return credentials;
}

function signatureVerifier(bundle: Bundle): ContributionVerifier {
  const context = bundle.config.fingerprint;
  return (c, signatureHex) => {
    const keys = peerKeys(bundle.peers, c.id);
    if (!keys) return Promise.resolve(false);
    if (!/^[0-9a-f]{128}$/.test(signatureHex)) return Promise.resolve(false);
    return verifyContribution(
      keys.verifyKey,
      { context, ...c },
      fromHex(signatureHex, "signature"),
    );
  };
}

function makeStrategy(bundle: Bundle, options: FedAvgOptions): Strategy {
  const count = updateCount(bundle.config);
  return bundle.config.strategy === "fedavg-he"
    ? createFedAvgHE(options, bundle.publicKey, count, signatureVerifier(bundle))
    : createFedAvg(options, count);
}

function makeFinisher(
  bundle: Bundle,
  credentials: ServerCredentials,
  options: ServerOptions,
): Finisher {
  const { config } = bundle;
  if (config.strategy === "fedavg") return createPlainFinisher();
  if (config.mode === "shared-key") return createSharedKeyFinisher();
  return createOwnerFinisher({
    url: config.ownerUrl,
    token: credentials.token,
    fingerprint: config.fingerprint,
    maxFrameBytes: maxFrameBytes(config, bundle.publicKey),
    rounds: config.rounds,
    caCerts: options.ownerCaCerts,
    log: options.log,
  });
}

/** The rounds a resumed server closed before, from its checkpoint (none if unreadable). */
async function checkpointHistory(stateDir: string): Promise<RoundRecord[]> {
  const path = `${stateDir}/checkpoint.json`;
  try {
    return parseHistory(path, JSON.parse(await Deno.readTextFile(path)).history);
  } catch {
    return [];
  }
}

async function openDashboard(options: ServerOptions): Promise<Dashboard | undefined> {
  if (!options.dashboard) return undefined;
  return await startDashboard({
    ...options.dashboard,
    federation: federationInfo(options.bundle),
    history: await checkpointHistory(options.stateDir),
    tls: options.tls,
    log: options.log,
  });
}

function both(a: ServerObserver | undefined, b: ServerObserver | undefined): ServerObserver {
  return (event: ServerEvent) => {
    a?.(event);
    b?.(event);
  };
}

/**
 * Runs the server until all rounds are closed.
 *
 * @param options Bundle, address, files, timeouts, dashboard.
 * @returns The history, one record per closed round.
 * @throws {FlheError} If the bundle is not a server bundle or a port is taken.
 *
 * @example Usage
 * ```ts
 * import { runServer } from "./server_setup.ts";
 * import { loadBundle } from "../federation/mod.ts";
 * import { createLogger } from "../util/log.ts";
 * const bundle = await loadBundle("federation/server");
 * await runServer({ bundle, hostname: "127.0.0.1", port: 8765, historyPath: "history.json",
 *   stateDir: "federation/server/state", roundTimeoutMs: 600_000, log: createLogger("server") });
 * ```
 */
export async function runServer(options: ServerOptions): Promise<RoundRecord[]> {
  const minClients = options.minClients ?? options.bundle.config.minClients;
  const credentials = checkServerBundle(options.bundle, minClients);
  const dashboard = await openDashboard(options);
  try {
    const observe = both(options.observe, dashboard?.observe);
    return await serveRounds(options, { credentials, minClients, observe });
  } finally {
    await dashboard?.close();
  }
}

async function serveRounds(
  options: ServerOptions,
  checked: {
    readonly credentials: ServerCredentials;
    readonly minClients: number;
    readonly observe: ServerObserver;
  },
): Promise<RoundRecord[]> {
  const { bundle, log } = options;
  const { config } = bundle;
  const { credentials, minClients, observe } = checked;
  // The server holds no secret and multiplies nothing (protocol v3): it
  // checks each update and relays the signed updates to whoever decrypts.
  const server = createServer({
    strategy: makeStrategy(bundle, {
      minFitClients: minClients,
      minAvailableClients: Math.max(minClients, options.minAvailable ?? minClients),
      maxClientWeight: clientWeightCap(config),
      maxTotalWeight: config.encoding.maxTotalWeight,
    }),
    finisher: makeFinisher(bundle, credentials, options),
    store: createCheckpointStore(options.stateDir, options.historyPath),
    credentials,
    fingerprint: config.fingerprint,
    rounds: config.rounds,
    minClients,
    roundTimeoutMs: options.roundTimeoutMs,
    lingerMs: options.lingerMs ?? 30_000,
    maxUpdateBytes: maxFrameBytes(config, bundle.publicKey),
    observe,
    log,
  });
  try {
    const port = await server.listen({
      hostname: options.hostname,
      port: options.port,
      tls: options.tls,
    });
    options.onListen?.(port);
    return await server.run();
  } finally {
    await server.close();
  }
}
