/**
 * The listening side: accepts TCP (or TLS) connections, does the WebSocket
 * handshake itself and hands each peer over as a {@linkcode Channel}, with
 * the limits that keep peers from exhausting this party:
 *
 * - a deadline for the TLS and HTTP upgrade handshake (slow or idle
 *   connections are closed, TCP included), and a deadline for the hello
 *   (until the party calls {@linkcode Channel.authenticate});
 * - a cap on connections not yet authenticated: further ones are closed at
 *   once;
 * - small messages only until authentication (see {@linkcode createChannel});
 * - pings, and a liveness deadline for peers that stop answering;
 * - accept errors (e.g. too many open files) are logged once per minute,
 *   the oldest unauthenticated connections are closed to free descriptors,
 *   and the listener keeps serving.
 *
 * @module
 */

import { acceptTls, type ByteStream, createTlsContext } from "./byte_stream.ts";
import { type Channel, type ChannelOptions, createChannel, refuse } from "./channel.ts";
import { acceptKey, hasToken, readHttpHead, setNoDelay, writeAll } from "./websocket.ts";
import type { FlheError } from "../util/error.ts";

/** A listening WebSocket server. */
export interface Listener {
  /** The port it listens on. */
  readonly port: number;
  /** The address it listens on. */
  readonly hostname: string;
  /**
   * Counters, for logs and tests.
   *
   * @returns The current counts.
   */
  stats(): ListenerStats;
  /** Stops listening and closes open connections (each within its close grace). */
  close(): Promise<void>;
}

/** What a {@linkcode Listener} holds and has turned away. */
export interface ListenerStats {
  /** TCP connections open now (handshaking, unauthenticated, authenticated or closing). */
  readonly connections: number;
  /** Of those, the ones not authenticated (they count against the cap). */
  readonly unauthenticated: number;
  /** Connections closed at once because the cap was reached. */
  readonly refused: number;
  /** Failed accepts (e.g. too many open files). */
  readonly acceptErrors: number;
  /** Unauthenticated connections closed to free file descriptors after a failed accept. */
  readonly shed: number;
}

/** Options of {@linkcode listen}. */
export interface ListenOptions extends Omit<ChannelOptions, "peer" | "onInvalid"> {
  /** Address to bind. */
  readonly hostname: string;
  /** Port to bind (0: any free port). */
  readonly port: number;
  /** TLS certificate chain (PEM), to serve `wss://`. */
  readonly cert?: string;
  /** TLS private key (PEM). */
  readonly key?: string;
  /** Called for each new connection, once its WebSocket handshake is done. */
  readonly onChannel: (channel: Channel) => void;
  /** Called for each rejected frame. */
  readonly onInvalid?: (peer: string, error: FlheError) => void;
  /** Called for listener warnings (accept failures, refused connections); default: stderr. */
  readonly onWarning?: (message: string) => void;
  /**
   * Largest message before the party calls {@linkcode Channel.authenticate}
   * (default 65,536 bytes: a hello is a few hundred).
   */
  readonly maxUnauthenticatedMessageBytes?: number;
  /** Most connections not yet authenticated at once (default 256); more are closed at once. */
  readonly maxUnauthenticatedConnections?: number;
  /** Time from accept to a complete TLS and WebSocket handshake (default 10,000 ms). */
  readonly upgradeTimeoutMs?: number;
  /**
   * Time from the handshake until the party authenticates the peer (default
   * 15,000 ms); then the peer gets an error frame and the connection closes.
   */
  readonly helloTimeoutMs?: number;
  /** Ping a peer after this much silence (default 20,000 ms; 0: never ping). */
  readonly pingIntervalMs?: number;
  /**
   * Drop a peer that sent nothing, not even a pong, for this long, or that
   * stopped reading what it is sent (default 120,000 ms). A client's event
   * loop does not answer pings while it trains synchronously: keep this
   * above the longest training stretch (or the round timeout).
   */
  readonly livenessTimeoutMs?: number;
  /** How long a close waits for the peer before the TCP connection is closed (default 1,000 ms). */
  readonly closeGraceMs?: number;
  /**
   * Transitional (default true): treat the first `welcome` message the party
   * sends on a channel as {@linkcode Channel.authenticate} with `maxFrameBytes`,
   * for parties that do not call `authenticate` yet. Set to false once they do.
   */
  readonly authenticateOnWelcome?: boolean;
}

/** Defaults of the optional {@linkcode ListenOptions}. */
export const LISTEN_DEFAULTS = {
  maxUnauthenticatedMessageBytes: 65_536,
  maxUnauthenticatedConnections: 256,
  upgradeTimeoutMs: 10_000,
  helloTimeoutMs: 15_000,
  pingIntervalMs: 20_000,
  livenessTimeoutMs: 120_000,
  closeGraceMs: 1_000,
} as const;

