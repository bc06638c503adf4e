import assert from "node:assert/strict";
import { decodeMessage, type Message } from "../../src/net/mod.ts";
import {
  checkCiphertext,
  decodeMean,
  decrypt,
  readBigint,
  type SecretKey,
  writeBigint,
} from "../../src/he/mod.ts";
import { type Bundle, federationCodec, loadBundle } from "../../src/federation/mod.ts";
import {
  correlation,
  freePort,
  type Party,
  QUICK_CLIENT_ARGS,
  readModel,
  smallFederation,
  startParty,
  stopAll,
} from "./harness.ts";

interface Recorded {
  readonly link: string;
  readonly direction: "up" | "down";
  readonly bytes: Uint8Array;
}

/**
 * A recording WebSocket relay: every frame between the parties passes
 * through it and is kept for inspection.
 */
function relay(link: string, listenPort: number, targetPort: number, frames: Recorded[]) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: listenPort, onListen: () => {} },
    (req) => {
      const { socket: down, response } = Deno.upgradeWebSocket(req);
      down.binaryType = "arraybuffer";
      const up = new WebSocket(`ws://127.0.0.1:${targetPort}`);
      up.binaryType = "arraybuffer";
      const pending: ArrayBuffer[] = [];
      up.onopen = () => pending.splice(0).forEach((f) => up.send(f));
      down.onmessage = (e) => {
        frames.push({ link, direction: "up", bytes: new Uint8Array(e.data as ArrayBuffer) });
        if (up.readyState === WebSocket.OPEN) up.send(e.data);
        else pending.push(e.data as ArrayBuffer);
      };
      up.onmessage = (e) => {
        frames.push({ link, direction: "down", bytes: new Uint8Array(e.data as ArrayBuffer) });
        if (down.readyState === WebSocket.OPEN) down.send(e.data);
      };
      const closeBoth = () => {
        try {
          up.close();
        } catch { /* closed */ }
        try {
          down.close();
        } catch { /* closed */ }
      };
      down.onclose = closeBoth;
      up.onclose = closeBoth;
      up.onerror = closeBoth;
      return response;
    },
  );
  return server;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function hexBytes(x: bigint): Uint8Array {
  const hex = x.toString(16).padStart(Math.ceil(x.toString(16).length / 2) * 2, "0");
  return Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
}

/**
 * What the owner would get from one client's update alone: its decryption,
 * decoded as if it were a round's sum (or `undefined` if it does not decode).
 */
function decodeAlone(
  owner: Bundle,
  secretKey: SecretKey,
  payload: Uint8Array,
  totalWeight: number,
) {
  const key = owner.publicKey;
  const count = payload.length / key.ciphertextBytes;
  const plaintexts = new Uint8Array(count * key.plaintextBytes);
  for (let i = 0; i < count; i++) {
    const c = readBigint(payload, i * key.ciphertextBytes, key.ciphertextBytes);
    writeBigint(decrypt(secretKey, c), key.plaintextBytes, plaintexts, i * key.plaintextBytes);
  }
  try {
    const { config } = owner;
    return decodeMean(
      plaintexts,
      config.parameterCount,
      totalWeight,
      key.n,
      federationCodec(config),
    );
  } catch {
    return undefined;
  }
}

