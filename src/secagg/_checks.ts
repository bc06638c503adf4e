/**
 * Checks of the round fields that masks and signatures both bind to.
 * Values from the network may be anything, so each check names the field
 * and never echoes more than a short, single-line rendering of the value.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";

/** Longest context (e.g. a key fingerprint) accepted, in characters. */
export const MAX_CONTEXT_LENGTH = 1024;

/**
 * A short, one-line rendering of an untrusted value for an error message.
 *
 * @param value Anything.
 * @returns At most about 40 characters, JSON-quoted.
 *
 * @example Usage
 * ```ts
 * import { show } from "./_checks.ts";
 * show("a\nb"); // "\"a\\nb\""
 * show(Number.NaN); // "NaN"
 * ```
 */
export function show(value: unknown): string {
  const s = typeof value === "number" || typeof value === "bigint"
    ? String(value)
    : JSON.stringify(value) ?? String(value);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/**
 * Refuses a context that is not a non-empty string of at most
 * {@linkcode MAX_CONTEXT_LENGTH} characters.
 *
 * @param where Names the caller in the message, e.g. `mask`.
 * @param context The value.
 * @throws {FlheError} `protocol` naming the field.
 *
 * @example Usage
 * ```ts
 * import { checkContext } from "./_checks.ts";
 * checkContext("mask", "ab".repeat(32));
 * ```
 */
export function checkContext(where: string, context: unknown): asserts context is string {
  if (
    typeof context !== "string" || context.length === 0 || context.length > MAX_CONTEXT_LENGTH
  ) {
    throw new FlheError(
      "protocol",
      `${where}: context is not a string of 1 to ${MAX_CONTEXT_LENGTH} characters`,
    );
  }
}

/**
 * Refuses a value that is not a safe integer in `[min, 2^53 - 1]`.
 *
 * @param where Names the caller in the message.
 * @param field The field name, e.g. `round`.
 * @param value The value.
 * @param min Smallest allowed.
 * @param code Error code to use (default `protocol`).
 * @throws {FlheError} naming the field and value.
 *
 * @example Usage
 * ```ts
 * import { checkInteger } from "./_checks.ts";
 * checkInteger("mask", "round", 3, 0);
 * ```
 */
export function checkInteger(
  where: string,
  field: string,
  value: unknown,
  min: number,
  code: "protocol" | "usage" = "protocol",
): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new FlheError(
      code,
      `${where}: ${field} is ${show(value)}, not an integer in [${min}, 2^53 - 1]`,
    );
  }
}
