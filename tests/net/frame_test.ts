import assert from "node:assert/strict";
import { FlheError } from "../../src/util/error.ts";
import {
  decodeFrame,
  encodeFrame,
  MAX_HEADER_BYTES,
  MESSAGE_TYPES,
  PROTOCOL_VERSION,
} from "../../src/net/frame.ts";

const LIMIT = 1 << 20;

/** Asserts that `fn` throws a `protocol` FlheError whose message matches `pattern`. */
function assertProtocol(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FlheError, `not an FlheError: ${e}`);
    assert.equal(e.code, "protocol");
    assert.match(e.message, pattern);
    return true;
  });
}

/** A frame with a hand-made header (bytes) and payload. */
function rawFrame(type: number, header: Uint8Array, payload = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(6 + header.length + payload.length);
  out[0] = PROTOCOL_VERSION;
  out[1] = type;
  new DataView(out.buffer).setUint32(2, header.length);
  out.set(header, 6);
  out.set(payload, 6 + header.length);
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("encodeFrame() lays out version, type, header length, header and payload", () => {
  const bytes = encodeFrame("update", { round: 1 }, Uint8Array.of(9, 8, 7));
  const header = text(JSON.stringify({ round: 1 }));
  assert.equal(bytes[0], PROTOCOL_VERSION);
  assert.equal(bytes[1], MESSAGE_TYPES.indexOf("update"));
  assert.equal(new DataView(bytes.buffer).getUint32(2), header.length);
  assert.deepEqual(bytes.subarray(6, 6 + header.length), header);
  assert.deepEqual([...bytes.subarray(6 + header.length)], [9, 8, 7]);
});

Deno.test("decodeFrame() round-trips every message type", () => {
  for (const type of MESSAGE_TYPES) {
    const frame = decodeFrame(encodeFrame(type, { a: 1, b: "x" }, Uint8Array.of(1, 2)), LIMIT);
    assert.equal(frame.type, type);
    assert.deepEqual(frame.header, { a: 1, b: "x" });
    assert.deepEqual([...frame.payload], [1, 2]);
  }
});

Deno.test("decodeFrame() reads a frame that is a view into a larger buffer", () => {
  const frame = encodeFrame("done", { rounds: 3 });
  const big = new Uint8Array(frame.length + 20);
  big.set(frame, 10);
  const raw = decodeFrame(big.subarray(10, 10 + frame.length), LIMIT);
  assert.deepEqual(raw.header, { rounds: 3 });
  assert.equal(raw.payload.length, 0);
});

Deno.test("decodeFrame() rejects a truncated frame", () => {
  for (let n = 0; n < 6; n++) {
    assertProtocol(
      () => decodeFrame(new Uint8Array(n), LIMIT),
      new RegExp(`${n} bytes is truncated`),
    );
  }
});

Deno.test("decodeFrame() rejects a header length past the end of the frame", () => {
  const frame = encodeFrame("done", { rounds: 3 });
  assertProtocol(() => decodeFrame(frame.subarray(0, frame.length - 1), LIMIT), /past the end/);
  const lying = frame.slice();
  new DataView(lying.buffer).setUint32(2, 0xffff_ffff);
  assertProtocol(() => decodeFrame(lying, LIMIT), /done frame: header length 4294967295 exceeds/);
  new DataView(lying.buffer).setUint32(2, 1000);
  assertProtocol(() => decodeFrame(lying, LIMIT), /header length 1000 is past the end/);
});

Deno.test("decodeFrame() rejects a header longer than MAX_HEADER_BYTES", () => {
  const header = text(JSON.stringify({ s: "x".repeat(MAX_HEADER_BYTES) }));
  assertProtocol(
    () => decodeFrame(rawFrame(7, header), 4 * MAX_HEADER_BYTES),
    new RegExp(`header length ${header.length} exceeds ${MAX_HEADER_BYTES}`),
  );
});

Deno.test("decodeFrame() rejects an oversized frame", () => {
  const frame = encodeFrame("update", { round: 1 }, new Uint8Array(1000));
  assertProtocol(
    () => decodeFrame(frame, frame.length - 1),
    new RegExp(`frame of ${frame.length} bytes exceeds the limit of ${frame.length - 1}`),
  );
  assert.equal(decodeFrame(frame, frame.length).type, "update");
});

Deno.test("decodeFrame() rejects an unknown protocol version", () => {
  for (const version of [0, 1, 2, 255]) {
    const frame = encodeFrame("done", { rounds: 1 });
    frame[0] = version;
    assertProtocol(
      () => decodeFrame(frame, LIMIT),
      new RegExp(`unsupported protocol version ${version}`),
    );
  }
});

Deno.test("decodeFrame() rejects an unknown type byte", () => {
  for (const type of [MESSAGE_TYPES.length, 100, 255]) {
    assertProtocol(
      () => decodeFrame(rawFrame(type, text("{}")), LIMIT),
      new RegExp(`unknown message type ${type}`),
    );
  }
});

Deno.test("decodeFrame() rejects a header that is not JSON", () => {
  for (const header of ["", "{", "{'a':1}", "nul", "{} x"]) {
    assertProtocol(
      () => decodeFrame(rawFrame(7, text(header)), LIMIT),
      /done frame: header is not valid UTF-8 JSON/,
    );
  }
});

Deno.test("decodeFrame() rejects a header that is not UTF-8", () => {
  for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
    const header = Uint8Array.of(...text('{"a":"'), ...bad, ...text('"}'));
    assertProtocol(() => decodeFrame(rawFrame(7, header), LIMIT), /not valid UTF-8 JSON/);
  }
});

Deno.test("decodeFrame() rejects a header that is not a JSON object", () => {
  for (const header of ["[]", "[1,2]", "null", "1", '"x"', "true"]) {
    assertProtocol(
      () => decodeFrame(rawFrame(1, text(header)), LIMIT),
      /hello frame: header is not a JSON object/,
    );
  }
});

Deno.test("encodeFrame() refuses a header longer than MAX_HEADER_BYTES", () => {
  assertProtocol(
    () => encodeFrame("error", { message: "x".repeat(MAX_HEADER_BYTES) }),
    /error header of \d+ bytes exceeds 65536/,
  );
});