/** At most one warning of a kind per this many milliseconds. */
const WARNING_INTERVAL_MS = 60_000;

interface Slot {
  /** The TCP connection, or TLS over it; closing it closes the TCP connection. */
  readonly stream: ByteStream;
  readonly peer: string;
  channel?: Channel;
}

/**
 * Serves WebSocket connections; each becomes a {@linkcode Channel}.
 *
 * @param options Address, limits, deadlines, TLS and the connection handler.
 * @returns The listener, once bound.
 * @throws {Deno.errors.AddrInUse} If the port is taken (and other bind errors).
 * @throws {Error} If the TLS certificate or key cannot be parsed.
 *
 * @example Usage
 * ```ts
 * import { listen } from "./listener.ts";
 * const listener = await listen({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   maxFrameBytes: 1 << 20,
 *   onChannel: (ch) => ch.close(),
 * });
 * await listener.close();
 * ```
 */
export function listen(options: ListenOptions): Promise<Listener> {
  try {
    return Promise.resolve(startListening(options));
  } catch (e) {
    return Promise.reject(e);
  }
}

function startListening(options: ListenOptions): Listener {
  const d = LISTEN_DEFAULTS;
  const settings = {
    maxUnauthenticatedMessageBytes: options.maxUnauthenticatedMessageBytes ??
      d.maxUnauthenticatedMessageBytes,
    maxUnauthenticatedConnections: options.maxUnauthenticatedConnections ??
      d.maxUnauthenticatedConnections,
    upgradeTimeoutMs: options.upgradeTimeoutMs ?? d.upgradeTimeoutMs,
    helloTimeoutMs: options.helloTimeoutMs ?? d.helloTimeoutMs,
    pingIntervalMs: options.pingIntervalMs ?? d.pingIntervalMs,
    livenessTimeoutMs: options.livenessTimeoutMs ?? d.livenessTimeoutMs,
    closeGraceMs: options.closeGraceMs ?? d.closeGraceMs,
  };
  const authenticateOnWelcome = options.authenticateOnWelcome ?? true;
  const onWarning = options.onWarning ?? ((m: string) => console.error(m));
  const tlsContext = options.cert && options.key
    ? createTlsContext(options.cert, options.key)
    : undefined;
  // TLS runs over our own TCP connections (see byte_stream.ts): closing
  // one must close it, handshake done or not.
  const server = Deno.listen({ hostname: options.hostname, port: options.port });
  const bound = server.addr as Deno.NetAddr;
  const slots = new Map<Slot, Promise<void>>();
  // Insertion order is age: the oldest come first when shedding.
  const unauthenticated = new Set<Slot>();
  let closing = false;
  let refused = 0;
  let acceptErrors = 0;
  let shed = 0;
  let wake: (() => void) | undefined;
  let sleepTimer: ReturnType<typeof setTimeout> | undefined;

  const warnings = new Map<string, { atMs: number; suppressed: number }>();
  const warn = (kind: string, message: string) => {
    const now = performance.now();
    const last = warnings.get(kind);
    if (last && now - last.atMs < WARNING_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    const more = last?.suppressed ? ` (${last.suppressed} more since the last report)` : "";
    warnings.set(kind, { atMs: now, suppressed: 0 });
    onWarning(`${message}${more}`);
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      sleepTimer = setTimeout(resolve, ms);
    });

  /** Closes the oldest unauthenticated connections at once, to free descriptors. */
  const shedLoad = () => {
    const count = Math.max(1, Math.ceil(unauthenticated.size / 8));
    let n = 0;
    for (const slot of unauthenticated) {
      if (n++ >= count) break;
      unauthenticated.delete(slot);
      closeQuietly(slot.stream);
      shed++;
    }
  };

  const serve = async (slot: Slot): Promise<void> => {
    const { stream: conn, peer } = slot;
    const upgradeTimer = setTimeout(() => closeQuietly(conn), settings.upgradeTimeoutMs);
    let rest: Uint8Array | undefined;
    try {
      rest = await handshake(conn);
    } catch {
      // A failed TLS handshake, a reset, or the deadline.
    } finally {
      clearTimeout(upgradeTimer);
    }
    if (rest === undefined || closing || !unauthenticated.has(slot)) {
      closeQuietly(conn);
      return;
    }
    const helloTimer = setTimeout(() => {
      const channel = slot.channel;
      if (channel && !channel.isAuthenticated) {
        refuse(channel, "protocol", `no hello within ${settings.helloTimeoutMs} ms`);
      }
    }, settings.helloTimeoutMs);
    const channel = createChannel(conn, {
      peer,
      maxFrameBytes: options.maxFrameBytes,
      maxQueuedMessages: options.maxQueuedMessages,
      maxQueuedBytes: options.maxQueuedBytes,
      maxSendQueueBytes: options.maxSendQueueBytes,
      maxUnauthenticatedMessageBytes: settings.maxUnauthenticatedMessageBytes,
      pingIntervalMs: settings.pingIntervalMs,
      livenessTimeoutMs: settings.livenessTimeoutMs,
      closeGraceMs: settings.closeGraceMs,
      role: "server",
      rest,
      authenticated: false,
      authenticateOnWelcome,
      onInvalid: (e) => options.onInvalid?.(peer, e),
      onAuthenticate: () => {
        unauthenticated.delete(slot);
        clearTimeout(helloTimer);
      },
    });
    slot.channel = channel;
    try {
      options.onChannel(channel);
    } catch {
      channel.close("internal error");
    }
    await channel.closed;
    clearTimeout(helloTimer);
  };

  const acceptLoop = async () => {
    let backoffMs = 10;
    while (!closing) {
      let conn: Deno.Conn;
      try {
        conn = await server.accept();
      } catch (e) {
        if (closing || e instanceof Deno.errors.BadResource) return;
        acceptErrors++;
        warn(
          "accept",
          `listener ${bound.hostname}:${bound.port}: accept failed (${(e as Error).message}); ` +
            `closing the oldest unauthenticated connections and retrying`,
        );
        shedLoad();
        await sleep(backoffMs);
        backoffMs = Math.min(1_000, backoffMs * 2);
        continue;
      }
      backoffMs = 10;
      if (closing) {
        closeQuietly(conn);
        return;
      }
      if (unauthenticated.size >= settings.maxUnauthenticatedConnections) {
        refused++;
        closeQuietly(conn);
        warn(
          "cap",
          `listener ${bound.hostname}:${bound.port}: ${unauthenticated.size} unauthenticated ` +
            `connections open (the cap); closing new ones`,
        );
        continue;
      }
      setNoDelay(conn);
      const remote = conn.remoteAddr as Deno.NetAddr;
      const slot: Slot = {
        stream: tlsContext ? acceptTls(conn, tlsContext) : conn,
        peer: `${remote.hostname}:${remote.port}`,
      };
      unauthenticated.add(slot);
      slots.set(
        slot,
        serve(slot).finally(() => {
          unauthenticated.delete(slot);
          slots.delete(slot);
        }),
      );
    }
  };
  const accepting = acceptLoop();

  return {
    port: bound.port,
    hostname: bound.hostname,
    stats(): ListenerStats {
      return {
        connections: slots.size,
        unauthenticated: unauthenticated.size,
        refused,
        acceptErrors,
        shed,
      };
    },
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      closeQuietly(server);
      clearTimeout(sleepTimer);
      wake?.();
      for (const slot of slots.keys()) {
        if (slot.channel) slot.channel.close("server shutting down");
        else closeQuietly(slot.stream);
      }
      await accepting;
      await Promise.allSettled(slots.values());
    },
  };
}

