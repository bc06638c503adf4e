/**
 * The wire format: one binary WebSocket message per frame.
 *
 * ```
 * offset 0   u8      version (2)
 * offset 1   u8      type (see MESSAGE_TYPES)
 * offset 2   u32 BE  header length H (at most 65,536)
 * offset 6   H bytes header: UTF-8 JSON object, checked per type
 * offset 6+H         payload: raw bytes (ciphertexts as fixed-width big-endian)
 * ```
 *
 * @module
 */

import { FlheError } from "../util/error.ts";

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 3;

/** Largest header, in bytes. */
export const MAX_HEADER_BYTES = 65_536;

/** Message type names by their byte on the wire. */
export const MESSAGE_TYPES = [
  "error",
  "hello",
  "welcome",
  "fit",
  "update",
  "model",
  "report",
  "done",
  "decrypt",
  "sealed",
  "ready",
  "announce",
  "recover",
  "leave",
] as const;

/** A message type name. */
export type MessageType = typeof MESSAGE_TYPES[number];

/** A frame split into its parts; the header is still untrusted JSON. */
export interface RawFrame {
  /** The message type. */
  readonly type: MessageType;
  /** The parsed header JSON (untrusted). */
  readonly header: unknown;
  /** The payload bytes (a view into the frame). */
  readonly payload: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Builds a frame as its two parts: version, type, header length and header;
 * then the payload itself, not copied (the WebSocket frame that carries the
 * message copies it once, see `encodeWsFrame`).
 *
 * @param type Message type.
 * @param header A JSON-serializable object.
 * @param payload Optional payload bytes.
 * @returns The parts, in order.
 * @throws {FlheError} `protocol` if the header exceeds {@linkcode MAX_HEADER_BYTES}.
 *
 * @example Usage
 * ```ts
 * import { encodeFrameParts } from "./frame.ts";
 * const [head, payload] = encodeFrameParts("update", { round: 1 }, new Uint8Array(8));
 * ```
 */
export function encodeFrameParts(
  type: MessageType,
  header: object,
  payload?: Uint8Array,
): Uint8Array[] {
  const json = encoder.encode(JSON.stringify(header));
  if (json.length > MAX_HEADER_BYTES) {
    throw new FlheError(
      "protocol",
      `${type} header of ${json.length} bytes exceeds ${MAX_HEADER_BYTES}`,
    );
  }
  const head = new Uint8Array(6 + json.length);
  head[0] = PROTOCOL_VERSION;
  head[1] = MESSAGE_TYPES.indexOf(type);
  new DataView(head.buffer).setUint32(2, json.length);
  head.set(json, 6);
  return payload && payload.length > 0 ? [head, payload] : [head];
}

/**
 * Builds a frame.
 *
 * @param type Message type.
 * @param header A JSON-serializable object.
 * @param payload Optional payload bytes.
 * @returns The frame bytes.
 * @throws {FlheError} `protocol` if the header exceeds {@linkcode MAX_HEADER_BYTES}.
 *
 * @example Usage
 * ```ts
 * import { encodeFrame } from "./frame.ts";
 * const bytes = encodeFrame("done", { rounds: 3 });
 * ```
 */
export function encodeFrame(type: MessageType, header: object, payload?: Uint8Array): Uint8Array {
  const [head, rest] = encodeFrameParts(type, header, payload);
  if (!rest) return head!;
  const out = new Uint8Array(head!.length + rest.length);
  out.set(head!);
  out.set(rest, head!.length);
  return out;
}

/**
 * Splits a frame and parses its header JSON, checking sizes, version and type.
 *
 * @param bytes The received message.
 * @param maxBytes Largest frame accepted.
 * @returns The raw frame.
 * @throws {FlheError} `protocol`, naming what was wrong.
 *
 * @example Usage
 * ```ts
 * import { decodeFrame, encodeFrame } from "./frame.ts";
 * decodeFrame(encodeFrame("done", { rounds: 3 }), 1024).type; // "done"
 * ```
 */
export function decodeFrame(bytes: Uint8Array, maxBytes: number): RawFrame {
  if (bytes.length > maxBytes) {
    throw new FlheError(
      "protocol",
      `frame of ${bytes.length} bytes exceeds the limit of ${maxBytes}`,
    );
  }
  if (bytes.length < 6) {
    throw new FlheError("protocol", `frame of ${bytes.length} bytes is truncated`);
  }
  if (bytes[0] !== PROTOCOL_VERSION) {
    throw new FlheError(
      "protocol",
      `unsupported protocol version ${bytes[0]} (this build speaks ${PROTOCOL_VERSION})`,
    );
  }
  const type = MESSAGE_TYPES[bytes[1]!];
  if (type === undefined) throw new FlheError("protocol", `unknown message type ${bytes[1]}`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(2);
  if (headerLength > MAX_HEADER_BYTES) {
    // Checked on its own: a long frame may hold it, so "past the end" would mislead.
    throw new FlheError(
      "protocol",
      `${type} frame: header length ${headerLength} exceeds ${MAX_HEADER_BYTES}`,
    );
  }
  if (6 + headerLength > bytes.length) {
    throw new FlheError(
      "protocol",
      `${type} frame: header length ${headerLength} is past the end of the frame`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(6, 6 + headerLength)));
  } catch {
    throw new FlheError("protocol", `${type} frame: header is not valid UTF-8 JSON`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new FlheError("protocol", `${type} frame: header is not a JSON object`);
  }
  return { type, header, payload: bytes.subarray(6 + headerLength) };
}
