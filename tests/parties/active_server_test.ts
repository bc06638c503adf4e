/**
 * A malicious server against real clients and a real owner service: each
 * attack is scripted in the real wire format and must fail with nothing
 * learned. See the threat model in the README.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../../src/util/hex.ts";
import { codecParams, createPool, decrypt, loadSecretKey, readBigint } from "../../src/he/mod.ts";
import type {
  DecryptMessage,
  Message,
  ReadyMessage,
  SetMember,
  UpdateMessage,
} from "../../src/net/mod.ts";
import { loadBundle } from "../../src/federation/mod.ts";
import { generateOwnerSigningKey, sealModel, signModel } from "../../src/secagg/mod.ts";
import { toHex } from "../../src/util/hex.ts";
import type { RoundRecord } from "../../src/rounds/mod.ts";
import {
  correlation,
  type Party,
  QUICK_CLIENT_ARGS,
  readModel,
  smallFederation,
  startParty,
  stopAll,
} from "./harness.ts";
import {
  connectOwner,
  fitMessage,
  type Peer,
  type ScriptedServer,
  startScriptedServer,
} from "./scripted_server.ts";

interface Fixture {
  readonly fed: string;
  readonly server: ScriptedServer;
  readonly peers: Map<string, Peer>;
  readonly parties: Party[];
}

async function withFederation(
  clients: number,
  body: (f: Fixture) => Promise<void>,
  rounds = 2,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  let server: ScriptedServer | undefined;
  try {
    await smallFederation(fed, { clients, minClients: 2, rounds });
    parties.push(startParty("owner", ["owner", "serve", "--bundle", `${fed}/owner`]));
    server = await startScriptedServer(fed);
    const ids = Array.from({ length: clients }, (_, i) => `client-${i + 1}`);
    for (const id of ids) {
      parties.push(startParty(id, ["client", "--bundle", `${fed}/${id}`, ...QUICK_CLIENT_ARGS]));
    }
    await body({ fed, server, peers: await server.clients(ids), parties });
  } finally {
    await server?.close();
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
}

async function trainAll(f: Fixture, round: number): Promise<Map<string, ReadyMessage>> {
  const ready = new Map<string, ReadyMessage>();
  await Promise.all([...f.peers.values()].map(async (p) => {
    p.send(fitMessage(f.server.bundle, round));
    ready.set(p.id, await p.expect("ready"));
  }));
  return ready;
}

function setOf(ready: Map<string, ReadyMessage>, ids: readonly string[]): SetMember[] {
  return ids.map((id) => ({ id, weight: ready.get(id)!.weight }));
}

async function upload(
  f: Fixture,
  round: number,
  attempt: number,
  sets: Map<string, SetMember[]>,
): Promise<Map<string, UpdateMessage>> {
  const updates = new Map<string, UpdateMessage>();
  await Promise.all([...sets].map(async ([id, set]) => {
    const p = f.peers.get(id)!;
    p.send({ type: "announce", round, attempt, set });
    updates.set(id, await p.expect("update"));
  }));
  return updates;
}

async function request(
  round: number,
  attempt: number,
  set: SetMember[],
  updates: Map<string, UpdateMessage>,
  payload: Uint8Array,
  signers = set.map((m) => m.id),
): Promise<DecryptMessage> {
  return {
    type: "decrypt",
    round,
    attempt,
    set,
    contributions: await Promise.all(signers.map(async (id) => ({
      id,
      digest: await sha256Hex(updates.get(id)!.payload),
      signature: updates.get(id)!.signature,
    }))),
    count: updates.values().next().value!.count,
    payload,
  };
}

async function product(f: Fixture, vectors: Uint8Array[]): Promise<Uint8Array> {
  using pool = await createPool({ publicKey: f.server.bundle.publicKey, workers: 1 });
  return await pool.aggregate(vectors);
}

/** Expects the peer to refuse with an error frame matching `pattern`, and nothing else. */
async function refused(p: Peer, pattern: RegExp): Promise<string> {
  const m = await p.expect("error");
  assert.match(m.message, pattern);
  return m.message;
}

