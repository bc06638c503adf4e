/**
 * A message channel over one WebSocket connection: typed send, checked
 * receive with a timeout, byte counters, and the limits that keep a peer
 * from growing this party's memory:
 *
 * - a message size limit checked on frame headers, before any payload is
 *   buffered: small until the party calls {@linkcode Channel.authenticate},
 *   then the party's limits (by message type if it gives them; see
 *   channel_limits.ts);
 * - a bounded receive queue: a peer that sends faster than the party reads
 *   gets an error frame and is closed (see receive_queue.ts);
 * - a bounded send queue: a peer that stops reading is closed (see
 *   transport.ts).
 *
 * A frame that fails the checks is answered with an error frame naming the
 * problem and dropped; the channel goes on (a fragmented message over the
 * limit, a framing violation and a full receive queue close it).
 *
 * @module
 */

import { FlheError } from "../util/error.ts";
import { MESSAGE_TYPES } from "./frame.ts";
import { decodeMessage, encodeMessage, encodeMessageParts, type Message } from "./messages.ts";
import type { ByteStream } from "./byte_stream.ts";
import { type MessageLimits, PeerLimits } from "./channel_limits.ts";
import { CLOSE_CODE } from "./frame_codec.ts";
import { ReceiveQueue } from "./receive_queue.ts";
import { type TransportEvents, WsTransport } from "./transport.ts";

/** A connected peer. */
export interface Channel {
  /** Describes the peer in log lines. */
  readonly peer: string;
  /** Bytes received so far (all WebSocket frames after the handshake). */
  readonly bytesIn: number;
  /** Bytes sent so far (all WebSocket frames). */
  readonly bytesOut: number;
  /** Whether the channel is closed or closing: no more sends, no new messages. */
  readonly isClosed: boolean;
  /** Resolves when the TCP connection is closed (at most a grace period after `isClosed`). */
  readonly closed: Promise<void>;
  /** Whether {@linkcode Channel.authenticate} was called (always true for a channel from `connect`). */
  readonly isAuthenticated: boolean;
  /**
   * Marks the peer as authenticated (call it once its hello is accepted):
   * the small pre-authentication message limit gives way to `limits`, the
   * hello deadline stops, and the connection no longer counts against the
   * listener's cap on unauthenticated connections. May be called again to
   * change the limits.
   *
   * @param limits Largest message accepted from now on, one number for all
   *   types or per type (default: the `maxFrameBytes` the channel was made with).
   */
  authenticate(limits?: number | MessageLimits): void;
  /**
   * Sends a message.
   *
   * @param message The message.
   * @throws {FlheError} `unavailable` if the channel is closed, or if the
   *   peer stopped reading and the send queue is full (the channel closes).
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
   * Closes the channel: a close frame follows what is queued, and the TCP
   * connection closes when the peer answers or after the grace period.
   *
   * @param reason Short reason sent with the close frame.
   */
  close(reason?: string): void;
}

/** Options of {@linkcode connect} and {@linkcode listen} that shape each channel. */
export interface ChannelOptions {
  /** Describes the peer in log lines. */
  readonly peer: string;
  /** Largest message accepted from an authenticated peer, in bytes (all types). */
  readonly maxFrameBytes: number;
  /** Called for each rejected frame (after the error frame is sent). */
  readonly onInvalid?: (error: FlheError) => void;
  /** Most received messages waiting for `receive` (default 1,024); past it the channel closes. */
  readonly maxQueuedMessages?: number;
  /**
   * Most bytes of received messages waiting for `receive`; past it the
   * channel closes. Default on accepted connections: 8 MiB or four of the
   * largest message allowed, whichever is more (a peer answers what it is
   * asked); on connections we open: 256 MiB or sixteen of the largest
   * message (a server may send a burst, e.g. the models a client missed).
   */
  readonly maxQueuedBytes?: number;
  /** Most bytes waiting to be sent (default 256 MiB); past it the channel closes. */
  readonly maxSendQueueBytes?: number;
}

/** What {@linkcode createChannel} needs beyond {@linkcode ChannelOptions}. */
export interface CreateChannelOptions extends ChannelOptions {
  /** `server` for accepted connections, `client` for ones we opened. */
  readonly role: "server" | "client";
  /** Bytes that came with the handshake (already WebSocket frames). */
  readonly rest?: Uint8Array;
  /** Whether the peer is trusted from the start (a server we connected to). */
  readonly authenticated: boolean;
  /** Largest message before {@linkcode Channel.authenticate}. */
  readonly maxUnauthenticatedMessageBytes: number;
  /** Ping after this much silence from the peer (0: never). */
  readonly pingIntervalMs: number;
  /** Drop a peer silent this long (with pings on). */
  readonly livenessTimeoutMs: number;
  /** How long a close waits for the peer before the TCP connection is closed. */
  readonly closeGraceMs: number;
  /** Called once when the channel becomes authenticated. */
  readonly onAuthenticate?: () => void;
}

/** Default send queue bound, in bytes. */
const DEFAULT_MAX_SEND_QUEUE_BYTES = 256 * 1024 * 1024;

/** Most bytes queued for an unauthenticated peer: error answers and a welcome. */
const UNAUTHENTICATED_SEND_QUEUE_BYTES = 64 * 1024;

