/**
 * A malicious server against real clients and a real owner service: each
 * attack is scripted in the real wire format and must fail with nothing
 * learned. See the threat model in the README.
 */
import assert from "node:assert/strict";
import { codecParams, decrypt, loadSecretKey, readBigint } from "../../src/he/mod.ts";
import type { Message } from "../../src/net/mod.ts";
import { loadBundle } from "../../src/federation/mod.ts";
import {
  generateOwnerSigningKey,
  sealModel,
  signContribution,
  signModel,
} from "../../src/secagg/mod.ts";
import { sha256Hex, toHex } from "../../src/util/hex.ts";
import type { RoundRecord } from "../../src/rounds/mod.ts";
import { correlation, readModel, startParty } from "./harness.ts";
import { connectOwner } from "./scripted_server.ts";
import {
  type Fixture,
  forgedCiphertexts,
  honestRound,
  product,
  refused,
  request,
  restartClient,
  setOf,
  trainAll,
  upload,
  withFederation,
} from "./attack_fixture.ts";

Deno.test("active server: the overflow probe E(m)^2 is refused before any decryption, without an index, and the round is burned", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    const owner = await connectOwner(f.fed);
    // client-1's ciphertexts in client-2's place: E(m1)^2 once multiplied.
    const probe = request(
      1,
      0,
      set,
      updates,
      new Map([["client-2", updates.get("client-1")!.payload]]),
    );
    const first = await (owner.send(probe), refused(owner, /^round 1 refused/));
    assert.match(first, /signature of client-2 does not verify for its ciphertexts/);
    assert.doesNotMatch(
      first.replace(/^round 1/, "").replaceAll(/client-\d+/g, ""),
      /\d/,
      "no slot index or value",
    );
    owner.send(request(1, 0, set, updates));
    await refused(owner, /round 1 was refused before and is not decrypted again/);
    owner.channel.close();
    await f.server.close();
    // The real server takes over: round 1 is lost, round 2 completes from the same model and
    // the same set: the clients repeat their recorded updates.
    const server = startParty("server", ["serve", "--bundle", `${f.fed}/server`, "--linger", "1"]);
    f.parties.push(server);
    assert.equal((await server.done).code, 0, server.lines.join("\n"));
    const history = JSON.parse(
      await Deno.readTextFile(`${f.fed}/server/history.json`),
    ) as RoundRecord[];
    assert.match(history[0]!.failed ?? "", /closed by the owner/);
    assert.equal(history.at(-1)!.failed, undefined);
    const final = await readModel(`${f.fed}/owner/state/model-round-${history.at(-1)!.round}.f32`);
    assert.deepEqual(await readModel(`${f.fed}/client-1/state/model.f32`), final);
  });
});

/** The packed slots of decrypted ciphertexts, as numbers (the owner's view). */
async function slots(fed: string, ciphertexts: Uint8Array): Promise<number[]> {
  const { secretKey, publicKey } = await loadSecretKey(`${fed}/owner/secret.json`);
  const { config } = await loadBundle(`${fed}/server`);
  const codec = codecParams({ keyBits: config.keyBits, ...config.encoding });
  const out: number[] = [];
  const width = publicKey.ciphertextBytes;
  const mask = (1n << BigInt(codec.slotBits)) - 1n;
  for (let i = 0; i < ciphertexts.length / width; i++) {
    let m = decrypt(secretKey, readBigint(ciphertexts, i * width, width));
    for (let s = 0; s < codec.slotsPerPlaintext; s++, m >>= BigInt(codec.slotBits)) {
      out.push(Number(m & mask));
    }
  }
  return out;
}

Deno.test("active server: one client's ciphertexts alone are refused by the owner, and decrypt to noise", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    const owner = await connectOwner(f.fed);
    const c1 = updates.get("client-1")!.payload;
    const alone = { ...request(1, 0, set, updates), payload: c1 };
    owner.send(alone);
    await refused(owner, /round 1 refused: \d+ bytes of ciphertexts, expected 2 updates/);
    owner.send(request(2, 0, setOf(new Map(), []).concat(set.slice(0, 1)), updates));
    await refused(owner, /round 2 refused: 1 contributors, fewer than minClients 2/);
    // What a colluding owner would see is noise: uncorrelated with the true sum.
    const sum = await slots(f.fed, await product(f, [...updates.values()].map((u) => u.payload)));
    const r = correlation(sum, await slots(f.fed, c1));
    assert.ok(Math.abs(r) < 0.05, `correlation ${r}`);
  });
});

