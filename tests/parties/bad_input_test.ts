/**
 * A real server process against a test client that speaks raw frames: every
 * bad frame, hello and update gets an error frame naming the problem, the
 * server keeps running, and no accepted update is lost.
 */
import assert from "node:assert/strict";
import {
  createRandomizerSource,
  encodeUpdate,
  encrypt,
  loadSecretKey,
  plaintextCount,
  type PublicKey,
  readBigint,
  writeBigint,
} from "../../src/he/mod.ts";
import {
  type AnnounceMessage,
  decodeMessage,
  encodeMessage,
  type Message,
  PROTOCOL_VERSION,
  type ReadyMessage,
  type UpdateMessage,
} from "../../src/net/mod.ts";
import { addMask, maskVector, pairSecrets, signContribution } from "../../src/secagg/mod.ts";
import { sha256Hex, toHex } from "../../src/util/hex.ts";
import { type Bundle, federationCodec, loadBundle } from "../../src/federation/mod.ts";
import { packingWeights } from "../../src/federation/limits.ts";
import type { RoundRecord } from "../../src/rounds/mod.ts";
import { modelDigest } from "../../src/parties/model_digest.ts";
import {
  maxAbsDiff,
  type Party,
  readModel,
  smallFederation,
  startParty,
  stopAll,
} from "./harness.ts";

const LIMITS = ["--train-limit", "200", "--test-limit", "200", "--workers", "1"];

/** A WebSocket client that sends raw bytes and decodes what comes back. */
class RawClient {
  readonly #queue: Message[] = [];
  readonly #waiters: ((m: Message | Error) => void)[] = [];
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: WebSocket) {
    socket.binaryType = "arraybuffer";
    const { promise, resolve } = Promise.withResolvers<void>();
    this.closed = promise;
    socket.onmessage = (e: MessageEvent) => {
      const m = decodeMessage(new Uint8Array(e.data as ArrayBuffer), 1 << 24);
      const w = this.#waiters.shift();
      if (w) w(m);
      else this.#queue.push(m);
    };
    socket.onclose = () => {
      this.isClosed = true;
      for (const w of this.#waiters.splice(0)) w(new Error("connection closed"));
      resolve();
    };
  }

  static async open(url: string): Promise<RawClient> {
    const socket = new WebSocket(url);
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
    return client;
  }

  send(data: Uint8Array | string): void {
    this.socket.send(data);
  }

  sendMessage(message: Message): void {
    this.send(encodeMessage(message));
  }

  /** The next message from the server. */
  next(timeoutMs = 15_000): Promise<Message> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.isClosed) return Promise.reject(new Error("connection closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (m: Message | Error) => {
        clearTimeout(timer);
        if (m instanceof Error) reject(m);
        else resolve(m);
      };
      this.#waiters.push(waiter);
    });
  }

  /** Asserts that the next message is an error frame matching `pattern`. */
  async expectError(pattern: RegExp): Promise<void> {
    const m = await this.next();
    assert.equal(
      m.type,
      "error",
      `expected an error frame, got ${JSON.stringify(m).slice(0, 300)}`,
    );
    assert.match((m as Message & { type: "error" }).message, pattern);
  }

  /** Skips to the next message of `type` and returns it. */
  async expect<T extends Message["type"]>(type: T): Promise<Message & { type: T }> {
    const m = await this.next();
    assert.equal(m.type, type, `expected ${type}, got ${JSON.stringify(m).slice(0, 300)}`);
    return m as Message & { type: T };
  }

  close(): Promise<void> {
    if (!this.isClosed) this.socket.close();
    return this.closed;
  }
}

function frame(version: number, type: number, header: string, payloadBytes = 0): Uint8Array {
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(6 + head.length + payloadBytes);
  out[0] = version;
  out[1] = type;
  new DataView(out.buffer).setUint32(2, head.length);
  out.set(head, 6);
  return out;
}

/** `count` valid ciphertexts (encryptions of 0, a few distinct ones tiled). */
function validCiphertexts(key: PublicKey, count: number): Uint8Array {
  const width = key.ciphertextBytes;
  const source = createRandomizerSource(key);
  const distinct = Array.from({ length: 8 }, () => encrypt(key, 0n, source.next()));
  const out = new Uint8Array(count * width);
  for (let i = 0; i < count; i++) {
    writeBigint(distinct[i % distinct.length]!, width, out, i * width);
  }
  return out;
}

/**
 * An update for `a` trained from the model whose SHA-256 is `base` (the
 * federation's initial model, unless a round finished before).
 */
