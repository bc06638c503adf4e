/**
 * A malicious server for tests: it listens where the federation's clients
 * connect, speaks the real wire format through the real transport, and
 * does whatever a test scripts (forged sets, forged models, requests to the
 * owner it should never make). Clients and the owner are real processes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Channel, connect, listen, type Listener, type Message } from "../../src/net/mod.ts";
import { type Bundle, loadBundle, maxFrameBytes } from "../../src/federation/mod.ts";

/** A connected peer whose messages a test reads one by one. */
export interface Peer {
  readonly id: string;
  readonly channel: Channel;
  /** The next message, which must be of `type`. */
  expect<T extends Message["type"]>(type: T, timeoutMs?: number): Promise<Message & { type: T }>;
  send(m: Message): void;
}

function peer(id: string, channel: Channel): Peer {
  return {
    id,
    channel,
    async expect(type, timeoutMs = 60_000) {
      const m = await channel.receive(timeoutMs);
      assert.equal(m.type, type, `${id}: expected ${type}, got ${JSON.stringify(m).slice(0, 300)}`);
      return m as Message & { type: typeof type };
    },
    send: (m) => channel.send(m),
  };
}

/** The scripted server. */
export interface ScriptedServer {
  /** The server bundle (public key, tokens). */
  readonly bundle: Bundle;
  /** Waits until these clients have said hello; answers each with a welcome. */
  clients(ids: readonly string[]): Promise<Map<string, Peer>>;
  /** Waits for the next hello from `id` (a restarted client) and returns its new connection. */
  reconnected(id: string): Promise<Peer>;
  close(): Promise<void>;
}

/**
 * Listens on the federation's server address.
 *
 * @param fed The federation folder.
 */
export async function startScriptedServer(fed: string): Promise<ScriptedServer> {
  const bundle = await loadBundle(`${fed}/server`);
  const url = new URL(bundle.config.serverUrl);
  const arrived = new Map<string, Peer>();
  const waiters: (() => void)[] = [];
  const rejoin = new Map<string, (p: Peer) => void>();
  const listener: Listener = await listen({
    hostname: url.hostname,
    port: Number(url.port),
    maxFrameBytes: maxFrameBytes(bundle.config, bundle.publicKey),
    onChannel: async (channel) => {
      const hello = await channel.receive(10_000);
      if (hello.type !== "hello") return channel.close();
      channel.authenticate();
      channel.send({ type: "welcome", id: hello.id, completedRounds: 0, rounds: 5 });
      const p = peer(hello.id, channel);
      arrived.set(hello.id, p);
      for (const w of waiters.splice(0)) w();
      rejoin.get(hello.id)?.(p);
      rejoin.delete(hello.id);
    },
  });
  return {
    bundle,
    async clients(ids) {
      while (ids.some((id) => !arrived.has(id))) {
        await new Promise<void>((r) => waiters.push(r));
      }
      return new Map(ids.map((id) => [id, arrived.get(id)!]));
    },
    reconnected(id) {
      return new Promise((resolve) => rejoin.set(id, resolve));
    },
    close: () => listener.close(),
  };
}

/**
 * Connects to the owner service as the server (with the server's token).
 *
 * @param fed The federation folder.
 */
export async function connectOwner(fed: string): Promise<Peer> {
  const bundle = await loadBundle(`${fed}/server`);
  const credentials = bundle.credentials as { token: string };
  let channel: Channel | undefined;
  for (let i = 0; !channel; i++) {
    try {
      channel = await connect(bundle.config.ownerUrl, {
        peer: "owner",
        maxFrameBytes: maxFrameBytes(bundle.config, bundle.publicKey),
      });
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  channel.send({
    type: "hello",
    role: "server",
    id: "server",
    token: credentials.token,
    fingerprint: bundle.config.fingerprint,
    modelRound: 0,
  });
  const owner = peer("owner", channel);
  await owner.expect("welcome");
  return owner;
}

/** The fit of `round` as a server would send it. */
export function fitMessage(round: number, baseRound = 0): Message {
  return { type: "fit", round, baseRound };
}
