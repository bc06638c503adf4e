/**
 * Faults between real processes: a client killed while its update is on the
 * wire, the server killed and restarted from its checkpoint, the owner
 * service late.
 */

import assert from "node:assert/strict";
import type { RoundRecord } from "../../src/rounds/mod.ts";
import { type Party, readModel, smallFederation, startParty, stopAll } from "./harness.ts";

const LIMITS = ["--train-limit", "200", "--test-limit", "200", "--workers", "1"];

function owner(fed: string, name = "owner", extra: string[] = []): Party {
  return startParty(name, [
    "owner",
    "serve",
    "--bundle",
    `${fed}/owner`,
    "--workers",
    "1",
    ...extra,
  ]);
}

function server(fed: string, name = "server", extra: string[] = []): Party {
  return startParty(name, [
    "serve",
    "--bundle",
    `${fed}/server`,
    "--round-timeout",
    "60",
    ...extra,
  ]);
}

function client(fed: string, i: number): Party {
  return startParty(`client-${i}`, ["client", "--bundle", `${fed}/client-${i}`, ...LIMITS]);
}

async function readHistory(fed: string): Promise<RoundRecord[]> {
  return JSON.parse(await Deno.readTextFile(`${fed}/server/history.json`)) as RoundRecord[];
}

async function exitsCleanly(p: Party): Promise<void> {
  assert.equal((await p.done).code, 0, `${p.name}:\n${p.lines.join("\n")}`);
}

/** Every client holds the owner's model of `round`. */
async function clientsHoldOwnerModel(fed: string, clients: number[], round: number) {
  const final = await readModel(`${fed}/owner/state/model-round-${round}.f32`);
  for (const i of clients) {
    assert.deepEqual(await readModel(`${fed}/client-${i}/state/model.f32`), final, `client-${i}`);
  }
}

