/**
 * Peer authentication, the same for the server (clients say hello) and the
 * owner service (the server says hello): the first message must be a hello
 * of the expected role within a deadline; tokens are checked against stored
 * SHA-256 hashes in constant time; a refusal is one error frame and a close.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import type { FlheErrorCode } from "../util/error.ts";
import { sha256Hex } from "../util/hex.ts";
import type { Logger } from "../util/log.ts";
import { type Channel, type HelloMessage, refuse } from "../net/mod.ts";

/**
 * How long a new connection has to say hello. The transport's own deadline
 * for authentication (`helloTimeoutMs`, 15 s) is longer: it is the backstop
 * for a connection no party step has authenticated.
 */
export const HELLO_TIMEOUT_MS = 10_000;

/**
 * Whether `token` hashes to `expectedSha256`, compared in constant time.
 *
 * @param token The presented token.
 * @param expectedSha256 The stored hash (64 hex digits).
 * @returns `true` if they match.
 *
 * @example Usage
 * ```ts
 * import { tokenMatches } from "./peer_auth.ts";
 * await tokenMatches("secret", "00".repeat(32)); // false
 * ```
 */
export async function tokenMatches(token: string, expectedSha256: string): Promise<boolean> {
  const actual = new TextEncoder().encode(await sha256Hex(new TextEncoder().encode(token)));
  const expected = new TextEncoder().encode(expectedSha256);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Waits for the hello of a new connection from a peer of `role`.
 *
 * @param channel The new connection.
 * @param role The role the peer must claim.
 * @param log Where refusals are logged.
 * @param timeoutMs Deadline for the hello.
 * @returns The hello, or `undefined` if the connection was refused or closed.
 *
 * @example Usage
 * ```ts
 * import { receiveHello } from "./peer_auth.ts";
 * declare const channel: import("../net/mod.ts").Channel;
 * declare const log: import("../util/log.ts").Logger;
 * const hello = await receiveHello(channel, "client", log);
 * ```
 */
export async function receiveHello(
  channel: Channel,
  role: HelloMessage["role"],
  log: Logger,
  timeoutMs = HELLO_TIMEOUT_MS,
): Promise<HelloMessage | undefined> {
  let hello;
  try {
    hello = await channel.receive(timeoutMs);
  } catch {
    channel.close("no hello");
    return undefined;
  }
  if (hello.type !== "hello" || hello.role !== role) {
    refusePeer(channel, log, "protocol", `expected a ${role} hello, got a ${hello.type} message`);
    return undefined;
  }
  return hello;
}

/**
 * Refuses a peer: one log line, one error frame, then the connection closes.
 *
 * @param channel The peer's connection.
 * @param log Where the line goes.
 * @param code The error code sent.
 * @param message What was wrong (sent to the peer: never secret-derived).
 *
 * @example Usage
 * ```ts
 * import { refusePeer } from "./peer_auth.ts";
 * declare const channel: import("../net/mod.ts").Channel;
 * declare const log: import("../util/log.ts").Logger;
 * refusePeer(channel, log, "auth", "wrong token");
 * ```
 */
export function refusePeer(
  channel: Channel,
  log: Logger,
  code: FlheErrorCode,
  message: string,
): void {
  log.warn(`refused ${channel.peer}: ${message}`);
  refuse(channel, code, message);
}