Deno.test("no frame between the parties carries a plaintext weight or a secret (owner mode)", async () => {
  const dir = await Deno.makeTempDir();
  const parties: Party[] = [];
  const frames: Recorded[] = [];
  const [serverPort, ownerPort, serverRelay, ownerRelay] = [
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ];
  const relays = [
    relay("client-server", serverRelay, serverPort, frames),
    relay("server-owner", ownerRelay, ownerPort, frames),
  ];
  try {
    const fed = `${dir}/fed`;
    // Everyone dials the relays; the parties listen behind them.
    await smallFederation(fed, {
      serverUrl: `ws://127.0.0.1:${serverRelay}`,
      ownerUrl: `ws://127.0.0.1:${ownerRelay}`,
    });
    parties.push(
      startParty("owner", ["owner", "serve", "--bundle", `${fed}/owner`, "--port", `${ownerPort}`]),
    );
    const server = startParty("server", [
      "serve",
      "--bundle",
      `${fed}/server`,
      "--port",
      `${serverPort}`,
    ]);
    parties.push(server);
    for (const i of [1, 2]) {
      parties.push(startParty(`client-${i}`, [
        "client",
        "--bundle",
        `${fed}/client-${i}`,
        ...QUICK_CLIENT_ARGS,
      ]));
    }
    assert.equal((await server.done).code, 0, server.lines.join("\n"));

    const owner = await loadBundle(`${fed}/owner`);
    const groupKey = JSON.parse(await Deno.readTextFile(`${fed}/owner/group.key`)).key as string;
    const secrets: [string, Uint8Array][] = [
      ["p", hexBytes(owner.secretKey!.p)],
      ["q", hexBytes(owner.secretKey!.q)],
      ["p (hex)", new TextEncoder().encode(owner.secretKey!.p.toString(16))],
      ["q (hex)", new TextEncoder().encode(owner.secretKey!.q.toString(16))],
      ["group key", Uint8Array.from(groupKey.match(/../g)!, (h) => parseInt(h, 16))],
      ["group key (hex)", new TextEncoder().encode(groupKey)],
    ];
    // Plaintext weights: stretches of the initial model and of each round's global model.
    const models = [
      await readModel(`${fed}/owner/model.f32`),
      await readModel(`${fed}/owner/state/model-round-1.f32`),
      await readModel(`${fed}/owner/state/model-round-2.f32`),
    ];
    const weightProbes: Uint8Array[] = [];
    for (const m of models) {
      const bytes = new Uint8Array(m.buffer, m.byteOffset, m.byteLength);
      // Dense-layer stretches (conv biases start at zero and would match by chance).
      for (const offset of [2_600, 20_000, 50_000, 61_000]) {
        weightProbes.push(bytes.slice(offset * 4, offset * 4 + 32));
      }
    }

    assert.ok(frames.length > 10, `recorded ${frames.length} frames`);
    let updatesChecked = 0;
    const byRound = new Map<number, (Message & { type: "update" })[]>();
    const seen = new Set<string>();
    for (const f of frames) {
      const message: Message = decodeMessage(f.bytes, 1 << 24);
      seen.add(`${f.link}:${f.direction}:${message.type}`);
      for (const [name, secret] of secrets) {
        assert.ok(!contains(f.bytes, secret), `${f.link} ${message.type} frame carries ${name}`);
      }
      for (const probe of weightProbes) {
        assert.ok(
          !contains(f.bytes, probe),
          `${f.link} ${message.type} frame carries plaintext weights`,
        );
      }
      if (message.type === "update" || message.type === "decrypt") {
        // Only valid ciphertexts under the federation's key, never a bare plaintext below n.
        const width = owner.publicKey.ciphertextBytes;
        assert.equal(message.payload.length % width, 0);
        for (let i = 0; i < message.payload.length / width; i++) {
          const c = readBigint(message.payload, i * width, width);
          checkCiphertext(owner.publicKey, c);
          assert.ok(c >= owner.publicKey.n, `${message.type} ciphertext [${i}] is below n`);
        }
      }
      if (message.type === "update") {
        // Even the owner, decrypting one client's update alone, reads noise:
        // not that round's mean update.
        const mean = new Float32Array(models[1]!.length);
        const [before, after] = [models[message.round - 1]!, models[message.round]!];
        for (let i = 0; i < mean.length; i++) mean[i] = after[i]! - before[i]!;
        const alone = decodeAlone(owner, owner.secretKey!, message.payload, message.weight);
        if (alone) {
          const r = correlation(alone, mean);
          assert.ok(Math.abs(r) < 0.05, `one update decodes to the round's mean (r = ${r})`);
        }
        updatesChecked++;
        byRound.set(message.round, [...byRound.get(message.round) ?? [], message]);
      }
      if (message.type === "model") assert.equal(message.kind, "sealed");
    }
    for (
      const expected of [
        "client-server:up:hello",
        "client-server:up:ready",
        "client-server:down:announce",
        "client-server:up:update",
        "client-server:up:report",
        "client-server:down:fit",
        "client-server:down:model",
        "server-owner:up:decrypt",
        "server-owner:down:sealed",
      ]
    ) assert.ok(seen.has(expected), `no ${expected} frame recorded: ${[...seen].join(", ")}`);
    assert.equal(updatesChecked, 4, "two clients, two rounds");
    // The control: the same decoding of the two updates' product finds the round's mean.
    for (const [round, [a, b]] of byRound) {
      const key = owner.publicKey;
      const width = key.ciphertextBytes;
      const product = new Uint8Array(a!.payload.length);
      for (let i = 0; i < product.length / width; i++) {
        const c = readBigint(a!.payload, i * width, width) *
          readBigint(b!.payload, i * width, width);
        writeBigint(c % key.n2, width, product, i * width);
      }
      const mean = new Float32Array(models[round]!.length);
      for (let i = 0; i < mean.length; i++) mean[i] = models[round]![i]! - models[round - 1]![i]!;
      const history = JSON.parse(await Deno.readTextFile(`${fed}/server/history.json`));
      const sum = decodeAlone(owner, owner.secretKey!, product, history[round - 1].totalWeight);
      assert.ok(
        sum && correlation(sum, mean) > 0.99,
        `round ${round}: the sum decodes to the mean`,
      );
    }
  } finally {
    await stopAll(parties);
    for (const r of relays) await r.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