/**
 * The server half of the opening handshake. Returns the bytes that came
 * after the request, or `undefined` if the request was answered with an
 * HTTP error instead.
 */
async function handshake(conn: ByteStream): Promise<Uint8Array | undefined> {
  const head = await readHttpHead(conn);
  if (typeof head === "string") {
    await respond(conn, "400 Bad Request", `${head}\n`);
    return undefined;
  }
  const [method, , version] = head.startLine.split(" ");
  const h = head.headers;
  if (method !== "GET" || version !== "HTTP/1.1") {
    await respond(conn, "400 Bad Request", "expected a GET request over HTTP/1.1\n");
    return undefined;
  }
  if (!hasToken(h.get("upgrade"), "websocket") || !hasToken(h.get("connection"), "upgrade")) {
    await respond(conn, "426 Upgrade Required", "flhe speaks WebSocket here\n");
    return undefined;
  }
  if (h.get("sec-websocket-version") !== "13") {
    await respond(conn, "426 Upgrade Required", "WebSocket version 13 only\n");
    return undefined;
  }
  const key = h.get("sec-websocket-key") ?? "";
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    await respond(conn, "400 Bad Request", "bad Sec-WebSocket-Key\n");
    return undefined;
  }
  await writeAll(
    conn,
    new TextEncoder().encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${await acceptKey(key)}\r\n\r\n`,
    ),
  );
  return head.rest;
}

async function respond(conn: ByteStream, status: string, body: string): Promise<void> {
  const bytes = new TextEncoder().encode(body);
  const upgrade = status.startsWith("426")
    ? "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    : "";
  try {
    await writeAll(
      conn,
      new TextEncoder().encode(
        `HTTP/1.1 ${status}\r\nConnection: close\r\n${upgrade}` +
          `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${bytes.length}\r\n\r\n${body}`,
      ),
    );
  } catch {
    // The peer is gone.
  }
}

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Closed already.
  }
}