/**
 * Runs a {@linkcode Channel} over a connection whose WebSocket handshake is
 * done. {@linkcode listen} and {@linkcode connect} call this.
 *
 * @param conn The TCP connection or TLS stream.
 * @param options Peer name, role, limits, liveness.
 * @returns The channel.
 *
 * @example Usage
 * ```ts
 * import { createChannel } from "./channel.ts";
 * declare const conn: Deno.Conn;
 * const channel = createChannel(conn, {
 *   peer: "127.0.0.1:50000",
 *   role: "server",
 *   authenticated: false,
 *   maxUnauthenticatedMessageBytes: 65_536,
 *   maxFrameBytes: 1 << 20,
 *   pingIntervalMs: 20_000,
 *   livenessTimeoutMs: 120_000,
 *   closeGraceMs: 1_000,
 * });
 * ```
 */
export function createChannel(conn: ByteStream, options: CreateChannelOptions): Channel {
  const peer = options.peer;
  const limits = new PeerLimits(options);
  const inbox = new ReceiveQueue(peer, {
    maxMessages: options.maxQueuedMessages,
    maxBytes: options.maxQueuedBytes,
    role: options.role,
    // Before authentication the small message limit bounds the queue too.
    largest: () => limits.limitFor(undefined),
  });
  const transport: WsTransport = new WsTransport(
    conn,
    options.rest ?? new Uint8Array(0),
    {
      role: options.role,
      limit: (type) => limits.limitFor(type),
      pingIntervalMs: options.pingIntervalMs,
      livenessTimeoutMs: options.livenessTimeoutMs,
      // A stranger that sends bad frames and never reads its error answers
      // holds at most this much of our memory before it is dropped.
      maxSendQueueBytes: () =>
        limits.isAuthenticated
          ? options.maxSendQueueBytes ?? DEFAULT_MAX_SEND_QUEUE_BYTES
          : UNAUTHENTICATED_SEND_QUEUE_BYTES,
      closeGraceMs: options.closeGraceMs,
    },
    transportEvents(limits, inbox, options, () => transport),
  );
  const unavailable = () =>
    new FlheError("unavailable", `${peer}: ${inbox.closeReason ?? "connection closed"}`);

  return {
    peer,
    get bytesIn() {
      return transport.bytesIn;
    },
    get bytesOut() {
      return transport.bytesOut;
    },
    get isClosed() {
      return inbox.isClosed;
    },
    get isAuthenticated() {
      return limits.isAuthenticated;
    },
    closed: transport.done,
    authenticate: (given?: number | MessageLimits) => limits.authenticate(given),
    send(message: Message): void {
      if (inbox.isClosed) throw unavailable();
      if (!transport.send(encodeMessageParts(message))) throw unavailable();
    },
    receive: (timeoutMs?: number) => inbox.receive(timeoutMs),
    close(reason?: string): void {
      transport.close(CLOSE_CODE.normal, reason ?? "closed");
      inbox.close(reason ?? "closed");
    },
  };
}

/**
 * What a channel does with what its transport reports: decodes and queues
 * messages, answers bad ones with an error message, drops a flooding peer,
 * and closes the receive queue when the connection ends.
 */
function transportEvents(
  limits: PeerLimits,
  inbox: ReceiveQueue,
  options: Pick<ChannelOptions, "onInvalid">,
  // A getter: the transport is made with these events, so it comes later.
  transport: () => WsTransport,
): TransportEvents {
  // Errors go back to the peer as an error message, while it can still get one.
  const reply = (error: FlheError) => {
    if (transport().isOpen) {
      transport().send(encodeMessage({ type: "error", code: error.code, message: error.message }));
    }
    options.onInvalid?.(error);
  };
  return {
    message(bytes) {
      let message: Message;
      try {
        message = decodeMessage(bytes, limits.limitFor(bytes[1]));
      } catch (e) {
        reply(
          e instanceof FlheError
            ? e
            : new FlheError("protocol", `bad frame: ${(e as Error).message}`),
        );
        return;
      }
      if (inbox.push(message, bytes.length)) return;
      reply(
        new FlheError(
          "protocol",
          `receive queue full: ${inbox.length} messages (${inbox.bytes} bytes) not yet read; closing`,
        ),
      );
      // A peer that floods is dropped with what it sent.
      inbox.clear();
      transport().close(CLOSE_CODE.policyViolation, "receive queue full");
    },
    text() {
      reply(new FlheError("protocol", "text frames are not accepted; send binary frames"));
    },
    tooLarge(bytes, limit, type, fatal) {
      const when = limits.isAuthenticated ? "" : " before authentication";
      reply(new FlheError("protocol", tooLargeText(bytes, limit, type, fatal, when)));
    },
    violation(reason) {
      reply(new FlheError("protocol", `bad WebSocket frame: ${reason}; closing`));
    },
    ended: (reason) => inbox.close(reason),
  };
}

/** Names a message over its limit: the type if known, and whether the connection closes. */
function tooLargeText(
  bytes: number,
  limit: number,
  type: number | undefined,
  fatal: boolean,
  when: string,
): string {
  if (fatal) {
    return `fragmented message of at least ${bytes} bytes exceeds the limit of ${limit}${when}; closing`;
  }
  const name = type === undefined ? undefined : MESSAGE_TYPES[type];
  return `${name ? `${name} ` : ""}frame of ${bytes} bytes exceeds the limit of ${limit}${when}`;
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
