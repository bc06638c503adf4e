/**
 * Secure-aggregation costs per client and round at 2048 bits: the pairwise
 * mask for one LeNet update with 1, 19 and 49 peers (486, 605 and 637 packed
 * plaintexts: the default packing of a federation of that size), adding it
 * to the plaintexts, and signing and checking a contribution of a 20-member
 * set. Run with `deno task bench` or
 * `deno bench -A bench/secagg_bench.ts`.
 *
 * @module
 */

import {
  addMask,
  type ClientSecretKeys,
  contributionDigest,
  exportClientPublicKeys,
  generateClientKeys,
  maskVector,
  pairSecrets,
  signContribution,
  verifyContribution,
} from "../src/secagg/mod.ts";
import { codecParams, plaintextCount } from "../src/he/mod.ts";
import { DEFAULT_QUANT_BITS, defaultMaxTotalWeight } from "../src/parties/owner_init.ts";

/** Packed plaintexts of one LeNet update in a federation of `clients` (default packing). */
function countFor(clients: number): number {
  const params = codecParams({
    keyBits: 2048,
    quantBits: DEFAULT_QUANT_BITS,
    maxTotalWeight: defaultMaxTotalWeight(clients),
  });
  return plaintextCount(params, 61_706);
}

const WIDTH = 256;
const CLIENTS = 50;

function randomModulus(bytes: number): bigint {
  const r = crypto.getRandomValues(new Uint8Array(bytes));
  r[0]! |= 0x80;
  r[bytes - 1]! |= 1;
  return BigInt("0x" + Array.from(r, (b) => b.toString(16).padStart(2, "0")).join(""));
}

const modulus = randomModulus(WIDTH);
const keys: ClientSecretKeys[] = await Promise.all(
  Array.from({ length: CLIENTS }, (_, i) => generateClientKeys(`client-${i + 1}`)),
);
const directory = await Promise.all(keys.map(exportClientPublicKeys));
const pairKeys = await pairSecrets(keys[0]!, directory);
const set50 = directory.map((d, i) => ({ id: d.id, weight: 100 + i }));
const set20 = set50.slice(0, 20);
const set2 = set20.slice(0, 2);
/** SHA-256 of the base model the update was trained from. */
const base = await contributionDigest(new Uint8Array(61_706 * 4));
const common = { selfId: "client-1", pairKeys, base, context: "ab".repeat(32) };
const [count2, count20, count50] = [countFor(2), countFor(20), countFor(50)];
const plaintexts = await maskVector({ ...common, set: set2, count: count2, modulus, width: WIDTH });
const mask = await maskVector({ ...common, set: set20, count: count2, modulus, width: WIDTH });
const contribution = {
  context: common.context,
  round: 3,
  baseRound: 2,
  base,
  set: set20,
  id: "client-1",
  weight: 100,
  digest: await contributionDigest(new Uint8Array(count20 * 512)),
};
const signature = await signContribution(keys[0]!, contribution);
const verifyKey = directory[0]!.verifyKey;

Deno.bench(`secagg: mask ${count2} values, 2 clients`, { group: "mask" }, async () => {
  await maskVector({ ...common, set: set2, count: count2, modulus, width: WIDTH });
});

Deno.bench(`secagg: mask ${count20} values, 20 clients`, { group: "mask" }, async () => {
  await maskVector({ ...common, set: set20, count: count20, modulus, width: WIDTH });
});

Deno.bench(`secagg: mask ${count50} values, 50 clients`, { group: "mask" }, async () => {
  await maskVector({ ...common, set: set50, count: count50, modulus, width: WIDTH });
});

Deno.bench(`secagg: addMask ${count2} values`, () => {
  addMask(plaintexts, mask, modulus, WIDTH);
});

Deno.bench("secagg: pair secrets with 49 peers", async () => {
  await pairSecrets(keys[0]!, directory);
});

Deno.bench(`secagg: digest of ${count20} ciphertexts (512 bytes each)`, async () => {
  await contributionDigest(new Uint8Array(count20 * 512));
});

Deno.bench("secagg: sign contribution, 20-member set", async () => {
  await signContribution(keys[0]!, contribution);
});

Deno.bench("secagg: verify contribution, 20-member set", async () => {
  await verifyContribution(verifyKey, contribution, signature);
});
