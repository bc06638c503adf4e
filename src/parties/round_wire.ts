/**
 * The translation between the strategy's words and the protocol's messages,
 * at the party that owns the connection: the strategy never sees a frame,
 * and the wire never sees the strategy's types.
 *
 * @module
 */

import type {
  AnnounceMessage,
  DecryptMessage,
  FitMessage,
  ReportMessage,
  UpdateMessage,
} from "../net/mod.ts";
import type {
  Aggregate,
  Announcement,
  EvaluateResult,
  FitConfig,
  Update,
} from "../strategy/mod.ts";

/**
 * The fit message for a round's configuration.
 *
 * @param config The strategy's fit configuration.
 * @returns The message to send to each selected client.
 *
 * @example Usage
 * ```ts
 * import { fitMessage } from "./round_wire.ts";
 * declare const config: import("../strategy/mod.ts").FitConfig;
 * const message = fitMessage(config); // { type: "fit", ... }
 * ```
 */
export function fitMessage(config: FitConfig): FitMessage {
  return { type: "fit", round: config.round, baseRound: config.baseRound };
}

/**
 * The announce message for an announcement.
 *
 * @param announcement Who contributes to the round.
 * @returns The message to send to each member.
 *
 * @example Usage
 * ```ts
 * import { announceMessage } from "./round_wire.ts";
 * announceMessage({ round: 1, baseRound: 0, set: [{ id: "client-1", weight: 5 }] });
 * ```
 */
export function announceMessage(announcement: Announcement): AnnounceMessage {
  const { round, set } = announcement;
  return { type: "announce", round, set: set.map(({ id, weight }) => ({ id, weight })) };
}

/**
 * The strategy's view of a received update.
 *
 * @param message The update message.
 * @returns The update.
 *
 * @example Usage
 * ```ts
 * import { updateOf } from "./round_wire.ts";
 * declare const message: import("../net/mod.ts").UpdateMessage;
 * const update = updateOf(message);
 * ```
 */
export function updateOf(message: UpdateMessage): Update {
  const { round, base, count, weight, signature, payload } = message;
  return { round, base, count, weight, signature, payload };
}

/**
 * The strategy's view of a received report.
 *
 * @param message The report message.
 * @returns The evaluation result: accuracy and no MAE (NaN) of a classifier,
 *   MAE and no accuracy of a regression.
 *
 * @example Usage
 * ```ts
 * import { evaluateResultOf } from "./round_wire.ts";
 * evaluateResultOf({
 *   type: "report",
 *   round: 1,
 *   loss: 7.5,
 *   accuracy: 0,
 *   examples: 100,
 *   decryptSeconds: 0,
 *   epsilon: -1,
 *   mae: 2.1,
 * }).mae; // 2.1
 * ```
 */
export function evaluateResultOf(message: ReportMessage): EvaluateResult {
  const { loss, accuracy, examples, mae } = message;
  // A regression's report carries an MAE and no accuracy (the wire's 0 stands for none).
  return mae < 0 ? { loss, accuracy, examples, mae: NaN } : { loss, accuracy: NaN, examples, mae };
}

/**
 * The decrypt message that asks the owner to finish an aggregate.
 *
 * @param aggregate The round's aggregate.
 * @returns The message for the owner service.
 *
 * @example Usage
 * ```ts
 * import { decryptMessage } from "./round_wire.ts";
 * declare const aggregate: import("../strategy/mod.ts").Aggregate;
 * const message = decryptMessage(aggregate);
 * ```
 */
export function decryptMessage(aggregate: Aggregate): DecryptMessage {
  const { round, baseRound, set } = aggregate.announcement;
  return {
    type: "decrypt",
    round,
    baseRound,
    set: set.map(({ id, weight }) => ({ id, weight })),
    contributions: aggregate.contributions.map(({ id, signature }) => ({ id, signature })),
    count: aggregate.count,
    payload: aggregate.payload,
  };
}
