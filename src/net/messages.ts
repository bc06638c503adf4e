/**
 * The typed messages of the protocol and their checked parsing. Every field
 * that arrives from the network is checked here, once (by the rules in
 * message_parsers.ts); the parties work on the typed values.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { JsonFields } from "../util/fs.ts";
import { decodeFrame, encodeFrame, encodeFrameParts } from "./frame.ts";
import { parseHeader } from "./message_parsers.ts";

/** A party's error answer. */
export interface ErrorMessage {
  readonly type: "error";
  /** Machine-readable code (an `FlheErrorCode`). */
  readonly code: string;
  /** One line naming what was wrong. */
  readonly message: string;
}

/** First message of a connection: who is calling. */
export interface HelloMessage {
  readonly type: "hello";
  /** `client` (to the server) or `server` (to the owner). */
  readonly role: "client" | "server";
  /** The caller's id (`client-I` or `server`). */
  readonly id: string;
  /** The bearer token from the caller's bundle. */
  readonly token: string;
  /** The caller's public key fingerprint. */
  readonly fingerprint: string;
  /** The last round whose global model the caller holds (0: the initial one). */
  readonly modelRound: number;
}

/** The answer to an accepted hello. */
export interface WelcomeMessage {
  readonly type: "welcome";
  /** The id the caller is known by. */
  readonly id: string;
  /** Rounds completed so far. */
  readonly completedRounds: number;
  /** Rounds in all. */
  readonly rounds: number;
}

/**
 * The server asks a client to train for a round. Only which round and from
 * which model: how to train comes from the owner-signed federation settings
 * and the shuffle seed from the client's own randomness (protocol v3), so
 * the server cannot steer training.
 */
export interface FitMessage {
  readonly type: "fit";
  readonly round: number;
  /** The round of the global model to train from (0: the initial model). */
  readonly baseRound: number;
}

/** A member of an announced set and its weight. */
export interface SetMember {
  /** Client id. */
  readonly id: string;
  /** Its integer weight in the round's mean. */
  readonly weight: number;
}

/**
 * A client has trained and is ready to contribute to a round. Nothing about
 * its data travels here beyond its declared weight (no loss, no accuracy).
 */
export interface ReadyMessage {
  readonly type: "ready";
  readonly round: number;
  /** The weight the client will contribute with (its capped example count). */
  readonly weight: number;
  readonly trainSeconds: number;
  /**
   * The set this client already contributed to from the same base model
   * (empty if none): it will contribute from that model to this set only.
   */
  readonly contributed: readonly SetMember[];
}

/**
 * The server announces who contributes to a round. Clients mask their update
 * with respect to exactly this set and the model they trained from; a client
 * joins at most one set per base model.
 */
export interface AnnounceMessage {
  readonly type: "announce";
  readonly round: number;
  /** The contributors, sorted by id. */
  readonly set: readonly SetMember[];
}

/** A client's masked, encrypted and signed update. */
export interface UpdateMessage {
  readonly type: "update";
  readonly round: number;
  /** SHA-256 (hex) of the model the client trained from (which the server never sees). */
  readonly base: string;
  /** Number of ciphertexts in the payload. */
  readonly count: number;
  /** The client's integer weight, as announced. */
  readonly weight: number;
  readonly encryptSeconds: number;
  /** Ed25519 signature (hex) over the contribution (empty for plaintext FedAvg). */
  readonly signature: string;
  /** Fixed-width ciphertexts. */
  readonly payload: Uint8Array;
}

/** The new global model of a round, for clients. */
export interface ModelMessage {
  readonly type: "model";
  readonly round: number;
  /** The round of the model the updates apply to (updates only; 0 for sealed). */
  readonly baseRound: number;
  /**
   * `sealed`: the new model, AES-GCM under the group key (owner mode);
   * `updates`: every member's signed ciphertexts, one after the other in set
   * order, which each client checks and multiplies itself (shared-key mode);
   * `plain`: the weighted sum of updates as float32 (plaintext FedAvg, for comparison only).
   */
  readonly kind: "sealed" | "updates" | "plain";
  /** The members whose updates the payload holds (`updates` only; empty otherwise). */
  readonly set: readonly SetMember[];
  /** Their signatures, in set order (`updates` only; empty otherwise). */
  readonly contributions: readonly Contribution[];
  /** Sum of the weights of the contributors. */
  readonly totalWeight: number;
  /** Number of clients in the aggregate (0: not known, a recovered model). */
  readonly contributors: number;
  /** Whether the receiver should evaluate the model and report (false for catch-up). */
  readonly evaluate: boolean;
  /** The owner's Ed25519 signature (hex) over a sealed model; empty otherwise. */
  readonly signature: string;
  readonly payload: Uint8Array;
}

/** A client's evaluation of a round's global model. */
export interface ReportMessage {
  readonly type: "report";
  readonly round: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly examples: number;
  /** Seconds the client spent decrypting (shared-key mode) or unsealing. */
  readonly decryptSeconds: number;
  /** Epsilon this client has spent so far under DP-SGD (-1: it trains without DP). */
  readonly epsilon: number;
  /** Mean absolute error on the test examples (regression; -1: a classifier, which has none). */
  readonly mae: number;
}

