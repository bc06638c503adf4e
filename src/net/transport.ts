/**
 * One WebSocket connection after the handshake: a read loop that feeds a
 * {@linkcode MessageReader} (limits on frame headers), a bounded write
 * queue, pings and a liveness deadline, and a close that always ends with
 * the TCP connection closed, within a grace period.
 *
 * @module
 */

import { type ByteStream, closeQuietly } from "./byte_stream.ts";
import { CLOSE_CODE, encodeClosePayload, encodeWsFrame, OPCODE } from "./frame_codec.ts";
import { MessageReader } from "./frame_reader.ts";

/** Bytes read from the socket at a time. */
const READ_CHUNK_BYTES = 65_536;

/** Options of {@linkcode WsTransport}. */
export interface TransportOptions {
  /** `server`: frames from the peer must be masked, ours are not; `client`: the reverse. */
  readonly role: "server" | "client";
  /** Largest message accepted, by type byte (`undefined`: not known yet); asked per frame. */
  readonly limit: (type: number | undefined) => number;
  /** Send a ping after this long without a byte from the peer (0: never ping). */
  readonly pingIntervalMs: number;
  /**
   * Close when nothing (not even a pong) came from the peer for this long,
   * or when a write made no progress for this long. Only checked when
   * `pingIntervalMs` > 0.
   */
  readonly livenessTimeoutMs: number;
  /** Most bytes waiting to be written (now); past it the connection closes. */
  readonly maxSendQueueBytes: number | (() => number);
  /** How long a close may wait for the peer's close frame before the TCP connection is closed. */
  readonly closeGraceMs: number;
}

/** What a {@linkcode WsTransport} reports. */
export interface TransportEvents {
  /**
   * A complete binary message within its limit.
   *
   * @param bytes The message.
   */
  message(bytes: Uint8Array): void;
  /**
   * A text message (not kept).
   *
   * @param bytes Its size.
   */
  text(bytes: number): void;
  /**
   * A message over its limit (see {@linkcode ReaderEvents.tooLarge}); when
   * `fatal`, the transport closes right after this call.
   *
   * @param bytes Size of the frame, or reached by a fragmented message.
   * @param limit The limit.
   * @param type The type byte, if known.
   * @param fatal Whether the connection closes.
   */
  tooLarge(bytes: number, limit: number, type: number | undefined, fatal: boolean): void;
  /**
   * A protocol violation (bad framing); the transport closes right after
   * this call, which may still send an error message.
   *
   * @param reason What was wrong.
   */
  violation(reason: string): void;
  /**
   * The connection can no longer carry messages; called once.
   *
   * @param reason Why, for log lines and errors.
   */
  ended(reason: string): void;
}

/**
 * A WebSocket connection over a Deno connection (TCP or TLS) whose opening
 * handshake is done.
 *
 * @example Usage
 * ```ts
 * import { WsTransport } from "./transport.ts";
 * declare const conn: Deno.Conn;
 * const transport = new WsTransport(conn, new Uint8Array(0), {
 *   role: "server",
 *   limit: () => 65_536,
 *   pingIntervalMs: 20_000,
 *   livenessTimeoutMs: 120_000,
 *   maxSendQueueBytes: 1 << 26,
 *   closeGraceMs: 1_000,
 * }, {
 *   message: () => {},
 *   text: () => {},
 *   tooLarge: () => {},
 *   violation: () => {},
 *   ended: () => {},
 * });
 * transport.close(1000, "bye");
 * await transport.done;
 * ```
 */
export class WsTransport {
  readonly #conn: ByteStream;
  readonly #options: TransportOptions;
  readonly #events: TransportEvents;
  readonly #reader: MessageReader;
  /** True until a close starts (ours or the peer's) or the connection fails. */
  #open = true;
  #destroyed = false;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #writer: Promise<void> | undefined;
  #afterDrain: (() => void) | undefined;
  #lastInboundMs = performance.now();
  #lastWriteProgressMs = performance.now();
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #readLoop: Promise<void>;
  readonly #done = Promise.withResolvers<void>();
  #bytesIn = 0;
  #bytesOut = 0;

