/**
 * The WebSocket opening handshake (RFC 6455, section 4) over HTTP/1.1: both
 * halves, the keys, and a bounded reader for the HTTP head.
 *
 * The head is read by hand, at most {@linkcode MAX_HTTP_HEAD_BYTES}, because
 * the bytes after it are already WebSocket frames and go to the frame
 * reader; an HTTP library would buffer them or the head without bound.
 *
 * @module
 */

import { type ByteStream, writeAll } from "./byte_stream.ts";

/** Largest HTTP request or response head accepted during the handshake, in bytes. */
export const MAX_HTTP_HEAD_BYTES = 8_192;

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();

/**
 * The `Sec-WebSocket-Accept` value that answers a `Sec-WebSocket-Key`.
 *
 * @param key The client's key (base64 of 16 random bytes).
 * @returns Base64 of SHA-1 over the key and the protocol's GUID.
 *
 * @example Usage
 * ```ts
 * import { acceptKey } from "./handshake.ts";
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
 * import { createKey } from "./handshake.ts";
 * createKey().length; // 24
 * ```
 */
export function createKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

/**
 * The server half of the handshake: reads the upgrade request and answers
 * it with `101 Switching Protocols`, or with an HTTP error naming what was
 * wrong. The caller bounds the time it takes by closing the connection.
 *
 * @param conn The accepted connection (or TLS stream).
 * @returns The bytes that came after the request (already WebSocket
 *   frames), or `undefined` if the request was answered with an HTTP error.
 * @throws {Error} Whatever the connection throws while reading the request
 *   or writing the `101` answer (a failed TLS handshake, a reset).
 *
 * @example Usage
 * ```ts
 * import { answerUpgrade } from "./handshake.ts";
 * declare const conn: Deno.Conn;
 * const rest = await answerUpgrade(conn);
 * if (rest === undefined) conn.close();
 * ```
 */
export async function answerUpgrade(conn: ByteStream): Promise<Uint8Array | undefined> {
  const head = await readHttpHead(conn);
  if (typeof head === "string") {
    await respond(conn, "400 Bad Request", `${head}\n`);
    return undefined;
  }
  const refusal = upgradeRefusal(head);
  if (refusal !== undefined) {
    await respond(conn, refusal.status, refusal.body);
    return undefined;
  }
  // upgradeRefusal checked that the key is there and well formed.
  const key = head.headers.get("sec-websocket-key")!;
  await writeAll(
    conn,
    encoder.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${await acceptKey(key)}\r\n\r\n`,
    ),
  );
  return head.rest;
}

/** Why an upgrade request cannot be accepted, as an HTTP status and body; `undefined` if it can. */
function upgradeRefusal(head: HttpHead): { status: string; body: string } | undefined {
  const [method, , version] = head.startLine.split(" ");
  const h = head.headers;
  if (method !== "GET" || version !== "HTTP/1.1") {
    return { status: "400 Bad Request", body: "expected a GET request over HTTP/1.1\n" };
  }
  if (!hasToken(h.get("upgrade"), "websocket") || !hasToken(h.get("connection"), "upgrade")) {
    return { status: "426 Upgrade Required", body: "flhe speaks WebSocket here\n" };
  }
  if (h.get("sec-websocket-version") !== "13") {
    return { status: "426 Upgrade Required", body: "WebSocket version 13 only\n" };
  }
  if (!/^[A-Za-z0-9+/]{22}==$/.test(h.get("sec-websocket-key") ?? "")) {
    return { status: "400 Bad Request", body: "bad Sec-WebSocket-Key\n" };
  }
  return undefined;
}

/** Answers with an HTTP error and `Connection: close`; a peer gone meanwhile is no error. */
async function respond(conn: ByteStream, status: string, body: string): Promise<void> {
  const bytes = encoder.encode(body);
  // A 426 names the protocol and version this server would upgrade to.
  const upgrade = status.startsWith("426")
    ? "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    : "";
  try {
    await writeAll(
      conn,
      encoder.encode(
        `HTTP/1.1 ${status}\r\nConnection: close\r\n${upgrade}` +
          `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${bytes.length}\r\n\r\n${body}`,
      ),
    );
  } catch {
    // The peer is gone.
  }
}

/**
 * The client half of the handshake: sends the upgrade request for `target`
 * and checks the answer. No extension or subprotocol is offered, so an
 * answer that picks one is refused.
 *
 * @param stream The connection we opened (or TLS stream).
 * @param target The `ws://` or `wss://` URL (its host, path and query are sent).
 * @returns The bytes that came after the answer (already WebSocket frames).
 * @throws {Error} If the answer is not a valid `101` upgrade, or whatever
 *   the connection throws.
 *
 * @example Usage
 * ```ts
 * import { requestUpgrade } from "./handshake.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 8765 });
 * const rest = await requestUpgrade(conn, new URL("ws://127.0.0.1:8765"));
 * ```
 */
export async function requestUpgrade(stream: ByteStream, target: URL): Promise<Uint8Array> {
  const key = createKey();
  await writeAll(
    stream,
    encoder.encode(
      `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
        "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ),
  );
  const head = await readHttpHead(stream);
  if (typeof head === "string") throw new Error(head);
  const status = head.startLine.split(" ")[1];
  if (status !== "101") {
    throw new Error(`HTTP status ${status ?? "missing"} instead of a WebSocket upgrade`);
  }
  if (head.headers.get("sec-websocket-accept") !== await acceptKey(key)) {
    throw new Error("wrong Sec-WebSocket-Accept in the upgrade response");
  }
  if (head.headers.has("sec-websocket-extensions")) {
    throw new Error("the peer chose a WebSocket extension that was not offered");
  }
  return head.rest;
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
 * @throws {Error} Whatever the connection throws.
 *
 * @example Usage
 * ```ts
 * import { readHttpHead } from "./handshake.ts";
 * declare const conn: Deno.Conn;
 * const head = await readHttpHead(conn);
 * if (typeof head !== "string") console.log(head.startLine);
 * ```
 */
export async function readHttpHead(conn: ByteStream): Promise<HttpHead | string> {
  // Room past the limit: one read may bring frames right after the head.
  const buffer = new Uint8Array(MAX_HTTP_HEAD_BYTES + 4_096);
  let length = 0;
  for (;;) {
    const n = await conn.read(buffer.subarray(length));
    if (n === null) return "connection closed during the handshake";
    // The blank line may straddle two reads.
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

/** Where the first CR LF CR LF in `bytes[from, to)` starts, or -1. */
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
 * import { hasToken } from "./handshake.ts";
 * hasToken("keep-alive, Upgrade", "upgrade"); // true
 * ```
 */
export function hasToken(value: string | undefined, token: string): boolean {
  return value?.split(",").some((t) => t.trim().toLowerCase() === token) ?? false;
}
