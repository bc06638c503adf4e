/**
 * When an owner service with nothing left to decide stops by itself. The
 * server says "done" when the federation ends; an owner killed and restarted
 * after that word was sent would otherwise wait for it forever.
 *
 * @module
 */

import type { Logger } from "../util/log.ts";

/** A timer that ends the service while no server is connected. */
export interface Linger {
  /** Starts the wait, if every round is decided and it is not running yet. */
  arm(): void;
  /** Stops the wait (a server came, or the service ends). */
  disarm(): void;
}

/** Options of {@linkcode createLinger}. */
export interface LingerOptions {
  /** The owner's progress: `round` is the last round decided. */
  readonly state: { readonly round: number };
  /** Rounds of the federation. */
  readonly rounds: number;
  /** How long to wait for a server. */
  readonly lingerMs: number;
  /** Progress lines. */
  readonly log: Logger;
  /** Ends the service. */
  readonly end: () => void;
}

/**
 * Creates the linger of an owner service: armed when no server is
 * connected, it ends the service after `lingerMs` once every round is
 * decided. A server that still needs the owner (to recover a model it did
 * not checkpoint) comes back within that time: it retries every 10 s at most.
 *
 * @param options The owner's state, the rounds, the wait, a logger and what ends the service.
 * @returns The linger, disarmed.
 *
 * @example Usage
 * ```ts
 * import { createLinger } from "./owner_linger.ts";
 * import { createLogger } from "../util/log.ts";
 * const linger = createLinger({ state: { round: 3 }, rounds: 3, lingerMs: 30_000,
 *   log: createLogger("owner"), end: () => {} });
 * linger.arm();
 * linger.disarm();
 * ```
 */
export function createLinger(options: LingerOptions): Linger {
  const { state, rounds, lingerMs, log, end } = options;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const seconds = lingerMs / 1000;
  return {
    arm() {
      if (state.round < rounds || timer !== undefined) return;
      log.info(
        `all ${rounds} rounds are decided; waiting ${seconds} s for a server to recover from ` +
          "this owner or to say done",
      );
      timer = setTimeout(() => {
        log.info(`no server came within ${seconds} s after the last round`);
        end();
      }, lingerMs);
    },
    disarm() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
