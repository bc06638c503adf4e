/**
 * The byte stream a WebSocket runs over: a Deno TCP connection as it is, or
 * TLS on top of one, run by `node:tls` over that TCP connection.
 *
 * Why not `Deno.listenTls` / `Deno.connectTls`: closing a Deno TLS
 * connection whose handshake has not finished leaves its TCP connection
 * open until the peer speaks (measured on both sides: an idle peer kept the
 * connection after `close()`), so a silent peer could hold a descriptor
 * forever. Here the party owns the TCP connection, and closing it closes
 * it, handshake done or not.
 *
 * Also the few helpers every side of a connection uses: write all of a
 * buffer, close without caring whether it was closed already, and turn off
 * Nagle's algorithm.
 *
 * @module
 */

import { isIP } from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";

/** What a WebSocket needs from a connection; `Deno.Conn` is one. */
export interface ByteStream {
  /**
   * Reads into `into`.
   *
   * @param into Where to put the bytes.
   * @returns How many bytes were read, or null at the end of the stream.
   */
  read(into: Uint8Array): Promise<number | null>;
  /**
   * Writes some of `bytes`.
   *
   * @param bytes What to write.
   * @returns How many bytes were written.
   */
  write(bytes: Uint8Array): Promise<number>;
  /** Ends the writing half (the peer reads the end of the stream). */
  closeWrite(): Promise<void>;
  /** Closes the stream and its TCP connection at once. */
  close(): void;
}

/** A TLS server configuration (certificate and key). */
export type TlsServerContext = tls.SecureContext;

/**
 * Makes the TLS configuration of a listener.
 *
 * @param cert Certificate chain (PEM).
 * @param key Private key (PEM).
 * @returns The context for {@linkcode acceptTls}.
 * @throws {Error} If the certificate or key cannot be parsed.
 *
 * @example Usage
 * ```ts
 * import { createTlsContext } from "./byte_stream.ts";
 * declare const certPem: string, keyPem: string;
 * const context = createTlsContext(certPem, keyPem);
 * ```
 */
export function createTlsContext(cert: string, key: string): TlsServerContext {
  return tls.createSecureContext({ cert, key });
}

/**
 * Serves TLS on an accepted TCP connection. The handshake runs as the
 * stream is read; closing the stream closes the TCP connection, handshake
 * done or not.
 *
 * @param conn The accepted TCP connection.
 * @param context The listener's certificate and key.
 * @returns The decrypted stream.
 *
 * @example Usage
 * ```ts
 * import { acceptTls, createTlsContext } from "./byte_stream.ts";
 * declare const conn: Deno.Conn, certPem: string, keyPem: string;
 * const stream = acceptTls(conn, createTlsContext(certPem, keyPem));
 * ```
 */
export function acceptTls(conn: Deno.Conn, context: TlsServerContext): ByteStream {
  const socket = new tls.TLSSocket(duplexOver(conn), { isServer: true, secureContext: context });
  return new NodeStream(socket, () => closeQuietly(conn));
}

/** Options of {@linkcode connectTls}. */
export interface ConnectTlsOptions {
  /** The host name or IP address the certificate must be valid for. */
  readonly host: string;
  /** CA certificates (PEM) to trust; without them the runtime's default roots apply. */
  readonly caCerts?: readonly string[];
}

/**
 * Runs a TLS client handshake on a TCP connection we opened. Closing the
 * TCP connection ends a stalled handshake (the peer sees the close).
 *
 * @param conn The TCP connection.
 * @param options The host to verify and the CAs to trust.
 * @returns The decrypted stream, once the handshake succeeded.
 * @throws {Error} With a Node `code` such as `UNABLE_TO_VERIFY_LEAF_SIGNATURE`
 *   or `ERR_TLS_CERT_ALTNAME_INVALID` if the certificate is rejected.
 *
 * @example Usage
 * ```ts
 * import { connectTls } from "./byte_stream.ts";
 * declare const caPem: string;
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 8765 });
 * const stream = await connectTls(conn, { host: "127.0.0.1", caCerts: [caPem] });
 * ```
 */
