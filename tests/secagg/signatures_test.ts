import assert from "node:assert/strict";
import {
  type Contribution,
  contributionDigest,
  exportClientPublicKeys,
  generateClientKeys,
  generateOwnerSigningKey,
  type ModelRelease,
  SIGNATURE_BYTES,
  signContribution,
  signModel,
  verifyContribution,
  verifyModel,
} from "./deps.ts";
import { assertFlheError } from "./helpers.ts";

const client = await generateClientKeys("client-2");
const other = await generateClientKeys("client-3");
const { verifyKey } = await exportClientPublicKeys(client);
const otherVerifyKey = (await exportClientPublicKeys(other)).verifyKey;
const owner = await generateOwnerSigningKey();

const contribution: Contribution = {
  context: "c0".repeat(32),
  round: 7,
  baseRound: 6,
  base: "b6".repeat(32),
  set: [
    { id: "client-10", weight: 300 },
    { id: "client-2", weight: 500 },
    { id: "client-3", weight: 500 },
  ],
  id: "client-2",
  weight: 500,
  digest: await contributionDigest(new TextEncoder().encode("ciphertexts")),
};
const release: ModelRelease = {
  context: "c0".repeat(32),
  round: 7,
  digest: await contributionDigest(new TextEncoder().encode("sealed model")),
};

function withSet(c: Contribution, set: Contribution["set"]): Contribution {
  return { ...c, set };
}