/** One honest round through the scripted server: train, announce, upload. */
async function honestRound(f: Fixture, round: number, ids = [...f.peers.keys()]) {
  const ready = await trainAll(f, round);
  const set = setOf(ready, ids);
  const updates = await upload(f, round, 1, new Map(ids.map((id) => [id, set])));
  return { ready, set, updates };
}

Deno.test("active server: the overflow probe is decrypted once, answered without an index, never retried, and the federation goes on", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    const owner = await connectOwner(f.fed);
    // E(m1)^2: would overflow (or not) depending on m1's top slots, were m1 unmasked.
    const probe = await product(f, [
      updates.get("client-1")!.payload,
      updates.get("client-1")!.payload,
    ]);
    owner.send(await request(1, 1, set, updates, probe));
    const first = await refused(owner, /^round 1 refused/);
    assert.doesNotMatch(first.replace(/^round 1/, ""), /\d/, "no slot index or value");
    // The honest product of the same round: refused too, the round is burned.
    owner.send(
      await request(
        1,
        1,
        set,
        updates,
        await product(f, [...updates.values()].map((u) => u.payload)),
      ),
    );
    await refused(owner, /round 1 was refused before and is not decrypted again/);
    owner.channel.close();
    await f.server.close();
    // The real server takes over: round 1 is lost, round 2 completes.
    const server = startParty("server", ["serve", "--bundle", `${f.fed}/server`, "--linger", "1"]);
    f.parties.push(server);
    assert.equal((await server.done).code, 0, server.lines.join("\n"));
    const history = JSON.parse(
      await Deno.readTextFile(`${f.fed}/server/history.json`),
    ) as RoundRecord[];
    assert.match(history[0]!.failed ?? "", /closed by the owner/);
    assert.equal(history[1]!.failed, undefined);
    assert.ok(history[1]!.accuracy > 0.1);
    const final = await readModel(`${f.fed}/owner/state/model-round-2.f32`);
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

Deno.test("active server: one client's ciphertexts passed off as the aggregate are refused and decrypt to noise", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    const owner = await connectOwner(f.fed);
    const c1 = updates.get("client-1")!.payload;
    // With both signatures: decrypted once, and it does not decode.
    owner.send(await request(1, 1, set, updates, c1));
    assert.equal(
      await refused(owner, /round 1 refused/),
      "round 1 refused: the aggregate does not decode",
    );
    // Without client-2's signature: refused before decryption.
    const second = await honestRound(f, 2);
    const alone2 = second.updates.get("client-1")!.payload;
    owner.send(await request(2, 1, second.set, second.updates, alone2, ["client-1"]));
    await refused(owner, /round 2 refused: the signers are not exactly the announced set/);
    // What the owner saw is noise: uncorrelated with the true sum.
    const sum = await slots(f.fed, await product(f, [...updates.values()].map((u) => u.payload)));
    const alone = await slots(f.fed, c1);
    const r = correlation(sum, alone);
    assert.ok(Math.abs(r) < 0.05, `correlation ${r}`);
  });
});

Deno.test("active server: a replayed earlier round's aggregate is refused; a repeated round gets the same sealed model", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    const owner = await connectOwner(f.fed);
    const aggregate = await product(f, [...updates.values()].map((u) => u.payload));
    owner.send(await request(1, 1, set, updates, aggregate));
    const sealed = await owner.expect("sealed");
    owner.send(await request(1, 1, set, updates, aggregate));
    const again = await owner.expect("sealed");
    assert.deepEqual(again.payload, sealed.payload, "answered from its cache, not decrypted again");
    // Round 1's contributions replayed as round 2: the signatures are for round 1.
    owner.send(await request(2, 1, set, updates, aggregate));
    await refused(owner, /round 2 refused: the signature of client-1 does not verify/);
    owner.send(await request(1, 1, set, updates, aggregate));
    await refused(owner, /round 1 refused: the owner is at round 2/);
  });
});

