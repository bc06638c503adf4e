/**
 * Fuzzes decodeMessage with random and mutated frames: every call must
 * return a Message or throw a one-line FlheError with code "protocol", fast
 * and in bounded memory. Set FLHE_FUZZ_SEED to replay a run, FLHE_FUZZ_ITERATIONS
 * to run longer.
 */
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.ts";
import { FlheError } from "../../src/util/error.ts";
import { encodeFrame, MAX_HEADER_BYTES, MESSAGE_TYPES } from "../../src/net/frame.ts";
import { decodeMessage, encodeMessage, type Message } from "../../src/net/messages.ts";
import { SAMPLES } from "./samples.ts";

const SEED = Number(Deno.env.get("FLHE_FUZZ_SEED") ?? Date.now() % 2 ** 31);
const ITERATIONS = Number(Deno.env.get("FLHE_FUZZ_ITERATIONS") ?? 120_000);
const MAX_FRAME = 1 << 20;
const encoder = new TextEncoder();

const VALID = SAMPLES.map((m) => encodeMessage(m));
const HEADERS = SAMPLES.map((m) => {
  const { type: _type, payload: _payload, ...header } = m as Message & { payload?: Uint8Array };
  return header as Record<string, unknown>;
});

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[rng.int(list.length)]!;
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const x = rng.u32();
    out[i] = x;
    out[i + 1] = x >>> 8;
    out[i + 2] = x >>> 16;
    out[i + 3] = x >>> 24;
  }
  return out;
}

const STRINGS = [
  "",
  "client-1",
  "server",
  "client-99999",
  "client-",
  "ab".repeat(32),
  "AB".repeat(32),
  "adam",
  "cosine",
  "aggregate",
  "sealed",
  "protocol",
  "\u0000",
  "\ud800",
  "line\nbreak",
  "__proto__",
  "constructor",
  "é€😀",
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  1e-9,
  1e-320,
  2 ** 24,
  2 ** 24 + 1,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  1e300,
  -1e300,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  1_000_000,
  1_000_001,
];

function longString(rng: Rng): string {
  const n = rng.int(4) === 0 ? rng.int(MAX_HEADER_BYTES) : rng.int(2000);
  const unit = pick(rng, ["x", "é", "😀", "\n", "\\", '"', "client-1,"]);
  return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
}

function nested(rng: Rng, depth: number): unknown {
  let v: unknown = pick(rng, [1, "x", null, true, {}, []]);
  for (let i = 0; i < depth; i++) v = rng.int(2) ? [v] : { a: v };
  return v;
}

/** Costly values (long strings, deep nesting), made once per run: building them is slower than decoding. */
function heavyValues(rng: Rng): unknown[] {
  return [
    ...Array.from({ length: 24 }, () => longString(rng)),
    ...Array.from({ length: 24 }, () => nested(rng, rng.int(5000))),
    Array.from({ length: 5000 }, () => "client-1"),
    Array.from({ length: 5000 }, (_, i) => i),
  ];
}

/** A random JSON value of any type, biased to the edge cases. */
function randomValue(rng: Rng, heavy: readonly unknown[], depth = 0): unknown {
  switch (rng.int(depth > 2 ? 7 : 10)) {
    case 0:
      return pick(rng, NUMBERS);
    case 1:
      return (rng.float() - 0.5) * 10 ** rng.int(40);
    case 2:
      return pick(rng, STRINGS);
    case 3:
      // Costly to encode and parse: rarely.
      return rng.int(8) === 0 ? pick(rng, heavy) : longString(rng).slice(0, 300);
    case 4:
      return rng.int(2) === 0;
    case 5:
      return null;
    case 6:
      return rng.int(1_000_001);
    case 7:
      return Array.from({ length: rng.int(5) }, () => randomValue(rng, heavy, depth + 1));
    case 8:
      return Object.fromEntries(
        Array.from({ length: rng.int(5) }, (_, i) => [`k${i}`, randomValue(rng, heavy, depth + 1)]),
      );
    default:
      return Array.from({ length: rng.int(3) }, () => pick(rng, STRINGS));
  }
}

/** A frame whose header is a sample's with some fields replaced or dropped. */
function mutatedHeader(rng: Rng, heavy: readonly unknown[]): Uint8Array {
  const i = rng.int(SAMPLES.length);
  const header: Record<string, unknown> = { ...HEADERS[i]! };
  const keys = Object.keys(header);
  const changes = 1 + rng.int(3);
  for (let c = 0; c < changes; c++) {
    const key = rng.int(8) === 0 || keys.length === 0
      ? pick(rng, ["extra", "type", "constructor"])
      : pick(rng, keys);
    if (rng.int(6) === 0) delete header[key];
    else header[key] = randomValue(rng, heavy);
  }
  const type = rng.int(10) === 0 ? pick(rng, MESSAGE_TYPES) : SAMPLES[i]!.type;
  const payload = rng.int(3) === 0 ? randomBytes(rng, rng.int(64)) : undefined;
  let text = JSON.stringify(header);
  // JSON.parse makes "__proto__" an own property; an object literal could not.
  if (rng.int(20) === 0) text = text.replace("{", '{"__proto__":{"round":1,"rounds":2},');
  if (encoder.encode(text).length > MAX_HEADER_BYTES) text = JSON.stringify({ big: 1 });
  const head = encoder.encode(text);
  const out = new Uint8Array(6 + head.length + (payload?.length ?? 0));
  out.set(encodeFrame(type, {}).subarray(0, 2));
  new DataView(out.buffer).setUint32(2, head.length);
  out.set(head, 6);
  if (payload) out.set(payload, 6 + head.length);
  return out;
}

