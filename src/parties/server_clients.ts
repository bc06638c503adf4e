/**
 * The server's view of its clients: who is connected on which channel, and
 * the hello that admits a client (token, key fingerprint). A client that
 * proves its token again replaces its old connection, which may be dead
 * without the server having noticed (half-open TCP).
 *
 * @module
 */

import { type Logger, rateLimitedWarn } from "../util/log.ts";
import type { Channel, Message } from "../net/mod.ts";
import type { ServerCredentials } from "../federation/mod.ts";
import { receiveHello, refusePeer, tokenMatches } from "./peer_auth.ts";
import { trySend } from "./collect.ts";
import type { ServerObserver } from "../rounds/mod.ts";

/** Largest message other than an update that a client may send (a header). */
const SMALL_MESSAGE_BYTES = 70_000;

/** A connected client. */
export interface ConnectedClient {
  /** Its id. */
  readonly id: string;
  /** Its connection. */
  readonly channel: Channel;
  /** The last round whose model it holds. */
  modelRound: number;
}

/** The connected clients. */
export interface ClientRegistry {
  /**
   * Admits a new connection if its hello is right.
   *
   * @param channel The new connection.
   * @returns The client, or `undefined` if refused.
   */
  admit(channel: Channel): Promise<ConnectedClient | undefined>;
  /**
   * The connected client with this id.
   *
   * @param id A client id.
   * @returns The client, if connected.
   */
  get(id: string): ConnectedClient | undefined;
  /** Ids of the connected clients. */
  ids(): string[];
  /**
   * Records that a client left the federation for good (its privacy budget
   * is spent): it is never selected again, even if it reconnects.
   *
   * @param id The client.
   * @param reason Why, in one line.
   */
  depart(id: string, reason: string): void;
  /** The clients that left, and why. */
  departed(): ReadonlyMap<string, string>;
  /** Clients of the federation that have not left (connected or not). */
  remaining(): number;
  /** The connected clients. */
  all(): ConnectedClient[];
  /**
   * Sends a message to every connected client.
   *
   * @param message The message.
   */
  broadcast(message: Message): void;
  /** Bytes received from and sent to the connected clients so far. */
  bytes(): { readonly in: number; readonly out: number };
}

/** What the registry needs to admit clients. */
export interface RegistryOptions {
  /** Token hashes of the federation's clients. */
  readonly credentials: ServerCredentials;
  /** The federation's public key fingerprint. */
  readonly fingerprint: string;
  /** Largest update frame. */
  readonly maxUpdateBytes: number;
  /** Called for each admitted client, before it is announced as connected. */
  readonly onAdmit: (client: ConnectedClient) => void;
  /** Progress lines. */
  readonly log: Logger;
  /** Told who connects and disconnects. */
  readonly observe: ServerObserver;
}

/**
 * Creates the registry.
 *
 * @param options Credentials, fingerprint, hooks.
 * @returns The registry.
 *
 * @example Usage
 * ```ts
 * import { createClientRegistry } from "./server_clients.ts";
 * declare const options: import("./server_clients.ts").RegistryOptions;
 * const clients = createClientRegistry(options);
 * ```
 */
export function createClientRegistry(options: RegistryOptions): ClientRegistry {
  const { credentials, log } = options;
  // Refusals come from unauthenticated peers: never more than a few lines a minute.
  const refusals: Logger = { ...log, warn: rateLimitedWarn(log, 20) };
  const clients = new Map<string, ConnectedClient>();
  const left = new Map<string, string>();
  return {
    async admit(channel) {
      const hello = await receiveHello(channel, "client", refusals);
      if (!hello) return undefined;
      const entry = credentials.clients.find((c) => c.id === hello.id);
      if (!entry || !(await tokenMatches(hello.token, entry.tokenSha256))) {
        refusePeer(channel, refusals, "auth", `unknown client id or wrong token for ${hello.id}`);
        return undefined;
      }
      if (hello.fingerprint !== options.fingerprint) {
        refusePeer(
          channel,
          refusals,
          "auth",
          `${hello.id}: public key fingerprint ${
            hello.fingerprint.slice(0, 16)
          }... differs from the federation's`,
        );
        return undefined;
      }
      const old = clients.get(hello.id);
      if (old) {
        log.info(`${hello.id} reconnected; closing its previous connection`);
        old.channel.close("replaced by a new connection");
      }
      // Only an update is large; everything else a client sends is a header.
      channel.authenticate({
        maxMessageBytes: SMALL_MESSAGE_BYTES,
        byType: { update: options.maxUpdateBytes },
      });
      const client: ConnectedClient = { id: hello.id, channel, modelRound: hello.modelRound };
      clients.set(hello.id, client);
      channel.closed.then(() => {
        if (clients.get(hello.id) !== client) return;
        clients.delete(hello.id);
        options.observe({ type: "client", id: hello.id, activity: "disconnected" });
        log.info(`${hello.id} disconnected`);
      });
      options.onAdmit(client);
      options.observe({ type: "client", id: hello.id, activity: "connected" });
      log.info(`${hello.id} connected from ${channel.peer} (${clients.size} connected)`);
      return client;
    },
    get: (id) => clients.get(id),
    ids: () => [...clients.keys()].filter((id) => !left.has(id)),
    depart(id, reason) {
      if (left.has(id)) return;
      left.set(id, reason);
      log.info(`${id} left the federation: ${reason}`);
      options.observe({ type: "client", id, activity: "left" });
    },
    departed: () => left,
    remaining: () => credentials.clients.length - left.size,
    all: () => [...clients.values()],
    broadcast(message) {
      for (const c of clients.values()) trySend(c.channel, message);
    },
    bytes() {
      let inBytes = 0;
      let outBytes = 0;
      for (const c of clients.values()) {
        inBytes += c.channel.bytesIn;
        outBytes += c.channel.bytesOut;
      }
      return { in: inBytes, out: outBytes };
    },
  };
}
