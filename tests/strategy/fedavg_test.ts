import assert from "node:assert/strict";
import { FlheError } from "../../src/util/error.ts";
import {
  createFedAvg,
  type FedAvgOptions,
  type Strategy,
  type Update,
} from "../../src/strategy/mod.ts";

const OPTIONS: FedAvgOptions = {
  minFitClients: 2,
  minAvailableClients: 2,
  maxClientWeight: 100,
  maxTotalWeight: 256,
  allowReannounce: true,
  training: {
    epochs: 1,
    batchSize: 32,
    optimizer: "sgd",
    learningRate: 0.05,
    momentum: 0,
    schedule: "constant",
  },
  seed: 1,
};

function update(round: number, attempt: number, weight: number, values: number[]): Update {
  return {
    round,
    attempt,
    count: values.length,
    weight,
    signature: "",
    payload: new Uint8Array(Float32Array.from(values).buffer),
  };
}

function ready(...ids: [string, number][]) {
  return ids.map(([clientId, weight]) => ({ clientId, weight, trainSeconds: 1 }));
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof FlheError && pattern.test(e.message));
}

Deno.test("configureFit() waits for enough clients and selects them in id order", () => {
  const s: Strategy = createFedAvg(OPTIONS, 2);
  assert.equal(s.configureFit(1, 0, ["client-1"]), null);
  const fit = s.configureFit(1, 0, ["client-10", "client-2", "client-1"])!;
  assert.deepEqual(fit.clients, ["client-1", "client-2", "client-10"]);
  assert.equal(fit.fit.round, 1);
  assert.equal(fit.fit.baseRound, 0);
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

Deno.test("acceptUpdate() refuses an update outside the announced set, attempt or weight", async () => {
  const s = createFedAvg(OPTIONS, 2);
  s.configureFit(1, 0, ["client-1", "client-2", "client-3"]);
  await rejects(s.acceptUpdate("client-1", update(1, 1, 5, [1, 2])), /no set has been announced/);
  s.configureAnnounce(ready(["client-1", 5], ["client-2", 5]));
  await rejects(s.acceptUpdate("client-3", update(1, 1, 5, [1, 2])), /not in the announced set/);
  await rejects(s.acceptUpdate("client-1", update(1, 2, 5, [1, 2])), /attempt 2/);
  await rejects(s.acceptUpdate("client-1", update(2, 1, 5, [1, 2])), /round 2/);
  await rejects(
    s.acceptUpdate("client-1", update(1, 1, 6, [1, 2])),
    /differs from the announced 5/,
  );
  await rejects(s.acceptUpdate("client-1", update(1, 1, 5, [1, NaN])), /\[1\] is not finite/);
  await s.acceptUpdate("client-1", update(1, 1, 5, [1, 2]));
  await rejects(s.acceptUpdate("client-1", update(1, 1, 5, [1, 2])), /already sent/);
  assert.deepEqual(s.missing(), ["client-2"]);
  assert.equal(await s.aggregateFit(), null);
});

Deno.test("aggregateFit() sums exactly the announced set's updates", async () => {
  const s = createFedAvg(OPTIONS, 2);
  s.configureFit(1, 0, ["client-1", "client-2"]);
  s.configureAnnounce(ready(["client-1", 3], ["client-2", 1]));
  await s.acceptUpdate("client-2", update(1, 1, 1, [0.5, 1]));
  await s.acceptUpdate("client-1", update(1, 1, 3, [1, 2]));
  const aggregate = (await s.aggregateFit())!;
  // Packing weights: 3 and 1 scaled into 256 - 2.
  assert.equal(aggregate.totalWeight, 190 + 63);
  assert.deepEqual([...new Float32Array(aggregate.payload.buffer)], [1.5, 3]);
  assert.deepEqual(aggregate.contributions.map((c) => c.id), ["client-1", "client-2"]);
});

Deno.test("reannounce() keeps the members that uploaded, once, only where allowed", async () => {
  const s = createFedAvg(OPTIONS, 2);
  s.configureFit(1, 0, ["client-1", "client-2", "client-3"]);
  s.configureAnnounce(ready(["client-1", 1], ["client-2", 1], ["client-3", 1]));
  await s.acceptUpdate("client-1", update(1, 1, 1, [1, 1]));
  await s.acceptUpdate("client-3", update(1, 1, 1, [1, 1]));
  s.fail({ clientId: "client-2", reason: "gone" });
  const again = s.reannounce()!;
  assert.equal(again.attempt, 2);
  assert.deepEqual(again.set.map((m) => m.id), ["client-1", "client-3"]);
  assert.deepEqual(s.missing(), ["client-1", "client-3"], "everyone masks afresh");
  assert.equal(s.reannounce(), null, "only once");
  const strict = createFedAvg({ ...OPTIONS, allowReannounce: false }, 2);
  strict.configureFit(1, 0, ["client-1", "client-2"]);
  strict.configureAnnounce(ready(["client-1", 1], ["client-2", 1]));
  assert.equal(strict.reannounce(), null);
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
  });
  const e = s.aggregateEvaluate([report(1, 1), report(0.5, 3)]);
  assert.equal(e.accuracy, 0.625);
  assert.ok(Number.isNaN(s.aggregateEvaluate([]).accuracy));
});
