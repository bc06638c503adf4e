import assert from "node:assert/strict";
import {
  fingerprint,
  FlheError,
  generateKeyPair,
  KEY_BITS_ALLOWED,
  KEY_KIND_NAMES,
  KEY_KINDS,
  type KeyPair,
  modPow,
  PublicKey,
  SecretKey,
  subgroupBase,
  subgroupExponentBits,
  toHex,
  writeBigint,
} from "./deps.ts";

const standard: KeyPair = await generateKeyPair(512);
const subgroup: KeyPair = await generateKeyPair(512, { kind: "subgroup" });

Deno.test("KEY_KINDS describes both kinds and says what the subgroup kind rests on", () => {
  assert.deepEqual(KEY_KIND_NAMES, ["standard", "subgroup"]);
  assert.deepEqual(Object.keys(KEY_KINDS), ["standard", "subgroup"]);
  assert.match(KEY_KINDS.subgroup, /^faster; security rests on an extra subgroup assumption/);
  assert.match(KEY_KINDS.subgroup, /Ma, Han, Lei, ACSAC 2021/);
  assert.match(KEY_KINDS.subgroup, /opt-in/);
  assert.deepEqual(KEY_BITS_ALLOWED, [2048, 3072]);
});

Deno.test("subgroupExponentBits() follows Ma, Han and Lei and scales down for test keys", () => {
  assert.equal(subgroupExponentBits(2048), 448);
  assert.equal(subgroupExponentBits(3072), 512);
  assert.equal(subgroupExponentBits(7680), 768);
  assert.equal(subgroupExponentBits(512), 112);
  assert.equal(subgroupExponentBits(1024), 224);
  assert.equal(subgroupExponentBits(128), 32);
  for (let bits = 128; bits <= 4096; bits += 64) assert.equal(subgroupExponentBits(bits) % 8, 0);
});

Deno.test("generateKeyPair() makes standard keys by default and checks the kind", async () => {
  assert.equal(standard.publicKey.kind, "standard");
  assert.equal(standard.secretKey.kind, "standard");
  assert.equal(standard.publicKey.randomExponentBits, 256);
  assert.equal(standard.secretKey.exponentP, standard.secretKey.p - 1n);
  assert.equal(standard.secretKey.p0, undefined);
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => generateKeyPair(512, { kind: "fast" as any }),
    /kind: "fast" is not one of standard, subgroup/,
  );
  await assert.rejects(() => generateKeyPair(511, { kind: "subgroup" }), /keyBits: 511/);
});

Deno.test("generateKeyPair() makes subgroup keys with p = 2 p0 p1 + 1 and the right sizes", async () => {
  for (const bits of [128, 512, 1024]) {
    const kp = bits === 512 ? subgroup : await generateKeyPair(bits, { kind: "subgroup" });
    const { p, q, p0, q0 } = kp.secretKey;
    const half = subgroupExponentBits(bits) / 2;
    assert.equal(kp.publicKey.keyBits, bits);
    assert.equal(p.toString(2).length, bits / 2);
    assert.equal(q.toString(2).length, bits / 2);
    assert.equal(p0!.toString(2).length, half);
    assert.equal(q0!.toString(2).length, half);
    const p1 = (p - 1n) / (2n * p0!);
    const q1 = (q - 1n) / (2n * q0!);
    assert.equal(2n * p0! * p1 + 1n, p);
    assert.equal(2n * q0! * q1 + 1n, q);
    assert.equal(p1 % 2n, 1n);
    // hs has order exactly 2 p0 q0 mod n^2.
    const { hs, n2 } = kp.publicKey;
    const order = 2n * p0! * q0!;
    assert.equal(modPow(hs, order, n2), 1n);
    for (const d of [2n, p0!, q0!]) assert.notEqual(modPow(hs, order / d, n2), 1n);
  }
});

Deno.test("subgroupBase() lies in the subgroup and rejects primes of the wrong shape", () => {
  // p = 2 * 11 * 3 + 1 = 67, q = 2 * 5 * 7 + 1 = 71
  const hs = subgroupBase(67n, 71n, { p0: 11n, q0: 5n });
  assert.equal(modPow(hs, 2n * 11n * 5n, (67n * 71n) ** 2n), 1n);
  assert.throws(() => subgroupBase(67n, 71n, { p0: 7n, q0: 5n }), /2 p0 must divide p - 1/);
});

Deno.test("SecretKey checks the small primes of a subgroup key", () => {
  const { p, q, p0, q0 } = subgroup.secretKey;
  const pk = subgroup.publicKey;
  assert.throws(() => new SecretKey(p, q, pk), /subgroup key needs p0 and q0/);
  assert.throws(
    () => new SecretKey(p, q, pk, { p0: p0! + 2n, q0: q0! }),
    /p0 is not an odd factor/,
  );
  assert.throws(() => new SecretKey(p, q, pk, { p0: p0!, q0: 1n }), /q0 is not an odd factor/);
  // A subgroup key whose hs is a standard DJN base: not in the subgroup.
  const wrongBase = new PublicKey(pk.n, standard.publicKey.hs % pk.n2, "subgroup");
  assert.throws(
    () => new SecretKey(p, q, wrongBase, { p0: p0!, q0: q0! }),
    (e: unknown) => e instanceof FlheError && /hs is not in the subgroup/.test(e.message),
  );
  const s = standard.secretKey;
  assert.throws(
    () => new SecretKey(s.p, s.q, standard.publicKey, { p0: 3n, q0: 3n }),
    /given for a standard key/,
  );
  // deno-lint-ignore no-explicit-any
  assert.throws(() => new PublicKey(pk.n, pk.hs, "other" as any), /kind "other"/);
});

Deno.test("fingerprint() keeps standard fingerprints and binds the subgroup kind", async () => {
  const pk = standard.publicKey;
  const label = new TextEncoder().encode("flhe-paillier-v1");
  const bytes = new Uint8Array(label.length + pk.plaintextBytes + pk.ciphertextBytes);
  bytes.set(label);
  writeBigint(pk.n, pk.plaintextBytes, bytes, label.length);
  writeBigint(pk.hs, pk.ciphertextBytes, bytes, label.length + pk.plaintextBytes);
  const expected = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
  assert.equal(await fingerprint(pk), expected);
  const sub = subgroup.publicKey;
  const asStandard = new PublicKey(sub.n, sub.hs);
  assert.notEqual(await fingerprint(sub), await fingerprint(asStandard));
});
