import assert from "node:assert/strict";
import { FlheError } from "../../src/util/error.ts";
import { sha256Hex } from "../../src/util/hex.ts";
import { encrypt, generateKeyPair, writeBigint } from "../../src/he/mod.ts";
import {
  createFedAvgHE,
  type FedAvgOptions,
  type Ready,
  type SignedContribution,
  type Strategy,
  type Update,
} from "../../src/strategy/mod.ts";

const OPTIONS: FedAvgOptions = {
  minFitClients: 2,
  minAvailableClients: 2,
  maxClientWeight: 100,
  maxTotalWeight: 256,
};
const COUNT = 2;
const BASE = "ab".repeat(32);
const GOOD = "aa".repeat(64);
const { publicKey } = await generateKeyPair(512);
const width = publicKey.ciphertextBytes;

/** Ciphertexts of `values` (randomizer 1: valid, not hiding, enough for the server's checks). */
function ciphertexts(values: bigint[]): Uint8Array {
  const out = new Uint8Array(values.length * width);
  values.forEach((m, i) => writeBigint(encrypt(publicKey, m, 1n), width, out, i * width));
  return out;
}

function update(weight: number, payload: Uint8Array, signature = GOOD, round = 1): Update {
  return { round, base: BASE, count: COUNT, weight, signature, payload };
}

function ready(...ids: [string, number][]): Ready[] {
  return ids.map(([clientId, weight]) => ({ clientId, weight, trainSeconds: 1, contributed: [] }));
}

/** A strategy whose verifier records what it was asked to check and accepts only GOOD. */
function strategy(): { s: Strategy; signed: SignedContribution[] } {
  const signed: SignedContribution[] = [];
  const s = createFedAvgHE(OPTIONS, publicKey, COUNT, (c, signature) => {
    signed.push(c);
    return Promise.resolve(signature === GOOD);
  });
  return { s, signed };
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof FlheError && pattern.test(e.message));
}

Deno.test("createFedAvgHE() passes on every member's ciphertexts unmultiplied, in set order", async () => {
  const { s } = strategy();
  s.configureFit(1, 0, ["client-1", "client-2", "client-10"]);
  s.configureAnnounce(ready(["client-10", 2], ["client-2", 3], ["client-1", 5]));
  const payloads = {
    "client-1": ciphertexts([1n, 2n]),
    "client-2": ciphertexts([3n, 4n]),
    "client-10": ciphertexts([5n, 6n]),
  };
  // Arrival order is not set order.
  await s.acceptUpdate("client-10", update(2, payloads["client-10"]));
  await s.acceptUpdate("client-1", update(5, payloads["client-1"]));
  await s.acceptUpdate("client-2", update(3, payloads["client-2"]));
  const aggregate = (await s.aggregateFit())!;
  assert.equal(aggregate.count, COUNT);
  assert.deepEqual(
    aggregate.payload,
    new Uint8Array([...payloads["client-1"], ...payloads["client-2"], ...payloads["client-10"]]),
  );
  assert.deepEqual(aggregate.contributions, [
    { id: "client-1", digest: await sha256Hex(payloads["client-1"]), signature: GOOD },
    { id: "client-2", digest: await sha256Hex(payloads["client-2"]), signature: GOOD },
    { id: "client-10", digest: await sha256Hex(payloads["client-10"]), signature: GOOD },
  ]);
});

Deno.test("createFedAvgHE() checks the signature over the round, base model, set, weight and digest", async () => {
  const { s, signed } = strategy();
  s.configureFit(3, 2, ["client-1", "client-2"]);
  const a = s.configureAnnounce(ready(["client-1", 5], ["client-2", 3]))!;
  const payload = ciphertexts([1n, 2n]);
  await rejects(
    s.acceptUpdate("client-1", update(5, payload, "bb".repeat(64), 3)),
    /client-1: the update's signature does not verify for round 3/,
  );
  assert.deepEqual(s.missing(), ["client-1", "client-2"]);
  await s.acceptUpdate("client-1", update(5, payload, GOOD, 3));
  assert.deepEqual(s.missing(), ["client-2"]);
  assert.deepEqual(signed.at(-1), {
    round: 3,
    baseRound: 2,
    base: BASE,
    set: a.set,
    id: "client-1",
    weight: 5,
    digest: await sha256Hex(payload),
  });
});

Deno.test("createFedAvgHE() refuses ciphertexts out of range or of the wrong size", async () => {
  const { s, signed } = strategy();
  s.configureFit(1, 0, ["client-1", "client-2"]);
  s.configureAnnounce(ready(["client-1", 5], ["client-2", 3]));
  await rejects(
    s.acceptUpdate("client-1", update(5, new Uint8Array(COUNT * width))),
    /update of round 1\[0\] is not in \(0, n\^2\)/,
  );
  await rejects(
    s.acceptUpdate("client-1", update(5, ciphertexts([1n, 2n]).subarray(1))),
    /bytes, expected 2 ciphertexts/,
  );
  assert.equal(signed.length, 0, "no signature is checked for a malformed update");
  assert.deepEqual(s.missing(), ["client-1", "client-2"]);
});
