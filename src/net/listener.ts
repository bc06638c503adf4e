/**
 * The listening side: accepts TCP (or TLS) connections, does the WebSocket
 * handshake itself and hands each peer over as a {@linkcode Channel}, with
 * the limits that keep peers from exhausting this party:
 *
 * - a deadline for the TLS and HTTP upgrade handshake (slow or idle
 *   connections are closed, TCP included), and a deadline for the hello
 *   (until the party calls {@linkcode Channel.authenticate});
 *   see serve_connection.ts;
 * - a cap on connections not yet authenticated: further ones are closed at
 *   once (accept_loop.ts, connections.ts);
 * - small messages only until authentication (see {@linkcode createChannel});
 * - pings, and a liveness deadline for peers that stop answering
 *   (transport.ts);
 * - accept errors (e.g. too many open files) are logged once per minute,
 *   the oldest unauthenticated connections are closed to free descriptors,
 *   and the listener keeps serving (accept_loop.ts).
 *
 * This file puts those pieces together.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { createTlsContext } from "./byte_stream.ts";
import { AcceptLoop } from "./accept_loop.ts";
import { Connections } from "./connections.ts";
import { type ListenOptions, resolveListenSettings } from "./listen_options.ts";
import { serveConnection } from "./serve_connection.ts";

/** A listening WebSocket server. */
export interface Listener {
  /** The port it listens on. */
  readonly port: number;
  /** The address it listens on. */
  readonly hostname: string;
  /**
   * Counters, for logs and tests.
   *
   * @returns The current counts.
   */
  stats(): ListenerStats;
  /** Stops listening and closes open connections (each within its close grace). */
  close(): Promise<void>;
}

/** What a {@linkcode Listener} holds and has turned away. */
export interface ListenerStats {
  /** TCP connections open now (handshaking, unauthenticated, authenticated or closing). */
  readonly connections: number;
  /** Of those, the ones not authenticated (they count against the cap). */
  readonly unauthenticated: number;
  /** Connections closed at once because the cap was reached. */
  readonly refused: number;
  /** Failed accepts (e.g. too many open files). */
  readonly acceptErrors: number;
  /** Unauthenticated connections closed to free file descriptors after a failed accept. */
  readonly shed: number;
}

/**
 * Serves WebSocket connections; each becomes a {@linkcode Channel}.
 *
 * @param options Address, limits, deadlines, TLS and the connection handler.
 * @returns The listener, once bound.
 * @throws {FlheError} `unavailable` naming the address if the port is taken or the
 *   address is not this machine's.
 * @throws {Error} If the TLS certificate or key cannot be parsed.
 *
 * @example Usage
 * ```ts
 * import { listen } from "./listener.ts";
 * const listener = await listen({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   maxFrameBytes: 1 << 20,
 *   onChannel: (ch) => ch.close(),
 * });
 * await listener.close();
 * ```
 */
export function listen(options: ListenOptions): Promise<Listener> {
  try {
    return Promise.resolve(startListening(options));
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Binds the TCP port; a taken or foreign address is one line naming it and what to do. */
function bind(hostname: string, port: number): Deno.Listener {
  try {
    return Deno.listen({ hostname, port });
  } catch (e) {
    const where = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
    if (e instanceof Deno.errors.AddrInUse) {
      throw new FlheError(
        "unavailable",
        `${where}: address already in use; stop the program using it or choose another --port`,
        { cause: e },
      );
    }
    if (e instanceof Deno.errors.AddrNotAvailable) {
      throw new FlheError(
        "unavailable",
        `${where}: not an address of this machine; choose another --host`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** Binds, starts accepting, and returns the listener's handle; throws bind and TLS errors. */
function startListening(options: ListenOptions): Listener {
  const settings = resolveListenSettings(options);
  const tlsContext = options.cert && options.key
    ? createTlsContext(options.cert, options.key)
    : undefined;
  // TLS runs over our own TCP connections (see byte_stream.ts): closing
  // one must close it, handshake done or not.
  const server = bind(options.hostname, options.port);
  const bound = server.addr as Deno.NetAddr;
  const connections = new Connections();
  const accepting = new AcceptLoop({
    server,
    connections,
    maxUnauthenticatedConnections: settings.maxUnauthenticatedConnections,
    tlsContext,
    onWarning: settings.onWarning,
    serve: (slot) => serveConnection(slot, { options, settings, connections }),
  });

  return {
    port: bound.port,
    hostname: bound.hostname,
    stats(): ListenerStats {
      return {
        connections: connections.size,
        unauthenticated: connections.unauthenticated,
        refused: connections.refused,
        acceptErrors: accepting.acceptErrors,
        shed: connections.shed,
      };
    },
    async close(): Promise<void> {
      if (connections.closing) return;
      connections.closing = true;
      accepting.stop();
      connections.closeAll();
      await accepting.done;
      await connections.settled();
    },
  };
}
