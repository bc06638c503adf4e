import assert from "node:assert/strict";
import { addMask, type MaskOptions, maskVector, pairSecrets, type SetMember } from "./deps.ts";
import {
  assertFlheError,
  chiSquare16,
  federation,
  fromValues,
  randomBelow,
  randomModulus,
  type TestFederation,
  values,
} from "./helpers.ts";

// Ids whose string order differs from their number order.
const IDS = ["client-10", "client-2", "client-33", "client-9", "client-100"];
const fed: TestFederation = await federation(IDS);
const CONTEXT = "f0".repeat(32);

function setOf(ids: readonly string[]): SetMember[] {
  return ids.map((id, i) => ({ id, weight: 100 + 7 * i }));
}

function optionsFor(
  id: string,
  set: readonly SetMember[],
  modulus: bigint,
  width: number,
  count: number,
): MaskOptions {
  const client = fed.clients.find((c) => c.keys.id === id)!;
  return {
    selfId: id,
    pairKeys: client.pairKeys,
    set,
    base: "cd".repeat(32),
    context: CONTEXT,
    count,
    modulus,
    width,
  };
}

async function masksOf(
  set: readonly SetMember[],
  modulus: bigint,
  width: number,
  count: number,
): Promise<bigint[][]> {
  return await Promise.all(
    set.map(async (m) =>
      values(await maskVector(optionsFor(m.id, set, modulus, width, count)), width)
    ),
  );
}

function sumMod(rows: readonly (readonly bigint[])[], modulus: bigint): bigint[] {
  return rows[0]!.map((_, i) => rows.reduce((s, r) => s + r[i]!, 0n) % modulus);
}

for (const bits of [512, 2048]) {
  for (const extra of [0, 3]) {
    const width = bits / 8 + extra;
    for (const size of [2, 3, 5]) {
      Deno.test(
        `maskVector() cancels over the announced set (${size} clients, ${bits}-bit modulus, width ${width})`,
        async () => {
          const modulus = randomModulus(bits);
          const set = setOf(IDS.slice(0, size));
          const masks = await masksOf(set, modulus, width, 37);
          for (const mask of masks) {
            assert.equal(mask.length, 37);
            for (const v of mask) assert.ok(v >= 0n && v < modulus);
          }
          assert.deepEqual(sumMod(masks, modulus), new Array(37).fill(0n));
        },
      );
    }
  }
}

Deno.test("maskVector() cancels for a small modulus whose width leaves spare bytes", async () => {
  const modulus = 1_000_003n;
  const set = setOf(IDS.slice(0, 3));
  const masks = await masksOf(set, modulus, 5, 200);
  assert.deepEqual(sumMod(masks, modulus), new Array(200).fill(0n));
});

Deno.test("maskVector() joins its chunks seamlessly: value i does not depend on count", async () => {
  const modulus = randomModulus(512);
  const set = setOf(IDS.slice(0, 2));
  const long = await maskVector(optionsFor(IDS[0]!, set, modulus, 64, 2100));
  const short = await maskVector(optionsFor(IDS[0]!, set, modulus, 64, 1030));
  assert.deepEqual(long.subarray(0, short.length), short);
  const masks = await masksOf(set, modulus, 64, 2100);
  assert.deepEqual(sumMod(masks, modulus), new Array(2100).fill(0n));
});

Deno.test("maskVector() ignores the order in which the set is announced", async () => {
  const modulus = randomModulus(512);
  const set = setOf(IDS.slice(0, 4));
  const a = await maskVector(optionsFor(IDS[1]!, set, modulus, 64, 10));
  const b = await maskVector(optionsFor(IDS[1]!, [...set].reverse(), modulus, 64, 10));
  assert.deepEqual(a, b);
});

