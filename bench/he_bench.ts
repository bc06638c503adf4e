/**
 * Paillier engine benchmarks at 2048 bits: the per-weight baseline with
 * paillier-bigint, and flhe's packed encryption, decryption and aggregation
 * of one LeNet update (61,706 values). Run with `deno task bench`.
 *
 * @module
 */

import { PublicKey as RefPublicKey } from "paillier-bigint";
import {
  codecParams,
  createPool,
  encodePerWeight,
  generateKeyPair,
  pack,
  parseCiphertexts,
  plaintextCount,
  quantize,
  randomBelow,
} from "../src/he/mod.ts";

const LENET_PARAMETERS = 61_706;
const { publicKey, secretKey } = await generateKeyPair(2048);
const params = codecParams({ keyBits: publicKey.keyBits });
const perWeight = codecParams({ keyBits: publicKey.keyBits, encoding: "per-weight" });
const pool = await createPool({ publicKey, secretKey });
const count = plaintextCount(params, LENET_PARAMETERS);

function update(): Float32Array {
  return new Float32Array(LENET_PARAMETERS).map(() => (Math.random() - 0.5) * 0.1);
}

const reference = new RefPublicKey(publicKey.n, publicKey.n + 1n);
const values = update();
const updates: Uint8Array[] = [];
for (let k = 0; k < 10; k++) {
  updates.push(await pool.encrypt(pack(quantize(update(), params).levels, 3000, params)));
}
const aggregate = updates[0]!;

Deno.bench("baseline: paillier-bigint encrypt one weight (2048-bit)", { group: "encrypt" }, () => {
  reference.encrypt(randomBelow(1n << 40n));
});

Deno.bench(
  "flhe: encrypt LeNet update (2048-bit, full)",
  { group: "encrypt", baseline: true },
  async () => {
    await pool.encrypt(pack(quantize(values, params).levels, 30_000, params));
  },
);

Deno.bench("flhe: encrypt LeNet update (2048-bit, precomputed randomness)", async (b) => {
  await pool.precompute(count);
  b.start();
  await pool.encrypt(pack(quantize(values, params).levels, 30_000, params));
  b.end();
});

Deno.bench("flhe: decrypt LeNet aggregate (2048-bit)", { n: 5, warmup: 1 }, async () => {
  await pool.decrypt(aggregate);
});

Deno.bench("flhe: aggregate 10 LeNet updates (2048-bit)", async () => {
  // What the server does once a round's updates are in (default pool).
  await pool.aggregate(updates);
});

Deno.bench("flhe: check one LeNet update on arrival (2048-bit)", () => {
  // Range and gcd checks the server runs as each update arrives.
  parseCiphertexts(publicKey, updates[0]!, count, "update");
});

Deno.bench("flhe: encrypt 1,000 weights per-weight (2048-bit)", async () => {
  await pool.encrypt(encodePerWeight(values.subarray(0, 1000), 1, publicKey.n, perWeight));
});

addEventListener("unload", () => pool.close());
