/**
 * The WebSocket protocol (RFC 6455) as flhe needs it: the opening handshake
 * over HTTP/1.1, frame encoding, and an incremental reader that enforces a
 * message size limit on frame headers, before any payload is buffered.
 *
 * flhe speaks its own small WebSocket implementation instead of
 * `Deno.upgradeWebSocket`, which buffers a whole message (up to 64 MiB, and
 * a fragmented one without bound) before a program can look at its size.
 * Extensions (compression) and subprotocols are not negotiated.
 *
 * @module
 */

import type { ByteStream } from "./byte_stream.ts";

/** Frame opcodes. */
export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close codes flhe sends. */
export const CLOSE_CODE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  policyViolation: 1008,
  messageTooBig: 1009,
} as const;

/** Largest HTTP request or response head accepted during the handshake, in bytes. */
export const MAX_HTTP_HEAD_BYTES = 8_192;

/** Largest payload of a control frame (ping, pong, close), in bytes. */
const MAX_CONTROL_BYTES = 125;
/** First allocation for a message whose size is not yet backed by received bytes. */
const INITIAL_MESSAGE_BYTES = 65_536;
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The `Sec-WebSocket-Accept` value that answers a `Sec-WebSocket-Key`.
 *
 * @param key The client's key (base64 of 16 random bytes).
 * @returns Base64 of SHA-1 over the key and the protocol's GUID.
 *
 * @example Usage
 * ```ts
 * import { acceptKey } from "./websocket.ts";
 * await acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); // "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
 * ```
 */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/**
 * A fresh `Sec-WebSocket-Key`.
 *
 * @returns Base64 of 16 random bytes.
 *
 * @example Usage
 * ```ts
 * import { createKey } from "./websocket.ts";
 * createKey().length; // 24
 * ```
 */
export function createKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

/**
 * Encodes one complete (FIN) frame. Frames from a client are masked with a
 * random key, as the protocol requires; frames from a server are not.
 *
 * @param opcode The frame's opcode (see {@linkcode OPCODE}).
 * @param payload The payload.
 * @param mask Whether to mask (client to server).
 * @returns The frame bytes.
 *
 * @example Usage
 * ```ts
 * import { encodeWsFrame, OPCODE } from "./websocket.ts";
 * encodeWsFrame(OPCODE.binary, new Uint8Array([1, 2, 3]), false).length; // 5
 * ```
 */
export function encodeWsFrame(opcode: number, payload: Uint8Array, mask: boolean): Uint8Array {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const head = 2 + lengthBytes + (mask ? 4 : 0);
  const out = new Uint8Array(head + length);
  out[0] = 0x80 | opcode;
  const view = new DataView(out.buffer);
  if (lengthBytes === 0) out[1] = length;
  else if (lengthBytes === 2) {
    out[1] = 126;
    view.setUint16(2, length);
  } else {
    out[1] = 127;
    view.setUint32(2, Math.floor(length / 2 ** 32));
    view.setUint32(6, length >>> 0);
  }
  if (!mask) {
    out.set(payload, head);
    return out;
  }
  out[1]! |= 0x80;
  const key = crypto.getRandomValues(new Uint8Array(4));
  out.set(key, head - 4);
  for (let i = 0; i < length; i++) out[head + i] = payload[i]! ^ key[i & 3]!;
  return out;
}

/**
 * Encodes the payload of a close frame: a status code and a reason cut to
 * fit the 125-byte limit of control frames.
 *
 * @param code The close code.
 * @param reason A short reason.
 * @returns The payload.
 *
 * @example Usage
 * ```ts
 * import { encodeClosePayload } from "./websocket.ts";
 * encodeClosePayload(1000, "done").length; // 6
 * ```
 */
