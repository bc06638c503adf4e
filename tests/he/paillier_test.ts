import assert from "node:assert/strict";
import { PrivateKey as RefPrivateKey, PublicKey as RefPublicKey } from "paillier-bigint";
import {
  addCiphertexts,
  checkCiphertext,
  createRandomizerSource,
  decrypt,
  encrypt,
  FlheError,
  gcd,
  generateKeyPair,
  type KeyPair,
  modInv,
  modPow,
  PublicKey,
  randomBelow,
  SecretKey,
} from "./deps.ts";
import { multiplyPlain } from "./helpers.ts";

const keys512: KeyPair = await generateKeyPair(512);
const subgroup512: KeyPair = await generateKeyPair(512, { kind: "subgroup" });

function reference(kp: KeyPair): { pub: RefPublicKey; priv: RefPrivateKey } {
  const { n } = kp.publicKey;
  const { p, q } = kp.secretKey;
  const pub = new RefPublicKey(n, n + 1n);
  const lambda = (p - 1n) * (q - 1n);
  // For g = n + 1, mu = lambda^-1 mod n.
  return { pub, priv: new RefPrivateKey(lambda, modInv(lambda, n), pub, p, q) };
}

for (const randomness of ["djn", "classic"] as const) {
  Deno.test(`encrypt() with ${randomness} randomness decrypts with paillier-bigint's PrivateKey`, () => {
    const { priv } = reference(keys512);
    const source = createRandomizerSource(keys512.publicKey, randomness);
    for (let i = 0; i < 20; i++) {
      const m = randomBelow(keys512.publicKey.n);
      const c = encrypt(keys512.publicKey, m, source.next());
      assert.equal(priv.decrypt(c), m);
    }
  });
}

Deno.test("decrypt() decrypts paillier-bigint's ciphertexts", () => {
  const { pub } = reference(keys512);
  for (let i = 0; i < 20; i++) {
    const m = randomBelow(keys512.publicKey.n);
    assert.equal(decrypt(keys512.secretKey, pub.encrypt(m)), m);
  }
  assert.equal(decrypt(keys512.secretKey, pub.encrypt(0n)), 0n);
  assert.equal(
    decrypt(keys512.secretKey, pub.encrypt(keys512.publicKey.n - 1n)),
    keys512.publicKey.n - 1n,
  );
});

Deno.test("encrypt() and decrypt() agree with paillier-bigint both ways at 2048 bits", async () => {
  const kp = await generateKeyPair(2048);
  assert.equal(kp.publicKey.keyBits, 2048);
  const { pub, priv } = reference(kp);
  const source = createRandomizerSource(kp.publicKey);
  for (let i = 0; i < 3; i++) {
    const m = randomBelow(kp.publicKey.n);
    assert.equal(priv.decrypt(encrypt(kp.publicKey, m, source.next())), m);
    assert.equal(decrypt(kp.secretKey, pub.encrypt(m)), m);
  }
});

Deno.test("addCiphertexts() and multiplyPlain() are homomorphic", () => {
  const pk = keys512.publicKey;
  const source = createRandomizerSource(pk);
  const a = randomBelow(pk.n / 4n);
  const b = randomBelow(pk.n / 4n);
  const ca = encrypt(pk, a, source.next());
  const cb = encrypt(pk, b, source.next());
  assert.equal(decrypt(keys512.secretKey, addCiphertexts(pk, ca, cb)), a + b);
  assert.equal(decrypt(keys512.secretKey, multiplyPlain(pk, ca, 3n)), 3n * a);
  // Sums wrap mod n.
  const big = encrypt(pk, pk.n - 1n, source.next());
  assert.equal(
    decrypt(keys512.secretKey, addCiphertexts(pk, big, encrypt(pk, 2n, source.next()))),
    1n,
  );
});

Deno.test("encrypt() is randomized", () => {
  const source = createRandomizerSource(keys512.publicKey);
  const c1 = encrypt(keys512.publicKey, 5n, source.next());
  const c2 = encrypt(keys512.publicKey, 5n, source.next());
  assert.notEqual(c1, c2);
});

