import assert from "node:assert/strict";
import { PrivateKey as RefPrivateKey, PublicKey as RefPublicKey } from "paillier-bigint";
import {
  createPool,
  generateKeyPair,
  type KeyPair,
  modInv,
  readBigint,
  writeBigint,
} from "./deps.ts";

const keys: KeyPair = await generateKeyPair(512);
const subgroupKeys: KeyPair = await generateKeyPair(512, { kind: "subgroup" });

function plaintexts(values: bigint[], width: number): Uint8Array {
  const out = new Uint8Array(values.length * width);
  values.forEach((v, i) => writeBigint(v, width, out, i * width));
  return out;
}

Deno.test("createPool() encrypts and decrypts in order across workers, with precomputed randomizers", async () => {
  const pool = await createPool({ ...keys, workers: 3 });
  try {
    const width = keys.publicKey.plaintextBytes;
    const values = Array.from({ length: 17 }, (_, i) => BigInt(i) * 1_000_003n);
    await pool.precompute(10);
    const cts = await pool.encrypt(plaintexts(values, width));
    assert.equal(cts.length, 17 * keys.publicKey.ciphertextBytes);
    const back = await pool.decrypt(cts);
    values.forEach((v, i) => assert.equal(readBigint(back, i * width, width), v));
    // Fewer items than workers, and none.
    assert.equal(
      (await pool.encrypt(plaintexts([5n], width))).length,
      keys.publicKey.ciphertextBytes,
    );
    assert.equal((await pool.encrypt(new Uint8Array(0))).length, 0);
  } finally {
    pool.close();
  }
});

Deno.test("createPool() lets an encryption in while it stocks randomizers", async () => {
  const pool = await createPool({ publicKey: keys.publicKey, workers: 1 });
  try {
    const order: string[] = [];
    const stocking = pool.precompute(20_000).then(() => order.push("stocked"));
    // Ask once the worker is busy with the top-up (20,000 randomizers take
    // about a second at 512 bits; asking is a message round trip).
    await new Promise((resolve) => setTimeout(resolve, 50));
    await pool.encrypt(plaintexts([1n], keys.publicKey.plaintextBytes));
    order.push("encrypted");
    await stocking;
    // The top-up goes in steps: the encryption waited for one, not for 20,000 randomizers.
    assert.deepEqual(order, ["encrypted", "stocked"]);
  } finally {
    pool.close();
  }
});

Deno.test("createPool() makes overlapping top-ups once", async () => {
  const pool = await createPool({ publicKey: keys.publicKey, workers: 1 });
  try {
    const made = await Promise.all([pool.precompute(300), pool.precompute(300)]);
    assert.deepEqual(made, [300, 0]);
    // Encryptions take from the stock; the next top-up makes what they took.
    await pool.encrypt(new Uint8Array(120 * keys.publicKey.plaintextBytes));
    assert.equal(await pool.precompute(300), 120);
    assert.equal(await pool.precompute(100), 0);
  } finally {
    pool.close();
  }
});

Deno.test("createPool() without a secret key refuses to decrypt", async () => {
  const pool = await createPool({ publicKey: keys.publicKey, workers: 1 });
  try {
    const cts = await pool.encrypt(new Uint8Array(keys.publicKey.plaintextBytes));
    await assert.rejects(() => pool.decrypt(cts), /holds no secret key/);
  } finally {
    pool.close();
  }
});

Deno.test("createPool() rejects calls after close() and a bad worker count", async () => {
  const pool = await createPool({ publicKey: keys.publicKey, workers: 1 });
  pool.close();
  await assert.rejects(() => pool.encrypt(new Uint8Array(keys.publicKey.plaintextBytes)), /closed/);
  await assert.rejects(() => createPool({ publicKey: keys.publicKey, workers: 0 }), /workers: 0/);
});

Deno.test("createPool() with classic randomness produces valid ciphertexts", async () => {
  const pool = await createPool({ ...keys, workers: 1, randomness: "classic" });
  try {
    const width = keys.publicKey.plaintextBytes;
    const back = await pool.decrypt(await pool.encrypt(plaintexts([42n], width)));
    assert.equal(readBigint(back, 0, width), 42n);
  } finally {
    pool.close();
  }
});

Deno.test("createPool() aggregate() sums vectors slot-wise across workers", async () => {
  const pool = await createPool({ ...keys, workers: 3 });
  try {
    const width = keys.publicKey.plaintextBytes;
    const vectors = [
      [1n, 2n, 3n, 4n, 5n],
      [10n, 20n, 30n, 40n, 50n],
      [100n, 200n, 300n, 400n, 500n],
    ];
    const cts = await Promise.all(vectors.map((v) => pool.encrypt(plaintexts(v, width))));
    const sum = await pool.decrypt(await pool.aggregate(cts));
    [111n, 222n, 333n, 444n, 555n].forEach((v, i) =>
      assert.equal(readBigint(sum, i * width, width), v)
    );
    await assert.rejects(() => pool.aggregate([cts[0]!, cts[1]!.subarray(1)]), /equal/);
    await assert.rejects(() => pool.aggregate([]), /equal/);
  } finally {
    pool.close();
  }
});

for (const [kind, kp] of [["standard", keys], ["subgroup", subgroupKeys]] as const) {
  Deno.test(`createPool() encrypts, aggregates and decrypts under a ${kind} key`, async () => {
    const pool = await createPool({ ...kp, workers: 2 });
    try {
      const pk = kp.publicKey;
      const width = pk.plaintextBytes;
      const values = Array.from({ length: 9 }, (_, i) => BigInt(i) * 987_654_321n);
      await pool.precompute(4);
      const a = await pool.encrypt(plaintexts(values, width));
      const b = await pool.encrypt(plaintexts(values.map((v) => v + 1n), width));
      const back = await pool.decrypt(a);
      values.forEach((v, i) => assert.equal(readBigint(back, i * width, width), v));
      const sum = await pool.decrypt(await pool.aggregate([a, b]));
      values.forEach((v, i) => assert.equal(readBigint(sum, i * width, width), 2n * v + 1n));
      // paillier-bigint decrypts what the pool encrypted ...
      const { p, q } = kp.secretKey;
      const lambda = (p - 1n) * (q - 1n);
      const pub = new RefPublicKey(pk.n, pk.n + 1n);
      const priv = new RefPrivateKey(lambda, modInv(lambda, pk.n), pub, p, q);
      const cw = pk.ciphertextBytes;
      values.forEach((v, i) => assert.equal(priv.decrypt(readBigint(a, i * cw, cw)), v));
      // ... and the pool decrypts what paillier-bigint encrypted.
      const theirs = new Uint8Array(3 * cw);
      [5n, 6n, 7n].forEach((v, i) => writeBigint(pub.encrypt(v), cw, theirs, i * cw));
      const mine = await pool.decrypt(theirs);
      [5n, 6n, 7n].forEach((v, i) => assert.equal(readBigint(mine, i * width, width), v));
    } finally {
      pool.close();
    }
  });
}

Deno.test("createPool() under a subgroup key with classic randomness decrypts right", async () => {
  const pool = await createPool({ ...subgroupKeys, workers: 1, randomness: "classic" });
  try {
    const width = subgroupKeys.publicKey.plaintextBytes;
    const back = await pool.decrypt(await pool.encrypt(plaintexts([42n, 0n], width)));
    assert.equal(readBigint(back, 0, width), 42n);
    assert.equal(readBigint(back, width, width), 0n);
  } finally {
    pool.close();
  }
});
