/**
 * Messages between {@linkcode createPool} and its workers. Keys and data
 * travel as fixed-width big-endian bytes (transferred, not copied).
 *
 * @module
 */

import type { KeyKind } from "./keys.ts";
import type { Randomness } from "./paillier.ts";

/** A request from the pool to a worker. */
export type WorkerRequest =
  | {
    readonly id: number;
    readonly type: "init";
    readonly n: Uint8Array;
    readonly hs: Uint8Array;
    readonly kind: KeyKind;
    readonly p?: Uint8Array;
    readonly q?: Uint8Array;
    /** The small primes of a subgroup key's secret key. */
    readonly p0?: Uint8Array;
    readonly q0?: Uint8Array;
    readonly randomness: Randomness;
  }
  | {
    readonly id: number;
    readonly type: "precompute";
    /** Most randomizers to add to the stock (0: only tell its size). */
    readonly make: number;
    /** Stop adding (after at least one) once this much time has passed. */
    readonly budgetMs: number;
  }
  | { readonly id: number; readonly type: "encrypt" | "decrypt"; readonly data: Uint8Array }
  | {
    readonly id: number;
    readonly type: "aggregate";
    /** `vectors` runs of equal length, one after the other. */
    readonly data: Uint8Array;
    readonly vectors: number;
  };

/** A worker's answer to the request with the same `id`. */
export type WorkerReply =
  | { readonly id: number; readonly type: "done" }
  | { readonly id: number; readonly type: "stock"; readonly size: number; readonly made: number }
  | { readonly id: number; readonly type: "data"; readonly data: Uint8Array }
  | { readonly id: number; readonly type: "error"; readonly message: string };
