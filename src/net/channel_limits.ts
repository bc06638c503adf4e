/**
 * Which message size limit a channel applies to its peer, and when it
 * changes: a small one until the party authenticates the peer (a stranger
 * may send only a hello), then the party's limits, by message type if it
 * gives them. The frame reader asks for each frame, so a change applies
 * from the next frame on.
 *
 * @module
 */

import { MESSAGE_TYPES, type MessageType } from "./frame.ts";

/** Message size limits after authentication. */
export interface MessageLimits {
  /** Largest message of a type not listed in `byType`, in bytes. */
  readonly maxMessageBytes: number;
  /** Largest message per type, in bytes, e.g. `{ update: 1_300_000 }`. */
  readonly byType?: Readonly<Partial<Record<MessageType, number>>>;
}

/** Options of {@linkcode PeerLimits}. */
export interface PeerLimitsOptions {
  /** Whether the peer is trusted from the start (a server we connected to). */
  readonly authenticated: boolean;
  /** Largest message accepted once authenticated, until other limits are given. */
  readonly maxFrameBytes: number;
  /** Largest message before authentication. */
  readonly maxUnauthenticatedMessageBytes: number;
  /** Called once when the peer becomes authenticated. */
  readonly onAuthenticate?: () => void;
}

/**
 * The limits of one peer, before and after authentication.
 *
 * @example Usage
 * ```ts
 * import { PeerLimits } from "./channel_limits.ts";
 * const limits = new PeerLimits({
 *   authenticated: false,
 *   maxFrameBytes: 1 << 20,
 *   maxUnauthenticatedMessageBytes: 65_536,
 * });
 * limits.limitFor(undefined); // 65536
 * limits.authenticate({ maxMessageBytes: 1 << 20, byType: { update: 1 << 24 } });
 * limits.limitFor(4); // 16777216 (type 4 is `update`)
 * ```
 */
export class PeerLimits {
  readonly #options: PeerLimitsOptions;
  #authenticated: boolean;
  #limits: MessageLimits;
  #largest: number;

  /**
   * Starts with the options' limits.
   *
   * @param options Whether the peer starts authenticated, and the limits before and after.
   */
  constructor(options: PeerLimitsOptions) {
    this.#options = options;
    this.#authenticated = options.authenticated;
    this.#limits = { maxMessageBytes: options.maxFrameBytes };
    this.#largest = options.maxFrameBytes;
  }

  /** Whether the peer is authenticated. */
  get isAuthenticated(): boolean {
    return this.#authenticated;
  }

  /** The largest message of any type allowed after authentication, in bytes. */
  get largest(): number {
    return this.#largest;
  }

  /**
   * The largest message accepted now.
   *
   * @param type The message's type byte, or `undefined` while not yet
   *   received (then the largest limit of any type applies).
   * @returns The limit, in bytes.
   */
  limitFor(type: number | undefined): number {
    if (!this.#authenticated) return this.#options.maxUnauthenticatedMessageBytes;
    if (type === undefined) return this.#largest;
    const name = MESSAGE_TYPES[type];
    return (name && this.#limits.byType?.[name]) ?? this.#limits.maxMessageBytes;
  }

  /**
   * Marks the peer as authenticated, calling `onAuthenticate` the first
   * time, and sets new limits if given (also when called again).
   *
   * @param given Largest message from now on, one number for all types or per type.
   */
  authenticate(given?: number | MessageLimits): void {
    if (given !== undefined) {
      this.#limits = typeof given === "number" ? { maxMessageBytes: given } : given;
      this.#largest = Math.max(
        this.#limits.maxMessageBytes,
        ...Object.values(this.#limits.byType ?? {}),
      );
    }
    if (this.#authenticated) return;
    this.#authenticated = true;
    this.#options.onAuthenticate?.();
  }
}
