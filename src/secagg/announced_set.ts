/**
 * The announced set `U` of a round: the clients that contribute, with their
 * weights. Masks and signatures bind to it in one canonical order, so the
 * order in which the server lists the members does not matter, while any
 * other difference (a member, a weight) does.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { checkInteger, show } from "./_checks.ts";

/**
 * What a client id looks like: `client-` and up to five digits.
 *
 * @example Usage
 * ```ts
 * import { CLIENT_ID_PATTERN } from "./announced_set.ts";
 * CLIENT_ID_PATTERN.test("client-12"); // true
 * ```
 */
export const CLIENT_ID_PATTERN: RegExp = /^client-\d{1,5}$/;

/**
 * Largest announced set accepted: bounds the work a peer can ask for.
 *
 * @example Usage
 * ```ts
 * import { MAX_SET_SIZE } from "./announced_set.ts";
 * MAX_SET_SIZE; // 10000
 * ```
 */
export const MAX_SET_SIZE = 10_000;

/**
 * One member of an announced set.
 *
 * @example Usage
 * ```ts
 * import type { SetMember } from "./announced_set.ts";
 * const member: SetMember = { id: "client-1", weight: 600 };
 * ```
 */
export interface SetMember {
  /** Client id, matching {@linkcode CLIENT_ID_PATTERN}. */
  readonly id: string;
  /** The client's integer weight (e.g. its example count), at least 1. */
  readonly weight: number;
}

/**
 * Orders client ids by their number, so that `client-2` comes before
 * `client-10`; ids with the same number (`client-2`, `client-02`) are
 * ordered as strings, so the order is total and every party computes the
 * same mask signs.
 *
 * @param a A client id.
 * @param b Another client id.
 * @returns Negative if `a` comes first, positive if `b` does, 0 if equal.
 *
 * @example Usage
 * ```ts
 * import { compareClientIds } from "./announced_set.ts";
 * compareClientIds("client-2", "client-10") < 0; // true
 * ```
 */
export function compareClientIds(a: string, b: string): number {
  const byNumber = Number(a.slice(7)) - Number(b.slice(7));
  if (byNumber !== 0) return byNumber;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Checks an announced set and returns it in canonical order.
 *
 * @param where Names the caller in error messages, e.g. `mask`.
 * @param set The members as announced.
 * @returns A frozen copy, sorted with {@linkcode compareClientIds}.
 * @throws {FlheError} `protocol` naming the member: not a list, more than
 *   {@linkcode MAX_SET_SIZE} members, a malformed id, a weight that is not an
 *   integer >= 1, or an id listed twice.
 *
 * @example Usage
 * ```ts
 * import { canonicalSet } from "./announced_set.ts";
 * canonicalSet("mask", [{ id: "client-10", weight: 5 }, { id: "client-2", weight: 7 }]);
 * // [{ id: "client-2", weight: 7 }, { id: "client-10", weight: 5 }]
 * ```
 */
export function canonicalSet(where: string, set: readonly SetMember[]): readonly SetMember[] {
  if (!Array.isArray(set)) throw new FlheError("protocol", `${where}: the set is not a list`);
  if (set.length > MAX_SET_SIZE) {
    throw new FlheError(
      "protocol",
      `${where}: the set has ${set.length} members, more than ${MAX_SET_SIZE}`,
    );
  }
  const members = set.map((m: unknown, i): SetMember => {
    const { id, weight } = (typeof m === "object" && m !== null ? m : {}) as Record<
      string,
      unknown
    >;
    if (typeof id !== "string" || !CLIENT_ID_PATTERN.test(id)) {
      throw new FlheError(
        "protocol",
        `${where}: set member ${i} has id ${show(id)}, not matching ${CLIENT_ID_PATTERN}`,
      );
    }
    checkInteger(where, `weight of ${id}`, weight, 1);
    return Object.freeze({ id, weight });
  });
  members.sort((a, b) => compareClientIds(a.id, b.id));
  for (let i = 1; i < members.length; i++) {
    if (members[i]!.id === members[i - 1]!.id) {
      throw new FlheError("protocol", `${where}: the set lists ${members[i]!.id} twice`);
    }
  }
  return Object.freeze(members);
}
