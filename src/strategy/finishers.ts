/**
 * Finishers that need no other party: in shared-key mode the clients
 * multiply and decrypt the members' updates themselves; plaintext FedAvg
 * sends the sum as is.
 * (Owner mode's finisher asks the owner service; it lives with the server.)
 *
 * @module
 */

import type { Finisher } from "./strategy.ts";

/**
 * The finisher of shared-key mode: clients receive every member's signed
 * ciphertexts and multiply them themselves.
 *
 * @returns The finisher.
 *
 * @example Usage
 * ```ts
 * import { createSharedKeyFinisher } from "./finishers.ts";
 * const finisher = createSharedKeyFinisher();
 * ```
 */
export function createSharedKeyFinisher(): Finisher {
  return {
    finish: (aggregate) =>
      Promise.resolve({
        kind: "updates",
        payload: aggregate.payload,
        signature: "",
        decryptSeconds: 0,
      }),
    close: () => Promise.resolve(),
  };
}

/**
 * The finisher of plaintext FedAvg (comparison runs): clients receive the sum.
 *
 * @returns The finisher.
 *
 * @example Usage
 * ```ts
 * import { createPlainFinisher } from "./finishers.ts";
 * const finisher = createPlainFinisher();
 * ```
 */
export function createPlainFinisher(): Finisher {
  return {
    finish: (aggregate) =>
      Promise.resolve({
        kind: "plain",
        payload: aggregate.payload,
        signature: "",
        decryptSeconds: 0,
      }),
    close: () => Promise.resolve(),
  };
}
