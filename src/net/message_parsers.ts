/**
 * The parse rules of each message type: which header fields it has, their
 * patterns and ranges, and whether its frame may carry a payload. A field
 * that fails a rule throws, naming the message and field (see
 * {@linkcode decodeMessage}, which runs these on every received frame).
 *
 * Fields are read in the order they are listed here, so the first bad field
 * is the one reported.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import type { JsonFields } from "../util/fs.ts";
import type {
  AnnounceMessage,
  Contribution,
  DecryptMessage,
  DoneMessage,
  ErrorMessage,
  FitMessage,
  HelloMessage,
  LeaveMessage,
  Message,
  ModelMessage,
  ReadyMessage,
  RecoverMessage,
  ReportMessage,
  SealedMessage,
  SetMember,
  UpdateMessage,
  WelcomeMessage,
} from "./messages.ts";

const ID = /^(client-\d{1,5}|server)$/;
const CLIENT_ID = /^client-[1-9]\d{0,4}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const MAX_ROUND = 1_000_000;
/** An Ed25519 signature in hex, or empty where a message may go unsigned. */
const SIGNATURE = /^([0-9a-f]{128})?$/;
/** An Ed25519 signature in hex, where one is required. */
const REQUIRED_SIGNATURE = /^[0-9a-f]{128}$/;
/** Most members of an announced set. */
const MAX_SET = 10_000;
/** Largest client weight on the wire (the federation's caps are checked by the parties). */
const MAX_WEIGHT = 2 ** 24;
/** Most ciphertexts in an update or an aggregate. */
const MAX_COUNT = 10_000_000;

/** Parses the header of one message type; `payload` is already checked where there must be none. */
type Parser<T extends Message["type"]> = (
  f: JsonFields,
  payload: Uint8Array,
) => Extract<Message, { type: T }>;

/** The types whose frames carry a payload (ciphertexts or a model); the others must carry none. */
const WITH_PAYLOAD: ReadonlySet<Message["type"]> = new Set([
  "update",
  "model",
  "decrypt",
  "sealed",
]);

/**
 * Checks a decoded frame's header (and payload presence) against its type's
 * rules and builds the typed message.
 *
 * @param type The frame's message type.
 * @param f The frame's header fields.
 * @param payload The frame's payload.
 * @returns The typed message.
 * @throws {FlheError} `input` naming the message and the first bad field;
 *   `protocol` if a message that must have no payload has one.
 *
 * @example Usage
 * ```ts
 * import { JsonFields } from "../util/fs.ts";
 * import { parseHeader } from "./message_parsers.ts";
 * const f = new JsonFields("done message", { rounds: 2 });
 * parseHeader("done", f, new Uint8Array(0)); // { type: "done", rounds: 2 }
 * ```
 */
export function parseHeader(type: Message["type"], f: JsonFields, payload: Uint8Array): Message {
  if (!WITH_PAYLOAD.has(type) && payload.length !== 0) {
    throw new FlheError("protocol", `${type} message must have no payload`);
  }
  return PARSERS[type](f, payload);
}

const PARSERS: { readonly [T in Message["type"]]: Parser<T> } = {
  error: parseError,
  hello: parseHello,
  welcome: parseWelcome,
  fit: parseFit,
  recover: (): RecoverMessage => ({ type: "recover" }),
  leave: (f): LeaveMessage => ({ type: "leave", reason: f.string("reason").slice(0, 300) }),
  ready: parseReady,
  announce: parseAnnounce,
  update: parseUpdate,
  model: parseModel,
  report: parseReport,
  done: (f): DoneMessage => ({ type: "done", rounds: f.number("rounds", 0, MAX_ROUND) }),
  decrypt: parseDecrypt,
  sealed: parseSealed,
};

function parseError(f: JsonFields): ErrorMessage {
  return {
    type: "error",
    code: f.string("code", /^[a-z-]{1,32}$/),
    // An error's text goes into log lines: keep a long one short.
    message: f.string("message").slice(0, 1000),
  };
}

function parseHello(f: JsonFields): HelloMessage {
  return {
    type: "hello",
    role: f.oneOf("role", ["client", "server"]),
    id: f.string("id", ID),
    token: f.string("token", HEX64),
    fingerprint: f.string("fingerprint", HEX64),
    modelRound: f.number("modelRound", 0, MAX_ROUND),
  };
}