function update(
  a: AnnounceMessage,
  base: string,
  count: number,
  payload: Uint8Array,
  weight: number,
  signature = "00".repeat(64),
): UpdateMessage {
  return {
    type: "update",
    round: a.round,
    base,
    count,
    weight,
    encryptSeconds: 0.1,
    signature,
    payload,
  };
}

/** A ready of a client bound to no set from its base model. */
function ready(round: number, weight: number): ReadyMessage {
  return { type: "ready", round, weight, trainSeconds: 0.1, contributed: [] };
}

/** SHA-256 of the federation's initial model, as a client holding `bundle` computes it. */
function initialBase(bundle: Bundle): Promise<string> {
  return modelDigest(bundle.initialModel!);
}

/**
 * What an honest client with `bundle`'s keys would upload for `a` from the
 * initial model (no round finished before): a zero update, encoded, masked
 * for the set and base model, encrypted and signed.
 */
async function honestUpdate(
  bundle: Bundle,
  a: AnnounceMessage,
  weight: number,
): Promise<UpdateMessage> {
  const base = await initialBase(bundle);
  const { config, publicKey: key, clientKeys, peers } = bundle;
  const codec = federationCodec(config);
  const count = plaintextCount(codec, config.parameterCount);
  const packing = packingWeights(a.set, config.encoding.maxTotalWeight);
  const packed = packing[a.set.findIndex((m) => m.id === clientKeys!.id)]!;
  const zero = new Float32Array(config.parameterCount);
  const { plaintexts } = encodeUpdate(zero, packed, key.n, codec);
  const mask = await maskVector({
    selfId: clientKeys!.id,
    pairKeys: await pairSecrets(clientKeys!, peers.clients),
    set: a.set,
    base,
    context: config.fingerprint,
    count,
    modulus: key.n,
    width: key.plaintextBytes,
  });
  const masked = addMask(plaintexts, mask, key.n, key.plaintextBytes);
  const source = createRandomizerSource(key);
  const payload = new Uint8Array(count * key.ciphertextBytes);
  for (let i = 0; i < count; i++) {
    const m = readBigint(masked, i * key.plaintextBytes, key.plaintextBytes);
    writeBigint(
      encrypt(key, m, source.next()),
      key.ciphertextBytes,
      payload,
      i * key.ciphertextBytes,
    );
  }
  const signature = await signContribution(clientKeys!, {
    context: config.fingerprint,
    round: a.round,
    baseRound: 0,
    base,
    set: a.set,
    id: clientKeys!.id,
    weight,
    digest: await sha256Hex(payload),
  });
  return update(a, base, count, payload, weight, toHex(signature));
}

async function credentialsOf(fed: string, id: string): Promise<{ token: string }> {
  return JSON.parse(await Deno.readTextFile(`${fed}/${id}/credentials.json`));
}

function hello(id: string, token: string, fingerprint: string): Message {
  return { type: "hello", role: "client", id, token, fingerprint, modelRound: 0 };
}