Deno.test("encrypt() rejects a plaintext outside [0, n)", () => {
  const source = createRandomizerSource(keys512.publicKey);
  assert.throws(() => encrypt(keys512.publicKey, keys512.publicKey.n, source.next()), FlheError);
  assert.throws(() => encrypt(keys512.publicKey, -1n, source.next()), FlheError);
});

Deno.test("checkCiphertext() rejects c outside (0, n^2) and c sharing a factor with n", () => {
  const pk = keys512.publicKey;
  const { p } = keys512.secretKey;
  assert.throws(() => checkCiphertext(pk, 0n, "u[0]"), /u\[0\] is not in \(0, n\^2\)/);
  assert.throws(() => checkCiphertext(pk, pk.n2, "u[1]"), /u\[1\] is not in \(0, n\^2\)/);
  assert.throws(() => checkCiphertext(pk, pk.n2 + 5n, "u[1]"), /not in/);
  assert.throws(() => checkCiphertext(pk, p * 7n, "u[2]"), /u\[2\] shares a factor with n/);
  const good = encrypt(pk, 1n, createRandomizerSource(pk).next());
  checkCiphertext(pk, good, "u[3]");
});

Deno.test("modPow() matches square-and-multiply", () => {
  for (let i = 0; i < 50; i++) {
    const m = randomBelow(1n << 200n) | 1n;
    const b = randomBelow(m + 1n);
    const e = randomBelow(1n << 300n);
    let r = 1n;
    let x = b % m;
    for (let k = e; k > 0n; k >>= 1n) {
      if (k & 1n) r = (r * x) % m;
      x = (x * x) % m;
    }
    assert.equal(modPow(b, e, m), r % m);
  }
  assert.equal(modPow(5n, 0n, 7n), 1n);
  assert.equal(modPow(0n, 5n, 7n), 0n);
});

/** The same primes as a standard key: decryption with the full exponents p - 1 and q - 1. */
function standardSecret(kp: KeyPair): SecretKey {
  const { n, hs } = kp.publicKey;
  return new SecretKey(kp.secretKey.p, kp.secretKey.q, new PublicKey(n, hs));
}

Deno.test("generateKeyPair() makes subgroup keys that paillier-bigint decrypts", () => {
  const { priv } = reference(subgroup512);
  const pk = subgroup512.publicKey;
  assert.equal(pk.kind, "subgroup");
  const source = createRandomizerSource(pk);
  for (let i = 0; i < 20; i++) {
    const m = randomBelow(pk.n);
    assert.equal(priv.decrypt(encrypt(pk, m, source.next())), m);
  }
});

Deno.test("subgroup keys: encrypt() and decrypt() round-trip, also by standard decryption", () => {
  const pk = subgroup512.publicKey;
  const standard = standardSecret(subgroup512);
  const source = createRandomizerSource(pk);
  for (const m of [0n, 1n, pk.n - 1n, ...Array.from({ length: 20 }, () => randomBelow(pk.n))]) {
    const c = encrypt(pk, m, source.next());
    assert.equal(decrypt(subgroup512.secretKey, c), m);
    assert.equal(decrypt(standard, c), m);
  }
});

Deno.test("subgroup keys: decrypt() decrypts paillier-bigint's and classic ciphertexts", () => {
  // Their randomizers r^n are not in the subgroup: decryption falls back to
  // the full exponents and still returns the plaintext.
  const { pub } = reference(subgroup512);
  const pk = subgroup512.publicKey;
  const classic = createRandomizerSource(pk, "classic");
  for (let i = 0; i < 10; i++) {
    const m = randomBelow(pk.n);
    assert.equal(decrypt(subgroup512.secretKey, pub.encrypt(m)), m);
    assert.equal(decrypt(subgroup512.secretKey, encrypt(pk, m, classic.next())), m);
  }
  // A product of in-subgroup and out-of-subgroup ciphertexts decrypts to the sum.
  const djn = createRandomizerSource(pk);
  const sum = addCiphertexts(pk, encrypt(pk, 40n, djn.next()), pub.encrypt(2n));
  assert.equal(decrypt(subgroup512.secretKey, sum), 42n);
});