export function connectTls(conn: Deno.Conn, options: ConnectTlsOptions): Promise<ByteStream> {
  const socket = tls.connect({
    socket: duplexOver(conn),
    host: options.host,
    // Server name indication takes host names only.
    servername: isIP(options.host) ? undefined : options.host,
    ca: options.caCerts ? [...options.caCerts] : undefined,
  });
  const stream = new NodeStream(socket, () => closeQuietly(conn));
  return new Promise<ByteStream>((resolve, reject) => {
    socket.once("secureConnect", () => resolve(stream));
    socket.once("error", (e: Error) => {
      stream.close();
      reject(e);
    });
    socket.once("close", () => reject(new Error("connection closed during the TLS handshake")));
  });
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
 * import { writeAll } from "./byte_stream.ts";
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
 * import { setNoDelay } from "./byte_stream.ts";
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

/**
 * Closes a connection, stream or listener that may be closed already (by
 * the peer, a deadline or a shutdown racing with this close).
 *
 * @param resource What to close; `undefined` (not opened yet) is skipped.
 *
 * @example Usage
 * ```ts
 * import { closeQuietly } from "./byte_stream.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 8765 });
 * closeQuietly(conn);
 * closeQuietly(conn); // no error
 * ```
 */
export function closeQuietly(resource: { close(): void } | undefined): void {
  try {
    resource?.close();
  } catch {
    // Closed already.
  }
}

/** A Node duplex stream over a Deno TCP connection, reading only when asked. */
function duplexOver(conn: Deno.Conn): Duplex {
  const buffer = new Uint8Array(65_536);
  return new Duplex({
    read() {
      conn.read(buffer).then(
        (n) => this.push(n === null ? null : buffer.slice(0, n)),
        (e) => this.destroy(e),
      );
    },
    write(chunk: Uint8Array, _encoding, callback) {
      (async () => {
        for (let at = 0; at < chunk.length;) at += await conn.write(chunk.subarray(at));
      })().then(() => callback(), callback);
    },
    final(callback) {
      conn.closeWrite().then(() => callback(), callback);
    },
    destroy(error, callback) {
      closeQuietly(conn);
      callback(error);
    },
  });
}

/** A pull-based {@linkcode ByteStream} over a paused Node duplex stream. */
class NodeStream implements ByteStream {
  readonly #socket: Duplex;
  readonly #closeConn: () => void;
  #pending: Uint8Array | undefined;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  readonly #writes = new Set<(e: Error) => void>();

  constructor(socket: Duplex, closeConn: () => void) {
    this.#socket = socket;
    this.#closeConn = closeConn;
    const wake = () => {
      const w = this.#wake;
      this.#wake = undefined;
      w?.();
    };
    socket.on("readable", wake);
    socket.on("end", () => {
      this.#ended = true;
      wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#fail(new Error("connection closed"));
      wake();
    });
    socket.on("error", (e: Error) => {
      this.#error ??= e;
      this.#fail(e);
      wake();
    });
  }

  async read(into: Uint8Array): Promise<number | null> {
    for (;;) {
      const pending = this.#pending;
      if (pending) {
        const n = Math.min(pending.length, into.length);
        into.set(pending.subarray(0, n));
        this.#pending = n < pending.length ? pending.subarray(n) : undefined;
        return n;
      }
      if (this.#error) throw this.#error;
      const chunk = this.#socket.read() as Uint8Array | null;
      if (chunk !== null) {
        this.#pending = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        continue;
      }
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise<number>((resolve, reject) => {
      this.#writes.add(reject);
      this.#socket.write(bytes, (e?: Error | null) => {
        this.#writes.delete(reject);
        if (e) reject(e);
        else resolve(bytes.length);
      });
    });
  }

  closeWrite(): Promise<void> {
    this.#socket.end();
    return Promise.resolve();
  }

  close(): void {
    this.#fail(new Error("connection closed"));
    this.#ended = true;
    this.#socket.destroy();
    this.#closeConn();
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** Rejects pending writes: a destroyed Node stream may never call back. */
  #fail(error: Error): void {
    for (const reject of this.#writes) reject(error);
    this.#writes.clear();
  }
}