Deno.test("a client killed while its update is on the wire and restarted: the same set completes from the same model", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    await smallFederation(fed, { clients: 3, minClients: 2, rounds: 2 });
    parties.push(owner(fed));
    const srv = server(fed, "server", ["--min-available", "3"]);
    parties.push(srv);
    for (const i of [1, 2, 3]) parties.push(client(fed, i));
    const victim = parties.at(-1)!;
    // Logged right before the update frame is handed to the socket, after the ledger
    // holds it: part of it may still be in flight when the process dies.
    await victim.waitFor(/round 1: masked for 3 clients and encrypted/);
    victim.child.kill("SIGKILL");
    await victim.done;
    // The operator restarts it: it repeats its recorded upload if asked for the same set.
    const again = client(fed, 3);
    parties.push(again);
    for (const p of parties.filter((p) => p !== victim)) await exitsCleanly(p);
    const history = await readHistory(fed);
    assert.equal(history.length, 2);
    const done = history.filter((r) => !r.failed);
    assert.ok(done.length >= 1, JSON.stringify(history));
    // Whichever round completed, it had all three: clients 1 and 2 were bound to that set.
    for (const row of done) {
      assert.deepEqual([...row.participants].sort(), ["client-1", "client-2", "client-3"]);
    }
    await clientsHoldOwnerModel(fed, [1, 2, 3], done.at(-1)!.round);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the server killed after round 1 of 3 resumes from its checkpoint; clients reconnect", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    await smallFederation(fed, { rounds: 3 });
    parties.push(owner(fed));
    const first = server(fed, "server-1");
    parties.push(first, client(fed, 1), client(fed, 2));
    await first.waitFor(/round 1 done/);
    first.child.kill("SIGKILL");
    await first.done;
    // The checkpoint is written by rename: no temporary file is left behind.
    const stateFiles = [...Deno.readDirSync(`${fed}/server/state`)].map((e) => e.name).sort();
    assert.deepEqual(stateFiles, ["checkpoint.json", "round-1.model"]);
    assert.deepEqual((await readHistory(fed)).map((r) => r.round), [1]);

    const second = server(fed, "server-2");
    parties.push(second);
    await exitsCleanly(second);
    assert.ok(second.lines.some((l) => /resuming after round 1 from the checkpoint/.test(l)));
    assert.ok(
      !second.lines.some((l) => /no (update|report) from/.test(l)),
      second.lines.join("\n"),
    );
    for (const p of parties.filter((p) => p !== first)) await exitsCleanly(p);
    for (const c of parties.slice(2, 4)) {
      assert.ok(
        c.lines.some((l) => /lost the server|not reachable yet/.test(l)),
        c.lines.join("\n"),
      );
    }
    const history = await readHistory(fed);
    assert.deepEqual(history.map((r) => r.round), [1, 2, 3]);
    for (const row of history) {
      assert.deepEqual([...row.participants].sort(), ["client-1", "client-2"]);
    }
    await clientsHoldOwnerModel(fed, [1, 2], 3);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a server restarted from a checkpoint older than the owner and clients recovers the owner's model without a second decryption", async () => {
  // The server dies after the owner sealed round 2 and the clients applied
  // it, but before its checkpoint of round 2 was written.
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    await smallFederation(fed, { rounds: 3 });
    parties.push(owner(fed));
    const first = server(fed, "server-1");
    parties.push(first, client(fed, 1), client(fed, 2));
    await first.waitFor(/round 2 done/);
    await stopAll(parties);
    parties.length = 0;
    const path = `${fed}/server/state/checkpoint.json`;
    const checkpoint = JSON.parse(await Deno.readTextFile(path));
    checkpoint.closedRounds = 1;
    checkpoint.models = checkpoint.models.slice(0, 1);
    checkpoint.history = checkpoint.history.slice(0, 1);
    await Deno.writeTextFile(path, JSON.stringify(checkpoint));
    await Deno.writeTextFile(`${fed}/server/history.json`, JSON.stringify(checkpoint.history));
    const round2 = await readModel(`${fed}/owner/state/model-round-2.f32`);
    await clientsHoldOwnerModel(fed, [1, 2], 2);

    const own = owner(fed);
    const second = server(fed, "server-2");
    parties.push(own, second, client(fed, 1), client(fed, 2));
    await exitsCleanly(second);
    for (const p of parties) await exitsCleanly(p);
    assert.ok(
      own.lines.some((l) => /a restarted server recovered the model of round 2/.test(l)),
      own.lines.join("\n"),
    );
    assert.ok(!own.lines.some((l) => /round 2: sealed/.test(l)), "no second decryption");
    assert.ok(!second.lines.some((l) => /no report from/.test(l)), second.lines.join("\n"));
    const history = await readHistory(fed);
    assert.deepEqual(history.map((r) => r.round), [1, 2, 3]);
    assert.equal(history[1]!.recovered, true);
    for (const row of [history[0]!, history[2]!]) {
      assert.ok(row.accuracy > 0, `round ${row.round} evaluated`);
    }
    // Round 3 started from the owner's round-2 model, not a re-applied one.
    assert.deepEqual(await readModel(`${fed}/owner/state/model-round-2.f32`), round2);
    await clientsHoldOwnerModel(fed, [1, 2], 3);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the owner service unreachable: the server retries and no round is done until it comes", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    await smallFederation(fed, { rounds: 1 });
    const srv = server(fed);
    parties.push(srv, client(fed, 1), client(fed, 2));
    await srv.waitFor(/owner service at ws:\/\/\S+ unreachable .*; retry 3 in/);
    assert.ok(!srv.lines.some((l) => /round \d+ done/.test(l)));
    const history = await Deno.readTextFile(`${fed}/server/history.json`).catch(() => "");
    assert.equal(history, "", "no history before a model exists");
    const own = owner(fed);
    parties.push(own);
    await exitsCleanly(srv);
    for (const p of parties) await exitsCleanly(p);
    assert.ok(srv.lines.some((l) => /connected to the owner service/.test(l)));
    assert.deepEqual((await readHistory(fed)).map((r) => r.round), [1]);
    await clientsHoldOwnerModel(fed, [1, 2], 1);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the owner killed after sealing the last round: the server still tells it done, and a later owner with no server lingers and exits", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    await smallFederation(fed, { rounds: 1 });
    const first = owner(fed);
    const srv = server(fed);
    parties.push(first, srv, client(fed, 1), client(fed, 2));
    await first.waitFor(/round 1: sealed the model of/);
    first.child.kill("SIGKILL");
    await first.done;
    // Restarted while the server finishes: whether the sealed answer left
    // before the kill or not, the server comes back to say done.
    await new Promise((r) => setTimeout(r, 500));
    const second = owner(fed, "owner-2", ["--linger", "120"]);
    parties.push(second);
    for (const p of parties.slice(1)) await exitsCleanly(p);
    assert.ok(!second.lines.some((l) => /round 1: sealed/.test(l)), "no second decryption");
    assert.ok(!second.lines.some((l) => /no server came/.test(l)), second.lines.join("\n"));
    await clientsHoldOwnerModel(fed, [1, 2], 1);

    // Once every round is sealed and no server is left, the owner does not wait forever.
    const third = owner(fed, "owner-3", ["--linger", "1"]);
    parties.push(third);
    await exitsCleanly(third);
    assert.ok(
      third.lines.some((l) => /all 1 rounds are decided; waiting 1 s for a server/.test(l)),
      third.lines.join("\n"),
    );
    assert.ok(third.lines.some((l) => /no server came within 1 s/.test(l)));
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a client killed during the last round and restarted after it closed gets the final model from the lingering server", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    await smallFederation(fed, { rounds: 1 });
    const srv = server(fed);
    const victim = client(fed, 2);
    parties.push(owner(fed), srv, client(fed, 1), victim);
    // Its update is in: the round goes on without it.
    await srv.waitFor(/accepted the update of client-2/);
    victim.child.kill("SIGKILL");
    await victim.done;
    await srv.waitFor(/waiting up to 30 s to tell client-2 the federation is done/);
    const again = client(fed, 2);
    parties.push(again);
    for (const p of parties.filter((p) => p !== victim)) await exitsCleanly(p);
    assert.ok(again.lines.some((l) => /federation done/.test(l)), again.lines.join("\n"));
    await clientsHoldOwnerModel(fed, [1, 2], 1);
    // Started again once the server is gone: it holds the last model, so it is done.
    const late = client(fed, 2);
    parties.push(late);
    await exitsCleanly(late);
    assert.ok(
      late.lines.some((l) =>
        /federation done after 1 rounds \(this client holds the last model\)/.test(l)
      ),
      late.lines.join("\n"),
    );
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});
