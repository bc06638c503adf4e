/**
 * The connections a listener holds, from accept until their TCP connection
 * closes. The unauthenticated ones are kept apart, in order of age: they
 * count against the listener's cap, and when descriptors run out the
 * oldest of them are shed first (an authenticated peer is never dropped to
 * make room for a stranger).
 *
 * @module
 */

import { type ByteStream, closeQuietly } from "./byte_stream.ts";
import type { Channel } from "./channel.ts";

/** One accepted connection. */
export interface Slot {
  /** The TCP connection, or TLS over it; closing it closes the TCP connection. */
  readonly stream: ByteStream;
  /** `host:port` of the peer, for log lines. */
  readonly peer: string;
  /** Its channel, once the WebSocket handshake is done. */
  channel?: Channel;
}

/**
 * The open connections of a listener and what it has turned away.
 *
 * @example Usage
 * ```ts
 * import { Connections } from "./connections.ts";
 * declare const conn: Deno.Conn;
 * const connections = new Connections();
 * connections.track({ stream: conn, peer: "127.0.0.1:50000" }, async () => {});
 * connections.closeAll();
 * await connections.settled();
 * ```
 */
export class Connections {
  /** Set when the listener closes: no connection is served from then on. */
  closing = false;
  /** Connections closed at once because the cap was reached. */
  refused = 0;
  /** Unauthenticated connections closed to free file descriptors. */
  shed = 0;
  /** Each open connection, and the promise that settles when it is done. */
  readonly #slots = new Map<Slot, Promise<void>>();
  // Insertion order is age: the oldest come first when shedding.
  readonly #unauthenticated = new Set<Slot>();

  /** Connections open now (handshaking, unauthenticated, authenticated or closing). */
  get size(): number {
    return this.#slots.size;
  }

  /** Of those, the ones not authenticated. */
  get unauthenticated(): number {
    return this.#unauthenticated.size;
  }

  /**
   * Whether a connection still counts as unauthenticated (false once
   * authenticated, shed or done).
   *
   * @param slot The connection.
   * @returns True if it counts against the cap.
   */
  isUnauthenticated(slot: Slot): boolean {
    return this.#unauthenticated.has(slot);
  }

  /**
   * Holds a new connection, unauthenticated, while `serve` runs on it.
   *
   * @param slot The connection.
   * @param serve Serves it; the connection is let go when this settles.
   */
  track(slot: Slot, serve: (slot: Slot) => Promise<void>): void {
    this.#unauthenticated.add(slot);
    this.#slots.set(
      slot,
      serve(slot).finally(() => {
        this.#unauthenticated.delete(slot);
        this.#slots.delete(slot);
      }),
    );
  }

  /**
   * Stops counting a connection against the cap (its peer is authenticated).
   *
   * @param slot The connection.
   */
  authenticated(slot: Slot): void {
    this.#unauthenticated.delete(slot);
  }

  /** Closes the oldest unauthenticated connections (an eighth, at least one) at once, to free descriptors. */
  shedOldest(): void {
    const count = Math.max(1, Math.ceil(this.#unauthenticated.size / 8));
    let n = 0;
    for (const slot of this.#unauthenticated) {
      if (n++ >= count) break;
      this.#unauthenticated.delete(slot);
      closeQuietly(slot.stream);
      this.shed++;
    }
  }

  /** Closes every connection: a channel with a close frame (within its grace), a handshaking one at once. */
  closeAll(): void {
    for (const slot of this.#slots.keys()) {
      if (slot.channel) slot.channel.close("server shutting down");
      else closeQuietly(slot.stream);
    }
  }

  /**
   * Waits until every connection held now is done.
   *
   * @returns When they all settled.
   */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#slots.values());
  }
}
