import assert from "node:assert/strict";
import { isProbablyPrime } from "bigint-crypto-utils";
import { randomPrime } from "../../src/he/prime.ts";
import { bitLength } from "../../src/he/modular.ts";

Deno.test("randomPrime() finds a prime on a one-core host", async () => {
  // bigint-crypto-utils' prime() starts cores - 1 workers: zero here, and never settles.
  const p = await randomPrime(256, 1);
  assert.equal(bitLength(p), 256);
  assert.ok(await isProbablyPrime(p, 16, true));
});

Deno.test("randomPrime() finds a prime where the core count is unknown (0)", async () => {
  const p = await randomPrime(128, 0);
  assert.equal(bitLength(p), 128);
  assert.ok(await isProbablyPrime(p, 16, true));
});

Deno.test("randomPrime() uses the worker search on several cores", async () => {
  const [p, q] = await Promise.all([randomPrime(256, 2), randomPrime(256, 2)]);
  assert.notEqual(p, q);
  assert.ok(await isProbablyPrime(p, 16, true));
});