/** A valid frame with bytes flipped, overwritten, inserted or deleted. */
function mutatedBytes(rng: Rng): Uint8Array {
  let bytes = pick(rng, VALID).slice();
  const edits = 1 + rng.int(4);
  for (let e = 0; e < edits; e++) {
    const at = bytes.length === 0 ? 0 : rng.int(bytes.length);
    switch (rng.int(7)) {
      case 0:
        if (bytes.length) bytes[at] = bytes[at]! ^ (1 << rng.int(8));
        break;
      case 1:
        if (bytes.length) bytes[at] = rng.int(256);
        break;
      case 2: {
        const ins = randomBytes(rng, 1 + rng.int(8));
        const next = new Uint8Array(bytes.length + ins.length);
        next.set(bytes.subarray(0, at));
        next.set(ins, at);
        next.set(bytes.subarray(at), at + ins.length);
        bytes = next;
        break;
      }
      case 3: {
        const n = 1 + rng.int(8);
        const end = Math.min(bytes.length, at + n);
        const next = new Uint8Array(bytes.length - (end - at));
        next.set(bytes.subarray(0, at));
        next.set(bytes.subarray(end), at);
        bytes = next;
        break;
      }
      case 4:
        bytes = bytes.slice(0, rng.int(bytes.length + 1));
        break;
      case 5:
        if (bytes.length >= 6) {
          const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          const old = view.getUint32(2);
          view.setUint32(
            2,
            pick(rng, [0, 1, old - 1, old + 1, bytes.length, 0xffff_ffff, MAX_HEADER_BYTES + 1]) >>>
              0,
          );
        }
        break;
      default:
        if (bytes.length >= 2) bytes[rng.int(2)] = rng.int(256);
    }
  }
  return bytes;
}

/** Random bytes, or random text, behind a plausible or random prefix. */
function randomFrame(rng: Rng): Uint8Array {
  const body = rng.int(2) ? randomBytes(rng, rng.int(300)) : encoder.encode(
    Array.from(
      { length: rng.int(50) },
      () => pick(rng, ["{", "}", "[", "]", ",", ":", '"a"', "1", "-", "e", "null", " ", "\\u"]),
    ).join(""),
  );
  if (rng.int(2)) return body;
  const out = new Uint8Array(6 + body.length);
  out[0] = rng.int(4) ? 1 : rng.int(256);
  out[1] = rng.int(4) ? rng.int(MESSAGE_TYPES.length) : rng.int(256);
  new DataView(out.buffer).setUint32(2, rng.int(3) ? body.length : rng.u32());
  out.set(body, 6);
  return out;
}

/** A frame bigger than the limit (one buffer, reused: only its first bytes change). */
function oversized(rng: Rng, big: Uint8Array): Uint8Array {
  big.set(pick(rng, VALID).subarray(0, 6));
  return big.subarray(0, MAX_FRAME + 1 + rng.int(1000));
}

Deno.test("decodeMessage() survives random and mutated frames: a Message or a protocol FlheError", () => {
  console.log(`fuzz seed ${SEED} (replay with FLHE_FUZZ_SEED=${SEED}), ${ITERATIONS} frames`);
  const rng = new Rng(SEED);
  const heavy = heavyValues(rng);
  const big = new Uint8Array(MAX_FRAME + 1000);
  const baseline = Deno.memoryUsage().heapUsed;
  let peak = 0;
  const outcomes = { accepted: 0, rejected: 0 };
  const started = performance.now();
  for (let i = 0; i < ITERATIONS; i++) {
    const kind = rng.int(100);
    const frame = kind < 35
      ? mutatedHeader(rng, heavy)
      : kind < 75
      ? mutatedBytes(rng)
      : kind < 99
      ? randomFrame(rng)
      : oversized(rng, big);
    let message: Message;
    try {
      message = decodeMessage(frame, MAX_FRAME);
    } catch (e) {
      const where = `seed ${SEED}, frame ${i}: ${e}`;
      assert.ok(e instanceof FlheError, `not an FlheError (${where})`);
      assert.equal(e.code, "protocol", where);
      assert.ok(!/[\r\n]/.test(e.message), `error message is not one line (${where})`);
      assert.ok(e.message.length <= 1000, `error message of ${e.message.length} chars (${where})`);
      outcomes.rejected++;
      continue;
    }
    assert.ok(MESSAGE_TYPES.includes(message.type), `seed ${SEED}, frame ${i}: ${message.type}`);
    outcomes.accepted++;
    if (i % 2000 === 0) peak = Math.max(peak, Deno.memoryUsage().heapUsed - baseline);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${outcomes.accepted} accepted, ${outcomes.rejected} rejected in ${seconds.toFixed(1)} s; ` +
      `heap growth peak ${(peak / 2 ** 20).toFixed(1)} MiB`,
  );
  assert.ok(outcomes.accepted > 100, "the fuzzer also reaches valid messages");
  assert.ok(peak < 128 * 2 ** 20, `heap grew by ${peak} bytes`);
  assert.ok(seconds < 20 || ITERATIONS > 120_000, `took ${seconds} s`);
});
