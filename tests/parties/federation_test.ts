import assert from "node:assert/strict";
import { plaintextCount } from "../../src/he/mod.ts";
import { federationCodec, loadBundle } from "../../src/federation/mod.ts";
import type { RoundRecord } from "../../src/rounds/mod.ts";
import { DEFAULT_QUANT_BITS, defaultMaxTotalWeight } from "../../src/parties/owner_init.ts";
import {
  maxAbsDiff,
  type Party,
  QUICK_CLIENT_ARGS,
  readModel,
  smallFederation,
  startParty,
  stopAll,
} from "./harness.ts";

const LIMITS = QUICK_CLIENT_ARGS;

async function runFederation(
  fed: string,
  options: { owner: boolean; clients: number; trainSeed?: number },
): Promise<{ history: RoundRecord[]; parties: Party[] }> {
  const parties: Party[] = [];
  try {
    if (options.owner) {
      parties.push(startParty("owner", ["owner", "serve", "--bundle", `${fed}/owner`]));
    }
    const server = startParty("server", [
      "serve",
      "--bundle",
      `${fed}/server`,
      "--round-timeout",
      "120",
    ]);
    parties.push(server);
    for (let i = 1; i <= options.clients; i++) {
      parties.push(
        startParty(`client-${i}`, [
          "client",
          "--bundle",
          `${fed}/client-${i}`,
          ...LIMITS,
          ...(options.trainSeed === undefined ? [] : ["--train-seed", `${options.trainSeed}`]),
        ]),
      );
    }
    const status = await server.done;
    assert.equal(status.code, 0, server.lines.join("\n"));
    for (const p of parties) {
      assert.equal((await p.done).code, 0, `${p.name}:\n${p.lines.join("\n")}`);
    }
    const history = JSON.parse(
      await Deno.readTextFile(`${fed}/server/history.json`),
    ) as RoundRecord[];
    return { history, parties };
  } finally {
    await stopAll(parties);
  }
}

Deno.test("owner mode: owner, server and two clients run two rounds; every client ends with the owner's model", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await smallFederation(`${dir}/fed`);
    const { history } = await runFederation(`${dir}/fed`, { owner: true, clients: 2 });
    assert.equal(history.length, 2);
    for (const [i, row] of history.entries()) {
      assert.equal(row.round, i + 1);
      assert.deepEqual([...row.participants].sort(), ["client-1", "client-2"]);
      assert.ok(row.accuracy > 0.1 && row.accuracy <= 1, `accuracy ${row.accuracy}`);
      assert.ok(row.bytesIn > 0 && row.bytesOut > 0);
    }
    const bundle = await loadBundle(`${dir}/fed/server`);
    const count = plaintextCount(federationCodec(bundle.config), bundle.config.parameterCount);
    assert.equal(history[0]!.uploadBytesPerClient, count * bundle.publicKey.ciphertextBytes);
    const final = await readModel(`${dir}/fed/owner/state/model-round-2.f32`);
    for (const c of ["client-1", "client-2"]) {
      assert.deepEqual(await readModel(`${dir}/fed/${c}/state/model.f32`), final);
    }
    // The server's bundle never held a model or a secret.
    const serverFiles = [...Deno.readDirSync(`${dir}/fed/server`)].map((e) => e.name).sort();
    assert.ok(!serverFiles.includes("secret.json") && !serverFiles.includes("group.key"));
    assert.ok(!serverFiles.includes("model.f32"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FedAvgHE gives the plaintext FedAvg model within one quantization step", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await smallFederation(`${dir}/he`, { rounds: 1 });
    await smallFederation(`${dir}/plain`, { rounds: 1, strategy: "fedavg" });
    // Each client fixes its own seed (the server cannot): the same training both times.
    await runFederation(`${dir}/he`, { owner: true, clients: 2, trainSeed: 7 });
    await runFederation(`${dir}/plain`, { owner: false, clients: 2, trainSeed: 7 });
    const he = await readModel(`${dir}/he/owner/state/model-round-1.f32`);
    const plain = await readModel(`${dir}/plain/client-1/state/model.f32`);
    const initial = await readModel(`${dir}/he/owner/model.f32`);
    // Same seeds, same training: only the 16-bit quantization of updates differs.
    const step = 0.5 / 32767;
    assert.ok(maxAbsDiff(he, plain) <= step + 1e-6, `max diff ${maxAbsDiff(he, plain)}`);
    assert.ok(maxAbsDiff(he, initial) > 1e-3, "the model moved");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shared-key mode: clients decrypt the aggregate themselves, no owner service", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await smallFederation(`${dir}/fed`, { mode: "shared-key" });
    const files = [...Deno.readDirSync(`${dir}/fed/client-1`)].map((e) => e.name);
    assert.ok(files.includes("secret.json") && !files.includes("group.key"));
    const { history } = await runFederation(`${dir}/fed`, { owner: false, clients: 2 });
    assert.equal(history.length, 2);
    assert.deepEqual(
      await readModel(`${dir}/fed/client-1/state/model.f32`),
      await readModel(`${dir}/fed/client-2/state/model.f32`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("owner mode with a real 2048-bit key and the default packing runs a round end to end", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // What owner init writes when not told otherwise: 10-bit levels, W from the client count.
    await smallFederation(`${dir}/fed`, {
      keyBits: 2048,
      rounds: 1,
      quantBits: DEFAULT_QUANT_BITS,
      clipRange: 1,
      maxTotalWeight: undefined,
    });
    const { config } = await loadBundle(`${dir}/fed/server`);
    assert.equal(config.encoding.maxTotalWeight, defaultMaxTotalWeight(2));
    const { history } = await runFederation(`${dir}/fed`, { owner: true, clients: 2 });
    assert.equal(history.length, 1);
    // 61,706 values in 486 ciphertexts of 512 bytes: under 1.4x the float32 size.
    assert.equal(history[0]!.uploadBytesPerClient, 486 * 512);
    assert.ok(history[0]!.uploadBytesPerClient <= 1.4 * 61_706 * 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a round completes with two of three clients when the third is killed mid-round", async () => {
  const dir = await Deno.makeTempDir();
  const parties: Party[] = [];
  try {
    await smallFederation(`${dir}/fed`, { clients: 3, minClients: 2, rounds: 1 });
    const fed = `${dir}/fed`;
    parties.push(startParty("owner", ["owner", "serve", "--bundle", `${fed}/owner`]));
    // Rounds need two clients; the first starts once all three are in.
    const server = startParty("server", [
      "serve",
      "--bundle",
      `${fed}/server`,
      "--min-available",
      "3",
      // The killed client never comes back for its "done".
      "--linger",
      "1",
    ]);
    parties.push(server);
    const victim = startParty("client-3", [
      "client",
      "--bundle",
      `${fed}/client-3`,
      ...LIMITS.slice(0, 4),
      "--train-limit",
      "3000",
    ]);
    parties.push(victim);
    for (const i of [1, 2]) {
      parties.push(
        startParty(`client-${i}`, ["client", "--bundle", `${fed}/client-${i}`, ...LIMITS]),
      );
    }
    await victim.waitFor(/round 1: training/);
    victim.child.kill("SIGKILL");
    assert.equal((await server.done).code, 0, server.lines.join("\n"));
    const history = JSON.parse(
      await Deno.readTextFile(`${fed}/server/history.json`),
    ) as RoundRecord[];
    assert.equal(history.length, 1);
    assert.deepEqual([...history[0]!.participants].sort(), ["client-1", "client-2"]);
    assert.deepEqual(history[0]!.failures.map((f) => f.clientId), ["client-3"]);
  } finally {
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});
