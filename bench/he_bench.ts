/**
 * Paillier engine benchmarks: the per-weight baseline with paillier-bigint,
 * and flhe's packed encryption, decryption and aggregation of one LeNet
 * update (61,706 values), at 2048 and 3072 bits, with standard and subgroup
 * keys (see `KEY_KINDS`). Run with `deno task bench`.
 *
 * Every bench of the `paillier` group is compared with the 2048-bit
 * paillier-bigint encryption of one weight: a full LeNet encryption is
 * `61,706 / ratio` times the baseline's throughput.
 *
 * @module
 */

import { DEFAULT_QUANT_BITS, defaultMaxTotalWeight } from "../src/parties/owner_init.ts";
import { PublicKey as RefPublicKey } from "paillier-bigint";
import {
  checkCiphertexts,
  type CodecParams,
  codecParams,
  createPool,
  encodePerWeight,
  generateKeyPair,
  type KeyKind,
  type KeyPair,
  pack,
  type PaillierPool,
  plaintextCount,
  quantize,
  randomBelow,
} from "../src/he/mod.ts";

const LENET_PARAMETERS = 61_706;
const GROUP = "paillier";

function update(): Float32Array {
  return new Float32Array(LENET_PARAMETERS).map(() => (Math.random() - 0.5) * 0.1);
}

const values = update();
const pools: PaillierPool[] = [];
addEventListener("unload", () => pools.forEach((p) => p.close()));

/** A key of one size and kind, its pool, and one encrypted update to decrypt. */
interface BenchKey extends KeyPair {
  readonly params: CodecParams;
  readonly pool: PaillierPool;
  encryptUpdate(): Promise<Uint8Array>;
  readonly aggregate: Uint8Array;
}

async function setup(keyBits: number, kind: KeyKind): Promise<BenchKey> {
  const keys = await generateKeyPair(keyBits, { kind });
  // The default packing of a federation of two clients (owner init, demo).
  const params = codecParams({
    keyBits,
    quantBits: DEFAULT_QUANT_BITS,
    maxTotalWeight: defaultMaxTotalWeight(2),
  });
  const pool = await createPool(keys);
  pools.push(pool);
  const encryptUpdate = (): Promise<Uint8Array> =>
    pool.encrypt(pack(quantize(values, params).levels, params.maxTotalWeight / 2, params));
  return { ...keys, params, pool, encryptUpdate, aggregate: await encryptUpdate() };
}

const standard = await setup(2048, "standard");
const { publicKey, params, pool } = standard;
const perWeight = codecParams({ keyBits: publicKey.keyBits, encoding: "per-weight" });
const count = plaintextCount(params, LENET_PARAMETERS);

const reference = new RefPublicKey(publicKey.n, publicKey.n + 1n);
const updates: Uint8Array[] = [];
for (let k = 0; k < 10; k++) {
  updates.push(await pool.encrypt(pack(quantize(update(), params).levels, 25, params)));
}
// 50 clients' updates: 10 distinct ones, each five times (the server's work
// does not depend on what the ciphertexts hold).
const fifty = Array.from({ length: 50 }, (_, k) => updates[k % 10]!);
const aggregate = updates[0]!;

Deno.bench(
  "baseline: paillier-bigint encrypt one weight (2048-bit)",
  { group: GROUP, baseline: true },
  () => {
    reference.encrypt(randomBelow(1n << 40n));
  },
);

Deno.bench("flhe: encrypt LeNet update (2048-bit, full)", { group: GROUP }, async () => {
  await standard.encryptUpdate();
});

Deno.bench("flhe: encrypt LeNet update (2048-bit, precomputed randomness)", async (b) => {
  await pool.precompute(count);
  b.start();
  await pool.encrypt(pack(quantize(values, params).levels, params.maxTotalWeight / 2, params));
  b.end();
});

Deno.bench(
  "flhe: decrypt LeNet aggregate (2048-bit)",
  { group: GROUP, n: 5, warmup: 1 },
  async () => {
    await pool.decrypt(aggregate);
  },
);

Deno.bench("flhe: aggregate 10 LeNet updates (2048-bit)", async () => {
  // What the server does once a round's updates are in (default pool).
  await pool.aggregate(updates);
});

Deno.bench("flhe: aggregate 50 LeNet updates (2048-bit)", { n: 5, warmup: 1 }, async () => {
  await pool.aggregate(fifty);
});

Deno.bench("flhe: check one LeNet update on arrival (2048-bit)", () => {
  // Range and gcd checks the server runs as each update arrives.
  checkCiphertexts(publicKey, updates[0]!, count, "update");
});

Deno.bench("flhe: encrypt 1,000 weights per-weight (2048-bit)", async () => {
  await pool.encrypt(encodePerWeight(values.subarray(0, 1000), 1, publicKey.n, perWeight));
});

// The same LeNet encryption and decryption with the other key kind and size.
for (
  const [keyBits, kind] of [[2048, "subgroup"], [3072, "standard"], [3072, "subgroup"]] as const
) {
  const s = await setup(keyBits, kind);
  const suffix = kind === "subgroup" ? ", subgroup key" : "";
  Deno.bench(
    `flhe: encrypt LeNet update (${keyBits}-bit, full${suffix})`,
    { group: GROUP, n: keyBits > 2048 ? 5 : undefined, warmup: 1 },
    async () => {
      await s.encryptUpdate();
    },
  );
  Deno.bench(
    `flhe: decrypt LeNet aggregate (${keyBits}-bit${suffix})`,
    { group: GROUP, n: keyBits > 2048 ? 3 : 5, warmup: 1 },
    async () => {
      await s.pool.decrypt(s.aggregate);
    },
  );
}
