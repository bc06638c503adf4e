/**
 * The typed messages of the protocol and their checked parsing. Every field
 * that arrives from the network is checked here, once; the parties work on
 * the typed values.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { JsonFields } from "../util/fs.ts";
import { decodeFrame, encodeFrame } from "./frame.ts";

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

/** The server asks a client to train and send its update for a round. */
export interface FitMessage {
  readonly type: "fit";
  readonly round: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: "sgd" | "momentum" | "nesterov" | "adam";
  readonly learningRate: number;
  readonly momentum: number;
  readonly schedule: "constant" | "cosine";
  /** Seed of this round's local shuffles. */
  readonly seed: number;
}

/** A client's encrypted update. */
export interface UpdateMessage {
  readonly type: "update";
  readonly round: number;
  /** Number of ciphertexts in the payload. */
  readonly count: number;
  /** The client's integer weight (its number of training examples). */
  readonly weight: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly trainSeconds: number;
  readonly encryptSeconds: number;
  /** Fixed-width ciphertexts. */
  readonly payload: Uint8Array;
}

/** The new global model of a round, for clients. */
export interface ModelMessage {
  readonly type: "model";
  readonly round: number;
  /**
   * `sealed`: the new model, AES-GCM under the group key (owner mode);
   * `aggregate`: the summed ciphertexts (shared-key mode);
   * `plain`: the weighted sum of updates as float32 (plaintext FedAvg, for comparison only).
   */
  readonly kind: "sealed" | "aggregate" | "plain";
  /** Sum of the weights of the contributors. */
  readonly totalWeight: number;
  /** Number of clients in the aggregate. */
  readonly contributors: number;
  /** Whether the receiver should evaluate the model and report (false for catch-up). */
  readonly evaluate: boolean;
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
}

/** The federation is finished. */
export interface DoneMessage {
  readonly type: "done";
  readonly rounds: number;
}

/** The server asks the owner to decrypt a round's aggregate. */
export interface DecryptMessage {
  readonly type: "decrypt";
  readonly round: number;
  readonly totalWeight: number;
  /** Ids of the contributing clients. */
  readonly contributors: readonly string[];
  readonly count: number;
  readonly payload: Uint8Array;
}

/** The owner's answer: the round's global model sealed for the clients. */
export interface SealedMessage {
  readonly type: "sealed";
  readonly round: number;
  readonly decryptSeconds: number;
  /** 12-byte IV followed by the AES-GCM ciphertext. */
  readonly payload: Uint8Array;
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
  | SealedMessage;

const ID = /^(client-\d{1,5}|server)$/;
const HEX64 = /^[0-9a-f]{64}$/;
const MAX_ROUND = 1_000_000;

function noPayload(type: string, payload: Uint8Array): void {
  if (payload.length !== 0) throw new FlheError("protocol", `${type} message must have no payload`);
}

function parseHeader(type: Message["type"], f: JsonFields, payload: Uint8Array): Message {
  switch (type) {
    case "error":
      noPayload(type, payload);
      return {
        type,
        code: f.string("code", /^[a-z-]{1,32}$/),
        message: f.string("message").slice(0, 1000),
      };
    case "hello":
      noPayload(type, payload);
      return {
        type,
        role: f.oneOf("role", ["client", "server"]),
        id: f.string("id", ID),
        token: f.string("token", HEX64),
        fingerprint: f.string("fingerprint", HEX64),
        modelRound: f.number("modelRound", 0, MAX_ROUND),
      };
    case "welcome":
      noPayload(type, payload);
      return {
        type,
        id: f.string("id", ID),
        completedRounds: f.number("completedRounds", 0, MAX_ROUND),
        rounds: f.number("rounds", 1, MAX_ROUND),
      };
    case "fit":
      noPayload(type, payload);
      return {
        type,
        round: f.number("round", 1, MAX_ROUND),
        epochs: f.number("epochs", 1, 1000),
        batchSize: f.number("batchSize", 1, 65_536),
        optimizer: f.oneOf("optimizer", ["sgd", "momentum", "nesterov", "adam"]),
        learningRate: f.number("learningRate", 1e-9, 100, false),
        momentum: f.number("momentum", 0, 0.999999, false),
        schedule: f.oneOf("schedule", ["constant", "cosine"]),
        seed: f.number("seed", 0, 2 ** 32 - 1),
      };
    case "update":
      return {
        type,
        round: f.number("round", 1, MAX_ROUND),
        count: f.number("count", 1, 10_000_000),
        weight: f.number("weight", 1, 2 ** 24),
        trainLoss: f.number("trainLoss", 0, 1e9, false),
        trainAccuracy: f.number("trainAccuracy", 0, 1, false),
        trainSeconds: f.number("trainSeconds", 0, 1e7, false),
        encryptSeconds: f.number("encryptSeconds", 0, 1e7, false),
        payload,
      };
    case "model":
      return {
        type,
        round: f.number("round", 1, MAX_ROUND),
        kind: f.oneOf("kind", ["sealed", "aggregate", "plain"]),
        totalWeight: f.number("totalWeight", 1, 2 ** 24),
        contributors: f.number("contributors", 1, 100_000),
        evaluate: f.boolean("evaluate"),
        payload,
      };
    case "report":
      noPayload(type, payload);
      return {
        type,
        round: f.number("round", 1, MAX_ROUND),
        loss: f.number("loss", 0, 1e9, false),
        accuracy: f.number("accuracy", 0, 1, false),
        examples: f.number("examples", 0, 1e9),
        decryptSeconds: f.number("decryptSeconds", 0, 1e7, false),
      };
    case "done":
      noPayload(type, payload);
      return { type, rounds: f.number("rounds", 0, MAX_ROUND) };
    case "decrypt":
      return {
        type,
        round: f.number("round", 1, MAX_ROUND),
        totalWeight: f.number("totalWeight", 1, 2 ** 24),
        contributors: f.stringList("contributors", ID, 100_000),
        count: f.number("count", 1, 10_000_000),
        payload,
      };
    case "sealed":
      return {
        type,
        round: f.number("round", 1, MAX_ROUND),
        decryptSeconds: f.number("decryptSeconds", 0, 1e7, false),
        payload,
      };
  }
}

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
