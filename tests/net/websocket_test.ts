/**
 * The WebSocket frame reader: limits on frame headers, fragmentation,
 * control frames, masking, and protocol violations, fed in chunks of every
 * size.
 */

import assert from "node:assert/strict";
import { encodeClosePayload, encodeWsFrame, OPCODE } from "../../src/net/frame_codec.ts";
import { MessageReader } from "../../src/net/frame_reader.ts";
import { acceptKey } from "../../src/net/handshake.ts";
import { frame, frameHeader } from "./raw_peer.ts";

type Event =
  | ["message", number[]]
  | ["text", number]
  | ["tooLarge", number, number, number | undefined, boolean]
  | ["ping", number[]]
  | ["pong"]
  | ["close", number, string]
  | ["fail", number, string];

function reader(
  limit: (type: number | undefined) => number,
  expectMasked = true,
): { reader: MessageReader; events: Event[] } {
  const events: Event[] = [];
  const r = new MessageReader({
    expectMasked,
    limit,
    events: {
      message: (b) => events.push(["message", [...b]]),
      text: (n) => events.push(["text", n]),
      tooLarge: (n, l, t, f) => events.push(["tooLarge", n, l, t, f]),
      ping: (p) => events.push(["ping", [...p]]),
      pong: () => events.push(["pong"]),
      close: (c, why) => events.push(["close", c, why]),
      fail: (c, why) => events.push(["fail", c, why]),
    },
  });
  return { reader: r, events };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Feeds `bytes` in chunks of `size`. */
function feed(r: MessageReader, bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) r.push(bytes.subarray(i, i + size));
}

