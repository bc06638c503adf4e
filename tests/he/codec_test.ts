import assert from "node:assert/strict";
import {
  checkCiphertexts,
  codecParams,
  createPool,
  decodeMean,
  dequantizeMean,
  encodePerWeight,
  encodeUpdate,
  FlheError,
  generateKeyPair,
  type KeyPair,
  pack,
  type PaillierPool,
  plaintextCount,
  quantize,
  unpack,
} from "./deps.ts";

const keys: KeyPair = await generateKeyPair(512);

/** The parties' pools: clients and owner hold both keys, the server only the public key. */
interface Pools {
  readonly party: PaillierPool;
  readonly server: PaillierPool;
}

async function withPools(workers: number, run: (pools: Pools) => Promise<void>): Promise<void> {
  const party = await createPool({ ...keys, workers });
  try {
    const server = await createPool({ publicKey: keys.publicKey, workers });
    try {
      await run({ party, server });
    } finally {
      server.close();
    }
  } finally {
    party.close();
  }
}

/**
 * What the server does with the clients' encrypted updates: check each
 * vector, then sum them slot-wise in its pool.
 */
async function serverAggregate(
  server: PaillierPool,
  vectors: readonly Uint8Array[],
  count: number,
): Promise<Uint8Array> {
  vectors.forEach((v, k) => checkCiphertexts(keys.publicKey, v, count, `client ${k}`));
  return await server.aggregate(vectors);
}

