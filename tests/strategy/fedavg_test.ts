import assert from "node:assert/strict";
import { FlheError } from "../../src/util/error.ts";
import {
  createFedAvg,
  type FedAvgOptions,
  type Ready,
  type SetMember,
  type Strategy,
  type Update,
} from "../../src/strategy/mod.ts";

const OPTIONS: FedAvgOptions = {
  minFitClients: 2,
  minAvailableClients: 2,
  maxClientWeight: 100,
  maxTotalWeight: 256,
};

/** SHA-256 (hex) of a base model, as a member states it. */
const BASE = "ab".repeat(32);

function update(round: number, weight: number, values: number[], base = BASE): Update {
  return {
    round,
    base,
    count: values.length,
    weight,
    signature: "",
    payload: new Uint8Array(Float32Array.from(values).buffer),
  };
}

/** Clients ready and bound to no set yet. */
function ready(...ids: [string, number][]): Ready[] {
  return ids.map(([clientId, weight]) => ({ clientId, weight, trainSeconds: 1, contributed: [] }));
}

/** A client ready that already contributed from this base model to `contributed`. */
function bound(clientId: string, weight: number, contributed: SetMember[]): Ready {
  return { clientId, weight, trainSeconds: 1, contributed };
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof FlheError && pattern.test(e.message));
}

Deno.test("configureFit() waits for enough clients and selects them in id order", () => {
  const s: Strategy = createFedAvg(OPTIONS, 2);
  assert.equal(s.configureFit(1, 0, ["client-1"]), null);
  const fit = s.configureFit(1, 0, ["client-10", "client-2", "client-1"])!;
  assert.deepEqual(fit.clients, ["client-1", "client-2", "client-10"]);
  // Protocol v3: only which round and from which model, no training settings.
  assert.deepEqual(fit.fit, { round: 1, baseRound: 0 });
});

Deno.test("configureAnnounce() drops a client over its weight cap and refuses too small a set", () => {
  const s = createFedAvg(OPTIONS, 2);
  s.configureFit(1, 0, ["client-1", "client-2", "client-3"]);
  const a = s.configureAnnounce(ready(["client-3", 10], ["client-1", 50], ["client-2", 101]))!;
  assert.deepEqual(a.set, [{ id: "client-1", weight: 50 }, { id: "client-3", weight: 10 }]);
  assert.match(s.failures[0]!.reason, /weight 101 exceeds the cap 100/);
  s.configureFit(2, 0, ["client-1", "client-2"]);
  assert.equal(s.configureAnnounce(ready(["client-1", 50])), null);
});

Deno.test("acceptUpdate() refuses an update outside the announced set, round, weight or base model", async () => {
  const s = createFedAvg(OPTIONS, 2);
  s.configureFit(1, 0, ["client-1", "client-2", "client-3"]);
  await rejects(s.acceptUpdate("client-1", update(1, 5, [1, 2])), /no set has been announced/);
  s.configureAnnounce(ready(["client-1", 5], ["client-2", 5]));
  await rejects(s.acceptUpdate("client-3", update(1, 5, [1, 2])), /not in the announced set/);
  await rejects(
    s.acceptUpdate("client-1", update(2, 5, [1, 2])),
    /update for round 2, but round 1 is open/,
  );
  await rejects(
    s.acceptUpdate("client-1", update(1, 6, [1, 2])),
    /differs from the announced 5/,
  );
  await rejects(s.acceptUpdate("client-1", update(1, 5, [1, 2, 3])), /count 3, expected 2/);
  await rejects(s.acceptUpdate("client-1", update(1, 5, [1, NaN])), /\[1\] is not finite/);
  await s.acceptUpdate("client-1", update(1, 5, [1, 2]));
  await rejects(s.acceptUpdate("client-1", update(1, 5, [1, 2])), /already sent/);
  await rejects(
    s.acceptUpdate("client-2", update(1, 5, [1, 2], "cd".repeat(32))),
    /client-2 trained from another model than the set's other members/,
  );
  assert.deepEqual(s.missing(), ["client-2"]);
  assert.equal(await s.aggregateFit(), null);
});

Deno.test("aggregateFit() sums exactly the announced set's updates", async () => {
  const s = createFedAvg(OPTIONS, 2);
  s.configureFit(1, 0, ["client-1", "client-2"]);
  s.configureAnnounce(ready(["client-1", 3], ["client-2", 1]));
  await s.acceptUpdate("client-2", update(1, 1, [0.5, 1]));
  await s.acceptUpdate("client-1", update(1, 3, [1, 2]));
  const aggregate = (await s.aggregateFit())!;
  // Packing weights: 3 and 1 scaled into 256 - 2.
  assert.equal(aggregate.totalWeight, 190 + 63);
  assert.deepEqual([...new Float32Array(aggregate.payload.buffer)], [1.5, 3]);
  assert.deepEqual(aggregate.contributions.map((c) => c.id), ["client-1", "client-2"]);
});

/** A round's set, sorted by id. */
const SET: SetMember[] = [
  { id: "client-1", weight: 3 },
  { id: "client-2", weight: 1 },
  { id: "client-3", weight: 2 },
];

