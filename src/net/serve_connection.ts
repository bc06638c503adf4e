/**
 * One accepted connection, from accept to close: the TLS and WebSocket
 * handshakes under one deadline (a slow or idle peer is closed, TCP
 * included), then a channel handed to the party with a deadline for the
 * hello: a peer the party has not authenticated in time gets an error
 * frame and is closed, so a stranger cannot hold a slot under the cap.
 *
 * @module
 */

import { type ByteStream, closeQuietly } from "./byte_stream.ts";
import { createChannel, refuse } from "./channel.ts";
import type { Connections, Slot } from "./connections.ts";
import { answerUpgrade } from "./handshake.ts";
import type { ListenOptions, ListenSettings } from "./listen_options.ts";

/** What {@linkcode serveConnection} needs from its listener. */
export interface ServeContext {
  /** The listener's options (channel limits and handlers). */
  readonly options: ListenOptions;
  /** The listener's deadlines and limits, defaults applied. */
  readonly settings: ListenSettings;
  /** The listener's connections (is it closing; is this one shed or authenticated). */
  readonly connections: Connections;
}

/**
 * Serves one accepted connection until it is closed.
 *
 * @param slot The connection.
 * @param context The listener's options, settings and connections.
 * @returns When the connection is closed.
 *
 * @example Usage
 * ```ts
 * import { serveConnection } from "./serve_connection.ts";
 * import { Connections } from "./connections.ts";
 * import { resolveListenSettings, type ListenOptions } from "./listen_options.ts";
 * declare const conn: Deno.Conn, options: ListenOptions;
 * const connections = new Connections();
 * const settings = resolveListenSettings(options);
 * connections.track(
 *   { stream: conn, peer: "127.0.0.1:50000" },
 *   (slot) => serveConnection(slot, { options, settings, connections }),
 * );
 * ```
 */
export async function serveConnection(slot: Slot, context: ServeContext): Promise<void> {
  const { options, settings, connections } = context;
  const { stream: conn, peer } = slot;
  const rest = await upgradeWithin(conn, settings.upgradeTimeoutMs);
  // Shed during the handshake, or the listener is closing.
  if (rest === undefined || connections.closing || !connections.isUnauthenticated(slot)) {
    closeQuietly(conn);
    return;
  }
  const helloTimer = setTimeout(() => {
    const channel = slot.channel;
    if (channel && !channel.isAuthenticated) {
      refuse(channel, "protocol", `no hello within ${settings.helloTimeoutMs} ms`);
    }
  }, settings.helloTimeoutMs);
  const channel = createChannel(conn, {
    peer,
    maxFrameBytes: options.maxFrameBytes,
    maxQueuedMessages: options.maxQueuedMessages,
    maxQueuedBytes: options.maxQueuedBytes,
    maxSendQueueBytes: options.maxSendQueueBytes,
    maxUnauthenticatedMessageBytes: settings.maxUnauthenticatedMessageBytes,
    pingIntervalMs: settings.pingIntervalMs,
    livenessTimeoutMs: settings.livenessTimeoutMs,
    closeGraceMs: settings.closeGraceMs,
    role: "server",
    rest,
    authenticated: false,
    onInvalid: (e) => options.onInvalid?.(peer, e),
    onAuthenticate: () => {
      connections.authenticated(slot);
      clearTimeout(helloTimer);
    },
  });
  slot.channel = channel;
  try {
    options.onChannel(channel);
  } catch {
    // A party that throws must not leave the connection open.
    channel.close("internal error");
  }
  await channel.closed;
  clearTimeout(helloTimer);
}

/**
 * The server handshake (TLS, if any, runs as the stream is read), closed
 * after `timeoutMs`. Returns the bytes after the upgrade request, or
 * `undefined` if it failed, was refused or timed out.
 */
async function upgradeWithin(conn: ByteStream, timeoutMs: number): Promise<Uint8Array | undefined> {
  const upgradeTimer = setTimeout(() => closeQuietly(conn), timeoutMs);
  try {
    return await answerUpgrade(conn);
  } catch {
    // A failed TLS handshake, a reset, or the deadline.
    return undefined;
  } finally {
    clearTimeout(upgradeTimer);
  }
}