Deno.test("active server: duplicate and aliased ids are refused by clients and the owner", async () => {
  await withFederation(2, async (f) => {
    const ready = await trainAll(f, 1);
    const one = f.peers.get("client-1")!;
    const set = setOf(ready, ["client-1", "client-2"]);
    one.send({ type: "announce", round: 1, attempt: 1, set: [set[0]!, set[0]!, set[1]!] });
    await refused(one, /lists a client twice/);
    // An alias (client-01) is not even a well-formed id on the wire: see
    // tests/net/messages_test.ts.
    const updates = await upload(f, 1, 1, new Map([["client-1", set], ["client-2", set]]));
    const owner = await connectOwner(f.fed);
    const aggregate = await product(f, [...updates.values()].map((u) => u.payload));
    const doubled = [set[0]!, set[0]!, set[1]!];
    owner.send(
      await request(1, 1, doubled, updates, aggregate, ["client-1", "client-1", "client-2"]),
    );
    await refused(owner, /lists a client twice/);
  });
});

Deno.test("active server: a forged weight in the set is refused by the owner", async () => {
  await withFederation(2, async (f) => {
    const { set, updates } = await honestRound(f, 1);
    const owner = await connectOwner(f.fed);
    const aggregate = await product(f, [...updates.values()].map((u) => u.payload));
    const forged = set.map((m, i) => i === 0 ? { ...m, weight: m.weight * 2 } : m);
    owner.send(await request(1, 1, forged, updates, aggregate));
    await refused(owner, /signature of client-1 does not verify/);
  });
});

Deno.test("active server: an announced set of size 1 is refused by the client", async () => {
  await withFederation(2, async (f) => {
    const ready = await trainAll(f, 1);
    const one = f.peers.get("client-1")!;
    one.send({ type: "announce", round: 1, attempt: 1, set: setOf(ready, ["client-1"]) });
    await refused(one, /has 1 clients, fewer than minClients 2/);
  });
});

Deno.test("active server: a set without the client, or a second set for the same attempt, is refused", async () => {
  await withFederation(3, async (f) => {
    const ready = await trainAll(f, 1);
    const one = f.peers.get("client-1")!;
    one.send({
      type: "announce",
      round: 1,
      attempt: 1,
      set: setOf(ready, ["client-2", "client-3"]),
    });
    await refused(one, /does not include client-1/);
    const first = setOf(ready, ["client-1", "client-2", "client-3"]);
    one.send({ type: "announce", round: 1, attempt: 1, set: first });
    const update = await one.expect("update");
    // The same set again: the very same bytes (a restarted server).
    one.send({ type: "announce", round: 1, attempt: 1, set: first });
    assert.deepEqual((await one.expect("update")).payload, update.payload);
    // Another set for the same attempt would reuse the masks: refused.
    one.send({
      type: "announce",
      round: 1,
      attempt: 1,
      set: setOf(ready, ["client-1", "client-2"]),
    });
    await refused(one, /a different set for attempt 1 of round 1/);
  });
});

Deno.test("active server: different sets told to different clients are refused by the owner", async () => {
  await withFederation(3, async (f) => {
    const ready = await trainAll(f, 1);
    const small = setOf(ready, ["client-1", "client-2"]);
    const large = setOf(ready, ["client-1", "client-2", "client-3"]);
    const updates = await upload(f, 1, 1, new Map([["client-1", small], ["client-2", large]]));
    const owner = await connectOwner(f.fed);
    const aggregate = await product(f, [...updates.values()].map((u) => u.payload));
    owner.send(await request(1, 1, small, updates, aggregate));
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

Deno.test("active server: a plain or aggregate model pushed to an owner-mode client is refused", async () => {
  await withFederation(2, async (f) => {
    const count = f.server.bundle.config.parameterCount;
    const base = {
      type: "model",
      round: 1,
      baseRound: 0,
      totalWeight: 1,
      contributors: 2,
      evaluate: true,
      signature: "",
    } as const;
    await assertModelRefused(
      f,
      { ...base, kind: "plain", payload: new Uint8Array(count * 4) },
      /accepts only sealed models/,
    );
    await assertModelRefused(
      f,
      { ...base, kind: "aggregate", payload: new Uint8Array(8) },
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
    const base = {
      type: "model",
      round: 1,
      baseRound: 0,
      kind: "sealed",
      totalWeight: 1,
      contributors: 2,
      evaluate: true,
      payload,
    } as const;
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
