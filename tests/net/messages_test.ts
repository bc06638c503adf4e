import assert from "node:assert/strict";
import { FlheError } from "../../src/util/error.ts";
import {
  encodeFrame,
  MESSAGE_TYPES,
  type MessageType,
  PROTOCOL_VERSION,
} from "../../src/net/frame.ts";
import { decodeMessage, encodeMessage, type Message } from "../../src/net/messages.ts";
import { SAMPLES } from "./samples.ts";

const LIMIT = 1 << 20;

function assertProtocol(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FlheError, `not an FlheError: ${e}`);
    assert.equal(e.code, "protocol");
    assert.match(e.message, pattern);
    return true;
  });
}

/** The header of a sample as a plain object, and its payload. */
function parts(
  m: Message,
): { type: MessageType; header: Record<string, unknown>; payload?: Uint8Array } {
  const { type, ...rest } = m as Message & { payload?: Uint8Array };
  const { payload, ...header } = rest as Record<string, unknown> & { payload?: Uint8Array };
  return { type, header, payload };
}

/** A sample's frame with `change` applied to its header. */
function withHeader(type: MessageType, change: (h: Record<string, unknown>) => void): Uint8Array {
  const { header, payload } = parts(SAMPLES.find((s) => s.type === type)!);
  const copy = structuredClone(header);
  change(copy);
  return encodeFrame(type, copy, payload);
}

Deno.test("the samples cover every message type", () => {
  assert.deepEqual(SAMPLES.map((m) => m.type), [...MESSAGE_TYPES]);
});

for (const sample of SAMPLES) {
  Deno.test(`decodeMessage() round-trips a ${sample.type} message`, () => {
    const decoded = decodeMessage(encodeMessage(sample), LIMIT);
    assert.deepEqual(decoded, sample);
  });
}

Deno.test("decodeMessage() round-trips the boundary values of the ranges", () => {
  const cases: Message[] = [
    { type: "done", rounds: 0 },
    { type: "done", rounds: 1_000_000 },
    { ...(SAMPLES[1] as Message & { type: "hello" }), role: "server", id: "server" },
    { ...(SAMPLES[3] as Message & { type: "fit" }), round: 1_000_000, baseRound: 0 },
    { ...(SAMPLES[4] as Message & { type: "update" }), weight: 2 ** 24, payload: new Uint8Array() },
    { ...(SAMPLES[4] as Message & { type: "update" }), base: "0123456789abcdef".repeat(4) },
    {
      ...(SAMPLES[5] as Message & { type: "model" }),
      kind: "sealed",
      baseRound: 0,
      set: [],
      contributions: [],
      evaluate: false,
      signature: "ab".repeat(64),
    },
    { ...(SAMPLES[5] as Message & { type: "model" }), kind: "plain", contributors: 0 },
    { ...(SAMPLES[8] as Message & { type: "decrypt" }), set: [], contributions: [] },
    { ...(SAMPLES[10] as Message & { type: "ready" }), contributed: [] },
    { ...(SAMPLES[11] as Message & { type: "announce" }), set: [] },
    { ...(SAMPLES[6] as Message & { type: "report" }), epsilon: -1 },
    { ...(SAMPLES[6] as Message & { type: "report" }), epsilon: 0 },
    { ...(SAMPLES[6] as Message & { type: "report" }), mae: -1 },
    { ...(SAMPLES[6] as Message & { type: "report" }), mae: 0 },
    { ...(SAMPLES[6] as Message & { type: "report" }), mae: 1e9 },
  ];
  for (const m of cases) assert.deepEqual(decodeMessage(encodeMessage(m), LIMIT), m);
});

Deno.test("decodeMessage() cuts an error message to 1000 characters", () => {
  const long = decodeMessage(
    encodeMessage({ type: "error", code: "protocol", message: "x".repeat(5000) }),
    LIMIT,
  );
  assert.equal(long.type === "error" && long.message.length, 1000);
});

Deno.test("decodeMessage() rejects a truncated frame", () => {
  assertProtocol(() => decodeMessage(new Uint8Array(5), LIMIT), /5 bytes is truncated/);
  const frame = encodeMessage(SAMPLES[1]!);
  assertProtocol(() => decodeMessage(frame.subarray(0, 20), LIMIT), /past the end/);
});

Deno.test("decodeMessage() rejects an oversized frame", () => {
  const frame = encodeMessage(SAMPLES[4]!);
  assertProtocol(() => decodeMessage(frame, 100), /exceeds the limit of 100/);
});

