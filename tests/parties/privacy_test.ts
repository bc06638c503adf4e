/**
 * Privacy budgets where the data is: a client charges each round's DP-SGD
 * steps on disk before it trains, never trains past its budget (it leaves
 * the federation and says so), and a restart never resets what it spent.
 * Real client processes against a scripted server, and a whole federation
 * that ends with one line when too few clients remain.
 */
import assert from "node:assert/strict";
import {
  type Party,
  QUICK_CLIENT_ARGS,
  readModel,
  smallFederation,
  startParty,
  stopAll,
} from "./harness.ts";
import { restartClient, startClient, trainAll, withFederation } from "./attack_fixture.ts";
import { fitMessage } from "./scripted_server.ts";

const DP = { epsilon: 2, delta: 1e-5, clipNorm: 1 } as const;

async function spent(fed: string, id: string): Promise<{ steps: number; limit: number | null }> {
  const saved = JSON.parse(await Deno.readTextFile(`${fed}/${id}/state/privacy.json`));
  return {
    steps: saved.accountant.history.reduce((n: number, h: { steps: number }) => n + h.steps, 0),
    limit: saved.plan.limit,
  };
}

Deno.test("a client never trains past its privacy budget: it leaves, and a restart does not reset what it spent", async () => {
  await withFederation(2, async (f) => {
    // The noise fits the federation's 2 planned rounds into epsilon 2. A server that makes
    // the client train a third time from the same model gets a leave instead.
    await trainAll(f, 1, 0, ["client-1"]);
    await trainAll(f, 2, 0, ["client-1"]);
    const after2 = await spent(f.fed, "client-1");
    assert.ok(after2.steps > 0);
    const one = f.peers.get("client-1")!;
    one.send(fitMessage(3, 0));
    const leave = await one.expect("leave");
    assert.match(
      leave.reason,
      /privacy budget spent: round 3 would bring epsilon from [\d.]+ to [\d.]+, past this client's budget of 2/,
    );
    assert.deepEqual(
      await spent(f.fed, "client-1"),
      after2,
      "nothing charged for the refused round",
    );
    // Restarted, it has spent the same, and refuses again at once.
    const again = await restartClient(f, "client-1");
    again.send(fitMessage(4, 0));
    assert.match((await again.expect("leave")).reason, /past this client's budget/);
    assert.deepEqual(await spent(f.fed, "client-1"), after2);
  }, { rounds: 2, dp: DP });
});

Deno.test("a second client process on the same bundle stops with one line; the first keeps its budget and goes on", async () => {
  await withFederation(2, async (f) => {
    await trainAll(f, 1, 0, ["client-1"]);
    const before = await spent(f.fed, "client-1");
    // A restarter that starts a new process before the old one died: the two
    // would each charge the budget and the last write would hide the other's.
    const second = startClient(f.fed, "client-1");
    f.parties.push(second);
    const status = await second.done;
    assert.equal(status.code, 1, second.lines.join("\n"));
    const line = second.lines.find((l) =>
      /another client-1 process is using this state folder/.test(l)
    );
    assert.ok(line, second.lines.join("\n"));
    assert.match(line, /client-1\/state: .*stop it first/);
    assert.deepEqual(await spent(f.fed, "client-1"), before);
    // The first goes on: it trains round 2 and charges it.
    await trainAll(f, 2, 0, ["client-1"]);
    assert.ok((await spent(f.fed, "client-1")).steps > before.steps);
  }, { rounds: 2, dp: DP });
});

Deno.test("with a fixed noise multiplier, a client never trains past what the planned rounds spend", async () => {
  await withFederation(2, async (f) => {
    await trainAll(f, 1, 0, ["client-1"]);
    await trainAll(f, 2, 0, ["client-1"]);
    const one = f.peers.get("client-1")!;
    one.send(fitMessage(3, 0));
    const leave = await one.expect("leave");
    assert.match(
      leave.reason,
      /round 3 would bring epsilon from [\d.]+ to [\d.]+, past this client's budget of [\d.]+/,
    );
    const { limit } = await spent(f.fed, "client-1");
    assert.ok(limit !== null && limit > 0 && Number.isFinite(limit), `limit ${limit}`);
    // A plan saved without a limit (as fixed-noise plans once were) gets the same one on restart.
    const file = `${f.fed}/client-1/state/privacy.json`;
    const saved = JSON.parse(await Deno.readTextFile(file));
    await Deno.writeTextFile(
      file,
      JSON.stringify({ ...saved, plan: { ...saved.plan, limit: null } }),
    );
    const again = await restartClient(f, "client-1");
    again.send(fitMessage(4, 0));
    assert.match((await again.expect("leave")).reason, /past this client's budget/);
  }, { rounds: 2, dp: { noiseMultiplier: 1, delta: 1e-5, clipNorm: 1 } });
});

Deno.test("a client that leaves ends a federation with too few clients left, in one line, and everyone exits cleanly", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    await smallFederation(fed, { rounds: 5, dp: { noiseMultiplier: 1, delta: 1e-5, clipNorm: 1 } });
    const owner = startParty("owner", ["owner", "serve", "--bundle", `${fed}/owner`]);
    const server = startParty("server", ["serve", "--bundle", `${fed}/server`, "--linger", "1"]);
    const client = (i: number, extra: string[] = []) =>
      startParty(`client-${i}`, [
        "client",
        "--bundle",
        `${fed}/client-${i}`,
        ...QUICK_CLIENT_ARGS,
        ...extra,
      ]);
    const first = client(1);
    parties.push(owner, server, first, client(2));
    await server.waitFor(/round 1 done/);
    first.child.kill("SIGKILL");
    await first.done;
    // Restarted with a budget of its own below what it already spent: it leaves at once.
    const strict = client(1, ["--dp-epsilon", "0.01"]);
    parties.push(strict);
    for (const p of parties.filter((p) => p !== first)) {
      assert.equal((await p.done).code, 0, `${p.name}:\n${p.lines.join("\n")}`);
    }
    assert.ok(
      strict.lines.some((l) => /leaving the federation: round \d would bring epsilon/.test(l)),
      strict.lines.join("\n") + server.lines.join("\n"),
    );
    const ends = server.lines.filter((l) => /the federation ends before round/.test(l));
    assert.equal(ends.length, 1, server.lines.join("\n"));
    assert.match(
      ends[0]!,
      /1 clients remain, fewer than minClients 2 \(client-1: privacy budget spent/,
    );
    // Round 1's model is everyone's.
    const model = await readModel(`${fed}/owner/state/model-round-1.f32`);
    assert.deepEqual(await readModel(`${fed}/client-2/state/model.f32`), model);
    const history = JSON.parse(await Deno.readTextFile(`${fed}/server/history.json`));
    assert.ok(history[0].epsilon > 0, "round 1 reports the epsilon spent");
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DP in shared-key mode with three clients: every client keeps its own budget, every round reports the worst", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    const budget = 4;
    await smallFederation(fed, {
      mode: "shared-key",
      clients: 3,
      rounds: 2,
      dp: { epsilon: budget, delta: 1e-5, clipNorm: 1 },
    });
    const server = startParty("server", ["serve", "--bundle", `${fed}/server`, "--linger", "1"]);
    parties.push(server);
    for (let i = 1; i <= 3; i++) {
      parties.push(
        startParty(`client-${i}`, [
          "client",
          "--bundle",
          `${fed}/client-${i}`,
          ...QUICK_CLIENT_ARGS,
        ]),
      );
    }
    for (const p of parties) {
      assert.equal((await p.done).code, 0, `${p.name}:\n${p.lines.join("\n")}`);
    }
    const history = JSON.parse(await Deno.readTextFile(`${fed}/server/history.json`));
    assert.equal(history.length, 2);
    for (const round of history) {
      const byClient: Record<string, number> = round.epsilonByClient;
      assert.deepEqual(Object.keys(byClient).sort(), ["client-1", "client-2", "client-3"]);
      assert.equal(round.epsilon, Math.max(...Object.values(byClient)));
      assert.ok(
        round.epsilon > 0 && round.epsilon <= budget,
        `round ${round.round}: ${round.epsilon}`,
      );
    }
    assert.ok(history[1].epsilon > history[0].epsilon, "round 2 spends more");
    // Each client planned its noise for both rounds: it spent close to, and never past, its budget.
    for (let i = 1; i <= 3; i++) {
      const { steps, limit } = await spent(fed, `client-${i}`);
      assert.ok(steps > 0);
      assert.equal(limit, budget);
      assert.ok(history[1].epsilonByClient[`client-${i}`] > budget * 0.9);
    }
    const models = await Promise.all(
      [1, 2, 3].map((i) => readModel(`${fed}/client-${i}/state/model.f32`)),
    );
    assert.deepEqual(models[1], models[0]);
    assert.deepEqual(models[2], models[0]);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a client that has taken part does not start without its privacy.json", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    await smallFederation(fed, { rounds: 3, dp: DP });
    parties.push(
      startParty("owner", ["owner", "serve", "--bundle", `${fed}/owner`]),
      startParty("server", ["serve", "--bundle", `${fed}/server`]),
    );
    const first = startClient(fed, "client-1");
    parties.push(first, startClient(fed, "client-2"));
    await parties[1]!.waitFor(/round 1 done/);
    first.child.kill("SIGKILL");
    await first.done;
    await Deno.remove(`${fed}/client-1/state/privacy.json`);
    const again = startClient(fed, "client-1");
    parties.push(again);
    assert.equal((await again.done).code, 1, again.lines.join("\n"));
    assert.ok(
      again.lines.some((l) =>
        /privacy\.json: missing, but this client has already taken part .*restore the state folder/
          .test(l)
      ),
      again.lines.join("\n"),
    );
    await assert.rejects(Deno.stat(`${fed}/client-1/state/privacy.json`), Deno.errors.NotFound);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});
