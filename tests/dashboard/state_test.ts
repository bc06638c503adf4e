import assert from "node:assert/strict";
import {
  cleanText,
  createDashboardState,
  rowOf,
  snapshotOfHistory,
} from "../../src/dashboard/state.ts";
import {
  assertNoSecrets,
  CLIENT_TOKEN,
  failedRecord,
  FEDERATION,
  FINGERPRINT,
  okRecord,
  recoveredRecord,
  regressionRecord,
} from "./fixtures.ts";

Deno.test("dashboard state: built from client, phase and round events", () => {
  let clock = 1000;
  const state = createDashboardState(FEDERATION, { now: () => clock });
  assert.deepEqual(state.snapshot(), {
    federation: FEDERATION,
    phase: null,
    clients: [],
    rounds: [],
  });
  state.apply({ type: "client", id: "client-1", activity: "connected" });
  state.apply({ type: "client", id: "client-2", activity: "connected" });
  clock = 2000;
  const update = state.apply({ type: "client", id: "client-1", activity: "training" });
  assert.deepEqual(update, {
    type: "client",
    client: { id: "client-1", activity: "training", since: 2000 },
  });
  state.apply({ type: "phase", round: 1, phase: "training" });
  assert.deepEqual(state.snapshot().phase, { round: 1, phase: "training", since: 2000 });
  const round = state.apply({ type: "round", record: okRecord(1) });
  assert.equal(round?.type, "round");
  const s = state.snapshot();
  assert.deepEqual(s.clients.map((c) => [c.id, c.activity]), [
    ["client-1", "training"],
    ["client-2", "connected"],
  ]);
  assert.deepEqual(s.phase, { round: 1, phase: "closed", since: 2000 });
  assert.equal(s.rounds.length, 1);
  assert.deepEqual(s.rounds[0], {
    round: 1,
    status: "ok",
    clients: 2,
    failures: [],
    accuracy: 0.6,
    loss: 1,
    mae: null,
    epsilon: null,
    seconds: okRecord(1).seconds,
    bytesIn: 1_054_159,
    bytesOut: 494_408,
    uploadBytesPerClient: 526_592,
  });
  assert.equal(s.federation?.fingerprint, FINGERPRINT);
});

Deno.test("dashboard state: failed and recovered rounds are rows marked as such", () => {
  const s = snapshotOfHistory([okRecord(1), failedRecord(2), recoveredRecord(3)], FEDERATION);
  assert.deepEqual(s.rounds.map((r) => r.status), ["ok", "failed", "recovered"]);
  const failed = s.rounds[1]!;
  assert.equal(failed.accuracy, null);
  assert.equal(failed.loss, null);
  assert.match(failed.reason!, /^no update from client-2 \(sent 9f9f9f9f…\)$/);
  assert.deepEqual(failed.failures, [{
    client: "client-2",
    reason: "bad token 5a5a5a5a… second line",
  }]);
  assert.equal(s.rounds[2]!.clients, 0);
});

Deno.test("dashboard state: its JSON never holds a ciphertext or a token", () => {
  const state = createDashboardState(FEDERATION);
  const updates = [
    state.apply({ type: "client", id: "client-1", activity: "uploading" }),
    state.apply({ type: "round", record: failedRecord(1) }),
    state.apply({ type: "round", record: okRecord(2) }),
  ];
  const json = JSON.stringify([state.snapshot(), ...updates]);
  assertNoSecrets(json);
  assert.ok(json.includes(FINGERPRINT), "the fingerprint is shown");
  // Only the whitelisted fields of a record are copied.
  const sneaky = { ...okRecord(3), payload: CLIENT_TOKEN, token: CLIENT_TOKEN };
  assertNoSecrets(JSON.stringify(rowOf(sneaky)));
});

Deno.test("dashboard state: bounded by the federation's rounds and clients", () => {
  const state = createDashboardState({ ...FEDERATION, rounds: 3, clients: 2 });
  for (let round = 1; round <= 5; round++) state.apply({ type: "round", record: okRecord(round) });
  assert.deepEqual(state.snapshot().rounds.map((r) => r.round), [3, 4, 5]);
  state.apply({ type: "round", record: okRecord(5, 0.99) });
  assert.equal(state.snapshot().rounds.length, 3, "a repeated round replaces its row");
  for (const id of ["client-1", "client-2", "client-3"]) {
    state.apply({ type: "client", id, activity: "connected" });
  }
  assert.deepEqual(state.snapshot().clients.map((c) => c.id), ["client-1", "client-2"]);
  assert.equal(
    state.apply({ type: "client", id: "x".repeat(65), activity: "connected" }),
    undefined,
  );
  assert.equal(state.apply({ type: "client", id: "a b", activity: "connected" }), undefined);
});

Deno.test("cleanText: no control characters, opaque runs elided, length capped", () => {
  assert.equal(cleanText("a\u0000b\n\tc"), "a b c");
  assert.equal(cleanText(`key ${"A1b2".repeat(20)} end`), "key A1b2A1b2… end");
  assert.equal(cleanText("ab ".repeat(200)).length, 200);
  assert.equal(
    cleanText("short, with a fingerprint-free text"),
    "short, with a fingerprint-free text",
  );
});

Deno.test("dashboard state: a round's worst spent epsilon, where clients train with DP", () => {
  const row = rowOf({ ...okRecord(2), epsilon: 1.25, epsilonByClient: { "client-1": 1.25 } });
  assert.equal(row.epsilon, 1.25);
  assert.equal(rowOf(okRecord(3)).epsilon, null);
});

Deno.test("dashboard state: a regression's rows carry the test MSE (loss) and MAE, no accuracy", () => {
  const s = snapshotOfHistory(
    [regressionRecord(1), failedRecord(2), regressionRecord(4)],
    { ...FEDERATION, task: "regression" },
  );
  assert.deepEqual(s.rounds.map((r) => [r.accuracy, r.loss, r.mae]), [
    [null, 20, 4],
    [null, null, null],
    [null, 5, 2.5],
  ]);
  assert.equal(s.federation?.task, "regression");
});