Deno.test("decodeMessage() rejects an unknown version or type byte", () => {
  const frame = encodeMessage(SAMPLES[7]!);
  frame[0] = 9;
  assertProtocol(() => decodeMessage(frame, LIMIT), /unsupported protocol version 9/);
  frame[0] = PROTOCOL_VERSION;
  frame[1] = MESSAGE_TYPES.length;
  assertProtocol(
    () => decodeMessage(frame, LIMIT),
    new RegExp(`unknown message type ${MESSAGE_TYPES.length}`),
  );
});

Deno.test("decodeMessage() rejects a header that is not a JSON object", () => {
  const frame = new Uint8Array([PROTOCOL_VERSION, 7, 0, 0, 0, 2, 0x5b, 0x5d]); // done, "[]"
  assertProtocol(() => decodeMessage(frame, LIMIT), /done frame: header is not a JSON object/);
});

Deno.test("decodeMessage() rejects a missing field, naming the message type and field", () => {
  for (const sample of SAMPLES) {
    for (const field of Object.keys(parts(sample).header)) {
      const frame = withHeader(sample.type, (h) => delete h[field]);
      assertProtocol(
        () => decodeMessage(frame, LIMIT),
        new RegExp(`^${sample.type} message: field "${field}" is missing`),
      );
    }
  }
});

Deno.test("decodeMessage() rejects a field of the wrong type, naming the message type and field", () => {
  for (const sample of SAMPLES) {
    for (const [field, value] of Object.entries(parts(sample).header)) {
      const wrong = typeof value === "string" || Array.isArray(value) ? 12 : "12";
      for (const bad of [wrong, null, { nested: 1 }]) {
        const frame = withHeader(sample.type, (h) => (h[field] = bad));
        assertProtocol(
          () => decodeMessage(frame, LIMIT),
          new RegExp(`^${sample.type} message: field "${field}" `),
        );
      }
    }
  }
});

Deno.test("decodeMessage() rejects a field out of range, naming the message type and field", () => {
  const cases: [MessageType, string, unknown, RegExp][] = [
    ["error", "code", "Not-A-Code", /does not match/],
    ["hello", "role", "owner", /is "owner", not one of client, server/],
    ["hello", "id", "client-x", /does not match/],
    ["hello", "id", "client-123456", /does not match/],
    ["hello", "token", "AB".repeat(32), /does not match/],
    ["hello", "fingerprint", "ab".repeat(31), /does not match/],
    ["hello", "modelRound", -1, /is -1, outside \[0, 1000000\]/],
    ["hello", "modelRound", 1.5, /is 1.5, not an integer/],
    ["welcome", "rounds", 0, /outside \[1, 1000000\]/],
    ["fit", "round", 0, /outside/],
    ["fit", "round", 1e300, /outside/],
    ["fit", "baseRound", -1, /outside/],
    ["fit", "baseRound", 1_000_001, /outside/],
    ["ready", "weight", 0, /outside/],
    ["ready", "trainSeconds", -1, /outside/],
    ["ready", "contributed", [{ id: "server", weight: 1 }], /field "contributed\[0\]\.id"/],
    ["ready", "contributed", [{ id: "client-1", weight: 0 }], /field "contributed\[0\]\.weight"/],
    ["ready", "contributed", { id: "client-1", weight: 1 }, /not a list/],
    ["announce", "set", [{ id: "client-01", weight: 1 }], /field "set\[0\]\.id"/],
    ["announce", "set", [{ id: "client-1", weight: 0 }], /field "set\[0\]\.weight"/],
    ["announce", "set", "client-1", /not a list/],
    ["update", "round", 1_000_001, /outside/],
    ["update", "count", 0, /outside/],
    ["update", "weight", 2 ** 24 + 1, /outside/],
    ["update", "weight", 0.5, /not an integer/],
    ["update", "base", "AB".repeat(32), /does not match/],
    ["update", "base", "ab".repeat(31), /does not match/],
    ["update", "signature", "ab".repeat(63), /does not match/],
    ["model", "kind", "cleartext", /not one of/],
    ["model", "kind", "aggregate", /not one of/],
    ["model", "baseRound", -1, /outside/],
    ["model", "set", [{ id: "client-1", weight: 2 ** 24 + 1 }], /field "set\[0\]\.weight"/],
    ["model", "contributions", [{ id: "client-1" }], /field "contributions\[0\]\.signature"/],
    ["model", "totalWeight", 0, /outside/],
    ["model", "signature", "AB".repeat(64), /does not match/],
    ["report", "accuracy", -0.1, /outside/],
    ["report", "examples", 2.5, /not an integer/],
    ["report", "mae", -2, /is -2, outside \[-1, 1000000000\]/],
    ["report", "mae", -0.5, /is -0.5, outside \[0, 1000000000\]/],
    ["report", "mae", 1e10, /outside/],
    ["done", "rounds", -1, /outside/],
    ["decrypt", "baseRound", -1, /outside/],
    ["decrypt", "count", 0, /outside/],
    ["decrypt", "set", [{ id: "owner", weight: 1 }], /field "set\[0\]\.id"/],
    ["decrypt", "contributions", [1], /field "contributions\[0\]"/],
    [
      "decrypt",
      "contributions",
      [{ id: "client-1", signature: "" }],
      /field "contributions\[0\]\.signature"/,
    ],
    ["sealed", "decryptSeconds", 1e8, /outside/],
    ["sealed", "signature", "", /does not match/],
  ];
  for (const [type, field, value, detail] of cases) {
    const frame = withHeader(type, (h) => (h[field] = value));
    assertProtocol(
      () => decodeMessage(frame, 4 * LIMIT),
      new RegExp(`^${type} message: field "${field}`),
    );
    assertProtocol(() => decodeMessage(frame, 4 * LIMIT), detail);
  }
});

