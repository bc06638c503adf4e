/**
 * `flhe client keygen`: a client makes its own X25519 and Ed25519 keys, so
 * that nobody else ever holds their private halves (not even the owner who
 * creates the federation). It keeps `secagg.json` (mode 0600) and hands the
 * public file to the owner for `flhe owner init --client-keys`.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { readJsonFile, writeFileAtomic } from "../util/fs.ts";
import {
  type ClientPublicKeys,
  exportClientPublicKeys,
  generateClientKeys,
  parseClientPublicKeys,
  saveClientSecretKeys,
} from "../secagg/mod.ts";

/** What {@linkcode clientKeygen} wrote. */
export interface KeygenResult {
  /** The private key file (keep it; put it in the client's bundle). */
  readonly secretPath: string;
  /** The public key file (give it to the owner). */
  readonly publicPath: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Generates a client's keys into `dir`, never over existing files.
 *
 * @param id The client's id (`client-I`).
 * @param dir Folder to write `secagg.json` and `ID.public.json` into.
 * @returns The two paths.
 * @throws {FlheError} `exists` if either file exists; `usage` for a bad id.
 *
 * @example Usage
 * ```ts
 * import { clientKeygen } from "./client_keygen.ts";
 * const { publicPath } = await clientKeygen("client-1", "keys");
 * ```
 */
export async function clientKeygen(id: string, dir: string): Promise<KeygenResult> {
  const secretPath = `${dir}/secagg.json`;
  const publicPath = `${dir}/${id}.public.json`;
  for (const path of [secretPath, publicPath]) {
    if (await exists(path)) {
      throw new FlheError("exists", `${path}: already exists; move it away first`);
    }
  }
  const keys = await generateClientKeys(id);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await saveClientSecretKeys(secretPath, keys);
  const publicKeys = await exportClientPublicKeys(keys);
  await writeFileAtomic(publicPath, JSON.stringify(publicKeys, null, 2) + "\n");
  return { secretPath, publicPath };
}

/**
 * Reads the public key files that clients made with {@linkcode clientKeygen}.
 *
 * @param paths One file per client.
 * @returns The keys, sorted by client number.
 * @throws {FlheError} `input` naming the file and field.
 *
 * @example Usage
 * ```ts
 * import { readClientPublicKeys } from "./client_keygen.ts";
 * const keys = await readClientPublicKeys(["client-1.public.json", "client-2.public.json"]);
 * ```
 */
export async function readClientPublicKeys(
  paths: readonly string[],
): Promise<ClientPublicKeys[]> {
  const keys = await Promise.all(
    paths.map(async (p) => parseClientPublicKeys(p, await readJsonFile(p))),
  );
  const number = (k: ClientPublicKeys) => Number(k.id.slice("client-".length));
  return keys.sort((a, b) => number(a) - number(b));
}
