/**
 * kill -9 at the worst moments, and a restart: every order of server and
 * owner failures ends the federation with every round applied once.
 */

import assert from "node:assert/strict";
import type { RoundRecord } from "../../src/rounds/mod.ts";
import {
  type Party,
  QUICK_CLIENT_ARGS,
  readModel,
  smallFederation,
  startParty,
  stopAll,
} from "./harness.ts";

function owner(fed: string, name = "owner"): Party {
  return startParty(name, ["owner", "serve", "--bundle", `${fed}/owner`, "--workers", "1"]);
}

function server(fed: string, name: string): Party {
  return startParty(name, [
    "serve",
    "--bundle",
    `${fed}/server`,
    "--round-timeout",
    "120",
    "--linger",
    "20",
  ]);
}

function clients(fed: string): Party[] {
  return [1, 2].map((i) =>
    startParty(`client-${i}`, ["client", "--bundle", `${fed}/client-${i}`, ...QUICK_CLIENT_ARGS])
  );
}

async function exitsCleanly(p: Party): Promise<void> {
  assert.equal((await p.done).code, 0, `${p.name}:\n${p.lines.join("\n")}`);
}

async function history(fed: string): Promise<RoundRecord[]> {
  return JSON.parse(await Deno.readTextFile(`${fed}/server/history.json`)) as RoundRecord[];
}

/** Both clients hold the owner's model of `round`. */
async function clientsHoldOwnerModel(fed: string, round: number): Promise<void> {
  const final = await readModel(`${fed}/owner/state/model-round-${round}.f32`);
  for (const i of [1, 2]) {
    assert.deepEqual(await readModel(`${fed}/client-${i}/state/model.f32`), final, `client-${i}`);
  }
}

Deno.test("kill -9 of the server right after the owner sealed the final round: a restarted server recovers it and the federation finishes", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    await smallFederation(fed, { rounds: 2 });
    const own = owner(fed);
    const first = server(fed, "server-1");
    parties.push(own, first, ...clients(fed));
    await own.waitFor(/round 2: sealed the model/);
    first.child.kill("SIGKILL");
    await first.done;
    const second = server(fed, "server-2");
    parties.push(second);
    for (const p of parties.filter((p) => p !== first)) await exitsCleanly(p);
    assert.ok(second.lines.some((l) => /recovered the sealed model of round 2/.test(l)));
    assert.ok(own.lines.filter((l) => /round 2: sealed/.test(l)).length === 1, "decrypted once");
    const rows = await history(fed);
    assert.deepEqual(rows.map((r) => [r.round, r.failed === undefined]), [[1, true], [2, true]]);
    await clientsHoldOwnerModel(fed, 2);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kill -9 of the server after its final checkpoint: the restarted server still tells the clients and the owner done", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    await smallFederation(fed, { rounds: 1 });
    const own = owner(fed);
    const first = server(fed, "server-1");
    parties.push(own, first, ...clients(fed));
    await first.waitFor(/round 1 done/);
    first.child.kill("SIGKILL");
    await first.done;
    const second = server(fed, "server-2");
    parties.push(second);
    for (const p of parties.filter((p) => p !== first)) await exitsCleanly(p);
    assert.ok(second.lines.some((l) => /all 1 rounds were already done/.test(l)));
    assert.ok(own.lines.some((l) => /federation done/.test(l)));
    await clientsHoldOwnerModel(fed, 1);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kill -9 of the owner while it decrypts: the restarted owner decrypts that very request again and the round is applied once", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    // A real 2048-bit key: decrypting an aggregate takes seconds, long enough to be killed in.
    await smallFederation(fed, { rounds: 1, keyBits: 2048 });
    const first = owner(fed, "owner-1");
    const srv = server(fed, "server");
    parties.push(first, srv, ...clients(fed));
    await srv.waitFor(/round 1: accepted the update of client-1/, 300_000);
    await srv.waitFor(/round 1: accepted the update of client-2/, 300_000);
    // The request reaches the owner within milliseconds; its decryption takes seconds.
    await new Promise((r) => setTimeout(r, 300));
    first.child.kill("SIGKILL");
    await first.done;
    const state = JSON.parse(await Deno.readTextFile(`${fed}/owner/state/owner.json`));
    assert.equal(state.round, 1);
    assert.match(state.pending ?? "", /^[0-9a-f]{64}$/, "killed while decrypting");
    const second = owner(fed, "owner-2");
    parties.push(second);
    for (const p of parties.filter((p) => p !== first)) await exitsCleanly(p);
    const rows = await history(fed);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.failed, undefined, JSON.stringify(rows[0]));
    await clientsHoldOwnerModel(fed, 1);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kill -9 of the server while the owner decrypts round 2, restarted at once: the owner takes the new connection and the federation finishes", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    // A 2048-bit key: the decryption lasts seconds, so the restart lands inside it.
    await smallFederation(fed, { rounds: 2, keyBits: 2048 });
    const own = owner(fed);
    const first = server(fed, "server-1");
    parties.push(own, first, ...clients(fed));
    await own.waitFor(/round 2: checking and decrypting/, 300_000);
    first.child.kill("SIGKILL");
    await first.done;
    const second = server(fed, "server-2");
    parties.push(second);
    for (const p of parties.filter((p) => p !== first)) await exitsCleanly(p);
    // The owner did not refuse the new connection: it answered with the decryption in flight.
    assert.ok(
      second.lines.some((l) => /recovered the sealed model of round 2/.test(l)),
      second.lines.join("\n"),
    );
    assert.equal(own.lines.filter((l) => /round 2: sealed/.test(l)).length, 1, "decrypted once");
    await clientsHoldOwnerModel(fed, 2);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kill -9 of the server right after the owner sealed the last round, restarted at once: every client gets the final model and done", async () => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  try {
    await smallFederation(fed, { rounds: 2 });
    const own = owner(fed);
    const first = server(fed, "server-1");
    parties.push(own, first, ...clients(fed));
    await own.waitFor(/round 2: sealed the model/);
    first.child.kill("SIGKILL");
    await first.done;
    const second = server(fed, "server-2");
    parties.push(second);
    for (const p of parties.filter((p) => p !== first)) await exitsCleanly(p);
    assert.equal(own.lines.filter((l) => /round 2: sealed/.test(l)).length, 1, "decrypted once");
    await clientsHoldOwnerModel(fed, 2);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});
