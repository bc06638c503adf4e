/**
 * An incremental WebSocket frame reader that enforces a message size limit
 * on frame headers, before any payload is buffered.
 *
 * flhe speaks its own small WebSocket implementation instead of
 * `Deno.upgradeWebSocket`, which buffers a whole message (up to 64 MiB, and
 * a fragmented one without bound) before a program can look at its size.
 * Extensions (compression) and subprotocols are not negotiated, so any
 * reserved bit is a violation.
 *
 * @module
 */

import { CLOSE_CODE, declaredLength, MAX_CONTROL_BYTES, OPCODE, unmask } from "./frame_codec.ts";

/** First allocation for a message whose size is not yet backed by received bytes. */
const INITIAL_MESSAGE_BYTES = 65_536;
const decoder = new TextDecoder();

/** What the reader reports; each callback runs synchronously inside {@linkcode MessageReader.push}. */
export interface ReaderEvents {
  /**
   * A complete binary message within its limit.
   *
   * @param bytes The message; the reader does not touch it again.
   */
  message(bytes: Uint8Array): void;
  /**
   * A complete text message; its bytes were counted, never kept.
   *
   * @param bytes Its size.
   */
  text(bytes: number): void;
  /**
   * A message over its limit. A single frame is skipped without being
   * buffered and reading goes on; a fragmented message cannot be skipped
   * safely, so the reader stops (`fatal`) and the connection must close.
   *
   * @param bytes The frame's size, or the size reached by a fragmented message.
   * @param limit The limit it exceeds.
   * @param type The message's type byte, if known.
   * @param fatal Whether the reader stopped.
   */
  tooLarge(bytes: number, limit: number, type: number | undefined, fatal: boolean): void;
  /**
   * A ping.
   *
   * @param payload Its payload (to echo in the pong).
   */
  ping(payload: Uint8Array): void;
  /** A pong. */
  pong(): void;
  /**
   * A close frame.
   *
   * @param code The peer's close code (1005 if none).
   * @param reason The peer's reason.
   */
  close(code: number, reason: string): void;
  /**
   * A protocol violation; the reader stopped and the connection must close.
   *
   * @param code The close code to send.
   * @param reason What was wrong.
   */
  fail(code: number, reason: string): void;
}

/** Options of {@linkcode MessageReader}. */
export interface ReaderOptions {
  /** True on the server side: client frames must be masked; false: must not be. */
  readonly expectMasked: boolean;
  /**
   * The largest message accepted, asked again for each frame: by the
   * message's type byte once known (the second byte of a flhe frame),
   * `undefined` before.
   */
  readonly limit: (type: number | undefined) => number;
  /** Where messages and events go. */
  readonly events: ReaderEvents;
}

const enum State {
  Head,
  Payload,
  Failed,
}

/**
 * Parses WebSocket frames from a byte stream, chunk by chunk. A data frame's
 * declared length is checked against the limit as soon as its header is
 * complete, and again once the message type is known; a message's buffer
 * grows only as its bytes arrive, never past the limit.
 *
 * @example Usage
 * ```ts
 * import { encodeWsFrame, OPCODE } from "./frame_codec.ts";
 * import { MessageReader } from "./frame_reader.ts";
 * const got: Uint8Array[] = [];
 * const reader = new MessageReader({
 *   expectMasked: true,
 *   limit: () => 1024,
 *   events: {
 *     message: (m) => got.push(m),
 *     text: () => {},
 *     tooLarge: () => {},
 *     ping: () => {},
 *     pong: () => {},
 *     close: () => {},
 *     fail: () => {},
 *   },
 * });
 * reader.push(encodeWsFrame(OPCODE.binary, new Uint8Array([1, 2, 3]), true));
 * got.length; // 1
 * ```
 */
export class MessageReader {
  readonly #options: ReaderOptions;
  #state = State.Head;
  readonly #head = new Uint8Array(14);
  #headLength = 0;
  // The current frame.
  #opcode = 0;
  #fin = false;
  #mask: Uint8Array | undefined;
  #frameLength = 0;
  #frameDone = 0;
  #skip = false;
  readonly #control = new Uint8Array(MAX_CONTROL_BYTES);
  // The current data message (possibly spanning frames).
  #inMessage = false;
  #messageText = false;
  #messageBytes = 0;
  #declaredBytes = 0;
  #buffer: Uint8Array | undefined;
  #type: number | undefined;

