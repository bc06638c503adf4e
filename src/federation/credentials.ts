/**
 * Each party's `credentials.json`: who it is and the tokens it presents or checks.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { JsonFields } from "../util/fs.ts";

/** Credentials of a client: who it is and the token it presents. */
export interface ClientCredentials {
  readonly role: "client";
  /** Client id, `client-I`. */
  readonly id: string;
  /** Its shard index, 1-based. */
  readonly shard: number;
  /** Bearer token (secret). */
  readonly token: string;
}

/** Credentials of the server: its token towards the owner and the clients' token hashes. */
export interface ServerCredentials {
  readonly role: "server";
  /** Token the server presents to the owner service (secret). */
  readonly token: string;
  /** SHA-256 of each client's token. */
  readonly clients: readonly { readonly id: string; readonly tokenSha256: string }[];
}

/** Credentials of the owner: the hash of the server's token. */
export interface OwnerCredentials {
  readonly role: "owner";
  /** SHA-256 of the server's token. */
  readonly serverTokenSha256: string;
}

/** Any party's credentials. */
export type Credentials = ClientCredentials | ServerCredentials | OwnerCredentials;

/**
 * Parses a party's `credentials.json`.
 *
 * @param path Names the file in errors.
 * @param value Its parsed JSON.
 * @returns The credentials.
 * @throws {FlheError} `input` naming the file and field.
 *
 * @example Usage
 * ```ts
 * import { parseCredentials } from "./credentials.ts";
 * parseCredentials("credentials.json", { role: "owner", serverTokenSha256: "0".repeat(64) });
 * ```
 */
export function parseCredentials(path: string, value: unknown): Credentials {
  const f = new JsonFields(path, value);
  const role = f.oneOf("role", ["client", "server", "owner"]);
  const hex64 = /^[0-9a-f]{64}$/;
  if (role === "client") {
    return {
      role,
      id: f.string("id", /^client-\d+$/),
      shard: f.number("shard", 1, 10_000),
      token: f.string("token", hex64),
    };
  }
  if (role === "owner") return { role, serverTokenSha256: f.string("serverTokenSha256", hex64) };
  const list = (value as { clients?: unknown }).clients;
  if (!Array.isArray(list)) {
    throw new FlheError("input", `${path}: field "clients" is missing or not an array`);
  }
  return {
    role,
    token: f.string("token", hex64),
    clients: list.map((entry, i) => {
      const c = new JsonFields(path, entry, `clients[${i}].`);
      return { id: c.string("id", /^client-\d+$/), tokenSha256: c.string("tokenSha256", hex64) };
    }),
  };
}
