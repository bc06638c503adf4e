/**
 * Shared fixtures of the secagg tests: real keys (no mocks), random moduli
 * and conversions between fixed-width bytes and bigints.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type ClientPublicKeys,
  type ClientSecretKeys,
  exportClientPublicKeys,
  FlheError,
  generateClientKeys,
  pairSecrets,
} from "./deps.ts";

/** One client of a test federation. */
export interface TestClient {
  readonly keys: ClientSecretKeys;
  readonly pairKeys: Map<string, CryptoKey>;
}

/** A test federation: every client's keys and pair keys, and the public directory. */
export interface TestFederation {
  readonly clients: readonly TestClient[];
  readonly directory: readonly ClientPublicKeys[];
}

/**
 * Generates keys for the given ids and derives every client's pair keys.
 *
 * @param ids Client ids.
 * @returns The federation.
 */
export async function federation(ids: readonly string[]): Promise<TestFederation> {
  const keys = await Promise.all(ids.map((id) => generateClientKeys(id)));
  const directory = await Promise.all(keys.map(exportClientPublicKeys));
  const clients = await Promise.all(
    keys.map(async (k) => ({ keys: k, pairKeys: await pairSecrets(k, directory) })),
  );
  return { clients, directory };
}

/**
 * A random odd modulus of exactly `bits` bits (not necessarily a valid
 * Paillier modulus: masks only need the modulus).
 *
 * @param bits Bit length, at least 2.
 * @returns The modulus.
 */
export function randomModulus(bits: number): bigint {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(bits / 8)));
  let n = toBigint(bytes);
  n &= (1n << BigInt(bits)) - 1n;
  return n | (1n << BigInt(bits - 1)) | 1n;
}

/**
 * A uniform random bigint in `[0, modulus)` (rejection sampling).
 *
 * @param modulus Upper bound.
 * @returns The value.
 */
export function randomBelow(modulus: bigint): bigint {
  const bits = modulus.toString(2).length;
  for (;;) {
    const v = toBigint(crypto.getRandomValues(new Uint8Array(Math.ceil(bits / 8)))) &
      ((1n << BigInt(bits)) - 1n);
    if (v < modulus) return v;
  }
}

/**
 * Big-endian bytes as a bigint.
 *
 * @param bytes The bytes.
 * @returns The value.
 */
export function toBigint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/**
 * Splits fixed-width big-endian values.
 *
 * @param bytes The values.
 * @param width Bytes per value.
 * @returns One bigint per value.
 */
export function values(bytes: Uint8Array, width: number): bigint[] {
  assert.equal(bytes.length % width, 0);
  const out: bigint[] = [];
  for (let i = 0; i < bytes.length; i += width) out.push(toBigint(bytes.subarray(i, i + width)));
  return out;
}

/**
 * Joins bigints into fixed-width big-endian values.
 *
 * @param list The values, each below `256 ** width`.
 * @param width Bytes per value.
 * @returns The bytes.
 */
export function fromValues(list: readonly bigint[], width: number): Uint8Array {
  const out = new Uint8Array(list.length * width);
  list.forEach((v, i) => {
    for (let j = width - 1; j >= 0; j--) {
      out[i * width + j] = Number(v & 255n);
      v >>= 8n;
    }
    assert.equal(v, 0n);
  });
  return out;
}

/**
 * Pearson's chi-square statistic of `list` spread over 16 equal buckets of
 * `[0, modulus)`. With 15 degrees of freedom, 50 is exceeded by uniform data
 * with probability about 1e-5.
 *
 * @param list Values below `modulus`.
 * @param modulus The range.
 * @returns The statistic.
 */
export function chiSquare16(list: readonly bigint[], modulus: bigint): number {
  const counts = new Array<number>(16).fill(0);
  for (const v of list) counts[Number((v * 16n) / modulus)]!++;
  const expected = list.length / 16;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

/**
 * Asserts that `fn` rejects with a {@linkcode FlheError} of `code` whose
 * message matches `pattern`.
 *
 * @param fn The call.
 * @param code Expected code.
 * @param pattern Expected message.
 */
export async function assertFlheError(
  fn: () => unknown,
  code: FlheError["code"],
  pattern: RegExp,
): Promise<void> {
  await assert.rejects(async () => await fn(), (e: unknown) => {
    assert.ok(e instanceof FlheError, `not a FlheError: ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), "message is one line");
    return true;
  });
}

/**
 * Runs `fn` with a fresh temporary directory, removed afterwards.
 *
 * @param fn The test body.
 */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