  /**
   * Creates a reader waiting for the first frame.
   *
   * @param options Masking side, limit and event handlers.
   */
  constructor(options: ReaderOptions) {
    this.#options = options;
  }

  /** Bytes held for the message being received. */
  get bufferedBytes(): number {
    return this.#buffer?.length ?? 0;
  }

  /** Whether the reader stopped after a protocol violation or an oversized fragmented message. */
  get failed(): boolean {
    return this.#state === State.Failed;
  }

  /**
   * Feeds received bytes. The chunk is not kept: the caller may reuse it.
   *
   * @param chunk The bytes, in stream order.
   */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && this.#state !== State.Failed) {
      if (this.#state === State.Head) {
        at = this.#readHead(chunk, at);
      } else {
        const n = Math.min(chunk.length - at, this.#frameLength - this.#frameDone);
        this.#payload(chunk.subarray(at, at + n));
        at += n;
      }
    }
  }

  /** Stops the reader for good; always returns false, for `return this.#failWith(...)` in checks. */
  #failWith(code: number, reason: string): false {
    this.#state = State.Failed;
    this.#buffer = undefined;
    this.#options.events.fail(code, reason);
    return false;
  }

  #readHead(chunk: Uint8Array, at: number): number {
    const head = this.#head;
    // Take bytes one field at a time until the header is complete.
    while (at < chunk.length) {
      const need = this.#headNeeds();
      if (this.#headLength >= need) break;
      const n = Math.min(need - this.#headLength, chunk.length - at);
      head.set(chunk.subarray(at, at + n), this.#headLength);
      this.#headLength += n;
      at += n;
    }
    if (this.#headLength < this.#headNeeds()) return at;
    this.#startFrame();
    return at;
  }

  /** Header bytes needed given what is known so far. */
  #headNeeds(): number {
    if (this.#headLength < 2) return 2;
    const length7 = this.#head[1]! & 0x7f;
    const masked = (this.#head[1]! & 0x80) !== 0;
    return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  }

  /** Checks a complete frame header and sets up reading its payload. */
  #startFrame(): void {
    const head = this.#head;
    const b0 = head[0]!;
    this.#headLength = 0;
    if ((b0 & 0x70) !== 0) {
      this.#failWith(CLOSE_CODE.protocolError, "reserved bits set (no extension was agreed)");
      return;
    }
    const masked = (head[1]! & 0x80) !== 0;
    if (masked !== this.#options.expectMasked) {
      this.#failWith(
        CLOSE_CODE.protocolError,
        masked
          ? "frames from the server must not be masked"
          : "frames from a client must be masked",
      );
      return;
    }
    const declared = declaredLength(head);
    if (declared === undefined) {
      this.#failWith(CLOSE_CODE.messageTooBig, "frame length beyond 2^53 bytes");
      return;
    }
    const { length, offset } = declared;
    this.#mask = masked ? head.slice(offset, offset + 4) : undefined;
    this.#opcode = b0 & 0x0f;
    this.#fin = (b0 & 0x80) !== 0;
    this.#frameLength = length;
    this.#frameDone = 0;
    this.#skip = false;
    const accepted = this.#opcode >= 0x8 ? this.#startControl() : this.#startData();
    if (!accepted) return;
    this.#state = State.Payload;
    if (length === 0) this.#endFrame();
  }

  /** Checks a control frame's opcode and size; returns false if the reader failed. */
  #startControl(): boolean {
    const opcode = this.#opcode;
    if (opcode !== OPCODE.close && opcode !== OPCODE.ping && opcode !== OPCODE.pong) {
      return this.#failWith(CLOSE_CODE.protocolError, `unknown control opcode ${opcode}`);
    }
    if (!this.#fin || this.#frameLength > MAX_CONTROL_BYTES) {
      return this.#failWith(
        CLOSE_CODE.protocolError,
        "control frames must be single frames of at most 125 bytes",
      );
    }
    return true;
  }

  /**
   * Checks a data frame against the message it starts or continues, and its
   * declared length against the limit; returns false if the reader failed.
   */
  #startData(): boolean {
    const opcode = this.#opcode;
    if (opcode === OPCODE.continuation) {
      if (!this.#inMessage) {
        return this.#failWith(CLOSE_CODE.protocolError, "continuation frame outside a message");
      }
      return this.#checkDeclared(this.#frameLength);
    }
    if (opcode !== OPCODE.text && opcode !== OPCODE.binary) {
      return this.#failWith(CLOSE_CODE.protocolError, `unknown data opcode ${opcode}`);
    }
    if (this.#inMessage) {
      return this.#failWith(
        CLOSE_CODE.protocolError,
        "a new message started before the previous one ended",
      );
    }
    this.#inMessage = true;
    this.#messageText = opcode === OPCODE.text;
    this.#messageBytes = 0;
    this.#declaredBytes = 0;
    this.#type = undefined;
    return this.#checkDeclared(this.#frameLength);
  }

  /**
   * Checks a data frame's declared length against the limit before any of
   * its payload is read. Returns false if the reader failed.
   */
  #checkDeclared(length: number): boolean {
    const total = this.#declaredBytes + length;
    const limit = this.#options.limit(this.#type);
    this.#declaredBytes = total;
    if (total <= limit) return true;
    return this.#overLimit(total, limit);
  }

  /** Handles a message found over its limit; returns false if the reader failed. */
  #overLimit(total: number, limit: number): boolean {
    this.#buffer = undefined;
    if (this.#fin) {
      // The message ends with this frame: skip the rest unread and go on.
      this.#skip = true;
      this.#options.events.tooLarge(total, limit, this.#type, false);
      return true;
    }
    this.#state = State.Failed;
    this.#options.events.tooLarge(total, limit, this.#type, true);
    return false;
  }

  #payload(bytes: Uint8Array): void {
    const opcode = this.#opcode;
    const start = this.#frameDone;
    this.#frameDone += bytes.length;
    if (opcode >= 0x8) {
      this.#control.set(bytes, start);
      if (this.#mask) unmask(this.#control, start, bytes.length, this.#mask, start);
    } else if (!this.#skip) {
      if (this.#messageText) {
        this.#messageBytes += bytes.length;
      } else {
        this.#append(bytes, start);
        if (this.#type === undefined && this.#messageBytes >= 2) {
          // The type byte is in: the limit may be the type's own.
          this.#type = this.#buffer![1]!;
          const limit = this.#options.limit(this.#type);
          if (this.#declaredBytes > limit && !this.#overLimit(this.#declaredBytes, limit)) return;
        }
      }
    }
    if (this.#frameDone === this.#frameLength) this.#endFrame();
  }

  #append(bytes: Uint8Array, frameOffset: number): void {
    const needed = this.#messageBytes + bytes.length;
    let buffer = this.#buffer;
    if (!buffer || buffer.length < needed) {
      // Grow with what arrives (doubling, so that a message in many frames
      // is not copied again for each one), never past the declared size of
      // a message's last frame, nor past the limit before it.
      const upper = this.#fin
        ? this.#declaredBytes
        : Math.max(this.#declaredBytes, this.#options.limit(this.#type));
      const size = Math.min(
        upper,
        Math.max(needed, INITIAL_MESSAGE_BYTES, (buffer?.length ?? 0) * 2),
      );
      const grown = new Uint8Array(size);
      if (buffer) grown.set(buffer.subarray(0, this.#messageBytes));
      buffer = this.#buffer = grown;
    }
    buffer.set(bytes, this.#messageBytes);
    if (this.#mask) unmask(buffer, this.#messageBytes, bytes.length, this.#mask, frameOffset);
    this.#messageBytes = needed;
  }

  #endFrame(): void {
    this.#state = State.Head;
    if (this.#opcode >= 0x8) return this.#endControl();
    if (!this.#fin) return;
    this.#inMessage = false;
    if (this.#skip) return;
    const events = this.#options.events;
    if (this.#messageText) return events.text(this.#messageBytes);
    const buffer = this.#buffer ?? new Uint8Array(0);
    this.#buffer = undefined;
    events.message(
      buffer.length === this.#messageBytes ? buffer : buffer.subarray(0, this.#messageBytes),
    );
  }

  #endControl(): void {
    const opcode = this.#opcode;
    const events = this.#options.events;
    const payload = this.#control.slice(0, this.#frameLength);
    if (opcode === OPCODE.ping) events.ping(payload);
    else if (opcode === OPCODE.pong) events.pong();
    else {
      const code = payload.length >= 2 ? new DataView(payload.buffer).getUint16(0) : 1005;
      events.close(code, decoder.decode(payload.subarray(2)));
    }
  }
}
