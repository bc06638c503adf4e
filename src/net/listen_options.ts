/**
 * The options of {@linkcode listen}, their defaults, and the settings a
 * listener runs with once the defaults are applied.
 *
 * @module
 */

import type { Channel, ChannelOptions } from "./channel.ts";
import type { FlheError } from "../util/error.ts";

/** Options of {@linkcode listen}. */
export interface ListenOptions extends Omit<ChannelOptions, "peer" | "onInvalid"> {
  /** Address to bind. */
  readonly hostname: string;
  /** Port to bind (0: any free port). */
  readonly port: number;
  /** TLS certificate chain (PEM), to serve `wss://`. */
  readonly cert?: string;
  /** TLS private key (PEM). */
  readonly key?: string;
  /** Called for each new connection, once its WebSocket handshake is done. */
  readonly onChannel: (channel: Channel) => void;
  /** Called for each rejected frame. */
  readonly onInvalid?: (peer: string, error: FlheError) => void;
  /** Called for listener warnings (accept failures, refused connections); default: stderr. */
  readonly onWarning?: (message: string) => void;
  /**
   * Largest message before the party calls {@linkcode Channel.authenticate}
   * (default 65,536 bytes: a hello is a few hundred).
   */
  readonly maxUnauthenticatedMessageBytes?: number;
  /** Most connections not yet authenticated at once (default 256); more are closed at once. */
  readonly maxUnauthenticatedConnections?: number;
  /** Time from accept to a complete TLS and WebSocket handshake (default 10,000 ms). */
  readonly upgradeTimeoutMs?: number;
  /**
   * Time from the handshake until the party authenticates the peer (default
   * 15,000 ms); then the peer gets an error frame and the connection closes.
   */
  readonly helloTimeoutMs?: number;
  /** Ping a peer after this much silence (default 20,000 ms; 0: never ping). */
  readonly pingIntervalMs?: number;
  /**
   * Drop a peer that sent nothing, not even a pong, for this long, or that
   * stopped reading what it is sent (default 120,000 ms). A client's event
   * loop does not answer pings while it trains synchronously: keep this
   * above the longest training stretch (or the round timeout).
   */
  readonly livenessTimeoutMs?: number;
  /** How long a close waits for the peer before the TCP connection is closed (default 1,000 ms). */
  readonly closeGraceMs?: number;
}

/** Defaults of the optional {@linkcode ListenOptions}. */
export const LISTEN_DEFAULTS = {
  maxUnauthenticatedMessageBytes: 65_536,
  maxUnauthenticatedConnections: 256,
  upgradeTimeoutMs: 10_000,
  helloTimeoutMs: 15_000,
  pingIntervalMs: 20_000,
  livenessTimeoutMs: 120_000,
  closeGraceMs: 1_000,
} as const;

/** The limits and deadlines a listener runs with: its {@linkcode ListenOptions}, defaults applied. */
export interface ListenSettings {
  /** See {@linkcode ListenOptions.maxUnauthenticatedMessageBytes}. */
  readonly maxUnauthenticatedMessageBytes: number;
  /** See {@linkcode ListenOptions.maxUnauthenticatedConnections}. */
  readonly maxUnauthenticatedConnections: number;
  /** See {@linkcode ListenOptions.upgradeTimeoutMs}. */
  readonly upgradeTimeoutMs: number;
  /** See {@linkcode ListenOptions.helloTimeoutMs}. */
  readonly helloTimeoutMs: number;
  /** See {@linkcode ListenOptions.pingIntervalMs}. */
  readonly pingIntervalMs: number;
  /** See {@linkcode ListenOptions.livenessTimeoutMs}. */
  readonly livenessTimeoutMs: number;
  /** See {@linkcode ListenOptions.closeGraceMs}. */
  readonly closeGraceMs: number;
  /** See {@linkcode ListenOptions.onWarning}. */
  readonly onWarning: (message: string) => void;
}

/**
 * Applies the defaults to a listener's options.
 *
 * @param options The options given to {@linkcode listen}.
 * @returns The settings the listener runs with.
 *
 * @example Usage
 * ```ts
 * import { resolveListenSettings } from "./listen_options.ts";
 * const settings = resolveListenSettings({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   maxFrameBytes: 1 << 20,
 *   onChannel: (ch) => ch.close(),
 * });
 * settings.helloTimeoutMs; // 15000
 * ```
 */
export function resolveListenSettings(options: ListenOptions): ListenSettings {
  const d = LISTEN_DEFAULTS;
  return {
    maxUnauthenticatedMessageBytes: options.maxUnauthenticatedMessageBytes ??
      d.maxUnauthenticatedMessageBytes,
    maxUnauthenticatedConnections: options.maxUnauthenticatedConnections ??
      d.maxUnauthenticatedConnections,
    upgradeTimeoutMs: options.upgradeTimeoutMs ?? d.upgradeTimeoutMs,
    helloTimeoutMs: options.helloTimeoutMs ?? d.helloTimeoutMs,
    pingIntervalMs: options.pingIntervalMs ?? d.pingIntervalMs,
    livenessTimeoutMs: options.livenessTimeoutMs ?? d.livenessTimeoutMs,
    closeGraceMs: options.closeGraceMs ?? d.closeGraceMs,
    onWarning: options.onWarning ?? ((m: string) => console.error(m)),
  };
}
