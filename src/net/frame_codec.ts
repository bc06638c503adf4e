/**
 * WebSocket frames (RFC 6455): opcodes, the close codes flhe sends, the
 * encoding of whole (FIN) frames and close payloads, and the pieces of
 * decoding that do not depend on where a frame is in the stream (its
 * declared length, unmasking). Reading frames chunk by chunk is
 * {@linkcode MessageReader}'s job (frame_reader.ts).
 *
 * @module
 */

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

/** Largest payload of a control frame (ping, pong, close), in bytes. */
export const MAX_CONTROL_BYTES = 125;

const encoder = new TextEncoder();

/**
 * Encodes one complete (FIN) frame. Frames from a client are masked with a
 * random key, as the protocol requires; frames from a server are not. A
 * payload given in parts is laid out in order: each byte of it is copied
 * once, into the frame (and masked there).
 *
 * @param opcode The frame's opcode (see {@linkcode OPCODE}).
 * @param payload The payload, or its parts.
 * @param mask Whether to mask (client to server).
 * @returns The frame bytes.
 *
 * @example Usage
 * ```ts
 * import { encodeWsFrame, OPCODE } from "./frame_codec.ts";
 * encodeWsFrame(OPCODE.binary, new Uint8Array([1, 2, 3]), false).length; // 5
 * ```
 */
export function encodeWsFrame(
  opcode: number,
  payload: Uint8Array | readonly Uint8Array[],
  mask: boolean,
): Uint8Array {
  const parts = payload instanceof Uint8Array ? [payload] : payload;
  const length = parts.reduce((n, p) => n + p.length, 0);
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
  let at = head;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  if (!mask) return out;
  out[1]! |= 0x80;
  const key = crypto.getRandomValues(new Uint8Array(4));
  out.set(key, head - 4);
  unmask(out, head, length, key, 0);
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
 * import { encodeClosePayload } from "./frame_codec.ts";
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

/**
 * XORs `length` bytes of `target` from `at` with a frame's mask, as if they
 * started at `maskOffset` of the frame's payload (a payload arrives in
 * chunks, so a chunk may start anywhere in the 4-byte key's cycle).
 *
 * @param target The bytes to unmask, in place.
 * @param at Where they start in `target`.
 * @param length How many.
 * @param mask The frame's 4-byte masking key.
 * @param maskOffset Their offset in the frame's payload.
 *
 * @example Usage
 * ```ts
 * import { unmask } from "./frame_codec.ts";
 * const bytes = new Uint8Array([1, 2, 3]);
 * unmask(bytes, 0, 3, new Uint8Array([1, 2, 3, 4]), 0);
 * bytes; // Uint8Array [0, 0, 0]
 * ```
 */
export function unmask(
  target: Uint8Array,
  at: number,
  length: number,
  mask: Uint8Array,
  maskOffset: number,
): void {
  for (let i = 0; i < length; i++) target[at + i] = target[at + i]! ^ mask[(maskOffset + i) & 3]!;
}

/**
 * The payload length a complete frame header declares, and where its
 * masking key starts (if the mask bit is set).
 *
 * @param head The frame header: 2 bytes, then the 2- or 8-byte extended
 *   length if the 7-bit length says so (the masking key may follow).
 * @returns The length and the key's offset, or `undefined` for a length
 *   beyond 2^53 bytes (not a safe integer, and past any limit).
 *
 * @example Usage
 * ```ts
 * import { declaredLength } from "./frame_codec.ts";
 * declaredLength(new Uint8Array([0x82, 126, 0x01, 0x00])); // { length: 256, offset: 4 }
 * ```
 */
export function declaredLength(head: Uint8Array): { length: number; offset: number } | undefined {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const length7 = head[1]! & 0x7f;
  if (length7 === 126) return { length: view.getUint16(2), offset: 4 };
  if (length7 !== 127) return { length: length7, offset: 2 };
  const high = view.getUint32(2);
  if (high > 0x1f_ffff) return undefined;
  return { length: high * 2 ** 32 + view.getUint32(6), offset: 10 };
}