Deno.test("active server: a product the server built is refused: the owner multiplies what the members signed", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    const owner = await connectOwner(f.fed);
    const count = updates.get("client-1")!.count;
    // A fresh encryption of a server-chosen update, with round 1's genuine signatures.
    const chosen = forgedCiphertexts(f, count, () => 12345n);
    owner.send(request(1, 0, set, updates, new Map([["client-1", chosen]])));
    await refused(owner, /signature of client-1 does not verify for its ciphertexts/);
    // The honest updates for round 1 are not decrypted after that: the round is burned.
    owner.send(request(1, 0, set, updates));
    await refused(owner, /round 1 was refused before/);
    const files = [...Deno.readDirSync(`${f.fed}/owner/state`)].map((e) => e.name);
    assert.ok(!files.some((n) => n.startsWith("model-round")), "nothing sealed");
  });
});

Deno.test("active server: a replayed earlier round is refused; a repeated round gets the same sealed model", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    const owner = await connectOwner(f.fed);
    owner.send(request(1, 0, set, updates));
    const sealed = await owner.expect("sealed");
    owner.send(request(1, 0, set, updates));
    const again = await owner.expect("sealed");
    assert.deepEqual(again.payload, sealed.payload, "answered from its cache, not decrypted again");
    // Round 1's contributions replayed as round 2: from the owner's old model, and signed for 1.
    owner.send(request(2, 0, set, updates));
    await refused(
      owner,
      /round 2 refused: it trains from the model of round 0, but the owner's latest model is of round 1/,
    );
    owner.send(request(3, 1, set, updates));
    await refused(owner, /round 3 refused: the signature of client-1 does not verify/);
    owner.send(request(1, 0, set, updates));
    await refused(owner, /round 1 refused: the owner is at round 3/);
  });
});

Deno.test("active server: duplicate and aliased ids are refused by clients and the owner", async () => {
  await withFederation(2, async (f) => {
    const ready = await trainAll(f, 1);
    const one = f.peers.get("client-1")!;
    const set = setOf(ready, ["client-1", "client-2"]);
    one.send({ type: "announce", round: 1, set: [set[0]!, set[0]!, set[1]!] });
    await refused(one, /lists a client twice/);
    // An alias (client-01) is not even a well-formed id on the wire: see
    // tests/net/messages_test.ts.
    const updates = await upload(f, 1, new Map([["client-1", set], ["client-2", set]]));
    const owner = await connectOwner(f.fed);
    const doubled = [set[0]!, set[0]!, set[1]!];
    owner.send({
      ...request(1, 0, doubled, updates, new Map(), ["client-1", "client-1", "client-2"]),
      payload: request(1, 0, set, updates).payload,
    });
    await refused(owner, /lists a client twice/);
  });
});

Deno.test("active server: a forged weight in the set is refused by the owner", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    const owner = await connectOwner(f.fed);
    const forged = set.map((m, i) => i === 0 ? { ...m, weight: m.weight * 2 } : m);
    owner.send(request(1, 0, forged, updates));
    await refused(owner, /signature of client-1 does not verify/);
  });
});

Deno.test("active server: an announced set of size 1 is refused by the client", async () => {
  await withFederation(2, async (f) => {
    const ready = await trainAll(f, 1);
    const one = f.peers.get("client-1")!;
    one.send({ type: "announce", round: 1, set: setOf(ready, ["client-1"]) });
    await refused(one, /has 1 clients, fewer than minClients 2/);
  });
});

Deno.test("active server: a set without the client, or a second set for the same round, is refused", async () => {
  await withFederation(3, async (f) => {
    const ready = await trainAll(f, 1);
    const one = f.peers.get("client-1")!;
    one.send({ type: "announce", round: 1, set: setOf(ready, ["client-2", "client-3"]) });
    await refused(one, /does not include client-1/);
    const first = setOf(ready, ["client-1", "client-2", "client-3"]);
    one.send({ type: "announce", round: 1, set: first });
    const update = await one.expect("update");
    // The same set again: the very same bytes (a restarted server).
    one.send({ type: "announce", round: 1, set: first });
    assert.deepEqual(await one.expect("update"), update);
    one.send({ type: "announce", round: 1, set: setOf(ready, ["client-1", "client-2"]) });
    await refused(one, /a second set for round 1 is refused/);
  });
});

