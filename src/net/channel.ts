/**
 * A message channel over one WebSocket: typed send, checked receive with a
 * timeout, byte counters. A frame that fails the checks is answered with an
 * error frame naming the problem and dropped; the channel goes on.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { decodeMessage, encodeMessage, type Message } from "./messages.ts";

/** A connected peer. */
export interface Channel {
  /** Describes the peer in log lines. */
  readonly peer: string;
  /** Bytes received so far (all frames). */
  readonly bytesIn: number;
  /** Bytes sent so far. */
  readonly bytesOut: number;
  /** Whether the socket is closed. */
  readonly isClosed: boolean;
  /** Resolves when the socket closes. */
  readonly closed: Promise<void>;
  /**
   * Sends a message.
   *
   * @param message The message.
   * @throws {FlheError} `unavailable` if the channel is closed.
   */
  send(message: Message): void;
  /**
   * The next valid message.
   *
   * @param timeoutMs Give up after this long (default: wait forever).
   * @returns The message.
   * @throws {FlheError} `unavailable` on close or timeout.
   */
  receive(timeoutMs?: number): Promise<Message>;
  /**
   * Closes the socket.
   *
   * @param reason Short reason sent with the close frame.
   */
  close(reason?: string): void;
}

/** Options of {@linkcode createChannel}. */
export interface ChannelOptions {
  /** Describes the peer in log lines. */
  readonly peer: string;
  /** Largest frame accepted. */
  readonly maxFrameBytes: number;
  /** Called for each rejected frame (after the error frame is sent). */
  readonly onInvalid?: (error: FlheError) => void;
}

type Waiter = { resolve(m: Message): void; reject(e: Error): void };

/**
 * Wraps an open (or opening) WebSocket in a {@linkcode Channel}.
 *
 * @param socket The WebSocket.
 * @param options Peer name, frame limit, invalid-frame hook.
 * @returns The channel.
 *
 * @example Usage
 * ```ts
 * import { createChannel } from "./channel.ts";
 * const ch = createChannel(new WebSocket("ws://127.0.0.1:8765"), { peer: "server", maxFrameBytes: 1 << 20 });
 * ```
 */
export function createChannel(socket: WebSocket, options: ChannelOptions): Channel {
  socket.binaryType = "arraybuffer";
  const queue: Message[] = [];
  const waiters: Waiter[] = [];
  let bytesIn = 0;
  let bytesOut = 0;
  let isClosed = false;
  let closeReason = "connection closed";
  let resolveClosed: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));

  const reply = (error: FlheError) => {
    try {
      if (socket.readyState === WebSocket.OPEN) {
        const frame = encodeMessage({ type: "error", code: error.code, message: error.message });
        bytesOut += frame.length;
        socket.send(frame);
      }
    } catch {
      // The peer is gone; nothing to tell it.
    }
    options.onInvalid?.(error);
  };

  socket.onmessage = (event: MessageEvent) => {
    if (!(event.data instanceof ArrayBuffer)) {
      bytesIn += String(event.data).length;
      reply(new FlheError("protocol", "text frames are not accepted; send binary frames"));
      return;
    }
    const bytes = new Uint8Array(event.data);
    bytesIn += bytes.length;
    let message: Message;
    try {
      message = decodeMessage(bytes, options.maxFrameBytes);
    } catch (e) {
      reply(
        e instanceof FlheError
          ? e
          : new FlheError("protocol", `bad frame: ${(e as Error).message}`),
      );
      return;
    }
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(message);
    else queue.push(message);
  };
  const finish = (reason: string) => {
    if (isClosed) return;
    isClosed = true;
    closeReason = reason;
    for (const w of waiters.splice(0)) {
      w.reject(new FlheError("unavailable", `${options.peer}: ${reason}`));
    }
    resolveClosed();
  };
  socket.onclose = (event: CloseEvent) =>
    finish(event.reason ? `connection closed (${event.reason})` : "connection closed");
  socket.onerror = (event: Event) => {
    const message = (event as ErrorEvent).message;
    finish(message ? `connection failed (${message})` : "connection failed");
  };

  return {
    peer: options.peer,
    get bytesIn() {
      return bytesIn;
    },
    get bytesOut() {
      return bytesOut;
    },
    get isClosed() {
      return isClosed;
    },
    closed,
    send(message: Message): void {
      if (isClosed || socket.readyState !== WebSocket.OPEN) {
        throw new FlheError("unavailable", `${options.peer}: ${closeReason}`);
      }
      const frame = encodeMessage(message);
      bytesOut += frame.length;
      socket.send(frame);
    },
    receive(timeoutMs?: number): Promise<Message> {
      const next = queue.shift();
      if (next) return Promise.resolve(next);
      if (isClosed) {
        return Promise.reject(new FlheError("unavailable", `${options.peer}: ${closeReason}`));
      }
      return new Promise<Message>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const waiter: Waiter = {
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        if (timeoutMs !== undefined) {
          timer = setTimeout(() => {
            const i = waiters.indexOf(waiter);
            if (i >= 0) waiters.splice(i, 1);
            reject(
              new FlheError("unavailable", `${options.peer}: no message within ${timeoutMs} ms`),
            );
          }, timeoutMs);
        }
        waiters.push(waiter);
      });
    },
    close(reason?: string): void {
      try {
        socket.close(1000, reason?.slice(0, 120));
      } catch {
        // Already closing.
      }
      finish(reason ?? "closed");
    },
  };
}

