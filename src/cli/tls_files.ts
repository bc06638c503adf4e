/**
 * Files and addresses the listening parties take from options or, by
 * default, from their bundle: TLS certificate and key, CA certificate, and
 * the address to bind.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { checkPrivateFile } from "../util/fs.ts";

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new FlheError("input", `${path}: cannot read (${(e as Error).message})`);
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** A TLS certificate chain and its private key, PEM. */
export interface TlsFiles {
  /** Certificate chain (PEM). */
  readonly cert: string;
  /** Private key (PEM). */
  readonly key: string;
}

/**
 * The TLS certificate and key to serve `wss://`: `--tls-cert` and
 * `--tls-key` (both or neither), else the bundle's `tls/cert.pem` and
 * `tls/key.pem` if both exist, else none (serve `ws://`).
 *
 * @param paths `--tls-cert` and `--tls-key`, if given.
 * @param bundleDir The party's bundle folder.
 * @returns The PEM texts, or `undefined`.
 * @throws {FlheError} `usage` if only one is given; `input` if unreadable;
 *   `input` if the key file is readable by group or others.
 *
 * @example Usage
 * ```ts
 * import { readTls } from "./tls_files.ts";
 * const tls = await readTls({}, "federation/server");
 * ```
 */
export async function readTls(
  paths: { readonly cert?: string; readonly key?: string },
  bundleDir: string,
): Promise<TlsFiles | undefined> {
  let { cert, key } = paths;
  if (cert === undefined && key === undefined) {
    cert = `${bundleDir}/tls/cert.pem`;
    key = `${bundleDir}/tls/key.pem`;
    if (!(await isFile(cert)) || !(await isFile(key))) return undefined;
  }
  if (cert === undefined || key === undefined) {
    throw new FlheError("usage", "--tls-cert and --tls-key go together");
  }
  await checkPrivateFile(key);
  return { cert: await readText(cert), key: await readText(key) };
}

/**
 * The CA certificates to verify a `wss://` peer: `--ca FILE`, else the
 * bundle's `ca.pem` when `url` is `wss://` and the bundle has one, else none
 * (the runtime's default roots).
 *
 * @param caPath `--ca`, if given.
 * @param bundleDir The party's bundle folder.
 * @param url The peer's URL.
 * @returns The PEM certificates, or `undefined`.
 * @throws {FlheError} `input` if the file is unreadable or not a PEM certificate.
 *
 * @example Usage
 * ```ts
 * import { readCa } from "./tls_files.ts";
 * const ca = await readCa(undefined, "federation/client-1", "wss://127.0.0.1:8765");
 * ```
 */
export async function readCa(
  caPath: string | undefined,
  bundleDir: string,
  url: string,
): Promise<string[] | undefined> {
  let path = caPath;
  if (path === undefined) {
    path = `${bundleDir}/ca.pem`;
    if (!url.startsWith("wss://") || !(await isFile(path))) return undefined;
  }
  const pem = await readText(path);
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new FlheError("input", `${path}: not a PEM certificate (no BEGIN CERTIFICATE line)`);
  }
  return [pem];
}

/** Where a party listens. */
export interface BindAddress {
  /** Host name or address. */
  readonly hostname: string;
  /** Port (0: any). */
  readonly port: number;
}

/**
 * The address to bind: `--host` and `--port`, each defaulting to the host
 * and port of the party's URL (port 80 or 443 when the URL has none).
 *
 * @param given `--host` and `--port`, if given.
 * @param url The party's URL in the federation.
 * @returns Host name and port.
 *
 * @example Usage
 * ```ts
 * import { bindAddress } from "./tls_files.ts";
 * bindAddress({}, "ws://[::1]:8765"); // { hostname: "::1", port: 8765 }
 * ```
 */
export function bindAddress(
  given: { readonly host?: string; readonly port?: number },
  url: string,
): BindAddress {
  const u = new URL(url);
  const port = u.port ? Number(u.port) : u.protocol === "wss:" ? 443 : 80;
  return {
    hostname: given.host ?? u.hostname.replace(/^\[|\]$/g, ""),
    port: given.port ?? port,
  };
}
