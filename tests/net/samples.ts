/**
 * One valid message of every type, shared by the codec tests and the fuzzer.
 *
 * @module
 */

import type { Message } from "../../src/net/messages.ts";

const HEX = "ab".repeat(32);

/** A valid message of each type, in MESSAGE_TYPES order. */
export const SAMPLES: readonly Message[] = [
  { type: "error", code: "protocol", message: "something was wrong" },
  {
    type: "hello",
    role: "client",
    id: "client-1",
    token: HEX,
    fingerprint: "cd".repeat(32),
    modelRound: 0,
  },
  { type: "welcome", id: "client-12", completedRounds: 2, rounds: 5 },
  {
    type: "fit",
    round: 3,
    baseRound: 2,
  },
  {
    type: "update",
    round: 3,
    base: "0a".repeat(32),
    count: 2,
    weight: 600,
    encryptSeconds: 0.25,
    signature: "ef".repeat(64),
    payload: Uint8Array.from({ length: 64 }, (_, i) => i),
  },
  {
    type: "model",
    round: 3,
    baseRound: 2,
    kind: "updates",
    set: [{ id: "client-1", weight: 600 }, { id: "client-2", weight: 600 }],
    contributions: [
      { id: "client-1", signature: "02".repeat(64) },
      { id: "client-2", signature: "04".repeat(64) },
    ],
    totalWeight: 1200,
    contributors: 2,
    evaluate: true,
    signature: "",
    payload: Uint8Array.of(1, 2, 3),
  },
  {
    type: "report",
    round: 3,
    loss: 0.5,
    accuracy: 0.875,
    examples: 200,
    decryptSeconds: 0.125,
    epsilon: 1.5,
    mae: 2.25,
  },
  { type: "done", rounds: 3 },
  {
    type: "decrypt",
    round: 3,
    baseRound: 2,
    set: [{ id: "client-1", weight: 600 }, { id: "client-2", weight: 600 }],
    contributions: [
      { id: "client-1", signature: "02".repeat(64) },
      { id: "client-2", signature: "04".repeat(64) },
    ],
    count: 2,
    payload: new Uint8Array(32).fill(7),
  },
  {
    type: "sealed",
    round: 3,
    decryptSeconds: 0.5,
    signature: "05".repeat(64),
    payload: new Uint8Array(28).fill(9),
  },
  {
    type: "ready",
    round: 3,
    weight: 600,
    trainSeconds: 1.5,
    contributed: [{ id: "client-1", weight: 600 }, { id: "client-2", weight: 400 }],
  },
  {
    type: "announce",
    round: 3,
    set: [{ id: "client-1", weight: 600 }, { id: "client-12", weight: 400 }],
  },
  { type: "recover" },
  { type: "leave", reason: "privacy budget spent" },
];