/** A seeded uniform source, so failures reproduce. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("codecParams() derives slots from key size, quantBits and maxTotalWeight", () => {
  const p = codecParams({ keyBits: 2048 });
  assert.equal(p.slotBits, 32);
  assert.equal(p.slotsPerPlaintext, 63);
  assert.equal(plaintextCount(p, 61_706), 980);
  const q = codecParams({ keyBits: 2048, quantBits: 8, maxTotalWeight: 10 });
  // (2^8 - 2) * 10 = 2540 needs 12 bits.
  assert.equal(q.slotBits, 12);
  assert.equal(q.slotsPerPlaintext, Math.floor(2047 / 12));
});

Deno.test("codecParams() names the bad parameter", () => {
  assert.throws(() => codecParams({ keyBits: 2048, quantBits: 40 }), /quantBits/);
  assert.throws(() => codecParams({ keyBits: 2048, maxTotalWeight: 0 }), /maxTotalWeight/);
  assert.throws(() => codecParams({ keyBits: 2048, clipRange: -1 }), /clipRange/);
  assert.throws(
    () => codecParams({ keyBits: 2048, maxTotalWeight: 2 ** 24 + 1 }),
    /maxTotalWeight/,
  );
  assert.throws(
    () => codecParams({ keyBits: 64, encoding: "per-weight", fracBits: 60 }),
    /fracBits/,
  );
});

Deno.test("quantize() is unbiased and within one step", () => {
  const params = codecParams({ keyBits: 512, quantBits: 4, clipRange: 1 });
  const step = 1 / 7;
  const value = 0.3;
  const values = new Float32Array(20_000).fill(value);
  const { levels } = quantize(values, params, mulberry32(1));
  let sum = 0;
  for (const level of levels) {
    const x = (level - 7) * step;
    assert.ok(Math.abs(x - value) <= step + 1e-9);
    sum += x;
  }
  // Standard error of the mean is below step / sqrt(N) ~ 0.001.
  assert.ok(Math.abs(sum / values.length - value) < 0.005, `mean ${sum / values.length}`);
});

Deno.test("quantize() clips to [-R, R] and counts the clipped values", () => {
  const params = codecParams({ keyBits: 512, clipRange: 0.5 });
  const { levels, clipped } = quantize(new Float32Array([3, -3, 0.5, -0.5, 0]), params);
  assert.equal(clipped, 2);
  assert.deepEqual([...levels], [65534, 0, 65534, 0, 32767]);
});

Deno.test("quantize() rejects NaN and infinities, naming the index", () => {
  const params = codecParams({ keyBits: 512 });
  assert.throws(() => quantize(new Float32Array([0, NaN]), params), /\[1\] is NaN/);
  assert.throws(() => quantize(new Float32Array([Infinity]), params), /\[0\] is Infinity/);
});

Deno.test("pack() and unpack() round-trip weighted levels, including the extremes", () => {
  const params = codecParams({ keyBits: 512, quantBits: 16, maxTotalWeight: 1000 });
  const levels = new Uint32Array([0, 65534, 1, 32767, 65533, 12345, 0, 65534]);
  const sums = unpack(pack(levels, 1000, params), levels.length, params);
  assert.deepEqual([...sums], [...levels].map((l) => l * 1000));
});

Deno.test("pack() rejects a weight outside [1, maxTotalWeight]", () => {
  const params = codecParams({ keyBits: 512, maxTotalWeight: 10 });
  assert.throws(() => pack(new Uint32Array(3), 11, params), /weight: 11/);
  assert.throws(() => pack(new Uint32Array(3), 0, params), /weight: 0/);
  assert.throws(() => pack(new Uint32Array(3), 1.5, params), /weight: 1.5/);
});

Deno.test("unpack() detects a carry past the last slot", () => {
  const params = codecParams({ keyBits: 512, quantBits: 8, maxTotalWeight: 4 });
  const bytes = pack(new Uint32Array(params.slotsPerPlaintext).fill(254), 4, params);
  // Doubling the plaintext is what a fifth unit of weight beyond W would do to the top slot.
  let carry = 0;
  for (let i = bytes.length - 1; i >= 0; i--) {
    const v = bytes[i]! * 2 + carry;
    bytes[i] = v & 0xff;
    carry = v >> 8;
  }
  assert.throws(() => unpack(bytes, params.slotsPerPlaintext, params), /overflows its slots/);
  assert.throws(() => dequantizeMean(new Float64Array(1), 5, params), /totalWeight: 5/);
});

Deno.test("the server's homomorphic sum of K packed updates decodes to the quantized mean (property)", async () => {
  await withPools(2, async ({ party, server }) => {
    const random = mulberry32(7);
    const n = keys.publicKey.n;
    for (let trial = 0; trial < 6; trial++) {
      const K = 2 + (trial % 4);
      const length = 1 + Math.floor(random() * 200);
      const maxTotalWeight = trial % 2 === 0 ? 2 ** 16 : 1 + Math.floor(random() * 5000);
      const quantBits = [16, 8, 12, 4, 16, 10][trial]!;
      const params = codecParams({ keyBits: 512, quantBits, clipRange: 0.25, maxTotalWeight });
      const count = plaintextCount(params, length);
      // Weights that use the whole declared maximum on the last client.
      const weights = Array.from(
        { length: K },
        () => 1 + Math.floor(random() * (maxTotalWeight / K - 1)),
      );
      weights[K - 1] = maxTotalWeight - weights.slice(0, K - 1).reduce((a, b) => a + b, 0);
      const expectedSums = new Float64Array(length);
      const trueMean = new Float64Array(length);
      const vectors: Uint8Array[] = [];
      for (let k = 0; k < K; k++) {
        const values = new Float32Array(length).map((_, i) => {
          const r = random();
          // Extremes: exactly +-R, beyond R (clipped), zero, and uniform values.
          if (i % 7 === 0) return 0.25;
          if (i % 7 === 1) return -0.25;
          if (i % 7 === 2) return (r - 0.5) * 10;
          return (r - 0.5) * 0.5;
        });
        // The client's encoding, and the same rounding redone to know its levels.
        const seed = Math.floor(random() * 2 ** 32);
        const { plaintexts } = encodeUpdate(values, weights[k]!, n, params, mulberry32(seed));
        const { levels } = quantize(values, params, mulberry32(seed));
        levels.forEach((l, i) => expectedSums[i]! += l * weights[k]!);
        values.forEach((v, i) =>
          trueMean[i]! += Math.max(-0.25, Math.min(0.25, v)) * weights[k]! / maxTotalWeight
        );
        vectors.push(await party.encrypt(plaintexts));
      }
      const sum = await serverAggregate(server, vectors, count);
      const plaintexts = await party.decrypt(sum);
      const sums = unpack(plaintexts, length, params);
      assert.deepEqual([...sums], [...expectedSums], `trial ${trial}`);
      // The owner's decoding is the mean of the levels, within one quantization
      // step of the true clipped mean.
      const mean = decodeMean(plaintexts, length, maxTotalWeight, n, params);
      assert.deepEqual(mean, dequantizeMean(sums, maxTotalWeight, params));
      const step = 0.25 / (2 ** (quantBits - 1) - 1);
      mean.forEach((m, i) => assert.ok(Math.abs(m - trueMean[i]!) <= step * 1.0001 + 1e-6));
    }
  });
});

Deno.test("per-weight encoding sums signed fixed-point values through the server's pool", async () => {
  const params = codecParams({ keyBits: 512, encoding: "per-weight", fracBits: 32, clipRange: 4 });
  await withPools(2, async ({ party, server }) => {
    const n = keys.publicKey.n;
    const a = new Float32Array([0.5, -1.25, 3, -4, 0]);
    const b = new Float32Array([-0.5, -0.75, 1, 2, 1e-6]);
    const vectors: Uint8Array[] = [];
    for (const [v, w] of [[a, 3], [b, 1]] as const) {
      vectors.push(await party.encrypt(encodeUpdate(v, w, n, params).plaintexts));
    }
    const sum = await serverAggregate(server, vectors, a.length);
    const mean = decodeMean(await party.decrypt(sum), a.length, 4, n, params);
    const expected = [...a].map((x, i) => (3 * x + b[i]!) / 4);
    mean.forEach((m, i) => assert.ok(Math.abs(m - expected[i]!) < 1e-6, `${m} vs ${expected[i]}`));
  });
});

Deno.test("packed and per-weight encodings agree on the same updates", async () => {
  const packed = codecParams({ keyBits: 512, quantBits: 16, clipRange: 0.5, maxTotalWeight: 100 });
  const perWeight = codecParams({ keyBits: 512, encoding: "per-weight", clipRange: 0.5 });
  await withPools(1, async ({ party, server }) => {
    const n = keys.publicKey.n;
    const random = mulberry32(3);
    const updates = [0, 1, 2].map(() => new Float32Array(50).map(() => (random() - 0.5) * 0.8));
    const weights = [10, 30, 60];
    const vectorsP: Uint8Array[] = [];
    const vectorsW: Uint8Array[] = [];
    for (let k = 0; k < 3; k++) {
      const p = encodeUpdate(updates[k]!, weights[k]!, n, packed, random).plaintexts;
      vectorsP.push(await party.encrypt(p));
      vectorsW.push(await party.encrypt(encodePerWeight(updates[k]!, weights[k]!, n, perWeight)));
    }
    const sumP = await serverAggregate(server, vectorsP, plaintextCount(packed, 50));
    const sumW = await serverAggregate(server, vectorsW, 50);
    const meanP = decodeMean(await party.decrypt(sumP), 50, 100, n, packed);
    const meanW = decodeMean(await party.decrypt(sumW), 50, 100, n, perWeight);
    const step = 0.5 / 32767;
    meanP.forEach((m, i) => assert.ok(Math.abs(m - meanW[i]!) <= step + 1e-6));
  });
});

Deno.test("checkCiphertexts() rejects a wrong count, c >= n^2 and gcd(c, n) != 1", () => {
  const pk = keys.publicKey;
  const width = pk.ciphertextBytes;
  assert.throws(
    () => checkCiphertexts(pk, new Uint8Array(width * 2 - 1), 2, "u"),
    /u: .* expected 2/,
  );
  const big = new Uint8Array(width).fill(0xff);
  assert.throws(() => checkCiphertexts(pk, big, 1, "u"), /u\[0\] is not in \(0, n\^2\)/);
  const bytes = new Uint8Array(width);
  const p = keys.secretKey.p;
  const hex = p.toString(16).padStart(width * 2, "0");
  for (let i = 0; i < width; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  assert.throws(() => checkCiphertexts(pk, bytes, 1, "u"), /u\[0\] shares a factor with n/);
  assert.ok(new FlheError("protocol", "x") instanceof Error);
});