/**
 * A client leaves the federation for good, instead of training (its privacy
 * budget is spent): the server stops counting on it.
 */
export interface LeaveMessage {
  readonly type: "leave";
  /** One line saying why. */
  readonly reason: string;
}

/** The federation is finished. */
export interface DoneMessage {
  readonly type: "done";
  readonly rounds: number;
}

/**
 * One member's signature over its contribution. The digest it signs is not
 * sent: the receiver hashes the member's ciphertexts itself.
 */
export interface Contribution {
  /** Client id. */
  readonly id: string;
  /** Its Ed25519 signature (hex). */
  readonly signature: string;
}

/**
 * The server asks the owner to decrypt a round: it sends every member's
 * ciphertexts, never a product, so that the owner multiplies exactly what
 * the members signed.
 */
export interface DecryptMessage {
  readonly type: "decrypt";
  readonly round: number;
  /** The round of the model the members trained from. */
  readonly baseRound: number;
  /** The announced set. */
  readonly set: readonly SetMember[];
  /** One signature per member of the set, in set order. */
  readonly contributions: readonly Contribution[];
  /** Ciphertexts per member. */
  readonly count: number;
  /** The members' ciphertexts, one update after the other, in set order. */
  readonly payload: Uint8Array;
}

/** The owner's answer: the round's global model sealed for the clients and signed. */
export interface SealedMessage {
  readonly type: "sealed";
  readonly round: number;
  readonly decryptSeconds: number;
  /** The owner's Ed25519 signature (hex) over the sealed model. */
  readonly signature: string;
  /** 12-byte IV followed by the AES-GCM ciphertext. */
  readonly payload: Uint8Array;
}

/**
 * A restarted server asks the owner for the last model it sealed (answered
 * with `sealed`, from the owner's cache: never a decryption).
 */
export interface RecoverMessage {
  readonly type: "recover";
}

/** Any message. */
export type Message =
  | ErrorMessage
  | HelloMessage
  | WelcomeMessage
  | FitMessage
  | UpdateMessage
  | ModelMessage
  | ReportMessage
  | DoneMessage
  | DecryptMessage
  | SealedMessage
  | ReadyMessage
  | AnnounceMessage
  | RecoverMessage
  | LeaveMessage;

/**
 * Decodes and checks a received frame into a typed message.
 *
 * @param bytes The received bytes.
 * @param maxBytes Largest frame accepted.
 * @returns The message.
 * @throws {FlheError} `protocol`, naming the message and field that was wrong.
 *
 * @example Usage
 * ```ts
 * import { decodeMessage, encodeMessage } from "./messages.ts";
 * decodeMessage(encodeMessage({ type: "done", rounds: 2 }), 1024); // { type: "done", rounds: 2 }
 * ```
 */
export function decodeMessage(bytes: Uint8Array, maxBytes: number): Message {
  const raw = decodeFrame(bytes, maxBytes);
  try {
    return parseHeader(raw.type, new JsonFields(`${raw.type} message`, raw.header), raw.payload);
  } catch (e) {
    if (e instanceof FlheError) {
      throw new FlheError("protocol", oneShortLine(e.message), { cause: e });
    }
    throw e;
  }
}

/** Longest error message {@linkcode decodeMessage} throws, in characters. */
const MAX_ERROR_CHARS = 300;

/**
 * Field errors quote the peer's value (`field "kind" is "..."`), which may be
 * 64 KB long or hold line breaks: the message goes into log lines and the
 * error frame (whose header is limited), so flatten it to one short line,
 * keeping its start (message and field) and its end (what was expected).
 */
function oneShortLine(text: string): string {
  // deno-lint-ignore no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ");
  if (flat.length <= MAX_ERROR_CHARS) return flat;
  return `${flat.slice(0, 200)} ... ${flat.slice(flat.length - (MAX_ERROR_CHARS - 205))}`;
}

/**
 * Encodes a message as a frame.
 *
 * @param message The message.
 * @returns The frame bytes.
 *
 * @example Usage
 * ```ts
 * import { encodeMessage } from "./messages.ts";
 * const bytes = encodeMessage({ type: "done", rounds: 2 });
 * ```
 */
export function encodeMessage(message: Message): Uint8Array {
  const { type, ...rest } = message;
  if ("payload" in rest) {
    const { payload, ...header } = rest;
    return encodeFrame(type, header, payload);
  }
  return encodeFrame(type, rest);
}

/**
 * Encodes a message as the parts of a frame (see {@linkcode encodeFrameParts}):
 * the payload is not copied, so the transport's frame is the only copy.
 *
 * @param message The message.
 * @returns The frame's parts, in order.
 *
 * @example Usage
 * ```ts
 * import { encodeMessageParts } from "./messages.ts";
 * const parts = encodeMessageParts({ type: "done", rounds: 2 });
 * ```
 */
export function encodeMessageParts(message: Message): Uint8Array[] {
  const { type, ...rest } = message;
  if ("payload" in rest) {
    const { payload, ...header } = rest;
    return encodeFrameParts(type, header, payload);
  }
  return encodeFrameParts(type, rest);
}
