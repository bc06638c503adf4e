/**
 * The finisher of owner mode: the server's connection to the owner service,
 * re-established as needed. It sends each round's aggregate with the signed
 * contributions and returns the sealed, signed model the owner answers; the
 * server cannot read it.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { retry } from "../util/backoff.ts";
import type { Logger } from "../util/log.ts";
import { type Channel, connect } from "../net/mod.ts";
import type { Aggregate, FinishedModel, Finisher } from "../strategy/mod.ts";
import { trySend } from "./collect.ts";
import { decryptMessage } from "./round_wire.ts";

/** Where and how the server reaches the owner. */
export interface OwnerLinkOptions {
  /** The owner service's URL. */
  readonly url: string;
  /** The server's token towards the owner. */
  readonly token: string;
  /** The federation's public key fingerprint. */
  readonly fingerprint: string;
  /** Largest frame either way. */
  readonly maxFrameBytes: number;
  /** Rounds of the federation (told to the owner when done). */
  readonly rounds: number;
  /** CA certificates (PEM) for a `wss://` owner. */
  readonly caCerts?: readonly string[];
  /** Progress lines. */
  readonly log: Logger;
}

/** How long the owner may take for one decryption before the link is renewed. */
const DECRYPT_TIMEOUT_MS = 600_000;

/** How long a finished server tries to reach a restarted owner to say done. */
const DONE_DEADLINE_MS = 15_000;

/** Opens a connection to the owner and says hello as the server. */
async function hello(
  options: OwnerLinkOptions,
): Promise<{ ch: Channel; completedRounds: number }> {
  const ch = await connect(
    options.url,
    { peer: "owner", maxFrameBytes: options.maxFrameBytes, caCerts: options.caCerts },
    10_000,
  );
  ch.send({
    type: "hello",
    role: "server",
    id: "server",
    token: options.token,
    fingerprint: options.fingerprint,
    modelRound: 0,
  });
  const answer = await ch.receive(10_000);
  if (answer.type === "error") {
    ch.close();
    // A wrong token or key never heals; anything else (the owner still busy with a
    // connection of a server that died, say) may clear: retried with backoff.
    const code = answer.code === "auth" ? "auth" : "unavailable";
    throw new FlheError(code, `owner refused the server: ${answer.message}`);
  }
  if (answer.type !== "welcome") {
    ch.close();
    throw new FlheError("protocol", `owner answered hello with ${answer.type}`);
  }
  options.log.info(`connected to the owner service at ${options.url}`);
  return { ch, completedRounds: answer.completedRounds };
}

/** Sends one round's aggregate and waits for the owner's answer. */
async function ask(ch: Channel, aggregate: Aggregate, log: Logger): Promise<FinishedModel> {
  const { round } = aggregate.announcement;
  ch.send(decryptMessage(aggregate));
  for (;;) {
    const answer = await ch.receive(DECRYPT_TIMEOUT_MS);
    if (answer.type === "sealed" && answer.round === round) {
      return {
        kind: "sealed",
        payload: answer.payload,
        signature: answer.signature,
        decryptSeconds: answer.decryptSeconds,
      };
    }
    if (answer.type === "error") {
      throw new FlheError("protocol", `owner refused round ${round}: ${answer.message}`);
    }
    log.warn(`owner answered ${answer.type} for another round; waiting for round ${round}`);
  }
}

/**
 * Creates the owner-mode finisher.
 *
 * @param options The owner's address and the server's credentials.
 * @returns The finisher.
 *
 * @example Usage
 * ```ts
 * import { createOwnerFinisher } from "./owner_link.ts";
 * declare const options: import("./owner_link.ts").OwnerLinkOptions;
 * const finisher = createOwnerFinisher(options);
 * ```
 */
export function createOwnerFinisher(options: OwnerLinkOptions): Finisher {
  const { log } = options;
  let channel: Channel | undefined;
  /** Rounds the owner has decided, from its last welcome. */
  let ownerRounds = 0;

  const open = async (deadlineMs?: number): Promise<Channel> => {
    if (channel && !channel.isClosed) return channel;
    channel = await retry(async () => {
      const { ch, completedRounds } = await hello(options);
      ownerRounds = completedRounds;
      return ch;
    }, {
      initialDelayMs: 250,
      maxDelayMs: 10_000,
      deadlineMs,
      isFatal: (e) => e instanceof FlheError && e.code === "auth",
      onRetry: (e, n, delayMs) =>
        log.warn(
          `owner service at ${options.url} unreachable (${(e as Error).message}); retry ${n} in ${
            (delayMs / 1000).toFixed(1)
          } s`,
        ),
    });
    return channel;
  };
  return {
    async recover() {
      const ch = await open();
      if (ownerRounds === 0) return { decidedRounds: 0 };
      ch.send({ type: "recover" });
      const answer = await ch.receive(60_000);
      if (answer.type !== "sealed") return { decidedRounds: ownerRounds };
      return {
        decidedRounds: ownerRounds,
        model: {
          round: answer.round,
          kind: "sealed",
          payload: answer.payload,
          signature: answer.signature,
          decryptSeconds: 0,
        },
      };
    },
    async finish(aggregate) {
      for (;;) {
        try {
          return await ask(await open(), aggregate, log);
        } catch (e) {
          if (!(e instanceof FlheError) || e.code !== "unavailable") throw e;
          channel?.close("no answer");
          // Asking again is safe: the owner answers a round it has already
          // sealed from its cache and never decrypts a round twice.
          log.warn(`lost the owner service (${e.message}); reconnecting`);
        }
      }
    },
    async close() {
      if (!channel) return;
      // An owner killed and restarted since the last answer waits for this word.
      const ch = await open(DONE_DEADLINE_MS).catch(() => undefined);
      if (!ch) {
        log.warn(
          "could not reach the owner service to say the federation is done; " +
            "once every round is decided it stops after its --linger",
        );
        return;
      }
      trySend(ch, { type: "done", rounds: options.rounds });
      await new Promise((r) => setTimeout(r, 100));
      ch.close("server done");
    },
  };
}
