/**
 * Token checks: parties store only SHA-256 hashes of the tokens they accept
 * and compare in constant time.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { sha256Hex } from "../federation/bundle.ts";

/**
 * Whether `token` hashes to `expectedSha256`, compared in constant time.
 *
 * @param token The presented token.
 * @param expectedSha256 The stored hash (64 hex digits).
 * @returns `true` if they match.
 *
 * @example Usage
 * ```ts
 * import { tokenMatches } from "./auth.ts";
 * await tokenMatches("secret", "00".repeat(32)); // false
 * ```
 */
export async function tokenMatches(token: string, expectedSha256: string): Promise<boolean> {
  const actual = new TextEncoder().encode(await sha256Hex(new TextEncoder().encode(token)));
  const expected = new TextEncoder().encode(expectedSha256);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
