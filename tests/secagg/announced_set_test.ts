import assert from "node:assert/strict";
import { canonicalSet, CLIENT_ID_PATTERN, compareClientIds, type SetMember } from "./deps.ts";
import { assertFlheError } from "./helpers.ts";

Deno.test("compareClientIds() orders by number, so client-2 comes before client-10", () => {
  const ids = ["client-10", "client-2", "client-100", "client-1", "client-02", "client-9"];
  assert.deepEqual(ids.sort(compareClientIds), [
    "client-1",
    "client-02",
    "client-2",
    "client-9",
    "client-10",
    "client-100",
  ]);
  assert.equal(compareClientIds("client-3", "client-3"), 0);
  assert.ok(compareClientIds("client-2", "client-10") < 0);
  assert.ok(compareClientIds("client-10", "client-2") > 0);
  assert.ok(CLIENT_ID_PATTERN.test("client-99999"));
  assert.ok(!CLIENT_ID_PATTERN.test("client-100000"));
});

Deno.test("canonicalSet() sorts a copy and freezes it", () => {
  const set: SetMember[] = [{ id: "client-10", weight: 1 }, { id: "client-2", weight: 5 }];
  const sorted = canonicalSet("test", set);
  assert.deepEqual(sorted, [{ id: "client-2", weight: 5 }, { id: "client-10", weight: 1 }]);
  assert.equal(set[0]!.id, "client-10");
  assert.ok(Object.isFrozen(sorted) && Object.isFrozen(sorted[0]));
});

Deno.test("canonicalSet() refuses malformed members, naming them", async () => {
  const cases: [unknown, RegExp][] = [
    ["client-1", /test: the set is not a list/],
    [[null], /set member 0 has id undefined/],
    [[{ id: "client-1\nx", weight: 1 }], /set member 0 has id "client-1\\nx"/],
    [[{ id: "client-1", weight: 0 }], /weight of client-1 is 0/],
    [[{ id: "client-1", weight: "3" }], /weight of client-1 is "3"/],
    [[{ id: "client-1", weight: 2 ** 53 }], /weight of client-1 is 9007199254740992/],
    [[{ id: "client-1", weight: 1 }, { id: "client-1", weight: 2 }], /lists client-1 twice/],
    [Array.from({ length: 10_001 }, (_, i) => ({ id: `client-${i}`, weight: 1 })), /10001 members/],
  ];
  for (const [set, pattern] of cases) {
    await assertFlheError(() => canonicalSet("test", set as SetMember[]), "protocol", pattern);
  }
});