Deno.test("decodeMessage() rejects a number that JSON cannot hold exactly", () => {
  // 1e400 parses as Infinity.
  const frame = encodeFrame("done", {});
  const text = new TextEncoder().encode('{"rounds":1e400}');
  const bytes = new Uint8Array(6 + text.length);
  bytes.set(frame.subarray(0, 2));
  new DataView(bytes.buffer).setUint32(2, text.length);
  bytes.set(text, 6);
  assertProtocol(
    () => decodeMessage(bytes, LIMIT),
    /done message: field "rounds" is missing or not a number/,
  );
});

Deno.test("decodeMessage() rejects a payload on a message that must have none", () => {
  for (const sample of SAMPLES) {
    const { type, header, payload } = parts(sample);
    if (payload !== undefined) continue;
    const frame = encodeFrame(type, header, Uint8Array.of(0));
    assertProtocol(
      () => decodeMessage(frame, LIMIT),
      new RegExp(`^${type} message must have no payload`),
    );
  }
});

Deno.test("decodeMessage() ignores unknown header fields", () => {
  const frame = withHeader("done", (h) => (h.extra = { deep: [1, 2, 3] }));
  assert.deepEqual(decodeMessage(frame, LIMIT), { type: "done", rounds: 3 });
});

Deno.test("decodeMessage() keeps no training settings a server puts in a fit", () => {
  // Protocol v3: how to train is the federation's, the shuffle seed the client's.
  const frame = withHeader("fit", (h) =>
    Object.assign(h, {
      epochs: 1000,
      batchSize: 1,
      optimizer: "sgd",
      learningRate: 100,
      momentum: 0.99,
      schedule: "constant",
      seed: 7,
    }));
  assert.deepEqual(decodeMessage(frame, LIMIT), { type: "fit", round: 3, baseRound: 2 });
});

Deno.test("decodeMessage() refuses v2 messages that lack the fields of v3", () => {
  const cases: [MessageType, (h: Record<string, unknown>) => void, RegExp][] = [
    ["update", (h) => {
      delete h.base;
      h.attempt = 1;
    }, /^update message: field "base" is missing/],
    ["ready", (h) => {
      delete h.contributed;
      Object.assign(h, { trainLoss: 0.25, trainAccuracy: 0.9 });
    }, /^ready message: field "contributed" is missing/],
    ["decrypt", (h) => {
      delete h.baseRound;
      h.attempt = 1;
    }, /^decrypt message: field "baseRound" is missing/],
    ["model", (h) => {
      delete h.set;
      delete h.contributions;
      h.kind = "sealed";
    }, /^model message: field "set" is missing/],
  ];
  for (const [type, change, pattern] of cases) {
    assertProtocol(() => decodeMessage(withHeader(type, change), LIMIT), pattern);
  }
});

Deno.test("decodeMessage() reports only protocol errors, never input errors", () => {
  const frame = withHeader("welcome", (h) => (h.id = 5));
  try {
    decodeMessage(frame, LIMIT);
    assert.fail("no error");
  } catch (e) {
    assert.ok(e instanceof FlheError);
    assert.equal(e.code, "protocol");
  }
});
