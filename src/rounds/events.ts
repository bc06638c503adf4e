/**
 * What a running server tells an observer (e.g. a dashboard): who is
 * connected and what each selected client is doing, the phase of the
 * current round, and every closed round. Never a ciphertext, token or key.
 *
 * @module
 */

import type { RoundRecord } from "./record.ts";

/** What a client is doing, as far as the server can tell. */
export type ClientActivity =
  | "connected"
  | "training"
  | "ready"
  | "uploading"
  | "uploaded"
  | "evaluating"
  | "waiting"
  | "failed"
  | "disconnected"
  | "left";

/** A phase of a round on the server. */
export type RoundPhase =
  | "waiting"
  | "training"
  | "uploading"
  | "aggregating"
  | "decrypting"
  | "evaluating";

/** One thing that happened on the server. */
export type ServerEvent =
  | { readonly type: "client"; readonly id: string; readonly activity: ClientActivity }
  | { readonly type: "phase"; readonly round: number; readonly phase: RoundPhase }
  | { readonly type: "round"; readonly record: RoundRecord };

/** Receives the server's events; must not throw or block. */
export type ServerObserver = (event: ServerEvent) => void;

/** An observer that ignores everything. */
export const IGNORE_EVENTS: ServerObserver = (): void => {};
