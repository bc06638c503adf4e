/**
 * `peers.json`: the public keys every party may know. The clients' X25519
 * keys (pairwise masks) and Ed25519 keys (signed contributions), and the
 * owner's Ed25519 key (signed models). Nothing in it is secret.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { JsonFields } from "../util/fs.ts";

/** One client's public keys. */
export interface PeerKeys {
  /** Client id, `client-I`. */
  readonly id: string;
  /** Raw X25519 public key, 64 hex digits. */
  readonly agreementKey: string;
  /** Raw Ed25519 public key, 64 hex digits. */
  readonly verifyKey: string;
}

/** The federation's public keys. */
export interface Peers {
  /** The owner's raw Ed25519 public key (64 hex digits), which signs models. */
  readonly ownerVerifyKey: string;
  /** Every client's keys, in id order (`client-1` first). */
  readonly clients: readonly PeerKeys[];
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Parses `peers.json`.
 *
 * @param path The file (names it in errors).
 * @param value Its parsed JSON.
 * @param clients The federation's number of clients.
 * @returns The checked keys.
 * @throws {FlheError} `input` naming the file and field.
 *
 * @example Usage
 * ```ts
 * import { parsePeers } from "./peers.ts";
 * import { readJsonFile } from "../util/fs.ts";
 * const peers = parsePeers("peers.json", await readJsonFile("peers.json"), 2);
 * ```
 */
export function parsePeers(path: string, value: unknown, clients: number): Peers {
  const f = new JsonFields(path, value);
  f.oneOf("format", ["flhe-peers"]);
  const list = f.objectList("clients", 100_000).map((c) => ({
    id: c.string("id", /^client-[1-9]\d*$/),
    agreementKey: c.string("agreementKey", HEX64),
    verifyKey: c.string("verifyKey", HEX64),
  }));
  if (list.length !== clients || list.some((c, i) => c.id !== `client-${i + 1}`)) {
    throw new FlheError(
      "input",
      `${path}: field "clients" must list client-1 to client-${clients} in order`,
    );
  }
  const keys = new Set(list.flatMap((c) => [c.agreementKey, c.verifyKey]));
  if (keys.size !== 2 * list.length) {
    throw new FlheError("input", `${path}: two clients share a public key`);
  }
  return { ownerVerifyKey: f.string("ownerVerifyKey", HEX64), clients: list };
}

/**
 * Serializes the keys as `peers.json` content.
 *
 * @param peers The keys.
 * @returns JSON text.
 *
 * @example Usage
 * ```ts
 * import { peersJson } from "./peers.ts";
 * peersJson({ ownerVerifyKey: "00".repeat(32), clients: [] });
 * ```
 */
export function peersJson(peers: Peers): string {
  return JSON.stringify({ format: "flhe-peers", version: 1, ...peers }, null, 2) + "\n";
}

/**
 * The keys of a client of this federation, by exact id (`client-01` is not `client-1`).
 *
 * @param peers The federation's keys.
 * @param id A client id.
 * @returns Its keys, or `undefined` if no client has this id.
 *
 * @example Usage
 * ```ts
 * import { peerKeys } from "./peers.ts";
 * declare const peers: import("./peers.ts").Peers;
 * peerKeys(peers, "client-1")?.verifyKey;
 * ```
 */
export function peerKeys(peers: Peers, id: string): PeerKeys | undefined {
  const m = /^client-([1-9]\d*)$/.exec(id);
  if (!m) return undefined;
  const entry = peers.clients[Number(m[1]) - 1];
  return entry?.id === id ? entry : undefined;
}