Deno.test("websocket: the accept key of RFC 6455's example", async () => {
  assert.equal(await acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("websocket: masked messages of every length class decode, in chunks of any size", () => {
  for (const length of [0, 1, 125, 126, 65_535, 65_536, 200_000]) {
    const payload = Uint8Array.from({ length }, (_, i) => (i * 7) & 0xff);
    const wire = concat(
      encodeWsFrame(OPCODE.binary, payload, true),
      encodeWsFrame(OPCODE.ping, Uint8Array.of(9), true),
    );
    for (const size of [1, 3, 4_096, wire.length]) {
      if (length > 70_000 && size < 4_096) continue;
      const { reader: r, events } = reader(() => 1 << 20);
      feed(r, wire, size);
      assert.equal(events.length, 2, `length ${length}, chunks of ${size}`);
      assert.deepEqual(events[0], ["message", [...payload]]);
      assert.deepEqual(events[1], ["ping", [9]]);
    }
  }
});

Deno.test("websocket: fragments with control frames between them make one message", () => {
  const { reader: r, events } = reader(() => 1024);
  const wire = concat(
    encodeFragment(OPCODE.binary, [1, 4, 5], false),
    encodeWsFrame(OPCODE.ping, Uint8Array.of(1, 2), true),
    encodeFragment(OPCODE.continuation, [6], false),
    encodeFragment(OPCODE.continuation, [7, 8], true),
    encodeWsFrame(OPCODE.close, encodeClosePayload(1000, "bye"), true),
  );
  feed(r, wire, 2);
  assert.deepEqual(events, [
    ["ping", [1, 2]],
    ["message", [1, 4, 5, 6, 7, 8]],
    ["close", 1000, "bye"],
  ]);
});

Deno.test("websocket: a single frame over the limit is skipped unread and reading goes on", () => {
  const { reader: r, events } = reader(() => 100);
  r.push(frameHeader(OPCODE.binary, 60 * 1024 * 1024));
  assert.deepEqual(events, [["tooLarge", 60 * 1024 * 1024, 100, undefined, false]]);
  // Nothing of it is kept while it streams by.
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < 60; i++) {
    r.push(chunk);
    assert.equal(r.bufferedBytes, 0);
  }
  r.push(frame(OPCODE.binary, Uint8Array.of(1, 2, 3)));
  assert.deepEqual(events.at(-1), ["message", [1, 2, 3]]);
});

Deno.test("websocket: limits by message type apply once the type byte arrives", () => {
  // Type 4 may be 1,000 bytes, every other type 10.
  const { reader: r, events } = reader((type) =>
    type === undefined ? 1_000 : type === 4 ? 1_000 : 10
  );
  const update = new Uint8Array(500);
  update[0] = 1;
  update[1] = 4;
  const other = new Uint8Array(500);
  other[0] = 1;
  other[1] = 2;
  feed(
    r,
    concat(
      frame(OPCODE.binary, update),
      frame(OPCODE.binary, other),
      frame(OPCODE.binary, Uint8Array.of(1, 2, 3)),
    ),
    7,
  );
  assert.deepEqual(events[0]![0], "message");
  assert.deepEqual(events[1], ["tooLarge", 500, 10, 2, false]);
  assert.deepEqual(events[2], ["message", [1, 2, 3]]);
  assert.equal(events.length, 3);
});

Deno.test("websocket: a fragmented message over the limit stops the reader", () => {
  const { reader: r, events } = reader(() => 64);
  const piece = new Array(32).fill(1);
  r.push(encodeFragment(OPCODE.binary, piece, false));
  r.push(encodeFragment(OPCODE.continuation, piece, false));
  assert.equal(events.length, 0);
  r.push(encodeFragment(OPCODE.continuation, piece, false));
  assert.deepEqual(events, [["tooLarge", 96, 64, 1, true]]);
  assert.ok(r.failed);
  r.push(encodeFragment(OPCODE.continuation, piece, true));
  assert.equal(events.length, 1);
});

Deno.test("websocket: a fragmented message grows its buffer by doubling, not per frame", () => {
  const { reader: r, events } = reader(() => 1 << 22);
  const piece = new Array(1024).fill(3);
  let grows = 0;
  let last = 0;
  r.push(encodeFragment(OPCODE.binary, piece, false));
  for (let i = 0; i < 2_000; i++) {
    r.push(encodeFragment(OPCODE.continuation, piece, false));
    if (r.bufferedBytes !== last) {
      grows++;
      last = r.bufferedBytes;
    }
  }
  r.push(encodeFragment(OPCODE.continuation, piece, true));
  assert.ok(grows <= 8, `${grows} reallocations`);
  assert.equal((events[0] as ["message", number[]])[1].length, 2_002 * 1024);
});

Deno.test("websocket: text messages are counted, never kept", () => {
  const { reader: r, events } = reader(() => 1024);
  r.push(encodeWsFrame(OPCODE.text, new TextEncoder().encode("hello"), true));
  assert.deepEqual(events, [["text", 5]]);
});

Deno.test("websocket: protocol violations stop the reader with a close code", () => {
  const cases: [string, Uint8Array, boolean, RegExp][] = [
    [
      "unmasked from a client",
      encodeWsFrame(OPCODE.binary, Uint8Array.of(1), false),
      true,
      /must be masked/,
    ],
    [
      "masked from a server",
      encodeWsFrame(OPCODE.binary, Uint8Array.of(1), true),
      false,
      /must not be masked/,
    ],
    ["reserved bits", Uint8Array.of(0xc2, 0x80, 0, 0, 0, 0), true, /reserved bits/],
    ["unknown opcode", Uint8Array.of(0x83, 0x80, 0, 0, 0, 0), true, /unknown data opcode 3/],
    [
      "unknown control opcode",
      Uint8Array.of(0x8b, 0x80, 0, 0, 0, 0),
      true,
      /unknown control opcode 11/,
    ],
    ["fragmented ping", Uint8Array.of(0x09, 0x80, 0, 0, 0, 0), true, /control frames/],
    ["long ping", frameHeader(OPCODE.ping, 126), true, /control frames/],
    [
      "stray continuation",
      frame(OPCODE.continuation, Uint8Array.of(1)),
      true,
      /continuation frame outside/,
    ],
    [
      "interleaved messages",
      concat(encodeFragment(OPCODE.binary, [1], false), frame(OPCODE.binary, Uint8Array.of(2))),
      true,
      /new message started/,
    ],
    [
      "length beyond 2^53",
      Uint8Array.of(0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0),
      true,
      /beyond 2\^53/,
    ],
  ];
  for (const [name, bytes, masked, pattern] of cases) {
    const { reader: r, events } = reader(() => 1024, masked);
    r.push(bytes);
    assert.equal(events.length, 1, name);
    const [kind, code, why] = events[0] as ["fail", number, string];
    assert.equal(kind, "fail", name);
    assert.ok(code === 1002 || code === 1009, name);
    assert.match(why, pattern, name);
    assert.ok(r.failed, name);
  }
});

function encodeFragment(opcode: number, payload: number[], fin: boolean): Uint8Array {
  return frame(opcode, Uint8Array.from(payload), fin);
}
