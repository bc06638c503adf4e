/**
 * The send path's copies: from `channel.send(message)` to the bytes handed
 * to the socket, a message's payload is copied once (into the frame that is
 * written), whichever side masks. Counted by watching every typed-array copy
 * of at least the payload's size (`set`, `slice`) while a message is sent
 * over a real loopback TCP connection; the peer checks what arrived.
 */
import assert from "node:assert/strict";
import { createChannel, type Message } from "../../src/net/mod.ts";
import type { Channel } from "../../src/net/mod.ts";

const PAYLOAD_BYTES = 256 * 1024;

/** A connected pair of channels over loopback TCP (the WebSocket handshake is not needed here). */
async function channelPair(): Promise<{ server: Channel; client: Channel; close(): void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [accepted, dialed] = await Promise.all([
    listener.accept(),
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
  ]);
  listener.close();
  const options = {
    authenticated: true,
    maxUnauthenticatedMessageBytes: 65_536,
    maxFrameBytes: 4 * PAYLOAD_BYTES,
    pingIntervalMs: 0,
    livenessTimeoutMs: 0,
    closeGraceMs: 200,
  };
  const server = createChannel(accepted, { ...options, peer: "client", role: "server" });
  const client = createChannel(dialed, { ...options, peer: "server", role: "client" });
  return {
    server,
    client,
    close() {
      server.close();
      client.close();
    },
  };
}

/** Calls `fn` and counts the typed-array copies of `minBytes` or more that it makes. */
function countCopies(minBytes: number, fn: () => void): number {
  const proto = Uint8Array.prototype;
  const { set, slice } = proto;
  let copies = 0;
  proto.set = function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
    if (source.length >= minBytes) copies++;
    return set.call(this, source, offset);
  };
  proto.slice = function (this: Uint8Array, start?: number, end?: number) {
    const out = slice.call(this, start, end);
    if (out.length >= minBytes) copies++;
    return out;
  } as typeof slice;
  try {
    fn();
  } finally {
    proto.set = set;
    proto.slice = slice;
  }
  return copies;
}

function update(payload: Uint8Array): Message {
  return {
    type: "update",
    round: 1,
    base: "ab".repeat(32),
    count: payload.length / 4,
    weight: 5,
    encryptSeconds: 0,
    signature: "",
    payload,
  };
}

for (const side of ["server", "client"] as const) {
  Deno.test(`channel.send() copies a payload once on its way to the socket (${side} side)`, async () => {
    const pair = await channelPair();
    try {
      const [from, to] = side === "server"
        ? [pair.server, pair.client]
        : [pair.client, pair.server];
      const payload = Uint8Array.from({ length: PAYLOAD_BYTES }, (_, i) => (i * 7919) >>> 3);
      const copies = countCopies(PAYLOAD_BYTES, () => from.send(update(payload)));
      const got = await to.receive(10_000);
      assert.equal(got.type, "update");
      assert.deepEqual(got.type === "update" && got.payload, payload);
      assert.equal(copies, 1, `${copies} copies of the payload`);
    } finally {
      pair.close();
    }
  });
}