for (const bits of [512, 2048]) {
  Deno.test(`addMask() of masked plaintexts sums to the plain sum (${bits}-bit modulus)`, async () => {
    const modulus = randomModulus(bits);
    const width = bits / 8 + 1;
    const count = 25;
    const set = setOf(IDS);
    const plains = set.map(() => Array.from({ length: count }, () => randomBelow(modulus)));
    const masked = await Promise.all(set.map(async (m, k) => {
      const mask = await maskVector(optionsFor(m.id, set, modulus, width, count));
      return values(addMask(fromValues(plains[k]!, width), mask, modulus, width), width);
    }));
    assert.deepEqual(sumMod(masked, modulus), sumMod(plains, modulus));
    // No single masked vector is its plaintext.
    for (let k = 0; k < set.length; k++) {
      for (let i = 0; i < count; i++) assert.notEqual(masked[k]![i], plains[k]![i]);
    }
  });
}

Deno.test("maskVector() of one client, or a partial sum, looks uniform", async () => {
  const modulus = randomModulus(512);
  const count = 1600;
  // A masked zero vector is the mask itself: it must be spread over [0, n).
  const pair = await masksOf(setOf(IDS.slice(0, 2)), modulus, 64, count);
  const five = await masksOf(setOf(IDS), modulus, 64, count);
  const cases: [string, bigint[]][] = [
    ["client of 2", pair[0]!],
    ["client of 5", five[2]!],
    ["3 of 5", sumMod(five.slice(0, 3), modulus)],
    ["4 of 5", sumMod(five.slice(1), modulus)],
  ];
  for (const [name, list] of cases) {
    assert.ok(list.every((v) => v !== 0n), `${name}: a value is zero`);
    const stat = chiSquare16(list, modulus);
    assert.ok(stat < 50, `${name}: chi-square ${stat.toFixed(1)} over 16 buckets`);
    // The top byte of the width-byte value takes many values, as it should.
    const tops = new Set(list.map((v) => Number(v >> 504n)));
    assert.ok(tops.size > 100, `${name}: only ${tops.size} distinct top bytes`);
  }
});

Deno.test("maskVector() gives unrelated masks for another base model, set or context", async () => {
  const modulus = randomModulus(512);
  const set = setOf(IDS.slice(0, 3));
  const base = optionsFor(IDS[0]!, set, modulus, 64, 64);
  const reference = values(await maskVector(base), 64);
  const variants: [string, MaskOptions][] = [
    ["base model", { ...base, base: "ce" + "cd".repeat(31) }],
    ["context", { ...base, context: "f1" + CONTEXT.slice(2) }],
    ["weight", { ...base, set: set.map((m, i) => i === 1 ? { ...m, weight: m.weight + 1 } : m) }],
    ["own weight", { ...base, set: set.map((m, i) => i === 0 ? { ...m, weight: 1 } : m) }],
    ["larger set", { ...base, set: setOf(IDS.slice(0, 4)) }],
    ["smaller set", { ...base, set: set.slice(0, 2) }],
  ];
  for (const [name, options] of variants) {
    const other = values(await maskVector(options), 64);
    for (let i = 0; i < reference.length; i++) {
      assert.notEqual(other[i], reference[i], `${name}: value ${i} repeats`);
    }
  }
});

Deno.test("maskVector() refuses a set it cannot mask for, naming the problem", async () => {
  const modulus = randomModulus(512);
  const set = setOf(IDS.slice(0, 3));
  const base = optionsFor(IDS[0]!, set, modulus, 64, 4);
  const cases: [MaskOptions, FlheCode, RegExp][] = [
    [{ ...base, set: set.slice(1) }, "protocol", /does not include client-10/],
    [{ ...base, set: set.slice(0, 1) }, "protocol", /1 member\(s\); masks need at least 2/],
    [{ ...base, set: [] }, "protocol", /0 member\(s\)/],
    [{ ...base, set: [...set, set[1]!] }, "protocol", /lists client-2 twice/],
    [
      { ...base, set: [...set, { id: "client-77", weight: 1 }] },
      "protocol",
      /member client-77 has no pair key/,
    ],
    [{ ...base, set: [...set, { id: "owner", weight: 1 }] }, "protocol", /id "owner"/],
    [
      { ...base, set: set.map((m) => ({ ...m, weight: 0 })) },
      "protocol",
      /weight of client-\d+ is 0/,
    ],
    [{ ...base, base: "CD".repeat(32) }, "protocol", /base is not 64 lower-case hex digits/],
    [{ ...base, base: "cd" }, "protocol", /base is not 64/],
    [{ ...base, context: "" }, "protocol", /context/],
    [{ ...base, width: 63 }, "range", /modulus of 512 bits does not fit in 63-byte values/],
    [{ ...base, count: -1 }, "usage", /count is -1/],
    [{ ...base, modulus: 1n }, "usage", /modulus must be a bigint >= 2/],
  ];
  for (const [options, code, pattern] of cases) {
    await assertFlheError(() => maskVector(options), code, pattern);
  }
});

