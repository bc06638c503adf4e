/**
 * A real server process against a test client that speaks raw frames: every
 * bad frame, hello and update gets an error frame naming the problem, the
 * server keeps running, and no accepted update is lost.
 */
import assert from "node:assert/strict";
import {
  createRandomizerSource,
  encrypt,
  loadSecretKey,
  plaintextCount,
  type PublicKey,
  writeBigint,
} from "../../src/he/mod.ts";
import {
  decodeMessage,
  encodeMessage,
  type Message,
  type UpdateMessage,
} from "../../src/net/mod.ts";
import { type Bundle, federationCodec, loadBundle } from "../../src/federation/bundle.ts";
import type { RoundRecord } from "../../src/parties/server.ts";
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

function update(round: number, count: number, payload: Uint8Array, weight = 100): UpdateMessage {
  return {
    type: "update",
    round,
    count,
    weight,
    trainLoss: 0.5,
    trainAccuracy: 0.5,
    trainSeconds: 0.1,
    encryptSeconds: 0.1,
    payload,
  };
}

async function credentialsOf(fed: string, id: string): Promise<{ token: string }> {
  return JSON.parse(await Deno.readTextFile(`${fed}/${id}/credentials.json`));
}

function hello(id: string, token: string, fingerprint: string): Message {
  return { type: "hello", role: "client", id, token, fingerprint, modelRound: 0 };
}

function serverUrl(bundle: Bundle): string {
  return bundle.config.serverUrl;
}