/** Options of {@linkcode connect}. */
export interface ConnectOptions extends ChannelOptions {
  /**
   * CA certificates (PEM) to verify a `wss://` peer against, e.g. the
   * federation's `ca.pem`. Without them the runtime's default roots apply.
   */
  readonly caCerts?: readonly string[];
}

/**
 * Refuses a peer: sends an error frame naming why, then closes.
 *
 * @param channel The peer's channel.
 * @param code The error code the peer branches on.
 * @param message One line naming what was wrong.
 *
 * @example Usage
 * ```ts
 * import { refuse } from "./channel.ts";
 * declare const ch: import("./channel.ts").Channel;
 * refuse(ch, "auth", "unknown client id or wrong token");
 * ```
 */
export function refuse(channel: Channel, code: FlheError["code"], message: string): void {
  try {
    channel.send({ type: "error", code, message });
  } catch {
    // The peer is gone already.
  }
  channel.close(message);
}

/**
 * Opens a WebSocket to `url` and waits until it is open.
 *
 * @param url `ws://` or `wss://` address.
 * @param options Channel options and the CA certificates to trust.
 * @param timeoutMs Give up connecting after this long.
 * @returns The open channel.
 * @throws {FlheError} `auth` if the peer's TLS certificate is rejected;
 *   `unavailable` if the connection fails or times out.
 *
 * @example Usage
 * ```ts
 * import { connect } from "./channel.ts";
 * const ch = await connect("ws://127.0.0.1:8765", { peer: "server", maxFrameBytes: 1 << 20 }, 5000);
 * ```
 */
export async function connect(
  url: string,
  options: ConnectOptions,
  timeoutMs = 10_000,
): Promise<Channel> {
  let socket: WebSocket;
  // Deno's WebSocket takes an HttpClient whose caCerts verify the TLS peer.
  const client = options.caCerts?.length
    ? Deno.createHttpClient({ caCerts: [...options.caCerts] })
    : undefined;
  try {
    socket = client ? new WebSocket(url, { client }) : new WebSocket(url);
  } catch (e) {
    client?.close();
    throw new FlheError("usage", `${url}: ${(e as Error).message}`);
  }
  let failure = "";
  socket.addEventListener("error", (event) => {
    failure = (event as ErrorEvent).message ?? "";
  });
  const channel = createChannel(socket, options);
  if (client) channel.closed.then(() => client.close());
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      channel.close("connect timeout");
      reject(new FlheError("unavailable", `${url}: no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.addEventListener("open", () => {
      clearTimeout(timer);
      resolve();
    });
    channel.closed.then(() => {
      clearTimeout(timer);
      const certificate = /certificate/i.exec(failure);
      reject(
        certificate
          ? new FlheError(
            "auth",
            `${url}: TLS certificate rejected (${
              failure.replace(/^.*?invalid peer certificate/i, "invalid peer certificate")
            }); check that ca.pem is the federation's CA and the URL's host is in the certificate`,
          )
          : new FlheError(
            "unavailable",
            `${url}: ${failure ? failure.replace(/\s+/g, " ") : "connection refused or closed"}`,
          ),
      );
    });
  });
  return channel;
}

/** A listening WebSocket server. */
export interface Listener {
  /** The port it listens on. */
  readonly port: number;
  /** The address it listens on. */
  readonly hostname: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** Options of {@linkcode listen}. */
export interface ListenOptions {
  /** Address to bind. */
  readonly hostname: string;
  /** Port to bind (0: any free port). */
  readonly port: number;
  /** Largest frame accepted. */
  readonly maxFrameBytes: number;
  /** TLS certificate chain (PEM), to serve `wss://`. */
  readonly cert?: string;
  /** TLS private key (PEM). */
  readonly key?: string;
  /** Called for each new connection. */
  readonly onChannel: (channel: Channel) => void;
  /** Called for each rejected frame. */
  readonly onInvalid?: (peer: string, error: FlheError) => void;
}

/**
 * Serves WebSocket connections; each becomes a {@linkcode Channel}.
 *
 * @param options Address, limits, TLS and the connection handler.
 * @returns The listener, once bound.
 *
 * @example Usage
 * ```ts
 * import { listen } from "./channel.ts";
 * const listener = await listen({ hostname: "127.0.0.1", port: 0, maxFrameBytes: 1 << 20, onChannel: (ch) => ch.close() });
 * await listener.close();
 * ```
 */
export async function listen(options: ListenOptions): Promise<Listener> {
  const channels = new Set<Channel>();
  let bound!: Deno.NetAddr;
  const ready = Promise.withResolvers<void>();
  const handler = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Response => {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("flhe speaks WebSocket here\n", { status: 426 });
    }
    // Read the address before the upgrade: afterwards the request is closed.
    const peer = `${info.remoteAddr.hostname}:${info.remoteAddr.port}`;
    const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
    const channel = createChannel(socket, {
      peer,
      maxFrameBytes: options.maxFrameBytes,
      onInvalid: (e) => options.onInvalid?.(peer, e),
    });
    channels.add(channel);
    channel.closed.then(() => channels.delete(channel));
    socket.addEventListener("open", () => options.onChannel(channel));
    return response;
  };
  const serveOptions = {
    hostname: options.hostname,
    port: options.port,
    onListen: (addr: Deno.NetAddr) => {
      bound = addr;
      ready.resolve();
    },
  };
  const server = options.cert && options.key
    ? Deno.serve({ ...serveOptions, cert: options.cert, key: options.key }, handler)
    : Deno.serve(serveOptions, handler);
  await ready.promise;
  return {
    port: bound.port,
    hostname: bound.hostname,
    async close() {
      for (const ch of channels) ch.close("server shutting down");
      await server.shutdown();
    },
  };
}