Deno.test("active server: different sets told to different clients are refused by the owner", async () => {
  await withFederation(3, async (f) => {
    const ready = await trainAll(f, 1);
    const small = setOf(ready, ["client-1", "client-2"]);
    const large = setOf(ready, ["client-1", "client-2", "client-3"]);
    const updates = await upload(f, 1, new Map([["client-1", small], ["client-2", large]]));
    const owner = await connectOwner(f.fed);
    owner.send(request(1, 0, small, updates));
    await refused(owner, /signature of client-2 does not verify/);
  });
});

async function assertModelRefused(f: Fixture, m: Message, pattern: RegExp): Promise<void> {
  const one = f.peers.get("client-1")!;
  one.send(m);
  await refused(one, pattern);
  const files = [...Deno.readDirSync(`${f.fed}/client-1/state`)].map((e) => e.name);
  assert.ok(!files.includes("client-state.bin"), "nothing applied");
}

const MODEL_BASE = {
  type: "model",
  round: 1,
  baseRound: 0,
  set: [],
  contributions: [],
  totalWeight: 1,
  contributors: 2,
  evaluate: true,
} as const;

Deno.test("active server: a plain model or a model of updates pushed to an owner-mode client is refused", async () => {
  await withFederation(2, async (f) => {
    const count = f.server.bundle.config.parameterCount;
    await assertModelRefused(
      f,
      { ...MODEL_BASE, kind: "plain", signature: "", payload: new Uint8Array(count * 4) },
      /accepts only sealed models/,
    );
    await assertModelRefused(
      f,
      { ...MODEL_BASE, kind: "updates", signature: "", payload: new Uint8Array(8) },
      /accepts only sealed models/,
    );
  });
});

Deno.test("active server: a model sealed with the group key but not signed by the owner is refused", async () => {
  await withFederation(2, async (f) => {
    const client = await loadBundle(`${f.fed}/client-1`);
    const { config } = client;
    const weights = new Float32Array(config.parameterCount).fill(0.25);
    const payload = await sealModel(client.groupKey!, 1, config.fingerprint, weights);
    const base = { ...MODEL_BASE, kind: "sealed", payload } as const;
    await assertModelRefused(f, { ...base, signature: "" }, /not signed by the owner/);
    // Signed, but by another key (a client could make one).
    const mallory = await generateOwnerSigningKey();
    const signature = toHex(
      await signModel(mallory.signing.privateKey, {
        context: config.fingerprint,
        round: 1,
        digest: await sha256Hex(payload),
      }),
    );
    await assertModelRefused(f, { ...base, signature }, /not signed by the owner/);
  });
});

Deno.test("active server: a client restarted after its upload repeats it byte for byte and masks no second update", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    const before = updates.get("client-1")!;
    // The server makes client-1 restart (an auth error, a kill) and asks again, for the same
    // round and for a later one from the same model, hoping for E(x' + m) beside E(x + m).
    const one = await restartClient(f, "client-1");
    one.send({ type: "fit", round: 1, baseRound: 0 });
    const ready = await one.expect("ready");
    assert.deepEqual(ready.contributed, set, "it says which set it is bound to");
    one.send({ type: "announce", round: 1, set });
    assert.deepEqual(await one.expect("update"), before, "the very same upload");
    const two = await restartClient(f, "client-1");
    two.send({ type: "fit", round: 2, baseRound: 0 });
    await two.expect("ready");
    two.send({ type: "announce", round: 2, set });
    const again = await two.expect("update");
    assert.deepEqual(again.payload, before.payload, "the same ciphertexts, signed for round 2");
    assert.equal(again.base, before.base);
  });
});