Deno.test("contributionDigest() is SHA-256 in lower-case hex", async () => {
  assert.equal(
    await contributionDigest(new Uint8Array(0)),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    await contributionDigest(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("signContribution() gives 64 bytes that verifyContribution() accepts", async () => {
  const signature = await signContribution(client, contribution);
  assert.equal(signature.length, SIGNATURE_BYTES);
  assert.equal(await verifyContribution(verifyKey, contribution, signature), true);
  // The set is bound in canonical order: the server's listing order is free.
  const reordered = withSet(contribution, [...contribution.set].reverse());
  assert.equal(await verifyContribution(verifyKey, reordered, signature), true);
});

Deno.test("verifyContribution() fails for every single changed field", async () => {
  const signature = await signContribution(client, contribution);
  const set = contribution.set;
  const changed: [string, Contribution][] = [
    ["context", { ...contribution, context: "c1" + contribution.context.slice(2) }],
    ["round", { ...contribution, round: 8 }],
    ["base round", { ...contribution, baseRound: 5 }],
    ["base model", { ...contribution, base: "b7" + contribution.base.slice(2) }],
    [
      "another member's weight",
      withSet(contribution, [{ ...set[0]!, weight: 301 }, ...set.slice(1)]),
    ],
    ["a member added", withSet(contribution, [...set, { id: "client-4", weight: 1 }])],
    ["a member dropped", withSet(contribution, set.slice(1))],
    ["a member renamed", withSet(contribution, [{ ...set[0]!, id: "client-11" }, ...set.slice(1)])],
    // client-3 has the same weight, so the tuple stays well formed.
    ["id", { ...contribution, id: "client-3" }],
    [
      "weight (and the set with it)",
      { ...withSet(contribution, [set[0]!, { ...set[1]!, weight: 501 }, set[2]!]), weight: 501 },
    ],
    ["digest", { ...contribution, digest: "0" + contribution.digest.slice(1) }],
    // Length prefixes: moving a character between fields changes the bytes.
    ["context/round boundary", { ...contribution, context: contribution.context + "7", round: 0 }],
  ];
  for (const [name, c] of changed) {
    assert.equal(await verifyContribution(verifyKey, c, signature), false, name);
  }
});

Deno.test("verifyContribution() fails for another key and a damaged signature", async () => {
  const signature = await signContribution(client, contribution);
  assert.equal(await verifyContribution(otherVerifyKey, contribution, signature), false);
  assert.equal(await verifyContribution(owner.verifyKey, contribution, signature), false);
  assert.equal(
    await verifyContribution(verifyKey, contribution, signature.subarray(0, 63)),
    false,
  );
  assert.equal(await verifyContribution(verifyKey, contribution, new Uint8Array(0)), false);
  const longer = new Uint8Array(65);
  longer.set(signature);
  assert.equal(await verifyContribution(verifyKey, contribution, longer), false);
  for (const index of [0, 31, 32, 63]) {
    const flipped = signature.slice();
    flipped[index]! ^= 1;
    assert.equal(await verifyContribution(verifyKey, contribution, flipped), false, `${index}`);
  }
});

Deno.test("signContribution() refuses another client's keys and a malformed tuple", async () => {
  await assertFlheError(
    () => signContribution(other, contribution),
    "usage",
    /contribution is client-2's, the keys client-3's/,
  );
  const set = contribution.set;
  const cases: [Contribution, RegExp][] = [
    [{ ...contribution, id: "client-4" }, /signer "client-4" is not in the announced set/],
    [{ ...contribution, weight: 499 }, /weight of client-2 is 499 but 500 in the announced set/],
    [{ ...contribution, digest: contribution.digest.toUpperCase() }, /digest is not 64/],
    [{ ...contribution, digest: "ab" }, /digest is not 64/],
    [{ ...contribution, round: -1 }, /round is -1/],
    [{ ...contribution, baseRound: Number.NaN }, /baseRound is NaN/],
    [{ ...contribution, base: "b6" }, /base is not 64/],
    [{ ...contribution, context: "x".repeat(1025) }, /context is not a string of 1 to 1024/],
    [withSet(contribution, [...set, set[2]!]), /lists client-3 twice/],
    [withSet(contribution, [...set, { id: "client-x", weight: 1 }]), /id "client-x"/],
    [withSet(contribution, [...set, { id: "client-5", weight: 1.5 }]), /weight of client-5/],
  ];
  for (const [c, pattern] of cases) {
    if (c.id === client.id) {
      await assertFlheError(() => signContribution(client, c), "protocol", pattern);
    }
    // The same tuple cannot have been signed: verifying it says what is wrong.
    await assertFlheError(
      () => verifyContribution(verifyKey, c, new Uint8Array(64)),
      "protocol",
      pattern,
    );
  }
});

Deno.test("verifyContribution() refuses a malformed verify key", async () => {
  const signature = await signContribution(client, contribution);
  for (const bad of ["", "AB".repeat(32), "ab".repeat(31), "ab".repeat(33)]) {
    await assertFlheError(
      () => verifyContribution(bad, contribution, signature),
      "input",
      /verify key is not 64 lower-case hex digits/,
    );
  }
});

Deno.test("signModel() gives 64 bytes that verifyModel() accepts", async () => {
  const signature = await signModel(owner.signing.privateKey, release);
  assert.equal(signature.length, SIGNATURE_BYTES);
  assert.equal(await verifyModel(owner.verifyKey, release, signature), true);
});

Deno.test("verifyModel() fails for every single changed field, another key, a damaged signature", async () => {
  const signature = await signModel(owner.signing.privateKey, release);
  const changed: [string, ModelRelease][] = [
    ["context", { ...release, context: "c1" + release.context.slice(2) }],
    ["round", { ...release, round: 6 }],
    ["digest", { ...release, digest: "f" + release.digest.slice(1) }],
  ];
  for (const [name, m] of changed) {
    assert.equal(await verifyModel(owner.verifyKey, m, signature), false, name);
  }
  assert.equal(await verifyModel(verifyKey, release, signature), false);
  assert.equal(await verifyModel(owner.verifyKey, release, signature.subarray(1)), false);
  const flipped = signature.slice();
  flipped[10]! ^= 0x80;
  assert.equal(await verifyModel(owner.verifyKey, release, flipped), false);
  await assertFlheError(
    () => verifyModel(owner.verifyKey, { ...release, round: 1.5 }, signature),
    "protocol",
    /model release: round is 1.5/,
  );
});

Deno.test("a model signature and a contribution signature never stand for each other", async () => {
  // Same key, same context, round and digest: only the domain prefix and the
  // extra contribution fields differ.
  const shared = await generateClientKeys("client-1");
  const sharedVerify = (await exportClientPublicKeys(shared)).verifyKey;
  const c: Contribution = {
    context: release.context,
    round: release.round,
    baseRound: 0,
    base: "00".repeat(32),
    set: [{ id: "client-1", weight: 1 }, { id: "client-2", weight: 1 }],
    id: "client-1",
    weight: 1,
    digest: release.digest,
  };
  const modelSignature = await signModel(shared.signing.privateKey, release);
  const contributionSignature = await signContribution(shared, c);
  assert.equal(await verifyContribution(sharedVerify, c, modelSignature), false);
  assert.equal(await verifyModel(sharedVerify, release, contributionSignature), false);
});
