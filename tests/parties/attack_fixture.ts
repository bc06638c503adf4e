/**
 * The fixture of the attack tests: real owner and client processes, a
 * scripted malicious server speaking the real wire format, and the moves
 * such a server makes (train, announce, upload, ask the owner).
 *
 * @module
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../../src/util/hex.ts";
import {
  createPool,
  createRandomizerSource,
  encrypt,
  readBigint,
  writeBigint,
} from "../../src/he/mod.ts";
import type { DecryptMessage, ReadyMessage, SetMember, UpdateMessage } from "../../src/net/mod.ts";
import type { InitOptions } from "../../src/parties/owner_init.ts";
import { type Party, QUICK_CLIENT_ARGS, smallFederation, startParty, stopAll } from "./harness.ts";
import {
  fitMessage,
  type Peer,
  type ScriptedServer,
  startScriptedServer,
} from "./scripted_server.ts";

/** A federation under attack. */
export interface Fixture {
  readonly fed: string;
  readonly server: ScriptedServer;
  readonly peers: Map<string, Peer>;
  readonly parties: Party[];
}

/** Starts the owner (owner mode) and `clients` real clients against a scripted server. */
export async function withFederation(
  clients: number,
  body: (f: Fixture) => Promise<void>,
  overrides: Partial<InitOptions> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const fed = `${dir}/fed`;
  const parties: Party[] = [];
  let server: ScriptedServer | undefined;
  try {
    await smallFederation(fed, { clients, minClients: 2, rounds: 3, ...overrides });
    if ((overrides.mode ?? "owner") === "owner") {
      parties.push(startParty("owner", ["owner", "serve", "--bundle", `${fed}/owner`]));
    }
    server = await startScriptedServer(fed);
    const ids = Array.from({ length: clients }, (_, i) => `client-${i + 1}`);
    for (const id of ids) parties.push(startClient(fed, id));
    await body({ fed, server, peers: await server.clients(ids), parties });
  } finally {
    await server?.close();
    await stopAll(parties);
    await Deno.remove(dir, { recursive: true });
  }
}

/** Starts a client process of the federation. */
export function startClient(fed: string, id: string): Party {
  return startParty(id, ["client", "--bundle", `${fed}/${id}`, ...QUICK_CLIENT_ARGS]);
}

/** Kills a client with SIGKILL and starts it again; returns its new connection. */
export async function restartClient(f: Fixture, id: string): Promise<Peer> {
  const old = f.parties.find((p) => p.name === id && !p.lines.includes("<restarted>"))!;
  old.lines.push("<restarted>");
  old.child.kill("SIGKILL");
  await old.done;
  const rejoined = f.server.reconnected(id);
  f.parties.push(startClient(f.fed, id));
  const peer = await rejoined;
  f.peers.set(id, peer);
  return peer;
}

/** Sends `fit` to the given clients and collects their `ready`. */
export async function trainAll(
  f: Fixture,
  round: number,
  baseRound = 0,
  ids = [...f.peers.keys()],
): Promise<Map<string, ReadyMessage>> {
  const ready = new Map<string, ReadyMessage>();
  await Promise.all(ids.map(async (id) => {
    const p = f.peers.get(id)!;
    p.send(fitMessage(round, baseRound));
    ready.set(id, await p.expect("ready"));
  }));
  return ready;
}

/** The set of `ids` with their declared weights. */
export function setOf(ready: Map<string, ReadyMessage>, ids: readonly string[]): SetMember[] {
  return ids.map((id) => ({ id, weight: ready.get(id)!.weight }));
}

/** Announces a (possibly different) set to each client and collects the updates. */
export async function upload(
  f: Fixture,
  round: number,
  sets: Map<string, SetMember[]>,
): Promise<Map<string, UpdateMessage>> {
  const updates = new Map<string, UpdateMessage>();
  await Promise.all([...sets].map(async ([id, set]) => {
    const p = f.peers.get(id)!;
    p.send({ type: "announce", round, set });
    updates.set(id, await p.expect("update"));
  }));
  return updates;
}

/** One honest round through the scripted server: train, announce, upload. */
export async function honestRound(
  f: Fixture,
  round: number,
  baseRound = 0,
  ids = [...f.peers.keys()],
): Promise<
  { ready: Map<string, ReadyMessage>; set: SetMember[]; updates: Map<string, UpdateMessage> }
> {
  const ready = await trainAll(f, round, baseRound, ids);
  const set = setOf(ready, ids);
  const updates = await upload(f, round, new Map(ids.map((id) => [id, set])));
  return { ready, set, updates };
}

/**
 * A decrypt request for `set`: each member's ciphertexts (or a replacement)
 * one after the other, with the signatures the members gave.
 */
export function request(
  round: number,
  baseRound: number,
  set: SetMember[],
  updates: Map<string, UpdateMessage>,
  replace: Map<string, Uint8Array> = new Map(),
  signers = set.map((m) => m.id),
): DecryptMessage {
  const parts = set.map((m) => replace.get(m.id) ?? updates.get(m.id)!.payload);
  return {
    type: "decrypt",
    round,
    baseRound,
    set,
    contributions: signers.map((id) => ({ id, signature: updates.get(id)!.signature })),
    count: updates.values().next().value!.count,
    payload: concat(parts),
  };
}

/** Bytes one after the other. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((offset, p) => (out.set(p, offset), offset + p.length), 0);
  return out;
}

/** The slot-wise product of ciphertext vectors (what a server could compute). */
export async function product(f: Fixture, vectors: Uint8Array[]): Promise<Uint8Array> {
  using pool = await createPool({ publicKey: f.server.bundle.publicKey, workers: 1 });
  return await pool.aggregate(vectors);
}

/** A fresh encryption, under the public key, of the values `plaintext(i)` (a server can make it). */
export function forgedCiphertexts(
  f: Fixture,
  count: number,
  plaintext: (i: number) => bigint,
): Uint8Array {
  const key = f.server.bundle.publicKey;
  const randomizers = createRandomizerSource(key);
  const out = new Uint8Array(count * key.ciphertextBytes);
  for (let i = 0; i < count; i++) {
    const c = encrypt(key, plaintext(i), randomizers.next());
    writeBigint(c, key.ciphertextBytes, out, i * key.ciphertextBytes);
  }
  return out;
}

/** Expects the peer to refuse with an error frame matching `pattern`. */
export async function refused(p: Peer, pattern: RegExp): Promise<string> {
  const m = await p.expect("error");
  assert.match(m.message, pattern);
  return m.message;
}

/** SHA-256 of an update's payload. */
export function digestOf(u: UpdateMessage): Promise<string> {
  return sha256Hex(u.payload);
}

export { readBigint };
