/**
 * Secure-aggregation costs per client and round at 2048 bits: the pairwise
 * mask for one LeNet update (547 packed plaintexts with the default packing)
 * with 1, 19 and 49 peers, adding it to the plaintexts, and signing and
 * checking a contribution of a 20-member set. Run with `deno task bench` or
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

/** Ciphertexts of one LeNet update with the default packing (10-bit levels, W = 256). */
const COUNT = 547;
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
const common = { selfId: "client-1", pairKeys, round: 3, attempt: 0, context: "ab".repeat(32) };
const plaintexts = await maskVector({ ...common, set: set2, count: COUNT, modulus, width: WIDTH });
const mask = await maskVector({ ...common, set: set20, count: COUNT, modulus, width: WIDTH });
const contribution = {
  context: common.context,
  round: 3,
  attempt: 0,
  set: set20,
  id: "client-1",
  weight: 100,
  digest: await contributionDigest(new Uint8Array(COUNT * 512)),
};
const signature = await signContribution(keys[0]!, contribution);
const verifyKey = directory[0]!.verifyKey;

Deno.bench(`secagg: mask ${COUNT} values, 2 clients`, { group: "mask" }, async () => {
  await maskVector({ ...common, set: set2, count: COUNT, modulus, width: WIDTH });
});

Deno.bench(`secagg: mask ${COUNT} values, 20 clients`, { group: "mask" }, async () => {
  await maskVector({ ...common, set: set20, count: COUNT, modulus, width: WIDTH });
});

Deno.bench(`secagg: mask ${COUNT} values, 50 clients`, { group: "mask" }, async () => {
  await maskVector({ ...common, set: set50, count: COUNT, modulus, width: WIDTH });
});

Deno.bench(`secagg: addMask ${COUNT} values`, () => {
  addMask(plaintexts, mask, modulus, WIDTH);
});

Deno.bench("secagg: pair secrets with 49 peers", async () => {
  await pairSecrets(keys[0]!, directory);
});

Deno.bench(`secagg: digest of ${COUNT} ciphertexts (512 bytes each)`, async () => {
  await contributionDigest(new Uint8Array(COUNT * 512));
});

Deno.bench("secagg: sign contribution, 20-member set", async () => {
  await signContribution(keys[0]!, contribution);
});

Deno.bench("secagg: verify contribution, 20-member set", async () => {
  await verifyContribution(verifyKey, contribution, signature);
});
