/**
 * Secure aggregation for protocol v3, on Web Crypto only: clients' X25519
 * and Ed25519 keys and the owner's signing key, pairwise masks inside the
 * Paillier plaintexts (so that the server, and the owner with it, only ever
 * decrypt sums over the whole announced set), signed contributions and
 * signed models, and the sealing of the model under the group key. It knows
 * nothing of Paillier, models, data or the network: plaintexts are
 * fixed-width big-endian bytes and a modulus.
 *
 * @example Two clients mask, the masks cancel in the sum
 * ```ts
 * import { addMask, exportClientPublicKeys, generateClientKeys, maskVector, pairSecrets } from "./mod.ts";
 * const a = await generateClientKeys("client-1");
 * const b = await generateClientKeys("client-2");
 * const directory = [await exportClientPublicKeys(a), await exportClientPublicKeys(b)];
 * const set = [{ id: "client-1", weight: 1 }, { id: "client-2", weight: 1 }];
 * const common = { set, base: "cd".repeat(32), context: "ab".repeat(32), count: 1, modulus: 101n, width: 1 };
 * const maskA = await maskVector({ ...common, selfId: "client-1", pairKeys: await pairSecrets(a, directory) });
 * const maskB = await maskVector({ ...common, selfId: "client-2", pairKeys: await pairSecrets(b, directory) });
 * const x = addMask(new Uint8Array([20]), maskA, 101n, 1);
 * const y = addMask(new Uint8Array([30]), maskB, 101n, 1);
 * (x[0]! + y[0]!) % 101; // 50
 * ```
 *
 * @module
 */

export * from "./announced_set.ts";
export * from "./keys.ts";
export * from "./masks.ts";
export * from "./add_mask.ts";
export * from "./signatures.ts";
export * from "./seal.ts";