  /**
   * Starts reading (and pinging, if configured).
   *
   * @param conn The connection, handshake done.
   * @param rest Bytes that arrived with the handshake (already frames).
   * @param options Role, limits, liveness, queue bound, close grace.
   * @param events Where messages and the end go.
   */
  constructor(
    conn: ByteStream,
    rest: Uint8Array,
    options: TransportOptions,
    events: TransportEvents,
  ) {
    this.#conn = conn;
    this.#options = options;
    this.#events = events;
    this.#reader = new MessageReader({
      expectMasked: options.role === "server",
      limit: options.limit,
      events: {
        message: (bytes) => {
          if (this.#open) events.message(bytes);
        },
        text: (bytes) => {
          if (this.#open) events.text(bytes);
        },
        tooLarge: (bytes, limit, type, fatal) => {
          if (this.#open) events.tooLarge(bytes, limit, type, fatal);
          if (fatal) this.close(CLOSE_CODE.messageTooBig, `message over ${limit} bytes`);
        },
        ping: (payload) => {
          if (this.#open) this.#enqueue(encodeWsFrame(OPCODE.pong, payload, this.#masked));
        },
        pong: () => {},
        close: (_code, reason) => this.#peerClosed(reason),
        fail: (code, reason) => {
          if (this.#open) events.violation(reason);
          this.close(code, reason);
        },
      },
    });
    if (options.pingIntervalMs > 0) {
      this.#pingTimer = setInterval(() => this.#tick(), options.pingIntervalMs);
    }
    this.#readLoop = this.#read(rest);
  }

  /** Resolves once the TCP connection is closed and no read or write is pending. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  /** Whether messages can still be sent and received. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** Bytes read after the handshake. */
  get bytesIn(): number {
    return this.#bytesIn;
  }

  /** Bytes of frames queued for writing. */
  get bytesOut(): number {
    return this.#bytesOut;
  }

  /** Bytes waiting to be written. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  get #masked(): boolean {
    return this.#options.role === "client";
  }

  /**
   * Queues a binary message.
   *
   * @param bytes The message, or its parts (copied once, into the frame).
   * @returns False if the connection is closing or the message would overflow the send queue
   *   (the connection then closes).
   */
  send(bytes: Uint8Array | readonly Uint8Array[]): boolean {
    if (!this.#open) return false;
    return this.#enqueue(encodeWsFrame(OPCODE.binary, bytes, this.#masked));
  }

  /**
   * Starts a close: sends a close frame after what is queued, then closes
   * the TCP connection when the peer answers or after the grace period.
   * Reports `ended` if the connection was open.
   *
   * @param code Close code.
   * @param reason Short reason.
   */
  close(code: number, reason: string): void {
    if (this.#destroyed) return;
    if (this.#open) {
      this.#open = false;
      this.#events.ended(reason);
      this.#enqueue(encodeWsFrame(OPCODE.close, encodeClosePayload(code, reason), this.#masked));
      this.#graceTimer = setTimeout(() => this.destroy(), this.#options.closeGraceMs);
      this.#whenDrained(() => {
        // Half-close: the peer reads our close frame, then EOF.
        this.#conn.closeWrite().catch(() => this.destroy());
      });
    }
  }

  /**
   * Closes the TCP connection now, dropping anything queued.
   *
   * @param reason Reported as `ended` if the connection was open.
   */
  destroy(reason = "connection closed"): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (this.#open) {
      this.#open = false;
      this.#events.ended(reason);
    }
    clearInterval(this.#pingTimer);
    clearTimeout(this.#graceTimer);
    this.#queue = [];
    this.#queuedBytes = 0;
    closeQuietly(this.#conn);
    Promise.allSettled([this.#readLoop, this.#writer]).then(() => this.#done.resolve());
  }

  async #read(rest: Uint8Array): Promise<void> {
    // Let the constructor finish before events fire.
    await Promise.resolve();
    if (rest.length > 0) this.#received(rest);
    const buffer = new Uint8Array(READ_CHUNK_BYTES);
    try {
      while (!this.#destroyed) {
        const n = await this.#conn.read(buffer);
        if (n === null) {
          this.destroy("connection closed");
          return;
        }
        this.#received(buffer.subarray(0, n));
      }
    } catch (e) {
      this.destroy(`connection failed (${(e as Error).message})`);
    }
  }

  #received(bytes: Uint8Array): void {
    this.#bytesIn += bytes.length;
    this.#lastInboundMs = performance.now();
    // After a failure the reader ignores input; a closing transport still
    // parses, to see the peer's close frame.
    if (!this.#reader.failed) this.#reader.push(bytes);
  }

  #peerClosed(reason: string): void {
    if (this.#open) {
      this.#open = false;
      this.#events.ended(reason ? `connection closed (${reason})` : "connection closed");
      // Echo the close, then close the TCP connection.
      const echo = encodeClosePayload(CLOSE_CODE.normal, "");
      this.#enqueue(encodeWsFrame(OPCODE.close, echo, this.#masked));
      this.#graceTimer = setTimeout(() => this.destroy(), this.#options.closeGraceMs);
      this.#whenDrained(() => this.destroy());
      return;
    }
    // The answer to our close.
    this.destroy();
  }

  #enqueue(frame: Uint8Array): boolean {
    if (this.#destroyed) return false;
    const cap = this.#options.maxSendQueueBytes;
    const maxBytes = typeof cap === "function" ? cap() : cap;
    if (this.#queuedBytes + frame.length > maxBytes) {
      this.destroy(`peer is not reading: over ${maxBytes} bytes waiting to be sent`);
      return false;
    }
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    this.#bytesOut += frame.length;
    if (!this.#writer) this.#writer = this.#write();
    return true;
  }

  #whenDrained(action: () => void): void {
    if (this.#queuedBytes === 0 && !this.#writer) action();
    else this.#afterDrain = action;
  }

  async #write(): Promise<void> {
    this.#lastWriteProgressMs = performance.now();
    try {
      while (this.#queue.length > 0 && !this.#destroyed) {
        const frame = this.#queue[0]!;
        for (let at = 0; at < frame.length;) {
          at += await this.#conn.write(frame.subarray(at));
          this.#lastWriteProgressMs = performance.now();
          if (this.#destroyed) return;
        }
        this.#queue.shift();
        this.#queuedBytes -= frame.length;
      }
    } catch (e) {
      this.destroy(`connection failed (${(e as Error).message})`);
      return;
    } finally {
      this.#writer = undefined;
    }
    const action = this.#afterDrain;
    this.#afterDrain = undefined;
    action?.();
  }

  #tick(): void {
    const now = performance.now();
    const timeoutMs = this.#options.livenessTimeoutMs;
    if (now - this.#lastInboundMs >= timeoutMs) {
      this.destroy(`no answer to pings for ${Math.round((now - this.#lastInboundMs) / 1000)} s`);
    } else if (this.#writer && now - this.#lastWriteProgressMs >= timeoutMs) {
      this.destroy(`peer stopped reading for ${Math.round(timeoutMs / 1000)} s`);
    } else if (this.#open && now - this.#lastInboundMs >= this.#options.pingIntervalMs * 0.9) {
      this.#enqueue(encodeWsFrame(OPCODE.ping, new Uint8Array(0), this.#masked));
    }
  }
}
