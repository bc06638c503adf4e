/**
 * Waiting for one expected message from a peer while answering every other
 * message with an error frame that says what was expected.
 *
 * @module
 */

import type { Channel, Message } from "../net/mod.ts";

/**
 * Sends a message if the channel is still open.
 *
 * @param channel The peer.
 * @param message The message.
 * @returns Whether it was sent.
 *
 * @example Usage
 * ```ts
 * import { trySend } from "./collect.ts";
 * declare const channel: import("../net/mod.ts").Channel;
 * trySend(channel, { type: "done", rounds: 1 });
 * ```
 */
export function trySend(channel: Channel, message: Message): boolean {
  try {
    channel.send(message);
    return true;
  } catch {
    // Closed: whoever waits for an answer notices it missing.
    return false;
  }
}

/**
 * Receives until `pick` returns a value or time runs out; every message it
 * refuses gets an error frame naming why.
 *
 * @param channel The peer.
 * @param timeoutMs Deadline for the expected message.
 * @param pick Returns the value for an expected message, or a string saying why not.
 * @returns The picked value, or a one-line reason why none came.
 *
 * @example Usage
 * ```ts
 * import { collect } from "./collect.ts";
 * declare const channel: import("../net/mod.ts").Channel;
 * const report = await collect(channel, 60_000, (m) => m.type === "report" ? { value: m } : "not a report");
 * ```
 */
export async function collect<T>(
  channel: Channel,
  timeoutMs: number,
  pick: (m: Message) => { readonly value: T } | string,
): Promise<{ readonly value: T } | string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return `no answer within ${timeoutMs} ms`;
    let m: Message;
    try {
      m = await channel.receive(left);
    } catch (e) {
      return (e as Error).message;
    }
    if (m.type === "error") return `client reported: ${m.message}`;
    const picked = pick(m);
    if (typeof picked !== "string") return picked;
    trySend(channel, { type: "error", code: "protocol", message: picked });
  }
}