Deno.test("the server answers every bad frame, hello and update with an error frame and keeps running", async (t) => {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  const clients: RawClient[] = [];
  try {
    // One client is enough for a round: the test client plays it, and each
    // rejected update makes the server retry the round with a new fit.
    await smallFederation(fed, { mode: "shared-key", clients: 3, minClients: 1, rounds: 2 });
    const bundle = await loadBundle(`${fed}/server`);
    const key = bundle.publicKey;
    const count = plaintextCount(federationCodec(bundle.config), bundle.config.parameterCount);
    const width = key.ciphertextBytes;
    const good = validCiphertexts(key, count);
    const url = serverUrl(bundle);
    const fp = bundle.config.fingerprint;
    const { token } = await credentialsOf(fed, "client-3");
    const token1 = (await credentialsOf(fed, "client-1")).token;

    const server = startParty("server", [
      "serve",
      "--bundle",
      `${fed}/server`,
      "--round-timeout",
      "30",
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
    const mallory = await open();
    await t.step("a truncated frame gets an error frame", async () => {
      mallory.send(Uint8Array.of(1, 7, 0));
      await mallory.expectError(/frame of 3 bytes is truncated/);
      mallory.send(frame(1, 7, '{"rounds":1}').subarray(0, 12));
      await mallory.expectError(/done frame: header length 12 is past the end of the frame/);
      alive();
    });
    await t.step("an oversized frame gets an error frame", async () => {
      const big = frame(1, 4, "{}", 4 << 20);
      mallory.send(big);
      await mallory.expectError(new RegExp(`frame of ${big.length} bytes exceeds the limit`));
      alive();
    });
    await t.step("an unknown protocol version gets an error frame", async () => {
      mallory.send(frame(7, 1, "{}"));
      await mallory.expectError(/unsupported protocol version 7 \(this build speaks 1\)/);
      alive();
    });
    await t.step("an unknown type byte gets an error frame", async () => {
      mallory.send(frame(1, 200, "{}"));
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
        mallory.send(frame(1, 1, "{not json"));
        await mallory.expectError(/hello frame: header is not valid UTF-8 JSON/);
        mallory.send(frame(1, 1, JSON.stringify({ role: "client", id: 3 })));
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

    // The client that survived the bad frames authenticates: round 1 starts.
    await t.step("after bad frames, the same connection authenticates", async () => {
      mallory.sendMessage(hello("client-3", token, fp));
      const welcome = await mallory.expect("welcome");
      assert.equal(welcome.id, "client-3");
      assert.equal((await mallory.expect("fit")).round, 1);
    });
    await t.step("a reused token is refused while its client is connected", async () => {
      const c = await open();
      c.sendMessage(hello("client-3", token, fp));
      await c.expectError(/client-3: token already in use by a connected client/);
      await c.closed;
      assert.ok(!mallory.isClosed, "the first connection stays");
      alive();
    });

    await t.step("an update for the wrong round gets an error frame", async () => {
      mallory.sendMessage(update(2, count, good));
      await mallory.expectError(/update for round 2, but round 1 is open/);
      mallory.sendMessage({
        type: "report",
        round: 1,
        loss: 1,
        accuracy: 0,
        examples: 1,
        decryptSeconds: 0,
      });
      await mallory.expectError(/unexpected report message; expected the update of round 1/);
      alive();
    });
    // Each rejected update ends this client's attempt at the round; with no
    // other client the server retries the round and sends a new fit.
    const rejected = async (bad: UpdateMessage, pattern: RegExp) => {
      mallory.sendMessage(bad);
      await mallory.expectError(pattern);
      assert.equal((await mallory.expect("fit")).round, 1);
      alive();
    };
    await t.step("a wrong ciphertext count gets an error frame", async () => {
      const payload = new Uint8Array((count + 1) * width);
      payload.set(good);
      payload.set(good.subarray(0, width), count * width);
      await rejected(
        update(1, count + 1, payload),
        new RegExp(`update count ${count + 1}, expected ${count} ciphertexts`),
      );
    });
    await t.step("a payload of the wrong width gets an error frame", async () => {
      await rejected(
        update(1, count, good.subarray(0, good.length - 1)),
        new RegExp(`${good.length - 1} bytes, expected ${count} ciphertexts of ${width} bytes`),
      );
    });
    await t.step("a ciphertext c >= n^2 gets an error frame", async () => {
      const payload = good.slice();
      payload.fill(0xff, 5 * width, 6 * width);
      await rejected(update(1, count, payload), /update of round 1\[5\] is not in \(0, n\^2\)/);
      payload.fill(0, 5 * width, 6 * width);
      await rejected(update(1, count, payload), /update of round 1\[5\] is not in \(0, n\^2\)/);
    });
    await t.step("a ciphertext with gcd(c, n) != 1 gets an error frame", async () => {
      const { secretKey } = await loadSecretKey(`${fed}/client-1/secret.json`);
      const payload = good.slice();
      writeBigint(secretKey.p * 12_345n, width, payload, 7 * width);
      await rejected(update(1, count, payload), /update of round 1\[7\] shares a factor with n/);
    });
    await t.step("a weight past maxTotalWeight gets an error frame", async () => {
      await rejected(update(1, count, good, 65_537), /weight 65537 .* maxTotalWeight 65536/);
    });

    let round1: Uint8Array;
    await t.step(
      "a second update from the same client in one round gets an error frame",
      async () => {
        round1 = encodeMessage(update(1, count, good));
        mallory.send(round1);
        mallory.send(round1);
        const model = await mallory.expect("model");
        assert.equal(model.round, 1);
        assert.equal(model.contributors, 1);
        assert.equal(model.totalWeight, 100);
        await mallory.expectError(/unexpected update message; expected the report of round 1/);
        mallory.sendMessage({
          type: "report",
          round: 1,
          loss: 1,
          accuracy: 0.5,
          examples: 10,
          decryptSeconds: 0,
        });
        assert.equal((await mallory.expect("fit")).round, 2);
        alive();
      },
    );
    await t.step("a replay of an earlier round's update gets an error frame", async () => {
      mallory.send(round1);
      await mallory.expectError(/update for round 1, but round 2 is open/);
      alive();
    });
    await t.step("a correct client still completes the run", async () => {
      mallory.sendMessage(update(2, count, good, 50));
      const model = await mallory.expect("model");
      assert.equal(model.round, 2);
      assert.equal(model.totalWeight, 50);
      assert.equal(model.payload.length, count * width);
      mallory.sendMessage({
        type: "report",
        round: 2,
        loss: 1,
        accuracy: 0.5,
        examples: 10,
        decryptSeconds: 0,
      });
      assert.equal((await mallory.expect("done")).rounds, 2);
      assert.equal((await server.done).code, 0, server.lines.join("\n"));
      const history = JSON.parse(
        await Deno.readTextFile(`${fed}/server/history.json`),
      ) as RoundRecord[];
      assert.deepEqual(history.map((r) => [r.round, r.participants, r.totalWeight]), [
        [1, ["client-3"], 100],
        [2, ["client-3"], 50],
      ]);
      assert.ok(server.lines.some((l) => /rejected a frame from .*text frames/.test(l)));
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs server, client-1 and client-2 (and `extra`, the test client) for one round. */
async function runRound(
  fed: string,
  serverArgs: string[],
  extra?: (url: string) => Promise<void>,
): Promise<{ history: RoundRecord[]; server: Party }> {
  const parties: Party[] = [];
  try {
    const server = startParty("server", ["serve", "--bundle", `${fed}/server`, ...serverArgs]);
    parties.push(server);
    for (const i of [1, 2]) {
      parties.push(
        startParty(`client-${i}`, ["client", "--bundle", `${fed}/client-${i}`, ...LIMITS]),
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

Deno.test("bad updates from one client lose no accepted update: the round aggregates the others exactly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await smallFederation(`${dir}/fed`, {
      mode: "shared-key",
      clients: 3,
      minClients: 2,
      rounds: 1,
    });
    // The reference: the same federation, clients 1 and 2 alone.
    await Deno.mkdir(`${dir}/ref`);
    await new Deno.Command("cp", { args: ["-a", `${dir}/fed/.`, `${dir}/ref`] }).output();
    const fed = `${dir}/fed`;
    const bundle = await loadBundle(`${fed}/server`);
    const key = bundle.publicKey;
    const count = plaintextCount(federationCodec(bundle.config), bundle.config.parameterCount);
    const { token } = await credentialsOf(fed, "client-3");

    const { history } = await runRound(
      fed,
      ["--min-available", "3", "--round-timeout", "60"],
      async (url) => {
        const mallory = await RawClient.open(url);
        try {
          mallory.sendMessage(hello("client-3", token, bundle.config.fingerprint));
          await mallory.expect("welcome");
          assert.equal((await mallory.expect("fit")).round, 1);
          const payload = validCiphertexts(key, count);
          payload.fill(0xff, 0, key.ciphertextBytes);
          mallory.sendMessage(update(1, count, payload));
          await mallory.expectError(/update of round 1\[0\] is not in \(0, n\^2\)/);
          // Another update while the others train: the server reads it once
          // their round is aggregated, and refuses it.
          mallory.sendMessage(update(1, count, validCiphertexts(key, count)));
          const model = await mallory.expect("model");
          assert.equal(model.contributors, 2);
          await mallory.expectError(/unexpected update message; expected the report of round 1/);
          mallory.sendMessage({
            type: "error",
            code: "unavailable",
            message: "no report from client-3",
          });
          await mallory.expect("done");
        } finally {
          await mallory.close();
        }
      },
    );
    assert.equal(history.length, 1);
    assert.deepEqual([...history[0]!.participants].sort(), ["client-1", "client-2"]);
    assert.deepEqual(history[0]!.failures.map((f) => f.clientId), ["client-3"]);
    assert.match(history[0]!.failures[0]!.reason, /not in \(0, n\^2\)/);

    const ref = await runRound(`${dir}/ref`, ["--min-clients", "2", "--min-available", "2"]);
    assert.equal(history[0]!.totalWeight, ref.history[0]!.totalWeight);
    // Compare with a loop: assert.deepEqual's diff of two large arrays is slow.
    const model1 = await readModel(`${fed}/client-1/state/model.f32`);
    assert.equal(maxAbsDiff(await readModel(`${fed}/client-2/state/model.f32`), model1), 0);
    const reference = await readModel(`${dir}/ref/client-1/state/model.f32`);
    // Updates are quantized with stochastic rounding: runs agree within one step.
    const step = bundle.config.encoding.clipRange /
      (2 ** (bundle.config.encoding.quantBits - 1) - 1);
    const diff = maxAbsDiff(reference, model1);
    assert.ok(diff <= step + 1e-6, `differs from the run without client-3 by ${diff}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