Deno.test("subgroup keys: decrypt() equals standard decryption on arbitrary units", () => {
  const pk = subgroup512.publicKey;
  const standard = standardSecret(subgroup512);
  for (let i = 0; i < 20; i++) {
    let c: bigint;
    do c = randomBelow(pk.n2); while (gcd(c, pk.n) !== 1n);
    assert.equal(decrypt(subgroup512.secretKey, c), decrypt(standard, c));
  }
  // In the subgroup mod p^2 only: one CRT half is fast, the other falls back.
  const { p2, q2 } = subgroup512.secretKey;
  const honest = encrypt(pk, 12345n, createRandomizerSource(pk).next());
  for (let i = 0; i < 5; i++) {
    let z: bigint;
    do z = randomBelow(pk.n2); while (gcd(z, pk.n) !== 1n);
    const mixed = (z + q2 * ((((honest - z) % p2 + p2) * modInv(q2, p2)) % p2)) % pk.n2;
    assert.equal(mixed % p2, honest % p2);
    assert.equal(decrypt(subgroup512.secretKey, mixed), decrypt(standard, mixed));
  }
});

Deno.test("subgroup keys: addCiphertexts() and multiplyPlain() are homomorphic", () => {
  const pk = subgroup512.publicKey;
  const sk = subgroup512.secretKey;
  const source = createRandomizerSource(pk);
  const a = randomBelow(pk.n / 4n);
  const b = randomBelow(pk.n / 4n);
  const ca = encrypt(pk, a, source.next());
  const cb = encrypt(pk, b, source.next());
  assert.equal(decrypt(sk, addCiphertexts(pk, ca, cb)), a + b);
  assert.equal(decrypt(sk, multiplyPlain(pk, ca, 3n)), 3n * a);
  const big = encrypt(pk, pk.n - 1n, source.next());
  assert.equal(decrypt(sk, addCiphertexts(pk, big, encrypt(pk, 2n, source.next()))), 1n);
  // A long sum stays inside the subgroup and decrypts fast and right.
  let acc = encrypt(pk, 0n, source.next());
  for (let i = 1n; i <= 50n; i++) acc = addCiphertexts(pk, acc, encrypt(pk, i, source.next()));
  assert.equal(decrypt(sk, acc), 1275n);
});

Deno.test("subgroup keys: randomizers are hs^r with l-bit r, of order dividing 2 p0 q0", () => {
  const pk = subgroup512.publicKey;
  const sk = subgroup512.secretKey;
  assert.equal(pk.randomExponentBits, 112);
  assert.equal(pk.randomExponentBytes, 14);
  const order = 2n * sk.p0! * sk.q0!;
  const source = createRandomizerSource(pk);
  const seen = new Set<bigint>();
  for (let i = 0; i < 10; i++) {
    const r = source.next();
    assert.equal(modPow(r, order, pk.n2), 1n);
    seen.add(r);
  }
  assert.equal(seen.size, 10);
  assert.equal(sk.exponentP, 2n * sk.p0!);
  assert.equal(sk.exponentQ, 2n * sk.q0!);
});

Deno.test("subgroup keys agree with paillier-bigint both ways at 2048 bits, made in seconds", async () => {
  const start = performance.now();
  const kp = await generateKeyPair(2048, { kind: "subgroup" });
  const seconds = (performance.now() - start) / 1000;
  assert.ok(seconds < 60, `subgroup key generation took ${seconds.toFixed(1)} s`);
  const { publicKey: pk, secretKey: sk } = kp;
  assert.equal(pk.keyBits, 2048);
  assert.equal(pk.randomExponentBits, 448);
  assert.equal(sk.p0!.toString(2).length, 224);
  assert.equal(sk.q0!.toString(2).length, 224);
  assert.equal(sk.p.toString(2).length, 1024);
  assert.equal(sk.exponentP.toString(2).length, 225);
  const { pub, priv } = reference(kp);
  const source = createRandomizerSource(pk);
  for (let i = 0; i < 3; i++) {
    const m = randomBelow(pk.n);
    const c = encrypt(pk, m, source.next());
    assert.equal(priv.decrypt(c), m);
    assert.equal(decrypt(sk, c), m);
    assert.equal(decrypt(standardSecret(kp), c), m);
    assert.equal(decrypt(sk, pub.encrypt(m)), m);
  }
});