function parseWelcome(f: JsonFields): WelcomeMessage {
  return {
    type: "welcome",
    id: f.string("id", ID),
    completedRounds: f.number("completedRounds", 0, MAX_ROUND),
    rounds: f.number("rounds", 1, MAX_ROUND),
  };
}

function parseFit(f: JsonFields): FitMessage {
  return {
    type: "fit",
    round: f.number("round", 1, MAX_ROUND),
    baseRound: f.number("baseRound", 0, MAX_ROUND),
  };
}

function parseReady(f: JsonFields): ReadyMessage {
  return {
    type: "ready",
    round: f.number("round", 1, MAX_ROUND),
    weight: f.number("weight", 1, MAX_WEIGHT),
    trainSeconds: f.number("trainSeconds", 0, 1e7, false),
    contributed: setMembers(f, "contributed"),
  };
}

function parseAnnounce(f: JsonFields): AnnounceMessage {
  return {
    type: "announce",
    round: f.number("round", 1, MAX_ROUND),
    set: setMembers(f),
  };
}

function parseUpdate(f: JsonFields, payload: Uint8Array): UpdateMessage {
  return {
    type: "update",
    round: f.number("round", 1, MAX_ROUND),
    base: f.string("base", HEX64),
    count: f.number("count", 1, MAX_COUNT),
    weight: f.number("weight", 1, MAX_WEIGHT),
    encryptSeconds: f.number("encryptSeconds", 0, 1e7, false),
    signature: f.string("signature", SIGNATURE),
    payload,
  };
}

function parseModel(f: JsonFields, payload: Uint8Array): ModelMessage {
  return {
    type: "model",
    round: f.number("round", 1, MAX_ROUND),
    baseRound: f.number("baseRound", 0, MAX_ROUND),
    kind: f.oneOf("kind", ["sealed", "updates", "plain"]),
    set: setMembers(f),
    contributions: contributions(f),
    totalWeight: f.number("totalWeight", 1, MAX_WEIGHT),
    contributors: f.number("contributors", 0, MAX_SET),
    evaluate: f.boolean("evaluate"),
    signature: f.string("signature", SIGNATURE),
    payload,
  };
}

function parseReport(f: JsonFields): ReportMessage {
  return {
    type: "report",
    round: f.number("round", 1, MAX_ROUND),
    loss: f.number("loss", 0, 1e9, false),
    accuracy: f.number("accuracy", 0, 1, false),
    examples: f.number("examples", 0, 1e9),
    decryptSeconds: f.number("decryptSeconds", 0, 1e7, false),
    epsilon: f.number("epsilon", -1, 1e6, false),
    mae: notApplicableOr(f, "mae", 1e9),
  };
}

/** A metric that is -1 where it does not apply (a classifier's MAE), else in [0, max]. */
function notApplicableOr(f: JsonFields, field: string, max: number): number {
  const v = f.number(field, -1, max, false);
  // Between -1 and 0 is neither: the range check names the field and the value.
  return v === -1 ? v : f.number(field, 0, max, false);
}

function parseDecrypt(f: JsonFields, payload: Uint8Array): DecryptMessage {
  return {
    type: "decrypt",
    round: f.number("round", 1, MAX_ROUND),
    baseRound: f.number("baseRound", 0, MAX_ROUND),
    set: setMembers(f),
    contributions: contributions(f),
    count: f.number("count", 1, MAX_COUNT),
    payload,
  };
}

function parseSealed(f: JsonFields, payload: Uint8Array): SealedMessage {
  return {
    type: "sealed",
    round: f.number("round", 1, MAX_ROUND),
    decryptSeconds: f.number("decryptSeconds", 0, 1e7, false),
    signature: f.string("signature", REQUIRED_SIGNATURE),
    payload,
  };
}

/** A set field (`set` of an announcement, a model or a decrypt request; `contributed` of ready). */
function setMembers(f: JsonFields, field = "set"): SetMember[] {
  return f.objectList(field, MAX_SET).map((m) => ({
    id: m.string("id", CLIENT_ID),
    weight: m.number("weight", 1, MAX_WEIGHT),
  }));
}

/** The members' signatures of a decrypt request or a model of updates. */
function contributions(f: JsonFields): Contribution[] {
  return f.objectList("contributions", MAX_SET).map((c) => ({
    id: c.string("id", CLIENT_ID),
    signature: c.string("signature", REQUIRED_SIGNATURE),
  }));
}