Deno.test("the server answers every bad frame, hello and update with an error frame and keeps running", async (t) => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  const clients: RawClient[] = [];
  try {
    // client-1 is a real client; the test client plays client-2. Each update
    // the server refuses fails its round (there is no second announcement),
    // and the next round starts with a new fit from the same model: client-1
    // is bound to the set it uploaded for, which is announced again.
    await smallFederation(fed, { mode: "shared-key", clients: 2, minClients: 2, rounds: 9 });
    const bundle = await loadBundle(`${fed}/server`);
    const own = await loadBundle(`${fed}/client-2`);
    // Every round fails until the last, so every update is from the initial model.
    const base = await initialBase(own);
    const key = bundle.publicKey;
    const count = plaintextCount(federationCodec(bundle.config), bundle.config.parameterCount);
    const width = key.ciphertextBytes;
    const good = validCiphertexts(key, count);
    const url = bundle.config.serverUrl;
    const fp = bundle.config.fingerprint;
    const { token } = await credentialsOf(fed, "client-2");
    const token1 = (await credentialsOf(fed, "client-1")).token;

    const server = startParty("server", [
      "serve",
      "--bundle",
      `${fed}/server`,
      "--round-timeout",
      "30",
      "--linger",
      "0",
    ]);
    parties.push(server);
    let exited = false;
    server.done.then(() => (exited = true));
    await server.waitFor(/listening on/, 60_000);
    const alive = () => assert.ok(!exited, `server exited:\n${server.lines.join("\n")}`);
    const open = async () => {
      const c = await RawClient.open(url);
      clients.push(c);
      return c;
    };

    // Frame-level checks, before the hello: the connection survives each.
    let mallory = await open();
    await t.step("a truncated frame gets an error frame", async () => {
      mallory.send(Uint8Array.of(PROTOCOL_VERSION, 7, 0));
      await mallory.expectError(/frame of 3 bytes is truncated/);
      mallory.send(frame(PROTOCOL_VERSION, 7, '{"rounds":1}').subarray(0, 12));
      await mallory.expectError(/done frame: header length 12 is past the end of the frame/);
      alive();
    });
    await t.step("an unknown protocol version gets an error frame", async () => {
      mallory.send(frame(7, 1, "{}"));
      await mallory.expectError(/unsupported protocol version 7 \(this build speaks 3\)/);
      alive();
    });
    await t.step("an unknown type byte gets an error frame", async () => {
      mallory.send(frame(PROTOCOL_VERSION, 200, "{}"));
      await mallory.expectError(/unknown message type 200/);
      alive();
    });
    await t.step("a text frame gets an error frame", async () => {
      mallory.send(JSON.stringify({ type: "hello" }));
      await mallory.expectError(/text frames are not accepted/);
      alive();
    });
    await t.step(
      "a malformed header gets an error frame naming the message and field",
      async () => {
        mallory.send(frame(PROTOCOL_VERSION, 1, "{not json"));
        await mallory.expectError(/hello frame: header is not valid UTF-8 JSON/);
        mallory.send(frame(PROTOCOL_VERSION, 1, JSON.stringify({ role: "client", id: 3 })));
        await mallory.expectError(/hello message: field "id" is missing or not a string/);
        alive();
      },
    );

    await t.step("an unknown token is refused and the connection closed", async () => {
      const c = await open();
      c.sendMessage(hello("client-1", "0".repeat(64), fp));
      await c.expectError(/unknown client id or wrong token for client-1/);
      await c.closed;
      const d = await open();
      d.sendMessage(hello("client-77", token1, fp));
      await d.expectError(/unknown client id or wrong token for client-77/);
      await d.closed;
      alive();
    });
    await t.step("a client whose public-key fingerprint differs is refused", async () => {
      const c = await open();
      c.sendMessage(hello("client-1", token1, "0".repeat(64)));
      await c.expectError(
        /client-1: public key fingerprint 0{16}\.\.\. differs from the federation's/,
      );
      await c.closed;
      alive();
    });
    await t.step("a first message that is not a client hello is refused", async () => {
      const c = await open();
      c.sendMessage({
        type: "hello",
        role: "server",
        id: "server",
        token: token1,
        fingerprint: fp,
        modelRound: 0,
      });
      await c.expectError(/expected a client hello, got a hello message/);
      await c.closed;
      alive();
    });

    await t.step("after bad frames, the same connection authenticates", async () => {
      mallory.sendMessage(hello("client-2", token, fp));
      assert.equal((await mallory.expect("welcome")).id, "client-2");
    });
    await t.step("a second hello with the right token replaces the first connection", async () => {
      const c = await open();
      c.sendMessage(hello("client-2", token, fp));
      assert.equal((await c.expect("welcome")).id, "client-2");
      await mallory.closed;
      mallory = c;
      alive();
    });

    const client1 = startParty("client-1", ["client", "--bundle", `${fed}/client-1`, ...LIMITS]);
    parties.push(client1);
    /** Takes the round's fit, says ready, returns the announcement. */
    const announced = async (round: number, weight = 100): Promise<AnnounceMessage> => {
      assert.equal((await mallory.expect("fit")).round, round);
      mallory.sendMessage(ready(round, weight));
      const a = await mallory.expect("announce");
      assert.deepEqual(a.set.map((m) => m.id), ["client-1", "client-2"]);
      return a;
    };
    const rejected = async (
      round: number,
      bad: (a: AnnounceMessage) => UpdateMessage,
      pattern: RegExp,
    ) => {
      const a = await announced(round);
      mallory.sendMessage(bad(a));
      await mallory.expectError(pattern);
      alive();
    };

    await t.step("messages out of turn get an error frame", async () => {
      assert.equal((await mallory.expect("fit")).round, 1);
      mallory.sendMessage(
        update({ type: "announce", round: 1, set: [] }, base, count, good, 100),
      );
      await mallory.expectError(/unexpected update message; expected ready for round 1/);
      mallory.sendMessage(ready(2, 100));
      await mallory.expectError(/ready for round 2, but round 1 is open/);
      mallory.sendMessage(ready(1, 100));
      const a = await mallory.expect("announce");
      mallory.sendMessage(update({ ...a, round: 2 }, base, count, good, 100));
      await mallory.expectError(/update for round 2, but round 1 is open/);
      alive();
    });
    await t.step("a wrong ciphertext count gets an error frame", async () => {
      const payload = new Uint8Array((count + 1) * width);
      payload.set(good);
      await rejected(
        2,
        (a) => update(a, base, count + 1, payload, 100),
        new RegExp(`update count ${count + 1}, expected ${count}`),
      );
    });
    await t.step("a payload of the wrong width gets an error frame", async () => {
      await rejected(
        3,
        (a) => update(a, base, count, good.subarray(0, good.length - 1), 100),
        new RegExp(`${good.length - 1} bytes, expected ${count} ciphertexts of ${width} bytes`),
      );
    });
    await t.step("a ciphertext c >= n^2 or c = 0 gets an error frame", async () => {
      const payload = good.slice();
      payload.fill(0xff, 5 * width, 6 * width);
      await rejected(
        4,
        (a) => update(a, base, count, payload, 100),
        /update of round 4\[5\] is not in \(0, n\^2\)/,
      );
      const zero = good.slice();
      zero.fill(0, 5 * width, 6 * width);
      await rejected(
        5,
        (a) => update(a, base, count, zero, 100),
        /update of round 5\[5\] is not in \(0, n\^2\)/,
      );
    });
    await t.step("a ciphertext with gcd(c, n) != 1 gets an error frame", async () => {
      const { secretKey } = await loadSecretKey(`${fed}/client-1/secret.json`);
      const payload = good.slice();
      writeBigint(secretKey.p * 12_345n, width, payload, 7 * width);
      await rejected(
        6,
        (a) => update(a, base, count, payload, 100),
        /update of round 6\[7\] shares a factor with n/,
      );
    });
    await t.step(
      "an unsigned update or a weight other than announced gets an error frame",
      async () => {
        await rejected(
          7,
          (a) => update(a, base, count, good, 100),
          /client-2: the update's signature does not verify/,
        );
        await rejected(
          8,
          (a) => update(a, base, count, good, 99),
          /update weight 99 differs from the announced 100/,
        );
      },
    );
    await t.step(
      "a correct update completes the round; a second one gets an error frame",
      async () => {
        const a = await announced(9);
        const honest = await honestUpdate(own, a, 100);
        mallory.sendMessage(honest);
        mallory.sendMessage(honest);
        const model = await mallory.expect("model");
        assert.equal(model.round, 9);
        assert.equal(model.contributors, 2);
        await mallory.expectError(/unexpected update message; expected a report/);
        mallory.sendMessage({
          type: "report",
          round: 9,
          loss: 1,
          accuracy: 0.5,
          examples: 10,
          decryptSeconds: 0,
          epsilon: -1,
          mae: -1,
        });
        assert.equal((await mallory.expect("done")).rounds, 9);
        alive();
      },
    );
    await t.step("the server finishes: every refused round is recorded as failed", async () => {
      assert.equal((await server.done).code, 0, server.lines.join("\n"));
      const history = JSON.parse(
        await Deno.readTextFile(`${fed}/server/history.json`),
      ) as RoundRecord[];
      assert.equal(history.length, 9);
      assert.deepEqual(history.map((r) => r.failed === undefined), [...Array(8).fill(false), true]);
      assert.ok(
        history.slice(0, 8).every((r) => r.failures.some((f) => f.clientId === "client-2")),
      );
      assert.ok(server.lines.some((l) => /rejected a frame from .*text frames/.test(l)));
      // client-1's upload of round 1 was not lost: it stood by it in every later round.
      assert.equal((await client1.done).code, 0, client1.lines.join("\n"));
      const repeated = client1.lines.filter((l) =>
        /already contributed from the model of round 0; ready for the same set only \(client-1, client-2\)/
          .test(l)
      );
      assert.equal(repeated.length, 8, client1.lines.join("\n"));
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs owner, server, client-1 and client-2 (and `extra`, the test client) for one round. */
async function runRound(
  fed: string,
  serverArgs: string[],
  extra?: (url: string) => Promise<void>,
): Promise<{ history: RoundRecord[]; server: Party }> {
  const parties: Party[] = [];
  try {
    parties.push(startParty("owner", ["owner", "serve", "--bundle", `${fed}/owner`]));
    const server = startParty("server", [
      "serve",
      "--bundle",
      `${fed}/server`,
      "--linger",
      "0",
      ...serverArgs,
    ]);
    parties.push(server);
    for (const i of [1, 2]) {
      parties.push(
        startParty(`client-${i}`, [
          "client",
          "--bundle",
          `${fed}/client-${i}`,
          ...LIMITS,
          // The same training in every run, to compare their models.
          "--train-seed",
          "7",
        ]),
      );
    }
    const bundle = await loadBundle(`${fed}/server`);
    await server.waitFor(/listening on/, 60_000);
    await extra?.(bundle.config.serverUrl);
    for (const p of parties) {
      assert.equal((await p.done).code, 0, `${p.name}:\n${p.lines.join("\n")}`);
    }
    const history = JSON.parse(await Deno.readTextFile(`${fed}/server/history.json`));
    return { history, server };
  } finally {
    await stopAll(parties);
  }
}

Deno.test("a bad update from one member fails the round; the same set, announced again from the same model, aggregates exactly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await smallFederation(`${dir}/fed`, { clients: 3, minClients: 2, rounds: 2 });
    // The reference: the same federation, where client-3 sends its good update
    // in round 1 and the bad one in round 2.
    await Deno.mkdir(`${dir}/ref`);
    await new Deno.Command("cp", { args: ["-a", `${dir}/fed/.`, `${dir}/ref`] }).output();
    const fed = `${dir}/fed`;
    const bundle = await loadBundle(`${fed}/server`);
    const own = await loadBundle(`${fed}/client-3`);
    const key = bundle.publicKey;
    const count = plaintextCount(federationCodec(bundle.config), bundle.config.parameterCount);
    const base = await initialBase(own);
    const { token } = await credentialsOf(fed, "client-3");
    const bad = validCiphertexts(key, count);
    bad.fill(0xff, 0, key.ciphertextBytes);

    /** Plays client-3 for two rounds: `good[i]` says whether round i + 1 gets the good update. */
    const mallory = (good: [boolean, boolean]) => async (url: string) => {
      const c = await RawClient.open(url);
      try {
        c.sendMessage(hello("client-3", token, bundle.config.fingerprint));
        await c.expect("welcome");
        for (const round of [1, 2]) {
          assert.equal((await c.expect("fit")).round, round);
          c.sendMessage(ready(round, 100));
          const a = await c.expect("announce");
          assert.deepEqual(a.set.map((m) => m.id), ["client-1", "client-2", "client-3"]);
          if (good[round - 1]) {
            c.sendMessage(await honestUpdate(own, a, 100));
            assert.equal((await c.expect("model")).contributors, 3);
            c.sendMessage({ type: "error", code: "unavailable", message: "no report" });
          } else {
            c.sendMessage(update(a, base, count, bad, 100));
            await c.expectError(
              new RegExp(`update of round ${round}\\[0\\] is not in \\(0, n\\^2\\)`),
            );
          }
        }
        await c.expect("done");
      } finally {
        await c.close();
      }
    };
    const args = ["--min-available", "3", "--round-timeout", "60"];

    const { history } = await runRound(fed, args, mallory([false, true]));
    assert.equal(history.length, 2);
    assert.match(history[0]!.failed ?? "", /no update from client-3/);
    assert.deepEqual(history[0]!.failures.map((f) => f.clientId), ["client-3"]);
    assert.match(history[0]!.failures[0]!.reason, /not in \(0, n\^2\)/);
    assert.equal(history[1]!.failed, undefined);
    assert.deepEqual([...history[1]!.participants].sort(), ["client-1", "client-2", "client-3"]);
    assert.deepEqual(history[1]!.failures, []);

    const ref = await runRound(`${dir}/ref`, args, mallory([true, false]));
    assert.equal(ref.history[0]!.failed, undefined);
    assert.ok(ref.history[1]!.failed);
    assert.equal(history[1]!.totalWeight, ref.history[0]!.totalWeight);
    const model1 = await readModel(`${fed}/client-1/state/model.f32`);
    assert.equal(maxAbsDiff(await readModel(`${fed}/client-2/state/model.f32`), model1), 0);
    const reference = await readModel(`${dir}/ref/client-1/state/model.f32`);
    // Updates are quantized with stochastic rounding: runs agree within one step.
    const step = bundle.config.encoding.clipRange /
      (2 ** (bundle.config.encoding.quantBits - 1) - 1);
    const diff = maxAbsDiff(reference, model1);
    assert.ok(diff <= step + 1e-6, `differs from the run with the good update first by ${diff}`);
    assert.ok(maxAbsDiff(reference, own.initialModel!) > 100 * step, "the round changed the model");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