type FlheCode = Parameters<typeof assertFlheError>[1];

Deno.test("pairSecrets() skips its own entry and refuses a bad directory", async () => {
  const own = fed.clients[0]!.keys;
  const keys = await pairSecrets(own, fed.directory);
  assert.deepEqual([...keys.keys()].sort(), IDS.slice(1).sort());
  for (const key of keys.values()) {
    assert.equal(key.algorithm.name, "HKDF");
    assert.equal(key.extractable, false);
  }
  const [self, peer] = [fed.directory[0]!, fed.directory[1]!];
  await assertFlheError(() => pairSecrets(own, [peer, peer]), "input", /client-2 is listed twice/);
  await assertFlheError(
    () => pairSecrets(own, [{ ...self, agreementKey: peer.agreementKey }]),
    "auth",
    /keys listed for client-10 are not this client's keys/,
  );
  await assertFlheError(
    () => pairSecrets(own, [{ ...peer, agreementKey: "00".repeat(32) }]),
    "input",
    /agreement key of client-2 is not a usable X25519 key/,
  );
  await assertFlheError(
    () => pairSecrets(own, [{ ...peer, agreementKey: "AB".repeat(32) }]),
    "input",
    /agreement key of client-2 is not 64 hex digits/,
  );
});

Deno.test("addMask() adds slot-wise mod n, with carries across bytes", () => {
  assert.deepEqual(
    addMask(new Uint8Array([0, 7]), new Uint8Array([0, 9]), 11n, 2),
    new Uint8Array([0, 5]),
  );
  // 0xfffe + 0xfffe = 0x1fffc overflows the width: mod 0xffff it is 0xfffd.
  assert.deepEqual(
    addMask(new Uint8Array([0xff, 0xfe]), new Uint8Array([0xff, 0xfe]), 0xffffn, 2),
    new Uint8Array([0xff, 0xfd]),
  );
  for (const width of [1, 2, 9, 33, 65]) {
    const modulus = randomModulus(8 * width - (width % 3));
    const a = Array.from({ length: 50 }, () => randomBelow(modulus));
    const b = Array.from({ length: 50 }, () => randomBelow(modulus));
    assert.deepEqual(
      values(addMask(fromValues(a, width), fromValues(b, width), modulus, width), width),
      a.map((x, i) => (x + b[i]!) % modulus),
    );
  }
});

Deno.test("addMask() refuses mismatched lengths and values not below the modulus", async () => {
  await assertFlheError(
    () => addMask(new Uint8Array(4), new Uint8Array(6), 11n, 2),
    "usage",
    /4 plaintext bytes and 6 mask bytes/,
  );
  await assertFlheError(
    () => addMask(new Uint8Array(5), new Uint8Array(5), 11n, 2),
    "usage",
    /whole number of 2-byte values/,
  );
  await assertFlheError(
    () => addMask(new Uint8Array([0, 1, 0, 11]), new Uint8Array(4), 11n, 2),
    "range",
    /plaintext 1 is not below the modulus/,
  );
  await assertFlheError(
    () => addMask(new Uint8Array(4), new Uint8Array([0, 12, 0, 0]), 11n, 2),
    "range",
    /mask value 0 is not below the modulus/,
  );
  await assertFlheError(
    () => addMask(new Uint8Array(4), new Uint8Array(4), 1n << 16n, 2),
    "range",
    /modulus of 17 bits does not fit in 2-byte values/,
  );
});
