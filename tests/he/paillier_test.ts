import assert from "node:assert/strict";
import { PrivateKey as RefPrivateKey, PublicKey as RefPublicKey } from "paillier-bigint";
import {
  addCiphertexts,
  checkCiphertext,
  createRandomizerSource,
  decrypt,
  encrypt,
  FlheError,
  generateKeyPair,
  type KeyPair,
  modInv,
  modPow,
  multiplyPlain,
  randomBelow,
} from "./deps.ts";

const keys512: KeyPair = await generateKeyPair(512);

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
