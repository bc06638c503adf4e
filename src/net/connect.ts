/**
 * The connecting side: opens a TCP (or TLS) connection, does the WebSocket
 * handshake and returns a {@linkcode Channel} whose message limit is the
 * caller's `maxFrameBytes` from the start (checked on frame headers, like
 * on the listening side). Pings from the peer are answered while the event
 * loop runs.
 *
 * @module
 */

import { type Channel, type ChannelOptions, createChannel } from "./channel.ts";
import { type ByteStream, closeQuietly, connectTls, setNoDelay } from "./byte_stream.ts";
import { requestUpgrade } from "./handshake.ts";
import { FlheError } from "../util/error.ts";

/** Options of {@linkcode connect}. */
export interface ConnectOptions extends ChannelOptions {
  /**
   * CA certificates (PEM) to verify a `wss://` peer against, e.g. the
   * federation's `ca.pem`. Without them the runtime's default roots apply.
   */
  readonly caCerts?: readonly string[];
  /** Ping the peer after this much silence (default 0: never; pings from the peer are answered). */
  readonly pingIntervalMs?: number;
  /** With pings on: drop the peer after this much silence (default 120,000 ms). */
  readonly livenessTimeoutMs?: number;
  /** How long a close waits for the peer before the TCP connection is closed (default 1,000 ms). */
  readonly closeGraceMs?: number;
}

/**
 * Opens a WebSocket to `url` and waits until it is open.
 *
 * @param url `ws://` or `wss://` address.
 * @param options Channel options and the CA certificates to trust.
 * @param timeoutMs Give up connecting after this long.
 * @returns The open channel.
 * @throws {FlheError} `usage` if the URL is not a `ws://` or `wss://` URL;
 *   `auth` if the peer's TLS certificate is rejected; `unavailable` if the
 *   connection fails or times out.
 *
 * @example Usage
 * ```ts
 * import { connect } from "./connect.ts";
 * const ch = await connect("ws://127.0.0.1:8765", { peer: "server", maxFrameBytes: 1 << 20 }, 5000);
 * ```
 */
export async function connect(
  url: string,
  options: ConnectOptions,
  timeoutMs = 10_000,
): Promise<Channel> {
  const target = parseTarget(url);
  let conn: Deno.Conn | undefined;
  let timedOut = false;
  const attempt = (async (): Promise<Channel> => {
    conn = await Deno.connect({ hostname: target.hostname, port: target.port });
    if (timedOut) throw new Error("timed out");
    return await openChannel(conn, target, options, () => timedOut);
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(undefined);
    }, timeoutMs);
  });
  try {
    return await Promise.race([attempt, deadline]);
  } catch (e) {
    closeQuietly(conn);
    // The abandoned attempt fails later (its connection closed, or the
    // timeout noticed); close what it opened meanwhile.
    attempt.catch(() => closeQuietly(conn));
    throw connectError(url, target.hostname, timedOut ? undefined : e, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

/** Where {@linkcode connect} goes. */
interface Target {
  /** The parsed URL (its host, path and query go into the upgrade request). */
  readonly url: URL;
  /** `wss://`. */
  readonly secure: boolean;
  /** The host to connect to and verify the certificate for (an IPv6 address without brackets). */
  readonly hostname: string;
  /** The port, the scheme's default if the URL has none. */
  readonly port: number;
}

/** Parses a `ws://` or `wss://` URL; throws `usage` for anything else. */
function parseTarget(url: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw new FlheError("usage", `${url}: ${(e as Error).message}`);
  }
  const secure = parsed.protocol === "wss:";
  if (!secure && parsed.protocol !== "ws:") {
    throw new FlheError("usage", `${url}: not a ws:// or wss:// URL`);
  }
  return {
    url: parsed,
    secure,
    hostname: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: Number(parsed.port || (secure ? 443 : 80)),
  };
}

/**
 * Runs TLS (for `wss://`) and the WebSocket handshake on a connection we
 * opened, and makes the channel; a connection whose deadline passed
 * meanwhile gets no channel.
 */
async function openChannel(
  conn: Deno.Conn,
  target: Target,
  options: ConnectOptions,
  timedOut: () => boolean,
): Promise<Channel> {
  setNoDelay(conn);
  const stream: ByteStream = target.secure
    ? await connectTls(conn, { host: target.hostname, caCerts: options.caCerts })
    : conn;
  const rest = await requestUpgrade(stream, target.url);
  if (timedOut()) throw new Error("timed out");
  // The peer is the server we chose to call: trusted, with our limit from the start.
  return createChannel(stream, {
    ...options,
    role: "client",
    rest,
    authenticated: true,
    maxUnauthenticatedMessageBytes: options.maxFrameBytes,
    pingIntervalMs: options.pingIntervalMs ?? 0,
    livenessTimeoutMs: options.livenessTimeoutMs ?? 120_000,
    closeGraceMs: options.closeGraceMs ?? 1_000,
  });
}

/** Node's codes for a certificate chain that does not lead to a trusted CA. */
const UNKNOWN_ISSUER = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
]);

function connectError(url: string, host: string, error: unknown, timeoutMs: number): FlheError {
  if (error === undefined) {
    return new FlheError("unavailable", `${url}: no connection within ${timeoutMs} ms`);
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  let rejected: string | undefined;
  if (typeof code === "string" && UNKNOWN_ISSUER.has(code)) {
    rejected = "invalid peer certificate: UnknownIssuer";
  } else if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    const reason = (error as { reason?: unknown }).reason ?? message;
    rejected = `invalid peer certificate: certificate not valid for name "${host}"; ${reason}`;
  } else if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
    rejected = `invalid peer certificate: ${message}`;
  } else if (/certificate/i.test(message)) {
    rejected = message;
  }
  if (rejected !== undefined) {
    return new FlheError(
      "auth",
      `${url}: TLS certificate rejected (${rejected}); check that ca.pem is the federation's CA ` +
        `and the URL's host is in the certificate`,
    );
  }
  return new FlheError("unavailable", `${url}: ${message.replace(/\s+/g, " ")}`);
}
