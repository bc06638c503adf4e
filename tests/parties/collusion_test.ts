/**
 * Colluders against honest clients (protocol v3): a server with the owner,
 * or with a client, tries to get two decryptable sums that differ by one
 * honest client's update. Every test plays the colluding server through the
 * scripted server on the real wire, against real client processes; the
 * honest clients' contribution ledger must refuse every second set from a
 * model they already contributed from.
 */
import assert from "node:assert/strict";
import { connectOwner } from "./scripted_server.ts";
import {
  honestRound,
  refused,
  request,
  restartClient,
  setOf,
  trainAll,
  upload,
  withFederation,
} from "./attack_fixture.ts";

Deno.test("collusion: server + owner get no second sum over a nested set from the same model", async () => {
  await withFederation(3, async (f) => {
    // Round 1 over {1, 2, 3}: clients 1 and 2 upload, the server says client-3 is missing.
    const ready = await trainAll(f, 1);
    const all = setOf(ready, ["client-1", "client-2", "client-3"]);
    const updates = await upload(f, 1, new Map([["client-1", all], ["client-2", all]]));
    // v2 re-announced {1, 2} for the same round; the owner would decrypt both sums.
    const nested = setOf(ready, ["client-1", "client-2"]);
    for (const id of ["client-1", "client-2"]) {
      f.peers.get(id)!.send({ type: "announce", round: 1, set: nested });
      await refused(f.peers.get(id)!, /a second set for round 1 is refused/);
    }
    // A new round from the same model with the nested set: refused by the ledger.
    const again = await trainAll(f, 2, 0, ["client-1", "client-2"]);
    for (const [id, r] of again) assert.deepEqual(r.contributed, all, `${id} says it is bound`);
    for (const id of ["client-1", "client-2"]) {
      f.peers.get(id)!.send({ type: "announce", round: 2, set: nested });
      await refused(
        f.peers.get(id)!,
        /already contributed from the model of round 0 to the set client-1, client-2, client-3; another set/,
      );
    }
    // The owner, colluding, has nothing to decrypt: the nested set's signatures do not exist.
    const owner = await connectOwner(f.fed);
    owner.send(request(2, 0, nested, updates));
    await refused(owner, /signature of client-1 does not verify/);
  });
});

Deno.test("collusion: server + client cannot replay a round from the same model without the victim", async () => {
  await withFederation(3, async (f) => {
    // Round 1 over S = {1, 2, 3} completes at the owner; the server withholds the model and
    // runs round 2 from the same base over S \ {3}, with client-1 colluding.
    const { set, updates } = await honestRound(f, 1);
    const owner = await connectOwner(f.fed);
    owner.send(request(1, 0, set, updates));
    await owner.expect("sealed");
    const ready = await trainAll(f, 2, 0, ["client-1", "client-2"]);
    const without = setOf(ready, ["client-1", "client-2"]);
    f.peers.get("client-2")!.send({ type: "announce", round: 2, set: without });
    await refused(f.peers.get("client-2")!, /already contributed from the model of round 0/);
    // Even restarted (its state kept on disk), the honest client holds to its ledger.
    const two = await restartClient(f, "client-2");
    two.send({ type: "fit", round: 3, baseRound: 0 });
    assert.deepEqual((await two.expect("ready")).contributed, set);
    two.send({ type: "announce", round: 3, set: without });
    await refused(two, /already contributed from the model of round 0/);
  });
});

Deno.test("collusion: server + client cannot vary the colluder's declared weight over one model", async () => {
  await withFederation(3, async (f) => {
    // minClients = K: the set cannot shrink, so the colluder varies its own weight instead to
    // get a second equation in the honest updates.
    const { set } = await honestRound(f, 1);
    await trainAll(f, 2, 0);
    const heavier = set.map((m) => m.id === "client-1" ? { ...m, weight: m.weight + 7 } : m);
    for (const id of ["client-2", "client-3"]) {
      f.peers.get(id)!.send({ type: "announce", round: 2, set: heavier });
      await refused(f.peers.get(id)!, /already contributed from the model of round 0/);
    }
  }, { minClients: 3 });
});

Deno.test("collusion: server + owner after a client restart get the same ciphertexts, so their quotient is 1", async () => {
  await withFederation(2, async (f) => {
    // The v2 attack: restart client-1, ask again with a near-zero learning rate, divide E(x + m)
    // by E(x' + m) and have the owner decrypt E(x). In v3 there is no second masked update.
    const { set, updates } = await honestRound(f, 1);
    const one = await restartClient(f, "client-1");
    one.send({ type: "fit", round: 2, baseRound: 0, learningRate: 1e-9 } as never);
    await one.expect("ready");
    one.send({ type: "announce", round: 2, set });
    const second = await one.expect("update");
    assert.deepEqual(second.payload, updates.get("client-1")!.payload);
    // The owner, colluding, decrypts round 1 honestly once: nothing beyond the sum.
    const owner = await connectOwner(f.fed);
    owner.send(request(1, 0, set, updates));
    await owner.expect("sealed");
  });
});