Deno.test("active server: fit carries no training settings; a client trains with the federation's and sends no metrics", async () => {
  await withFederation(2, async (f) => {
    // Settings the v2 server could set: 1000 epochs at a learning rate of 100 (NaN weights).
    const hostile = {
      type: "fit",
      round: 1,
      baseRound: 0,
      epochs: 1000,
      learningRate: 100,
      batchSize: 1,
      optimizer: "sgd",
      seed: 7,
    } as unknown as Message;
    const ready = new Map();
    for (const [id, p] of f.peers) {
      p.send(hostile);
      ready.set(id, await p.expect("ready", 60_000));
    }
    for (const r of ready.values()) {
      assert.deepEqual(Object.keys(r).sort(), [
        "contributed",
        "round",
        "trainSeconds",
        "type",
        "weight",
      ]);
    }
    const set = setOf(ready, ["client-1", "client-2"]);
    const updates = await upload(f, 1, new Map([["client-1", set], ["client-2", set]]));
    const owner = await connectOwner(f.fed);
    owner.send(request(1, 0, set, updates));
    await owner.expect("sealed");
    const model = await readModel(`${f.fed}/owner/state/model-round-1.f32`);
    const initial = await readModel(`${f.fed}/owner/model.f32`);
    const moved = model.reduce((m, v, i) => Math.max(m, Math.abs(v - initial[i]!)), 0);
    assert.ok(Number.isFinite(moved) && moved > 0 && moved < 0.2, `the model moved by ${moved}`);
  });
});

Deno.test("active server: fit from a model the client does not hold is refused", async () => {
  await withFederation(2, async (f) => {
    const one = f.peers.get("client-1")!;
    one.send({ type: "fit", round: 2, baseRound: 1 });
    await refused(one, /train from the model of round 1, but this client holds round 0/);
  });
});

Deno.test("active server: an update trained from another model is refused by the owner", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    const owner = await connectOwner(f.fed);
    // A request that claims another base: the signatures bind the base round and model digest.
    owner.send({ ...request(1, 0, set, updates), baseRound: 0, round: 2 });
    await refused(owner, /round 2 refused: the signature of client-1 does not verify/);
  });
});

/** A model of updates as a server sends it in shared-key mode. */
function updatesModel(
  round: number,
  set: readonly { id: string; weight: number }[],
  signatures: readonly string[],
  payload: Uint8Array,
): Message {
  return {
    ...MODEL_BASE,
    round,
    kind: "updates",
    set: [...set],
    contributions: set.map((m, i) => ({ id: m.id, signature: signatures[i]! })),
    signature: "",
    payload,
  };
}

Deno.test("active server: a shared-key client applies only the product of updates the members signed", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    const count = updates.get("client-1")!.count;
    const signatures = set.map((m) => updates.get(m.id)!.signature);
    // A server-chosen "aggregate" (v2 clients decrypted and applied it exactly).
    const chosen = forgedCiphertexts(f, count, () => 1n);
    await assertModelRefused(
      f,
      updatesModel(1, set, signatures, chosen),
      /expected 2 updates/,
    );
    // A chosen update in client-2's place, with the genuine signatures.
    const swapped = request(1, 0, set, updates, new Map([["client-2", chosen]])).payload;
    await assertModelRefused(
      f,
      updatesModel(1, set, signatures, swapped),
      /signature of client-2 does not verify for its update/,
    );
  }, { mode: "shared-key" });
});

Deno.test("active server: a shared-key client decrypts a round once, and a sum that does not decode leaves it up", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    // client-2 colludes: it signs garbage (no masks) for the same round, set and model.
    const bad = await loadBundle(`${f.fed}/client-2`);
    const count = updates.get("client-2")!.count;
    const n = f.server.bundle.publicKey.n;
    const garbage = forgedCiphertexts(f, count, () => n - 1n);
    const signature = toHex(
      await signContribution(bad.clientKeys!, {
        context: bad.config.fingerprint,
        round: 1,
        baseRound: 0,
        base: updates.get("client-2")!.base,
        set,
        id: "client-2",
        weight: set[1]!.weight,
        digest: await sha256Hex(garbage),
      }),
    );
    const payload = request(1, 0, set, updates, new Map([["client-2", garbage]])).payload;
    const model = updatesModel(1, set, [updates.get("client-1")!.signature, signature], payload);
    await assertModelRefused(f, model, /model of round 1 refused: the sum does not decode/);
    // Still up; the round is not decrypted a second time, not even the honest sum.
    const honest = updatesModel(
      1,
      set,
      set.map((m) => updates.get(m.id)!.signature),
      request(1, 0, set, updates).payload,
    );
    await assertModelRefused(f, honest, /this client decrypted round 1 already/);
  }, { mode: "shared-key" });
});