Deno.test("configureAnnounce() announces again the set ready clients are bound to, once all its members are ready", async () => {
  const s = createFedAvg(OPTIONS, 2);
  const all = ["client-1", "client-2", "client-3", "client-4"];
  s.configureFit(1, 0, all);
  const first = s.configureAnnounce(ready(["client-1", 3], ["client-2", 1], ["client-3", 2]))!;
  assert.deepEqual(first, { round: 1, baseRound: 0, set: SET });
  await s.acceptUpdate("client-1", update(1, 3, [1, 1]));
  await s.acceptUpdate("client-3", update(1, 2, [1, 1]));
  s.fail({ clientId: "client-2", reason: "gone" });
  assert.equal(await s.aggregateFit(), null);
  // client-2 broke a set that others are bound to: it is needed to complete it, not benched.
  const fit = s.configureFit(2, 0, all)!;
  assert.deepEqual(fit.clients, all);
  const again = s.configureAnnounce([
    bound("client-3", 2, SET),
    ...ready(["client-4", 5], ["client-2", 1]),
    bound("client-1", 3, SET),
  ])!;
  // The same set and weights (the newcomer client-4 waits), for the new round.
  assert.deepEqual(again, { round: 2, baseRound: 0, set: SET });
  assert.deepEqual(s.failures, []);
  assert.deepEqual(s.missing(), ["client-1", "client-2", "client-3"]);
});

Deno.test("configureAnnounce() leaves out the clients bound to a set that cannot be completed", () => {
  const all = ["client-1", "client-2", "client-3", "client-4", "client-5"];
  const cases: [string, Ready[], string[]][] = [
    [
      "a member is not ready",
      [
        bound("client-1", 3, SET),
        bound("client-3", 2, SET),
        ...ready(["client-4", 1], ["client-5", 1]),
      ],
      ["client-4", "client-5"],
    ],
    [
      "a member is ready with another weight",
      [
        bound("client-1", 3, SET),
        ...ready(["client-2", 2], ["client-4", 1]),
        bound("client-3", 2, SET),
      ],
      ["client-2", "client-4"],
    ],
    [
      "a bound member is ready with another weight",
      [
        bound("client-1", 4, SET),
        ...ready(["client-2", 1], ["client-4", 1]),
        bound("client-3", 2, SET),
      ],
      ["client-2", "client-4"],
    ],
    [
      "a member is bound to another set",
      [
        bound("client-1", 3, SET),
        bound("client-2", 1, [{ id: "client-2", weight: 1 }, { id: "client-6", weight: 1 }]),
        bound("client-3", 2, SET),
        ...ready(["client-4", 1], ["client-5", 1]),
      ],
      ["client-4", "client-5"],
    ],
  ];
  for (const [what, readyClients, expected] of cases) {
    const s = createFedAvg(OPTIONS, 2);
    s.configureFit(2, 0, all);
    const a = s.configureAnnounce(readyClients);
    assert.deepEqual(a?.set.map((m) => m.id), expected, what);
    const left = readyClients.filter((r) => r.contributed.length > 0);
    assert.deepEqual(s.failures.map((f) => f.clientId), left.map((r) => r.clientId), what);
    for (const f of s.failures) {
      const named = left.find((r) => r.clientId === f.clientId)!.contributed.map((m) => m.id);
      assert.match(f.reason, new RegExp(`to ${named.join(", ")} already`), what);
      assert.match(f.reason, /that set is not complete/, what);
    }
  }
  // Without enough unbound clients, there is no set this round.
  const s = createFedAvg(OPTIONS, 2);
  s.configureFit(2, 0, all);
  assert.equal(
    s.configureAnnounce([
      bound("client-1", 3, SET),
      bound("client-3", 2, SET),
      ...ready(["client-4", 1]),
    ]),
    null,
  );
  assert.equal(s.failures.length, 2);
});

Deno.test("configureFit() benches a client that broke the last round while others suffice", () => {
  const s = createFedAvg(OPTIONS, 2);
  const all = ["client-1", "client-2", "client-3"];
  s.configureFit(1, 0, all);
  s.configureAnnounce(ready(["client-1", 1], ["client-2", 1], ["client-3", 1]));
  s.fail({ clientId: "client-2", reason: "bad update" });
  assert.deepEqual(s.configureFit(2, 0, all)!.clients, ["client-1", "client-3"]);
  // Back in the round after, and never benched below the minimum.
  assert.deepEqual(s.configureFit(3, 0, all)!.clients, all);
  s.configureAnnounce(ready(["client-1", 1], ["client-2", 1], ["client-3", 1]));
  s.fail({ clientId: "client-1", reason: "x" });
  s.fail({ clientId: "client-3", reason: "y" });
  assert.deepEqual(s.configureFit(4, 0, all)!.clients, all);
});

Deno.test("aggregateEvaluate() weights by test examples", () => {
  const s = createFedAvg(OPTIONS, 2);
  const report = (accuracy: number, examples: number) => ({
    loss: 1 - accuracy,
    accuracy,
    examples,
    mae: NaN,
  });
  const e = s.aggregateEvaluate([report(1, 1), report(0.5, 3)]);
  assert.equal(e.accuracy, 0.625);
  assert.ok(Number.isNaN(e.mae), "a classifier's evaluation has no MAE");
  assert.ok(Number.isNaN(s.aggregateEvaluate([]).accuracy));
});

Deno.test("aggregateEvaluate() weights a regression's MSE and MAE by test examples", () => {
  const s = createFedAvg(OPTIONS, 2);
  const report = (loss: number, mae: number, examples: number) => ({
    loss,
    accuracy: NaN,
    examples,
    mae,
  });
  const e = s.aggregateEvaluate([report(4, 2, 10), report(8, 3, 30)]);
  assert.equal(e.loss, 7);
  assert.equal(e.mae, 2.75);
  assert.ok(Number.isNaN(e.accuracy), "a regression's evaluation has no accuracy");
  assert.ok(Number.isNaN(s.aggregateEvaluate([]).mae));
});