export function encodeClosePayload(code: number, reason: string): Uint8Array {
  let text = encoder.encode(reason);
  if (text.length > MAX_CONTROL_BYTES - 2) {
    // Cut on a character boundary.
    let cut = MAX_CONTROL_BYTES - 2;
    while (cut > 0 && (text[cut]! & 0xc0) === 0x80) cut--;
    text = text.subarray(0, cut);
  }
  const out = new Uint8Array(2 + text.length);
  new DataView(out.buffer).setUint16(0, code);
  out.set(text, 2);
  return out;
}

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
 * import { encodeWsFrame, MessageReader, OPCODE } from "./websocket.ts";
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

  #failWith(code: number, reason: string): void {
    this.#state = State.Failed;
    this.#buffer = undefined;
    this.#options.events.fail(code, reason);
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

  #startFrame(): void {
    const head = this.#head;
    const b0 = head[0]!;
    const b1 = head[1]!;
    this.#headLength = 0;
    if ((b0 & 0x70) !== 0) {
      return this.#failWith(
        CLOSE_CODE.protocolError,
        "reserved bits set (no extension was agreed)",
      );
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.#options.expectMasked) {
      return this.#failWith(
        CLOSE_CODE.protocolError,
        masked
          ? "frames from the server must not be masked"
          : "frames from a client must be masked",
      );
    }
    const view = new DataView(head.buffer);
    const length7 = b1 & 0x7f;
    let length = length7;
    let offset = 2;
    if (length7 === 126) {
      length = view.getUint16(2);
      offset = 4;
    } else if (length7 === 127) {
      const high = view.getUint32(2);
      if (high > 0x1f_ffff) {
        return this.#failWith(CLOSE_CODE.messageTooBig, "frame length beyond 2^53 bytes");
      }
      length = high * 2 ** 32 + view.getUint32(6);
      offset = 10;
    }
    this.#mask = masked ? head.slice(offset, offset + 4) : undefined;
    this.#opcode = b0 & 0x0f;
    this.#fin = (b0 & 0x80) !== 0;
    this.#frameLength = length;
    this.#frameDone = 0;
    this.#skip = false;
    const opcode = this.#opcode;
    if (opcode >= 0x8) {
      if (opcode !== OPCODE.close && opcode !== OPCODE.ping && opcode !== OPCODE.pong) {
        return this.#failWith(CLOSE_CODE.protocolError, `unknown control opcode ${opcode}`);
      }
      if (!this.#fin || length > MAX_CONTROL_BYTES) {
        return this.#failWith(
          CLOSE_CODE.protocolError,
          "control frames must be single frames of at most 125 bytes",
        );
      }
    } else if (opcode === OPCODE.continuation) {
      if (!this.#inMessage) {
        return this.#failWith(CLOSE_CODE.protocolError, "continuation frame outside a message");
      }
      if (!this.#checkDeclared(length)) return;
    } else if (opcode === OPCODE.text || opcode === OPCODE.binary) {
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
      if (!this.#checkDeclared(length)) return;
    } else {
      return this.#failWith(CLOSE_CODE.protocolError, `unknown data opcode ${opcode}`);
    }
    this.#state = State.Payload;
    if (length === 0) this.#endFrame();
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
    const opcode = this.#opcode;
    const events = this.#options.events;
    if (opcode >= 0x8) {
      const payload = this.#control.slice(0, this.#frameLength);
      if (opcode === OPCODE.ping) events.ping(payload);
      else if (opcode === OPCODE.pong) events.pong();
      else {
        const code = payload.length >= 2 ? new DataView(payload.buffer).getUint16(0) : 1005;
        events.close(code, decoder.decode(payload.subarray(2)));
      }
      return;
    }
    if (!this.#fin) return;
    this.#inMessage = false;
    if (this.#skip) return;
    if (this.#messageText) return events.text(this.#messageBytes);
    const buffer = this.#buffer ?? new Uint8Array(0);
    this.#buffer = undefined;
    events.message(
      buffer.length === this.#messageBytes ? buffer : buffer.subarray(0, this.#messageBytes),
    );
  }
}

/** XORs `length` bytes of `target` from `at` with the mask, as if they started at `maskOffset` of the frame. */
function unmask(
  target: Uint8Array,
  at: number,
  length: number,
  mask: Uint8Array,
  maskOffset: number,
): void {
  for (let i = 0; i < length; i++) target[at + i] = target[at + i]! ^ mask[(maskOffset + i) & 3]!;
}

/** A parsed HTTP/1.1 request or response head. */
export interface HttpHead {
  /** The start line: request line or status line. */
  readonly startLine: string;
  /** Header fields by lower-case name (repeated fields joined with ", "). */
  readonly headers: ReadonlyMap<string, string>;
  /** Bytes received after the head (already WebSocket frames). */
  readonly rest: Uint8Array;
}

/**
 * Reads an HTTP head (up to the blank line) from a connection, at most
 * {@linkcode MAX_HTTP_HEAD_BYTES}. The caller bounds the time it takes by
 * closing the connection.
 *
 * @param conn The connection (or TLS stream).
 * @returns The head, or a reason why none was read.
 *
 * @example Usage
 * ```ts
 * import { readHttpHead } from "./websocket.ts";
 * declare const conn: Deno.Conn;
 * const head = await readHttpHead(conn);
 * if (typeof head !== "string") console.log(head.startLine);
 * ```
 */
export async function readHttpHead(conn: ByteStream): Promise<HttpHead | string> {
  const buffer = new Uint8Array(MAX_HTTP_HEAD_BYTES + 4_096);
  let length = 0;
  for (;;) {
    const n = await conn.read(buffer.subarray(length));
    if (n === null) return "connection closed during the handshake";
    const from = Math.max(0, length - 3);
    length += n;
    const end = findBlankLine(buffer, from, length);
    if (end >= 0) {
      if (end > MAX_HTTP_HEAD_BYTES) return `HTTP head over ${MAX_HTTP_HEAD_BYTES} bytes`;
      return parseHttpHead(buffer.subarray(0, end), buffer.slice(end + 4, length));
    }
    if (length >= MAX_HTTP_HEAD_BYTES) return `HTTP head over ${MAX_HTTP_HEAD_BYTES} bytes`;
  }
}

function findBlankLine(bytes: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 3 < to; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

function parseHttpHead(head: Uint8Array, rest: Uint8Array): HttpHead | string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(head);
  } catch {
    return "HTTP head is not valid UTF-8";
  }
  const [startLine = "", ...lines] = text.split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) return "malformed HTTP header line";
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  return { startLine, headers, rest };
}

/**
 * Whether a comma-separated header value holds `token` (case-insensitive).
 *
 * @param value The header value, e.g. `keep-alive, Upgrade`.
 * @param token The token, e.g. `upgrade`.
 * @returns True if present.
 *
 * @example Usage
 * ```ts
 * import { hasToken } from "./websocket.ts";
 * hasToken("keep-alive, Upgrade", "upgrade"); // true
 * ```
 */
export function hasToken(value: string | undefined, token: string): boolean {
  return value?.split(",").some((t) => t.trim().toLowerCase() === token) ?? false;
}

/**
 * Writes all of `bytes` to a connection.
 *
 * @param conn The connection.
 * @param bytes What to write.
 * @returns When everything is written.
 * @throws {Error} Whatever the connection throws.
 *
 * @example Usage
 * ```ts
 * import { writeAll } from "./websocket.ts";
 * declare const conn: Deno.Conn;
 * await writeAll(conn, new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
 * ```
 */
export async function writeAll(conn: ByteStream, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/**
 * Turns off Nagle's algorithm on a TCP connection (flhe writes whole frames).
 *
 * @param conn A TCP or TLS connection.
 *
 * @example Usage
 * ```ts
 * import { setNoDelay } from "./websocket.ts";
 * setNoDelay(await Deno.connect({ hostname: "127.0.0.1", port: 8765 }));
 * ```
 */
export function setNoDelay(conn: Deno.Conn): void {
  const tcp = conn as Partial<Deno.TcpConn>;
  try {
    tcp.setNoDelay?.(true);
  } catch {
    // Not supported on this connection.
  }
}
